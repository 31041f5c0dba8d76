// The device policy: GET returns policy.yaml as JSON; PUT validates the new document against the
// published schema (device-policy.schema.json, the same one the daemon loads with) and replaces the
// file atomically (state/policy-file.ts), so a reader sees the old or the new policy, never half.
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import YAML from 'yaml';
import { loadDevicePolicy } from '../state/device-policy.js';
import { replacePolicyFile } from '../state/policy-file.js';
import schema from '../state/device-policy.schema.json' with { type: 'json' };
import type { ApiContext } from './api-context.js';
import { ApiError } from './api-errors.js';
import { problemResponses } from './api-schemas.js';

const { $schema: _s, $id: _i, ...policySchema } = schema as Record<string, unknown>;
const PolicyBody = { ...policySchema, $id: 'DevicePolicy' };

export function policyRoutes(ctx: ApiContext): FastifyPluginAsync {
  const file = path.join(ctx.dataDir, 'policy.yaml');
  return async (app) => {
    app.addSchema(PolicyBody);

    app.get('/v1/policy', {
      schema: { summary: 'the device policy (policy.yaml) as JSON; {} when the defaults apply', tags: ['policy'], response: { 200: { $ref: 'DevicePolicy#' }, ...problemResponses(503) } },
    }, async () => {
      loadDevicePolicy(ctx.dataDir); // an invalid file is a 503 naming the field, not a half answer
      return fs.existsSync(file) ? (YAML.parse(fs.readFileSync(file, 'utf8')) ?? {}) : {};
    });

    app.put('/v1/policy', {
      schema: {
        summary: 'replace the device policy; validated against its schema, written atomically',
        tags: ['policy'], body: { $ref: 'DevicePolicy#' },
        response: { 200: { $ref: 'DevicePolicy#' }, ...problemResponses(400, 403, 413, 415) },
      },
    }, async (request) => {
      const doc = request.body;
      if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) throw new ApiError(400, 'BH_ERR_API_BAD_REQUEST', 'the policy must be a JSON object', 'body');
      replacePolicyFile(ctx.dataDir, doc, 'through the management API (PUT /v1/policy)');
      return doc;
    });
  };
}
