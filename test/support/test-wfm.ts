// A small Workload Fleet Manager of our own, for tests and the demo. No reference WFM can run here
// (Margo publishes none that works offline), so this is our own peer speaking the published
// Workload Management API 1.0.0-rc.3 over mTLS: it serves the state manifest, each deployment YAML
// and the bundle from what the test sets, accepts status and capability reports, records every
// request, and can be told to misbehave in each way a device must survive.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TLSSocket } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import * as tar from 'tar';
import { tempDir } from './paths.js';
import type { Pair } from './spiffe-pki.js';

const sha = (b: Uint8Array) => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;
const MARGO = 'https://docs.margo.org/specification/problem-types#';

export interface WfmFaults {
  /** Serve these deployments' YAML with a byte changed (the manifest keeps the true digest). */
  digestMismatch?: string[];
  /** Announce deployments with this digest algorithm instead of sha256. */
  digestAlgorithm?: string;
  /** Serve this manifestVersion regardless of what was set. */
  manifestVersion?: number | string;
  /** The bundle leaves out the first deployment and carries a stray file instead. */
  bundleDisagrees?: boolean;
  /** Announce sizeBytes wrong by this factor (advisory only: must not matter). */
  wrongSizeBytes?: boolean;
  /** The next N requests (any endpoint) answer 503 with this Retry-After. */
  unavailable?: { count: number; retryAfterSeconds?: number };
  /** Every request answers 403 not-authorized (the client relationship was retired). */
  retired?: boolean;
  /** The manifest answers 406 with a problem. */
  notAcceptable?: boolean;
  /** The manifest body is sent one byte at a time, this many ms apart. */
  slowDripMs?: number;
  /** The manifest request is accepted and never answered. */
  hang?: boolean;
  /** The manifest ETag is not the digest of its body. */
  wrongEtag?: boolean;
  /** The manifest announces more bytes than it sends, then the connection is cut. */
  truncate?: boolean;
  /** bundle is null although there are deployments (or an object when there are none). */
  bundleNullMismatch?: boolean;
  /** Status reports answer 422. */
  rejectStatus?: boolean;
}

export interface RecordedRequest {
  method: string;
  url: string;
  clientId: string | undefined;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  at: number;
  reqId?: string;
  /** The answer's status code (once sent). */
  status?: number;
}

export interface WfmDeployment { id: string; yaml: string }

export class TestWfm {
  readonly requests: RecordedRequest[] = [];
  faults: WfmFaults = {};
  private manifestBody = Buffer.from('');
  private docs = new Map<string, Buffer>();
  private bundle: Buffer | undefined;
  private served: Buffer | undefined;
  private version = 0;
  private readonly hung: FastifyReply[] = [];

  url = '';

  private constructor(private readonly app: FastifyInstance, readonly acceptedClientPrefix: string) {}

  /** Starts on 127.0.0.1 with `server` as its certificate, accepting clients of `clientCa` under its WFM ID. */
  static async start(options: { server: Pair; clientCa: string; wfmSpiffeId: string; minVersion?: 'TLSv1.2' | 'TLSv1.3'; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }): Promise<TestWfm> {
    const app = Fastify({
      https: {
        key: fs.readFileSync(options.server.key), cert: fs.readFileSync(options.server.cert), ca: fs.readFileSync(options.clientCa),
        requestCert: true, rejectUnauthorized: true, minVersion: options.minVersion ?? 'TLSv1.2', maxVersion: options.maxVersion,
      },
      logger: false,
      // A test's hanging or slow-drip answers must not hold close() up.
      forceCloseConnections: true,
    });
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
      try { done(null, JSON.parse(body as string)); } catch (err) { done(err as Error, undefined); }
    });
    const wfm = new TestWfm(app, `${options.wfmSpiffeId}/client/`);
    wfm.routes();
    wfm.setDeployments([]);
    await app.listen({ host: '127.0.0.1', port: 0 });
    wfm.url = `https://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    return wfm;
  }

  get manifestVersion(): number {
    return this.version;
  }

  /** A new desired state: manifestVersion + 1 (or `version`), individual YAMLs and the bundle. */
  setDeployments(deployments: WfmDeployment[], version = this.version + 1): void {
    this.version = version;
    this.docs = new Map(deployments.map((d) => [d.id, Buffer.from(d.yaml)]));
    this.bundle = deployments.length > 0 ? makeBundle(deployments.map((d) => ({ name: `${d.id}.yaml`, bytes: Buffer.from(d.yaml) }))) : undefined;
    this.render();
  }

  private render(): void {
    const f = this.faults;
    const digestOf = (b: Buffer) => (f.digestAlgorithm ? `${f.digestAlgorithm}:${crypto.createHash('sha512').update(b).digest('hex')}` : sha(b));
    const deployments = [...this.docs].map(([id, b]) => {
      const digest = digestOf(b);
      return { deploymentId: id, digest, sizeBytes: f.wrongSizeBytes ? b.length * 7 + 3 : b.length, url: `/api/v1/deployments/${id}/${digest}` };
    });
    this.served = this.servedBundle();
    const bundleBytes = this.served;
    let bundle: unknown = bundleBytes ? { mediaType: 'application/vnd.margo.bundle.v1+tar+gzip', digest: sha(bundleBytes), sizeBytes: bundleBytes.length, url: `/api/v1/bundles/${sha(bundleBytes)}` } : null;
    if (f.bundleNullMismatch) bundle = bundle ? null : { mediaType: 'application/vnd.margo.bundle.v1+tar+gzip', digest: sha(Buffer.from('x')), url: `/api/v1/bundles/${sha(Buffer.from('x'))}` };
    const version = f.manifestVersion ?? this.version;
    // The version is written from its text so tests can use values beyond 2^53.
    const json = JSON.stringify({ manifestVersion: '__V__', bundle, deployments }).replace('"__V__"', String(version));
    this.manifestBody = Buffer.from(json);
  }

  private servedBundle(): Buffer | undefined {
    if (!this.bundle) return undefined;
    if (!this.faults.bundleDisagrees) return this.bundle;
    const files = [...this.docs].slice(1).map(([id, b]) => ({ name: `${id}.yaml`, bytes: b }));
    files.push({ name: 'stray.yaml', bytes: Buffer.from('kind: ApplicationDeployment\nmetadata: {name: stray}\n') });
    return makeBundle(files);
  }

  /** Re-renders after a change to `faults` that affects the manifest. */
  setFaults(faults: WfmFaults): void {
    this.faults = faults;
    this.render();
  }

  /** The state manifest as served now (its bytes). */
  manifestBytes(): Buffer {
    return this.manifestBody;
  }

  private problem(reply: FastifyReply, status: number, type: string, title: string, extra: Record<string, unknown> = {}) {
    return reply.code(status).header('content-type', 'application/problem+json').send(JSON.stringify({ type, title, status, ...extra }));
  }

  private routes(): void {
    const app = this.app;
    app.addHook('onRequest', async (req, reply) => {
      const peer = (req.raw.socket as TLSSocket).getPeerCertificate();
      const uri = /URI:([^,\s]+)/.exec(peer?.subjectaltname ?? '')?.[1];
      this.requests.push({ method: req.method, url: req.url, clientId: uri, headers: req.headers, body: undefined, at: Date.now(), reqId: req.id });
      // The WFM Identity Profile: a caller is one of our clients only under our own WFM ID.
      if (!uri || !uri.startsWith(this.acceptedClientPrefix)) return this.problem(reply, 403, `${MARGO}not-authorized`, 'Not Authorized', { detail: 'not a client of this WFM' });
      if (this.faults.retired) return this.problem(reply, 403, `${MARGO}not-authorized`, 'Not Authorized', { detail: 'The client relationship has been retired.' });
      const u = this.faults.unavailable;
      if (u && u.count > 0) {
        u.count--;
        if (u.retryAfterSeconds !== undefined) reply.header('retry-after', String(u.retryAfterSeconds));
        return this.problem(reply, 503, 'about:blank', 'Service Unavailable', { retryable: true, backoffStrategy: 'exponential', ...(u.retryAfterSeconds !== undefined ? { retryAfterSeconds: u.retryAfterSeconds } : {}) });
      }
    });
    app.addHook('onResponse', async (req, reply) => {
      const rec = this.requests.find((r) => r.reqId === req.id);
      if (rec) rec.status = reply.statusCode;
    });
    app.addHook('preHandler', async (req) => {
      const rec = this.requests.find((r) => r.reqId === req.id);
      if (rec) rec.body = req.body;
    });

    app.get('/api/v1/deployments', async (req, reply) => {
      const f = this.faults;
      if (f.notAcceptable) return this.problem(reply, 406, `${MARGO}server-cannot-generate-response`, 'Server Cannot Generate Response');
      if (f.hang) {
        this.hung.push(reply);
        return reply.hijack();
      }
      const body = this.manifestBody;
      const etag = `"${f.wrongEtag ? sha(Buffer.from('something else')) : sha(body)}"`;
      if (req.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send();
      if (f.slowDripMs !== undefined || f.truncate) {
        reply.hijack();
        const raw = reply.raw;
        raw.writeHead(200, { 'content-type': 'application/vnd.margo.manifest.v1+json', etag, 'content-length': String(body.length + (f.truncate ? 100 : 0)) });
        if (f.truncate) {
          raw.write(body);
          setTimeout(() => raw.socket?.destroy(), 20);
          return;
        }
        let i = 0;
        const timer = setInterval(() => {
          if (i >= body.length || raw.destroyed) { clearInterval(timer); raw.end(); return; }
          raw.write(body.subarray(i, i + 1));
          i++;
        }, f.slowDripMs);
        raw.on('close', () => clearInterval(timer));
        return;
      }
      return reply.code(200).header('content-type', 'application/vnd.margo.manifest.v1+json').header('etag', etag).header('cache-control', 'private').send(body);
    });

    app.get<{ Params: { id: string; digest: string } }>('/api/v1/deployments/:id/:digest', async (req, reply) => {
      const doc = this.docs.get(req.params.id);
      if (!doc) return this.problem(reply, 404, `${MARGO}deployment-not-found`, 'Deployment Not Found');
      let bytes = doc;
      if (this.faults.digestMismatch?.includes(req.params.id)) {
        bytes = Buffer.from(doc);
        bytes[bytes.length - 1] ^= 0x01;
      }
      return reply.code(200).header('content-type', 'application/yaml').header('etag', `"${req.params.digest}"`).header('cache-control', 'private, max-age=31536000, immutable').send(bytes);
    });

    app.get<{ Params: { digest: string } }>('/api/v1/bundles/:digest', async (req, reply) => {
      const bundle = this.served;
      if (!bundle || sha(bundle) !== req.params.digest) return this.problem(reply, 404, `${MARGO}invalid-bundle`, 'Invalid Bundle');
      return reply.code(200).header('content-type', 'application/vnd.margo.bundle.v1+tar+gzip').header('etag', `"${req.params.digest}"`).send(bundle);
    });

    app.post('/api/v1/deployments/:id/status', async (_req, reply) => {
      if (this.faults.rejectStatus) return this.problem(reply, 422, `${MARGO}semantic-error`, 'Semantic Error', { errors: [{ field: 'status.state', message: 'rejected by test' }] });
      return reply.code(201).send();
    });

    app.put('/api/v1/capabilities/*', async (_req, reply) => reply.code(201).send());
    app.delete('/api/v1/capabilities/*', async (_req, reply) => reply.code(204).send());
  }

  /** Status reports received, in order. */
  statusReports(): Array<{ deploymentId: string; deviceId: string; adoptedManifestVersion: number; status: { state: string; error?: unknown }; components: unknown[] }> {
    return this.requests.filter((r) => r.method === 'POST' && /\/status$/.test(r.url) && r.body).map((r) => r.body as never);
  }

  count(method: string, prefix: string): number {
    return this.requests.filter((r) => r.method === method && r.url.startsWith(prefix)).length;
  }

  async close(): Promise<void> {
    for (const r of this.hung.splice(0)) r.raw.socket?.destroy();
    await this.app.close();
  }
}

/** A tar+gzip with these files at its root, made with node-tar. */
export function makeBundle(files: Array<{ name: string; bytes: Buffer }>): Buffer {
  const dir = tempDir('bh-bundle-');
  for (const f of files) fs.writeFileSync(path.join(dir, f.name), f.bytes);
  const out = path.join(dir, '..', `${path.basename(dir)}.tgz`);
  tar.c({ gzip: true, cwd: dir, file: out, sync: true, portable: true }, files.map((f) => f.name));
  const bytes = fs.readFileSync(out);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(out, { force: true });
  return bytes;
}

/** A minimal ApplicationDeployment YAML (the link does not read it; the applier does). */
export function deploymentYaml(id: string, appId: string, extra = ''): string {
  return [
    'apiVersion: application.margo.org/v1alpha1',
    'kind: ApplicationDeployment',
    'metadata:',
    `  annotations: {id: ${id}, applicationId: ${appId}}`,
    `  name: ${appId}-deployment`,
    '  namespace: default',
    'spec:',
    '  deploymentProfile:',
    '    type: compose',
    '    components: []',
    extra,
  ].join('\n');
}
