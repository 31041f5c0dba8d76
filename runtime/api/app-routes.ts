// Apps: the device status, app list and detail, start/stop (which set desired state, exactly as
// `bulkhead start`/`stop` do; the daemon's reconcile loop acts on it), and logs with tail, since
// and follow.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiContext } from './api-context.js';
import { assertActsFor } from './api-access.js';
import { ApiError } from './api-errors.js';
import { AppIdParams, FollowFormat, problemResponses, type AppIdParamsT } from './api-schemas.js';
import { openFollowStream, streamFormat } from './follow-stream.js';

const StartBody = Type.Object({
  parameters: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$', maxLength: 200 }), Type.String({ maxLength: 4096 }), { maxProperties: 100, additionalProperties: false })),
}, { additionalProperties: false });

const LogsQuery = Type.Object({
  tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'only the last N records' })),
  since: Type.Optional(Type.String({ format: 'date-time', description: 'only records at or after this time (RFC 3339)' })),
  follow: Type.Optional(Type.Boolean({ description: 'keep the response open and stream new records' })),
  format: Type.Optional(FollowFormat),
}, { additionalProperties: false });

export function appRoutes(ctx: ApiContext): FastifyPluginAsync {
  const mustExist = (id: string) => {
    const row = ctx.records.app(id);
    if (!row) throw new ApiError(404, 'BH_ERR_API_NOT_FOUND', `${id} was never started on this device (see GET /v1/apps)`, 'params.id');
    return row;
  };

  return async (app) => {
    app.get('/v1/status', {
      schema: { summary: 'the daemon, every app and every vendor sandbox (what `bulkhead status` shows)', tags: ['apps'], response: { 200: { $ref: 'Status#' } } },
    }, async () => ctx.records.snapshot(() => ({
      daemon: process.pid, apps: ctx.records.apps(), sandboxes: ctx.records.sandboxes(), resources: ctx.resources.vendors(), dropped: ctx.resources.deviceDrops(),
    })));

    app.get('/v1/apps', {
      schema: { summary: 'apps with desired and actual state', tags: ['apps'], response: { 200: Type.Object({ apps: Type.Array(Type.Ref('App')) }) } },
    }, async () => ({ apps: ctx.records.apps() }));

    app.get<{ Params: AppIdParamsT }>('/v1/apps/:id', {
      schema: { summary: 'one app and its instances', tags: ['apps'], params: AppIdParams, response: { 200: { $ref: 'AppDetail#' }, ...problemResponses(404) } },
    }, async (request) => ctx.records.snapshot(() => ({ daemon: process.pid, app: mustExist(request.params.id), instances: ctx.records.instances(request.params.id) })));

    app.post<{ Params: AppIdParamsT; Body: Static<typeof StartBody> }>('/v1/apps/:id/start', {
      config: { vendorScoped: true },
      schema: {
        summary: 'set the app\'s desired state to running (with optional parameters overriding margo.yaml); the daemon starts it',
        tags: ['apps'], params: AppIdParams, body: StartBody,
        response: { 202: { $ref: 'App#' }, ...problemResponses(400, 403, 404) },
      },
    }, async (request, reply) => {
      const { id } = request.params;
      const pkg = ctx.installed.get(id);
      if (!pkg) throw new ApiError(404, 'BH_ERR_API_NOT_FOUND', `${id} is not installed; install it with POST /v1/packages`, 'params.id');
      assertActsFor(request, pkg.vendor, id);
      ctx.records.setDesired(id, 'running', request.body?.parameters);
      reply.code(202);
      return ctx.records.app(id);
    });

    app.post<{ Params: AppIdParamsT }>('/v1/apps/:id/stop', {
      config: { vendorScoped: true },
      schema: { summary: 'set the app\'s desired state to stopped; the daemon stops it', tags: ['apps'], params: AppIdParams, response: { 202: { $ref: 'App#' }, ...problemResponses(403, 404) } },
    }, async (request, reply) => {
      const { id } = request.params;
      mustExist(id);
      if (request.role === 'vendor') assertActsFor(request, ctx.installed.get(id)?.vendor, id);
      ctx.records.setDesired(id, 'stopped');
      reply.code(202);
      return ctx.records.app(id);
    });

    app.get<{ Params: AppIdParamsT; Querystring: Static<typeof LogsQuery> }>('/v1/apps/:id/logs', {
      schema: {
        summary: 'the app\'s log records; with follow=true an NDJSON or Server-Sent Events stream of new ones', tags: ['apps'],
        params: AppIdParams, querystring: LogsQuery,
        response: {
          200: {
            description: 'log records (JSON), or a stream of them',
            content: {
              'application/json': { schema: Type.Object({ logs: Type.Array(Type.Ref('LogRecord')) }) },
              'application/x-ndjson': { schema: Type.Ref('LogRecord') },
              'text/event-stream': { schema: Type.String() },
            },
          },
          ...problemResponses(400, 404, 503),
        },
      },
    }, async (request, reply) => {
      const { id } = request.params;
      const { tail, since, follow, format } = request.query;
      if (!ctx.records.app(id) && ctx.records.logs(id, { tail: 1 }).length === 0) {
        throw new ApiError(404, 'BH_ERR_API_NOT_FOUND', `${id} has no logs (was it started?)`, 'params.id');
      }
      const sinceIso = since === undefined ? undefined : new Date(since).toISOString();
      let rows = ctx.records.logs(id, { tail });
      if (sinceIso) rows = rows.filter((r) => r.at >= sinceIso);
      if (!follow) return reply.type('application/json').send({ logs: rows });
      if (ctx.feed.followers >= ctx.policy().maxFollowers) {
        throw new ApiError(503, 'BH_ERR_API_BUSY', `${ctx.feed.followers} streams are open, the cap (policy api.maxFollowers) is reached; retry later`);
      }
      const afterId = rows.length ? rows[rows.length - 1]!.id : (ctx.records.logs(id, { tail: 1 })[0]?.id ?? 0);
      const stream = openFollowStream(reply, streamFormat(request, format), { heartbeatMs: ctx.limits.heartbeatMs, maxBacklogBytes: ctx.limits.maxFollowerBacklogBytes });
      stream.send(rows.map((r) => ({ id: r.id, data: r })));
      const unfollow = ctx.feed.followLogs(id, afterId, (fresh) => stream.send(fresh.map((r) => ({ id: r.id, data: r }))));
      await stream.closed;
      unfollow();
      return reply;
    });
  };
}
