// GET /v1/events: a stream (NDJSON or Server-Sent Events) of app state changes, desired and actual.
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import type { ApiContext } from './api-context.js';
import { ApiError } from './api-errors.js';
import { FollowFormat, problemResponses } from './api-schemas.js';
import { openFollowStream, streamFormat } from './follow-stream.js';

const EventsQuery = Type.Object({ format: Type.Optional(FollowFormat) }, { additionalProperties: false });

export function eventRoutes(ctx: ApiContext): FastifyPluginAsync {
  return async (app) => {
    app.get<{ Querystring: Static<typeof EventsQuery> }>('/v1/events', {
      schema: {
        summary: 'a stream of app state changes (NDJSON, or Server-Sent Events with Accept: text/event-stream or format=sse)', tags: ['apps'],
        querystring: EventsQuery,
        response: {
          200: { description: 'a stream of AppStateEvent', content: { 'application/x-ndjson': { schema: Type.Ref('AppStateEvent') }, 'text/event-stream': { schema: Type.String() } } },
          ...problemResponses(503),
        },
      },
    }, async (request, reply) => {
      if (ctx.feed.followers >= ctx.policy().maxFollowers) {
        throw new ApiError(503, 'BH_ERR_API_BUSY', `${ctx.feed.followers} streams are open, the cap (policy api.maxFollowers) is reached; retry later`);
      }
      const stream = openFollowStream(reply, streamFormat(request, request.query.format), { heartbeatMs: ctx.limits.heartbeatMs, maxBacklogBytes: ctx.limits.maxFollowerBacklogBytes });
      const unfollow = ctx.feed.followStates((event) => stream.send([{ data: event }]));
      await stream.closed;
      unfollow();
      return reply;
    });
  };
}
