// Liveness, readiness and /metrics. Liveness: the daemon's event loop answers. Readiness: it can
// read its state database and its policy file is valid, i.e. it can act on requests.
import type { FastifyPluginAsync } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiContext } from './api-context.js';
import { problemResponses } from './api-schemas.js';

export function healthRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get('/healthz', {
      schema: { summary: 'the daemon is alive', tags: ['health'], response: { 200: Type.Object({ status: Type.Literal('ok'), pid: Type.Integer() }) } },
    }, async () => ({ status: 'ok' as const, pid: process.pid }));

    app.get('/readyz', {
      schema: {
        summary: 'the daemon can serve: state database readable, policy valid', tags: ['health'],
        response: { 200: Type.Object({ status: Type.Literal('ready') }), ...problemResponses(503) },
      },
    }, async () => {
      ctx.db.prepare('SELECT 1').get();
      ctx.policy();
      return { status: 'ready' as const };
    });

    app.get('/metrics', {
      schema: {
        summary: 'Prometheus metrics (text exposition format)', tags: ['health'],
        response: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': { schema: Type.String() } } } },
      },
    }, async (_request, reply) => {
      const text = await ctx.metrics.text();
      reply.type(ctx.metrics.registry.contentType);
      return text;
    });
  };
}
