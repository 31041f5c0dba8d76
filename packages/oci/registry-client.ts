// A small OCI distribution client (the parts pushing and pulling packages needs), over undici.
// Handles Basic and Bearer-token auth challenges, TLS options, and verifies every digest it reads.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { Agent, request, type Dispatcher } from 'undici';
import { PackageError } from '../package-errors.js';
import type { RegistryCredentials } from './registry-credentials.js';
import type { Descriptor, ImageIndex, ImageManifest } from './media-types.js';

export interface RegistryOptions {
  plainHttp?: boolean;
  /** PEM file with the CA that signed the registry's certificate. */
  caFile?: string;
  /** Accept any certificate (testing only). */
  insecureSkipVerify?: boolean;
  credentials?: RegistryCredentials;
  timeoutMs?: number;
}

type Body = Buffer | string | fs.ReadStream;

function ociError(message: string): PackageError {
  return new PackageError('BH_ERR_OCI', message);
}

export class RegistryClient {
  private readonly base: string;
  private readonly dispatcher: Dispatcher;
  private authorization: string | undefined;

  constructor(readonly registry: string, private readonly options: RegistryOptions = {}) {
    this.base = `${options.plainHttp ? 'http' : 'https'}://${registry}`;
    let ca: string | undefined;
    if (options.caFile) {
      try {
        ca = fs.readFileSync(options.caFile, 'utf8');
      } catch (err) {
        throw ociError(`--ca-file ${options.caFile}: cannot read (${(err as NodeJS.ErrnoException).code})`);
      }
    }
    const timeout = options.timeoutMs ?? 30_000;
    this.dispatcher = new Agent({
      connect: { ca, rejectUnauthorized: !options.insecureSkipVerify, timeout },
      headersTimeout: timeout, bodyTimeout: timeout,
    });
  }

  async close(): Promise<void> {
    await this.dispatcher.close();
  }

  private async send(method: Dispatcher.HttpMethod, url: string, headers: Record<string, string>, body?: () => Body): Promise<Dispatcher.ResponseData> {
    const full = url.startsWith('http') ? url : `${this.base}${url}`;
    const attempt = async () => {
      try {
        return await request(full, {
          method, dispatcher: this.dispatcher, body: body?.(),
          headers: { ...headers, ...(this.authorization ? { authorization: this.authorization } : {}) },
        });
      } catch (err) {
        const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
        const code = e.code ?? e.cause?.code ?? e.name;
        const tls = /CERT|SELF_SIGNED|TLS|SSL/.test(`${code} ${e.message}`);
        throw ociError(tls
          ? `registry ${this.registry}: TLS failed (${e.message}); pass --ca-file, or --insecure for testing`
          : `registry ${this.registry} unreachable (${code}: ${e.message})${this.options.plainHttp ? '' : '; for a plain-HTTP registry pass --plain-http'}`);
      }
    };
    let res = await attempt();
    if (res.statusCode === 401 && (await this.authenticate(res))) {
      res = await attempt();
    }
    return res;
  }

  /** Answers a 401 challenge; returns whether a retry makes sense. */
  private async authenticate(res: Dispatcher.ResponseData): Promise<boolean> {
    await res.body.dump();
    const challenge = String(res.headers['www-authenticate'] ?? '');
    const creds = this.options.credentials;
    if (/^basic/i.test(challenge)) {
      if (!creds) throw ociError(`registry ${this.registry} requires credentials (use --username/--password-stdin, BULKHEAD_REGISTRY_USERNAME/PASSWORD, or podman/docker login)`);
      this.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      return true;
    }
    if (/^bearer/i.test(challenge)) {
      const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1]!.toLowerCase(), m[2]!]));
      if (!params.realm) throw ociError(`registry ${this.registry}: bearer challenge without a realm`);
      const url = new URL(params.realm);
      if (params.service) url.searchParams.set('service', params.service);
      if (params.scope) url.searchParams.set('scope', params.scope);
      const headers: Record<string, string> = {};
      if (creds) headers.authorization = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      const tokenRes = await request(url, { dispatcher: this.dispatcher, headers });
      if (tokenRes.statusCode !== 200) {
        await tokenRes.body.dump();
        throw ociError(`registry ${this.registry}: token service refused (HTTP ${tokenRes.statusCode})${creds ? '' : '; credentials may be required'}`);
      }
      const token = (await tokenRes.body.json()) as { token?: string; access_token?: string };
      this.authorization = `Bearer ${token.token ?? token.access_token}`;
      return true;
    }
    return false;
  }

  private async expect(res: Dispatcher.ResponseData, ok: number[], what: string): Promise<void> {
    if (ok.includes(res.statusCode)) return;
    let detail = '';
    try {
      const body = (await res.body.json()) as { errors?: { code?: string; message?: string }[] };
      detail = (body.errors ?? []).map((e) => `${e.code}: ${e.message}`).join('; ');
    } catch {
      /* not a JSON error body */
    }
    const hint = res.statusCode === 401 || res.statusCode === 403 ? ' (check credentials)' : '';
    throw ociError(`${what}: HTTP ${res.statusCode}${detail ? ` (${detail})` : ''}${hint}`);
  }

  async ping(): Promise<void> {
    const res = await this.send('GET', '/v2/', {});
    await this.expect(res, [200], `registry ${this.registry}`);
    await res.body.dump();
  }

  async hasBlob(repo: string, digest: string): Promise<boolean> {
    const res = await this.send('HEAD', `/v2/${repo}/blobs/${digest}`, {});
    await res.body.dump();
    return res.statusCode === 200;
  }

  async pushBlob(repo: string, digest: string, size: number, body: () => Body): Promise<void> {
    if (await this.hasBlob(repo, digest)) return;
    const start = await this.send('POST', `/v2/${repo}/blobs/uploads/`, { 'content-length': '0' });
    await this.expect(start, [202], `starting upload to ${repo}`);
    await start.body.dump();
    const location = String(start.headers.location ?? '');
    if (!location) throw ociError(`registry ${this.registry}: upload started without a Location`);
    const url = new URL(location, this.base);
    url.searchParams.set('digest', digest);
    const put = await this.send('PUT', url.toString(), { 'content-type': 'application/octet-stream', 'content-length': String(size) }, body);
    await this.expect(put, [201], `uploading blob ${digest}`);
    await put.body.dump();
  }

  async putManifest(repo: string, reference: string, manifest: ImageManifest | ImageIndex): Promise<{ digest: string; size: number; subjectSupported: boolean }> {
    const bytes = Buffer.from(JSON.stringify(manifest));
    const res = await this.send('PUT', `/v2/${repo}/manifests/${reference}`, { 'content-type': manifest.mediaType }, () => bytes);
    await this.expect(res, [201], `storing manifest ${repo}:${reference}`);
    await res.body.dump();
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    return { digest, size: bytes.length, subjectSupported: res.headers['oci-subject'] !== undefined };
  }

  /** Fetches a manifest and checks it against its digest (when the reference is one). */
  async getManifest(repo: string, reference: string, accept: string[]): Promise<{ manifest: unknown; digest: string; mediaType: string; size: number } | undefined> {
    const res = await this.send('GET', `/v2/${repo}/manifests/${reference}`, { accept: accept.join(', ') });
    if (res.statusCode === 404) {
      await res.body.dump();
      return undefined;
    }
    await this.expect(res, [200], `fetching manifest ${repo}:${reference}`);
    const bytes = Buffer.from(await res.body.arrayBuffer());
    const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
    if (reference.startsWith('sha256:') && reference !== digest) throw ociError(`manifest ${repo}@${reference}: content has digest ${digest}`);
    const advertised = res.headers['docker-content-digest'];
    if (typeof advertised === 'string' && advertised !== digest) throw ociError(`manifest ${repo}:${reference}: registry says ${advertised}, content is ${digest}`);
    let manifest: unknown;
    try {
      manifest = JSON.parse(bytes.toString('utf8'));
    } catch {
      throw ociError(`manifest ${repo}:${reference}: not JSON`);
    }
    return { manifest, digest, mediaType: String(res.headers['content-type'] ?? ''), size: bytes.length };
  }

  /** Downloads a blob to `file`, verifying size and digest before the file is given its name. */
  async pullBlob(repo: string, d: Descriptor, file: string, maxBytes: number): Promise<void> {
    if (d.size > maxBytes) throw ociError(`blob ${d.digest} is ${d.size} bytes, over the limit of ${maxBytes}`);
    const res = await this.send('GET', `/v2/${repo}/blobs/${d.digest}`, {});
    await this.expect(res, [200], `downloading blob ${d.digest}`);
    const tmp = `${file}.partial`;
    const hash = createHash('sha256');
    const out = fs.createWriteStream(tmp);
    let size = 0;
    try {
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > d.size) throw ociError(`blob ${d.digest}: more bytes than the ${d.size} its descriptor says`);
        hash.update(chunk as Buffer);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
      }
      await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
      const digest = `sha256:${hash.digest('hex')}`;
      if (digest !== d.digest || size !== d.size) throw ociError(`blob ${d.digest}: downloaded content has digest ${digest} (${size} bytes); refused`);
      fs.renameSync(tmp, file);
    } catch (err) {
      out.destroy();
      fs.rmSync(tmp, { force: true });
      throw err;
    }
  }

  /** Referrers of a manifest: the OCI 1.1 API where the registry has it, else the tag-schema fallback. */
  async referrers(repo: string, digest: string): Promise<{ index: ImageIndex; viaApi: boolean }> {
    const res = await this.send('GET', `/v2/${repo}/referrers/${digest}`, { accept: 'application/vnd.oci.image.index.v1+json' });
    if (res.statusCode === 200 && String(res.headers['content-type'] ?? '').includes('application/vnd.oci.image.index.v1+json')) {
      return { index: (await res.body.json()) as ImageIndex, viaApi: true };
    }
    await res.body.dump();
    const fallback = await this.getManifest(repo, referrersTag(digest), ['application/vnd.oci.image.index.v1+json']);
    const index = (fallback?.manifest as ImageIndex | undefined) ?? { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] };
    return { index, viaApi: false };
  }
}

/** The tag-schema fallback name for the referrers of `digest` (OCI distribution spec 1.1). */
export function referrersTag(digest: string): string {
  return digest.replace(':', '-');
}
