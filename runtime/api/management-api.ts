// The management API's composition root: one fastify app per listener, built from the same routes
// and schemas. The unix socket <data-dir>/bulkhead.sock (0660; whoever can open it is an admin) is
// always served; an optional TCP listener speaks only TLS 1.3 and requires a client certificate
// from the operator's CA, mapped to a role by policy.yaml (api-access.ts). There is no plaintext
// TCP mode. Every error is an RFC 9457 problem document carrying a BH_ERR_* code.
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { PackageError } from '../../packages/package-errors.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { AppRecords } from '../apps/app-records.js';
import { ResourceRecords } from '../apps/resource-records.js';
import { PolicyError } from '../state/device-policy.js';
import { openStateDb } from '../state/state-db.js';
import { cachedApiPolicy, clientName, roleOfCertificate } from './api-access.js';
import { DEFAULT_API_LIMITS, type ApiContext, type ApiLimits } from './api-context.js';
import { ApiError, problem, statusOfPackageError } from './api-errors.js';
import { SHARED_SCHEMAS } from './api-schemas.js';
import { appRoutes } from './app-routes.js';
import { auditRoutes } from './audit-routes.js';
import { composeRoutes } from './compose-routes.js';
import { DeviceMetrics, type HostCallCount } from './device-metrics.js';
import { eventRoutes } from './event-routes.js';
import { healthRoutes } from './health-routes.js';
import { clearSpool, PackageUploads } from './package-upload.js';
import { packageRoutes } from './package-routes.js';
import { policyRoutes } from './policy-routes.js';
import { StateFeed } from './state-feed.js';
import { trustRoutes } from './trust-routes.js';

export interface TlsListenOptions { host: string; port: number; certFile: string; keyFile: string; clientCaFile: string }

export interface ManagementApiOptions {
  dataDir: string;
  say?: (line: string) => void;
  /** Default <data-dir>/bulkhead.sock. */
  socketPath?: string;
  tls?: TlsListenOptions;
  limits?: Partial<ApiLimits>;
  /** How often followers' feed looks for new rows. */
  feedTickMs?: number;
  /** Calls into each host interface per vendor so far (the daemon's app host counts them). */
  hostCalls?: () => HostCallCount[];
}

export interface ManagementApi {
  socketPath: string;
  /** The TLS listener's port (useful with port 0), when there is one. */
  tlsPort?: number;
  /** Every route served ("GET /v1/apps"), for the OpenAPI completeness test. */
  routes: string[];
  close(): Promise<void>;
}

export const socketPathOf = (dataDir: string) => path.join(dataDir, 'bulkhead.sock');

type Transport = 'local' | 'tls';

const READ_METHODS = new Set(['GET', 'HEAD']);

/** The caller's identity and role: the socket is local admin; TLS maps the verified certificate. */
function authenticate(ctx: ApiContext, transport: Transport, request: FastifyRequest): void {
  if (transport === 'local') {
    request.role = 'admin';
    request.client = 'local';
  } else {
    const socket = request.raw.socket as TLSSocket;
    const cert = socket.getPeerCertificate();
    // The handshake already refused anything else (rejectUnauthorized); this guards a misconfiguration.
    if (!socket.authorized || !cert?.subject) throw new ApiError(403, 'BH_ERR_API_FORBIDDEN', 'no verified client certificate');
    request.client = clientName(cert);
    const grant = roleOfCertificate(cert, ctx.policy().clients);
    if (!grant) throw new ApiError(403, 'BH_ERR_API_FORBIDDEN', `the client certificate ${request.client} maps to no role; add its CN or URI SAN to api.clients in policy.yaml`);
    request.role = grant.role;
    request.vendor = grant.vendor;
  }
  if (request.role === 'admin' || READ_METHODS.has(request.method) || request.routeOptions.config?.reader === true) return;
  if (request.role === 'vendor' && request.routeOptions.config?.vendorScoped === true) return; // the route checks whose
  throw new ApiError(403, 'BH_ERR_API_FORBIDDEN', request.role === 'vendor'
    ? `${request.client} has the role vendor (${JSON.stringify(request.vendor)}), which may change only that vendor's packages, apps and deployments; ${request.method} ${request.url.split('?')[0]} needs admin`
    : `${request.client} has the role ${request.role}, which may only read; ${request.method} needs admin`);
}

function toProblem(err: FastifyError | Error, request: FastifyRequest, say: (line: string) => void) {
  const instance = request.url.split('?')[0];
  if (err instanceof ApiError) return problem(err.status, err.code, err.message, instance, err.field, err.extensions);
  if (err instanceof PackageError) return problem(statusOfPackageError(err), err.code, err.message, instance);
  if (err instanceof PolicyError) return problem(503, 'BH_ERR_API_NOT_READY', err.message, instance);
  const fe = err as FastifyError;
  if (fe.validation?.length) {
    const v = fe.validation[0]!;
    const where = fe.validationContext === 'querystring' ? 'query' : (fe.validationContext ?? 'body');
    const sub = v.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    const extra = (v.params as { additionalProperty?: string; missingProperty?: string });
    if (extra.additionalProperty) sub.push(extra.additionalProperty);
    if (extra.missingProperty) sub.push(extra.missingProperty);
    const field = [where, ...sub].map((p, i) => (/^\d+$/.test(p) && i > 0 ? `[${p}]` : i > 0 ? `.${p}` : p)).join('');
    const what = extra.additionalProperty ? `unknown field ${field}` : `${field} ${v.message}`;
    return problem(400, 'BH_ERR_API_BAD_REQUEST', `${what}`, instance, field);
  }
  const status = fe.statusCode ?? 500;
  if (status === 413) return problem(413, 'BH_ERR_API_TOO_LARGE', `the request body is over the limit of this route`, instance);
  if (status === 415) return problem(415, 'BH_ERR_API_UNSUPPORTED_MEDIA', `${request.headers['content-type'] ?? 'no content type'} is not accepted here (JSON routes take application/json, uploads application/octet-stream)`, instance);
  if (status === 429) return problem(429, 'BH_ERR_API_RATE_LIMITED', fe.message, instance);
  if (status >= 400 && status < 500) return problem(status, 'BH_ERR_API_BAD_REQUEST', `${fe.message}`.split('\n')[0]!, instance);
  say(`api: ${request.method} ${instance}: internal error: ${err.stack ?? err.message}`);
  return problem(500, 'BH_ERR_API_INTERNAL', `the daemon failed on ${request.method} ${instance}; see its log`, instance);
}

const TLS_REFUSALS = new Set(['ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA', 'CERT_HAS_EXPIRED', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_WRONG_VERSION_NUMBER', 'ECONNRESET']);

async function buildApi(ctx: ApiContext, transport: Transport, serverFactory: (handler: http.RequestListener) => http.Server, say: (line: string) => void, routes: string[] = []): Promise<FastifyInstance> {
  const app = Fastify({
    logger: false,
    bodyLimit: ctx.limits.jsonBodyBytes,
    forceCloseConnections: true,
    return503OnClosing: true,
    routerOptions: { maxParamLength: 200 },
    serverFactory,
    // Unknown fields are errors, not silently dropped (fastify's default removes them).
    ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
  });
  app.addHook('onRoute', (r) => {
    for (const m of [r.method].flat()) if (m !== 'HEAD') routes.push(`${m} ${r.url}`);
  });
  app.decorateRequest('role', 'reader');
  app.decorateRequest('client', '');
  app.decorateRequest('vendor', undefined);
  app.addHook('onRequest', async (request) => authenticate(ctx, transport, request));
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    // Every attempt to change the device, allowed or not, goes to the daemon's log with who asked:
    // the record an operator has of `bulkhead install` typed at a shell, for remote clients too.
    if (!READ_METHODS.has(request.method) && request.routeOptions.config?.reader !== true) {
      say(`api: ${request.client || 'unauthenticated'} (${transport}, ${request.role}${request.vendor ? ` for ${request.vendor}` : ''}) ${request.method} ${request.url.split('?')[0]} -> ${reply.statusCode}`);
    }
    ctx.metrics.requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    ctx.metrics.requestSeconds.observe({ method: request.method, route }, reply.elapsedTime / 1000);
  });
  app.setErrorHandler((err, request, reply) => {
    const p = toProblem(err as Error, request, say);
    reply.code(p.status).type('application/problem+json').send(p);
  });
  app.setNotFoundHandler((request, reply) => {
    const p = problem(404, 'BH_ERR_API_NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]}; see /openapi.json`, request.url.split('?')[0]);
    reply.code(404).type('application/problem+json').send(p);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Bulkhead device management API', version: '1.0.0', description: 'Served by the bulkhead daemon on <data-dir>/bulkhead.sock and, optionally, over TLS 1.3 with client certificates.' },
    },
    refResolver: { buildLocalReference: (json, _base, _fragment, i) => (json.$id as string | undefined) ?? `def-${i}` },
  });
  for (const s of SHARED_SCHEMAS) app.addSchema(s);
  const { rateLimit: rl } = ctx.policy();
  await app.register(rateLimit, {
    global: true,
    max: () => ctx.policy().rateLimit.max,
    timeWindow: rl.windowSeconds * 1000,
    keyGenerator: (request) => `${transport}:${request.client}`,
    errorResponseBuilder: (_request, c) => new ApiError(429, 'BH_ERR_API_RATE_LIMITED', `more than ${c.max} requests in ${c.after}; retry after ${Math.ceil(c.ttl / 1000)} s`),
  });

  await app.register(healthRoutes(ctx));
  await app.register(appRoutes(ctx));
  await app.register(eventRoutes(ctx));
  await app.register(packageRoutes(ctx));
  await app.register(auditRoutes(ctx));
  await app.register(trustRoutes(ctx));
  await app.register(composeRoutes(ctx));
  await app.register(policyRoutes(ctx));
  app.get('/openapi.json', { schema: { summary: 'this document (OpenAPI 3.1)', tags: ['health'] } }, async () => app.swagger());
  await app.ready();
  return app;
}

function hardenServer(server: http.Server, limits: ApiLimits): http.Server {
  server.maxConnections = limits.maxConnections;
  server.keepAliveTimeout = 5_000;
  server.setTimeout(limits.idleTimeoutMs, (socket) => socket.destroy());
  return server;
}

/** Node checks headersTimeout/requestTimeout on this period (default 30 s): tighter bounds slow clients. */
const serverTimeouts = (limits: ApiLimits) => ({
  headersTimeout: limits.headersTimeoutMs, requestTimeout: limits.requestTimeoutMs, connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
});

function readPem(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new ApiError(500, 'BH_ERR_API_INTERNAL', `${what} ${file}: cannot read (${(err as NodeJS.ErrnoException).code})`);
  }
}

export async function startManagementApi(options: ManagementApiOptions): Promise<ManagementApi> {
  const say = options.say ?? (() => {});
  const { dataDir } = options;
  // A connection of its own: the reconcile loop notices desired-state changes (a counter every write bumps),
  // so desired state written here wakes it exactly as the CLI's writes do.
  const db = openStateDb(dataDir);
  const limits = { ...DEFAULT_API_LIMITS, ...options.limits };
  const records = new AppRecords(db);
  const installed = new InstalledPackages(db, dataDir);
  const feed = new StateFeed(records, options.feedTickMs);
  const ctx: ApiContext = {
    dataDir, db, records, resources: new ResourceRecords(db), installed, trust: new TrustStore(db), feed, limits,
    metrics: new DeviceMetrics(records, db, () => feed.followers, options.hostCalls ?? (() => [])),
    uploads: new PackageUploads({ dataDir, installed, trust: new TrustStore(db) }),
    policy: cachedApiPolicy(dataDir),
  };
  clearSpool(dataDir);
  const apps: FastifyInstance[] = [];
  const routes: string[] = [];
  const close = async () => {
    feed.close();
    await Promise.allSettled(apps.map((a) => a.close()));
    db.close();
  };
  try {
    const socketPath = options.socketPath ?? socketPathOf(dataDir);
    if (Buffer.byteLength(socketPath) > 100) throw new ApiError(500, 'BH_ERR_API_INTERNAL', `the socket path ${socketPath} is too long for a unix socket (over 100 bytes); use a shorter --data-dir`);
    const existing = fs.lstatSync(socketPath, { throwIfNoEntry: false });
    if (existing && !existing.isSocket()) throw new ApiError(500, 'BH_ERR_API_INTERNAL', `${socketPath} exists and is not a socket; move it away`);
    // We hold the data dir's daemon lock, so a socket left here is a dead daemon's.
    if (existing) fs.rmSync(socketPath);
    const local = await buildApi(ctx, 'local', (handler) => hardenServer(http.createServer(serverTimeouts(limits), handler), limits), say, routes);
    apps.push(local);
    await local.listen({ path: socketPath });
    fs.chmodSync(socketPath, 0o660);
    say(`api: listening on ${socketPath}`);

    let tlsPort: number | undefined;
    if (options.tls) {
      const t = options.tls;
      const tlsOptions: https.ServerOptions = {
        ...serverTimeouts(limits),
        cert: readPem(t.certFile, '--tls-cert'), key: readPem(t.keyFile, '--tls-key'), ca: readPem(t.clientCaFile, '--client-ca'),
        requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3',
      };
      const remote = await buildApi(ctx, 'tls', (handler) => {
        let server: https.Server;
        try {
          server = https.createServer(tlsOptions, handler);
        } catch (err) {
          throw new ApiError(500, 'BH_ERR_API_INTERNAL', `the TLS listener cannot use --tls-cert/--tls-key/--client-ca: ${(err as Error).message}`);
        }
        server.on('tlsClientError', (err: NodeJS.ErrnoException) => {
          ctx.metrics.refusedConnections.inc({ reason: TLS_REFUSALS.has(err.code ?? '') ? err.code! : 'other' });
        });
        return hardenServer(server, limits);
      }, say);
      apps.push(remote);
      await remote.listen({ host: t.host, port: t.port }).catch((err: Error) => {
        throw new ApiError(500, 'BH_ERR_API_INTERNAL', `cannot listen on ${t.host}:${t.port}: ${err.message}`);
      });
      const address = remote.server.address();
      tlsPort = typeof address === 'object' && address ? address.port : t.port;
      say(`api: listening on https://${t.host.includes(':') ? `[${t.host}]` : t.host}:${tlsPort} (TLS 1.3, client certificates required)`);
    }
    return { socketPath, tlsPort, routes, close };
  } catch (err) {
    await close();
    throw err;
  }
}
