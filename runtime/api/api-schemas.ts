// The JSON shapes of the management API, as TypeBox schemas: fastify validates requests and
// serializes responses with them, and /openapi.json is generated from them, so the document and
// the behaviour cannot drift apart.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);

export const ProblemSchema = Type.Object({
  type: Type.String({ description: 'a URI naming the error code' }),
  title: Type.String(),
  status: Type.Integer(),
  detail: Type.String({ description: 'one line: what failed, where, what to do' }),
  code: Type.String({ description: 'a stable BH_ERR_* code' }),
  instance: Type.Optional(Type.String()),
  field: Type.Optional(Type.String({ description: 'JSON path of the offending field' })),
  retryAfterSeconds: Type.Optional(Type.Integer()),
  violations: Type.Optional(Type.Array(Type.Object({ service: Type.String(), rule: Type.String(), message: Type.String() }), {
    description: 'with BH_ERR_POLICY: every isolation-policy violation of the Compose file',
  })),
  problems: Type.Optional(Type.Array(Type.Object({
    code: Type.String(), file: Type.Optional(Type.String()), line: Type.Optional(Type.Integer()), path: Type.String(),
    service: Type.Optional(Type.String()), rule: Type.Optional(Type.String()), message: Type.String(),
  }), { description: 'with BH_ERR_COMPOSE_* and BH_ERR_POLICY: every problem of the Compose files, located, as `bulkhead compose check` lists them' })),
}, { $id: 'Problem', description: 'RFC 9457 problem details (application/problem+json)' });

export const AppSchema = Type.Object({
  appId: Type.String(),
  desired: Type.Union([Type.Literal('running'), Type.Literal('stopped')]),
  actual: Type.String({ description: 'starting, running, completed, failed or stopped' }),
  reason: Nullable(Type.String()),
  parameters: Type.Record(Type.String(), Type.String()),
  generation: Type.Integer(),
  startedGeneration: Nullable(Type.Integer()),
  updatedAt: Type.String(),
}, { $id: 'App' });
export type AppBody = Static<typeof AppSchema>;

export const InstanceSchema = Type.Object({
  instanceId: Type.String(), appId: Type.String(), component: Type.String(), vendor: Type.String(),
  role: Nullable(Type.String()), state: Type.String(), exitCode: Nullable(Type.Integer()), reason: Nullable(Type.String()), updatedAt: Type.String(),
}, { $id: 'Instance' });

export const SandboxSchema = Type.Object({
  vendor: Type.String(), state: Type.String(), instances: Type.Integer(), cpuMs: Type.Number(), memoryBytes: Type.Integer(),
  reason: Nullable(Type.String()), updatedAt: Type.String(),
}, { $id: 'Sandbox' });

export const LogSchema = Type.Object({
  id: Type.Integer(), appId: Type.String(), component: Type.String(), at: Type.String(), level: Type.String(), message: Type.String(),
  fields: Type.Record(Type.String(), Type.String()),
}, { $id: 'LogRecord' });

export const AuditSchema = Type.Object({
  id: Type.Integer(), at: Type.String(), vendor: Type.String(), appId: Type.String(), component: Type.String(),
  capability: Type.String(), attempted: Type.String(), reason: Type.String(),
}, { $id: 'AuditEvent' });

export const PackageSchema = Type.Object({
  appId: Type.String(), version: Type.String(), vendor: Type.String(), digest: Type.String(), installedAt: Type.String(),
}, { $id: 'Package' });

export const ResourceSchema = Type.Object({
  vendor: Type.String(), hostBytes: Type.Integer(), hostBytesLimit: Type.Integer(), fds: Type.Integer(), fdsLimit: Type.Integer(),
  diskBytes: Type.Integer(), diskLimit: Type.Integer(), messagesDropped: Type.Integer(), publishedDropped: Type.Integer(), updatedAt: Type.String(),
}, { $id: 'VendorResources', description: 'what a vendor\'s guests make the host hold, against its caps' });

export const StatusSchema = Type.Object({
  daemon: Type.Integer({ description: 'pid of the daemon answering' }),
  apps: Type.Array(Type.Ref('App')),
  sandboxes: Type.Array(Type.Ref('Sandbox')),
  resources: Type.Array(Type.Ref('VendorResources')),
  dropped: Type.Object({ logRowsDropped: Type.Integer(), auditRowsDropped: Type.Integer(), updatedAt: Type.String() }),
}, { $id: 'Status' });

export const AppDetailSchema = Type.Object({
  daemon: Type.Integer(),
  app: Type.Ref('App'),
  instances: Type.Array(Type.Ref('Instance')),
}, { $id: 'AppDetail' });

export const AppStateEventSchema = Type.Object({
  appId: Type.String(), desired: Type.String(), actual: Type.String(), reason: Nullable(Type.String()), generation: Type.Integer(), at: Type.String(),
}, { $id: 'AppStateEvent', description: 'one change of an app\'s desired or actual state (the /v1/events stream)' });

/** Every shared schema, registered once with fastify.addSchema (and so in the OpenAPI components). */
export const SHARED_SCHEMAS = [ProblemSchema, AppSchema, InstanceSchema, SandboxSchema, ResourceSchema, LogSchema, AuditSchema, PackageSchema, StatusSchema, AppDetailSchema, AppStateEventSchema];

/** The error responses every route may give. */
export const problemResponses = (...statuses: number[]) =>
  Object.fromEntries(statuses.map((s) => [s, { $ref: 'Problem#', description: 'problem details' }]));

export const AppIdParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200, pattern: '^[A-Za-z0-9][A-Za-z0-9._-]*$' }) });
export type AppIdParamsT = Static<typeof AppIdParams>;

export const FollowFormat = Type.Union([Type.Literal('ndjson'), Type.Literal('sse')]);
