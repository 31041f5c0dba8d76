// Compose deployments: POST /v1/compose/{check,up,down,ps,logs}, one per `bulkhead compose` verb,
// each taking the request the CLI builds from its flags (a Compose file's text and vendor, or an
// installed package's compose component). The daemon prepares it with the same prepareCompose and
// runs the same verbs as the CLI on the device, so a policy violation is refused with the same
// code (BH_ERR_POLICY, every violation listed in the problem's `violations`). check, ps and logs
// change nothing and are open to readers. The engine is the daemon's (its DOCKER_HOST).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import { Type, type Static } from '@sinclair/typebox';
import { ComposeRequestError, isPlainRelative, prepareCompose, type ComposeRequest, type PreparedCompose } from '../bridge/compose-request.js';
import { composeCheck, composeDownVerb, composeLogsVerb, composePsVerb, composeUpVerb, ComposeVerbError, isBadComposeInput } from '../bridge/compose-verbs.js';
import { loadDevicePolicy } from '../state/device-policy.js';
import type { ApiContext } from './api-context.js';
import { assertActsFor } from './api-access.js';
import { ApiError } from './api-errors.js';
import { problemResponses } from './api-schemas.js';

const Name = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });
const MAX_COMPOSE_BODY = 4 * 1024 * 1024;

export const ComposeRequestSchema = Type.Object({
  file: Type.Optional(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 4096, description: 'the file name as the client knows it (messages only)' }),
    text: Type.String({ maxLength: 1024 * 1024, description: 'the Compose file' }),
    directoryName: Type.String({ minLength: 1, maxLength: 255, description: 'its directory\'s name: the project name when the file has no `name:`' }),
    files: Type.Optional(Type.Record(Type.String({ maxLength: 1024 }), Type.String({ contentEncoding: 'base64', maxLength: 2 * 1024 * 1024 }), {
      maxProperties: 64, description: 'file secrets and configs the file declares, by path relative to it, base64',
    })),
  }, { additionalProperties: false })),
  overrides: Type.Optional(Type.Array(Type.Object({
    name: Type.String({ minLength: 1, maxLength: 4096 }), text: Type.String({ maxLength: 1024 * 1024 }),
  }, { additionalProperties: false }), { maxItems: 16, description: 'with file: Compose files merged onto it in order (override files, several -f)' })),
  project: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'the project name (-p); default: the file\'s name:, else its directory\'s name' })),
  removeOrphans: Type.Optional(Type.Boolean({ description: 'up: remove containers of services the files no longer name (default: keep them, reported as orphans)' })),
  volumes: Type.Optional(Type.Boolean({ description: 'down: remove the volumes too (docker compose down -v)' })),
  vendor: Type.Optional(Name('with file: the vendor whose isolation policy applies (exactly as the trust store names it)')),
  app: Type.Optional(Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$', description: 'instead of file: an installed package with a compose component' })),
  component: Type.Optional(Name('with app: which compose component')),
  params: Type.Optional(Type.Record(Type.String({ maxLength: 200 }), Type.String({ maxLength: 4096 }), { maxProperties: 100, description: 'variables (file) or deployment parameters (app)' })),
  profiles: Type.Optional(Type.Array(Type.String({ maxLength: 200 }), { maxItems: 32 })),
  env: Type.Optional(Type.Object({ name: Type.String({ maxLength: 4096 }), text: Type.String({ maxLength: 256 * 1024 }) }, { additionalProperties: false, description: 'a .env file' })),
}, { additionalProperties: false, $id: 'ComposeRequest' });
type ComposeBody = Static<typeof ComposeRequestSchema>;

const ComposeLogsBody = Type.Object({
  request: Type.Ref('ComposeRequest'),
  service: Type.Optional(Name('one service (default: all)')),
  tail: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'lines per service (default 200)' })),
}, { additionalProperties: false });

const ServiceActionSchema = Type.Object({ service: Type.String(), action: Type.String() });
const ViolationSchema = Type.Object({ service: Type.String(), rule: Type.String(), message: Type.String(), key: Type.Optional(Type.String()) });
const ProblemSchema = Type.Object({
  code: Type.String({ description: 'BH_ERR_COMPOSE_INVALID, BH_ERR_COMPOSE_UNSUPPORTED or BH_ERR_POLICY' }),
  file: Type.Optional(Type.String()), line: Type.Optional(Type.Integer()), path: Type.String({ description: 'key path, e.g. services.web.volumes[0]' }),
  service: Type.Optional(Type.String()), rule: Type.Optional(Type.String({ description: 'the isolation rule, for BH_ERR_POLICY' })), message: Type.String(),
}, { description: 'one problem of the Compose files, as `bulkhead compose check` lists it' });
const EnforcedServiceSchema = Type.Object({
  name: Type.String(), image: Type.String(), capAdd: Type.Array(Type.String()), capDrop: Type.Array(Type.String()), securityOpt: Type.Array(Type.String()),
  memoryBytes: Type.Integer(), nanoCpus: Type.Integer(), pids: Type.Integer(),
  ports: Type.Array(Type.Object({ hostIp: Type.String(), published: Type.Integer(), target: Type.Integer(), protocol: Type.String() })),
  mounts: Type.Array(Type.Object({ type: Type.String(), source: Type.Optional(Type.String()), target: Type.String(), readOnly: Type.Boolean(), selinux: Type.Optional(Type.String()) })),
  adjustments: Type.Array(Type.String({ description: 'a limit the policy capped or defaulted' })),
}, { description: 'a service as the policy will create it' });

/** The problem a compose refusal becomes; shared with nothing else, the codes are the bridge's. */
function asApiError(err: unknown): unknown {
  if (err instanceof ComposeRequestError) return new ApiError(400, 'BH_ERR_API_BAD_REQUEST', err.message.replace(/\n\s*/g, ' '));
  if (err instanceof ComposeVerbError) {
    const status = isBadComposeInput(err) ? 400 : err.code === 'BH_ERR_POLICY' ? 422 : err.code === 'BH_ERR_ENGINE' ? 503 : 502;
    const detail = err.code === 'BH_ERR_POLICY' && err.violations?.length
      ? `refused by the isolation policy: ${err.violations.map((v) => `[${v.rule}] ${v.message}`).join('; ')}`
      : err.message.replace(/\n\s*/g, ' ');
    const extensions = { ...(err.violations ? { violations: err.violations } : {}), ...(err.problems ? { problems: err.problems } : {}) };
    return new ApiError(status, err.code, detail, undefined, Object.keys(extensions).length ? extensions : undefined);
  }
  return err;
}

export function composeRoutes(ctx: ApiContext): FastifyPluginAsync {
  // Compose requests run one at a time: two `up`s of one deployment racing would each create the
  // containers the other is creating, and any verb with --app unpacks the package's compose
  // archive into the same daemon-owned directory an `up` may be reading.
  let queue: Promise<unknown> = Promise.resolve();
  const serially = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };

  /** The file's secrets and configs, written into a fresh private directory of the daemon's. */
  const materialize = (files: Record<string, string>): string => {
    const root = path.join(ctx.dataDir, 'compose-sources');
    fs.mkdirSync(root, { recursive: true, mode: 0o700 });
    const dir = path.join(root, randomBytes(8).toString('hex'));
    fs.mkdirSync(dir, { mode: 0o700 });
    try {
      for (const [rel, base64] of Object.entries(files)) {
        if (!isPlainRelative(rel)) throw new ApiError(400, 'BH_ERR_API_BAD_REQUEST', `file ${JSON.stringify(rel)} is not a plain relative path beneath the Compose file`, 'body.file.files');
        // The directory is new and the daemon's alone: nothing in it can be a link someone planted.
        fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true, mode: 0o700 });
        fs.writeFileSync(path.join(dir, rel), Buffer.from(base64, 'base64'), { flag: 'wx', mode: 0o600 });
      }
    } catch (err) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw err;
    }
    return dir;
  };

  const withPrepared = async <T>(body: ComposeBody, fn: (p: PreparedCompose) => Promise<T> | T): Promise<T> => {
    const policy = loadDevicePolicy(ctx.dataDir); // invalid: a 503 naming the field
    const scratch = body.file ? materialize(body.file.files ?? {}) : undefined;
    try {
      const p = prepareCompose(body as ComposeRequest, { dataDir: ctx.dataDir, installed: ctx.installed, policy }, scratch);
      return await fn(p);
    } catch (err) {
      throw asApiError(err);
    } finally {
      if (scratch) fs.rmSync(scratch, { recursive: true, force: true });
    }
  };

  return async (app) => {
    app.addSchema(ComposeRequestSchema);
    const common = { tags: ['compose'], body: Type.Ref('ComposeRequest') };

    app.post<{ Body: ComposeBody }>('/v1/compose/check', {
      bodyLimit: MAX_COMPOSE_BODY, config: { reader: true },
      schema: {
        ...common, summary: 'every problem of the Compose files for their vendor (the engine is not contacted), as `bulkhead compose check`: structural and policy problems alike in `problems`',
        response: {
          200: Type.Object({
            ok: Type.Boolean(), vendor: Type.String(), project: Type.String(), files: Type.Array(Type.String()), warnings: Type.Array(Type.String()),
            problems: Type.Array(ProblemSchema), violations: Type.Array(ViolationSchema), services: Type.Array(EnforcedServiceSchema),
          }),
          ...problemResponses(400, 503),
        },
      },
    }, async (request) => serially(() => withPrepared(request.body, (p) => composeCheck(p))));

    app.post<{ Body: ComposeBody }>('/v1/compose/up', {
      bodyLimit: MAX_COMPOSE_BODY, config: { vendorScoped: true },
      schema: {
        ...common, summary: 'create or update the services (idempotent), as `bulkhead compose up`; a policy violation is BH_ERR_POLICY and nothing is created',
        response: {
          200: Type.Object({
            ok: Type.Literal(true), deployment: Type.String(), project: Type.String(), warnings: Type.Array(Type.String()), actions: Type.Array(ServiceActionSchema),
            orphans: Type.Optional(Type.Array(Type.String({ description: 'services no longer in the files whose containers were kept' }))),
          }),
          ...problemResponses(400, 403, 422, 502, 503),
        },
      },
    }, async (request) => serially(() => withPrepared(request.body, (p) => {
      assertActsFor(request, p.vendor, `the deployment ${p.identity.project}`);
      return composeUpVerb(p, { dataDir: ctx.dataDir, removeOrphans: request.body.removeOrphans === true });
    })));

    app.post<{ Body: ComposeBody }>('/v1/compose/down', {
      bodyLimit: MAX_COMPOSE_BODY, config: { vendorScoped: true },
      schema: {
        ...common, summary: 'remove exactly the containers the deployment owns (and its volumes with `volumes: true`), as `bulkhead compose down`',
        response: { 200: Type.Object({ ok: Type.Literal(true), removed: Type.Array(Type.String()), volumes: Type.Array(Type.String()) }), ...problemResponses(400, 403, 503) },
      },
    }, async (request) => serially(() => withPrepared(request.body, (p) => {
      assertActsFor(request, p.vendor, `the deployment ${p.identity.project}`);
      return composeDownVerb(p, undefined, { volumes: request.body.volumes === true });
    })));

    app.post<{ Body: ComposeBody }>('/v1/compose/ps', {
      bodyLimit: MAX_COMPOSE_BODY, config: { reader: true },
      schema: {
        ...common, summary: 'state, health and exit code of each service of the deployment, as `bulkhead compose ps`',
        response: {
          200: Type.Array(Type.Object({
            service: Type.String(), container: Type.String(), image: Type.String(), state: Type.String(), health: Type.Union([Type.String(), Type.Null()]),
            exitCode: Type.Union([Type.Integer(), Type.Null()]), restarting: Type.Boolean(), status: Type.String(), ports: Type.Array(Type.String()),
          })),
          ...problemResponses(400, 503),
        },
      },
    }, async (request) => serially(() => withPrepared(request.body, (p) => composePsVerb(p))));

    app.post<{ Body: Static<typeof ComposeLogsBody> }>('/v1/compose/logs', {
      bodyLimit: MAX_COMPOSE_BODY, config: { reader: true },
      schema: {
        tags: ['compose'], body: ComposeLogsBody, summary: 'recent output of the deployment\'s services (as `bulkhead compose logs`; container output is the vendor\'s, unescaped)',
        response: { 200: Type.Object({ text: Type.String() }), ...problemResponses(400, 503) },
      },
    }, async (request) => serially(() => withPrepared(request.body.request as ComposeBody, (p) => composeLogsVerb(p, request.body.service, request.body.tail ?? 200))));
  };
}
