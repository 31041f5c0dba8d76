// Audit events (capability refusals), with the filters of `bulkhead audit`.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiContext } from './api-context.js';

const AuditQuery = Type.Object({
  vendor: Type.Optional(Type.String({ maxLength: 200, description: 'only this vendor' })),
  app: Type.Optional(Type.String({ maxLength: 200, description: 'only this app' })),
  tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'only the last N events' })),
}, { additionalProperties: false });

export function auditRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: Static<typeof AuditQuery> }>('/v1/audit', {
      schema: { summary: 'audit events: capabilities apps were refused', tags: ['audit'], querystring: AuditQuery, response: { 200: Type.Object({ events: Type.Array(Type.Ref('AuditEvent')) }) } },
    }, async (request) => ({ events: ctx.records.audit({ vendor: request.query.vendor, appId: request.query.app, tail: request.query.tail }) }));
  };
}
