// The mTLS connection to the WFM, over undici (already a dependency; its Agent takes per-dispatcher
// TLS options and has header and body timeouts, which node:https would need by hand).
// On every connection: our X.509-SVID is presented; the WFM's chain is verified against the trust
// bundle's anchors only (`ca` replaces Node's system CAs); the leaf must be an X.509-SVID naming
// exactly the WFM our own SVID belongs to (the hostname plays no part: SVID identity is the URI
// SAN). TLS 1.3 unless TLS 1.2 fallback is configured. TLS sessions are not resumed, and a
// connection is retired after `maxConnectionAgeMs`, so a trust bundle rotation or an expired WFM
// certificate takes effect at the next handshake (tls-requirements.md, session lifetime).
// Every read is bounded: a size cap, and an overall deadline that a slow drip cannot extend.
import type { PeerCertificate } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { FleetError } from './fleet-errors.js';
import { svidMismatch } from './x509-svid.js';

export interface WfmTlsConfig {
  /** Our X.509-SVID and the intermediates needed to reach an anchor (PEM). */
  cert: Buffer;
  key: Buffer;
  /** The trust bundle's anchors (PEM). */
  anchors: string[];
  /** spiffe://<trust-domain>/margo/wfm/<wfm-id>, derived from our own SVID. */
  expectedServerId: string;
  allowTls12?: boolean;
}

export interface WfmResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

export interface ReadLimits {
  maxBytes: number;
  timeoutMs: number;
}

const TLS12_CIPHERS = [
  // RFC 9325: ECDHE with AEAD only.
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

const TLS_CODES = new Set([
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'CERT_SIGNATURE_FAILURE',
  'CERT_REVOKED', 'CERT_UNTRUSTED', 'CERT_REJECTED', 'INVALID_CA', 'ERR_TLS_CERT_ALTNAME_INVALID', 'ERR_FLEET_WFM_IDENTITY',
  'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION', 'ERR_SSL_UNSUPPORTED_PROTOCOL', 'ERR_SSL_NO_PROTOCOLS_AVAILABLE',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE', 'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED', 'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
]);

function causeChain(err: unknown): Array<Error & { code?: string }> {
  const out: Array<Error & { code?: string }> = [];
  let e = err as (Error & { code?: string; cause?: unknown }) | undefined;
  for (let i = 0; e && i < 5; i++) {
    out.push(e);
    e = e.cause as typeof e;
  }
  return out;
}

/** A network or TLS failure as a FleetError (TLS identity failures keep their own code). */
export function transportError(err: unknown, what: string): FleetError {
  if (err instanceof FleetError) return err;
  const chain = causeChain(err);
  const tls = chain.find((e) => e.code !== undefined && TLS_CODES.has(e.code));
  if (tls) return new FleetError('BH_ERR_FLEET_TLS', `${what}: ${tls.message}`);
  const last = chain[chain.length - 1] ?? chain[0];
  const text = chain.map((e) => e.message).filter((m, i, all) => m && all.indexOf(m) === i).join(': ');
  return new FleetError('BH_ERR_FLEET_UNREACHABLE', `${what}: ${text || String(last ?? err)}`);
}

export class WfmTransport {
  private agent: Agent | undefined;
  private agentBorn = 0;
  private readonly base: string;

  constructor(
    baseUrl: string,
    private readonly tls: WfmTlsConfig,
    private readonly options: { maxConnectionAgeMs?: number; connectTimeoutMs?: number } = {},
  ) {
    this.base = baseUrl.replace(/\/+$/, '');
  }

  private dispatcher(): Dispatcher {
    const maxAge = this.options.maxConnectionAgeMs ?? 10 * 60_000;
    if (this.agent && Date.now() - this.agentBorn > maxAge) {
      void this.agent.close().catch(() => {});
      this.agent = undefined;
    }
    if (!this.agent) {
      const expected = this.tls.expectedServerId;
      this.agent = new Agent({
        connect: {
          cert: this.tls.cert,
          key: this.tls.key,
          ca: this.tls.anchors,
          rejectUnauthorized: true,
          minVersion: this.tls.allowTls12 ? 'TLSv1.2' : 'TLSv1.3',
          ...(this.tls.allowTls12 ? { ciphers: TLS12_CIPHERS } : {}),
          // Full handshakes only: a resumed session would carry an old authentication forward.
          maxCachedSessions: 0,
          timeout: this.options.connectTimeoutMs ?? 10_000,
          // Called after the chain verified against `ca`: the leaf must be exactly our WFM's SVID.
          checkServerIdentity: (_host: string, cert: PeerCertificate) => {
            const why = svidMismatch(cert.raw, expected);
            if (!why) return undefined;
            return Object.assign(new Error(`the fleet manager is not ${expected}: ${why}`), { code: 'ERR_FLEET_WFM_IDENTITY' });
          },
        },
        keepAliveTimeout: 30_000,
        keepAliveMaxTimeout: 60_000,
        connections: 2,
      });
      this.agentBorn = Date.now();
    }
    return this.agent;
  }

  /** Drops the open connections (the next request handshakes again). */
  async reset(): Promise<void> {
    const a = this.agent;
    this.agent = undefined;
    await a?.close().catch(() => {});
  }

  async close(): Promise<void> {
    const a = this.agent;
    this.agent = undefined;
    await a?.destroy().catch(() => {});
  }

  /** One request; the body read under `limits`. Throws a FleetError on transport failure. */
  async call(method: 'GET' | 'PUT' | 'POST' | 'DELETE', path: string, headers: Record<string, string>, body: string | undefined, limits: ReadLimits, signal?: AbortSignal): Promise<WfmResponse> {
    const what = `${method} ${path}`;
    const deadline = AbortSignal.timeout(limits.timeoutMs);
    const abort = signal ? AbortSignal.any([deadline, signal]) : deadline;
    try {
      const res = await request(`${this.base}${path}`, {
        method, headers, body, signal: abort, dispatcher: this.dispatcher(),
        headersTimeout: limits.timeoutMs, bodyTimeout: limits.timeoutMs,
      });
      const length = Number(res.headers['content-length']);
      if (Number.isFinite(length) && length > limits.maxBytes) {
        res.body.destroy();
        throw new FleetError('BH_ERR_FLEET_TOO_LARGE', `${what}: the response declares ${length} bytes, over the ${limits.maxBytes}-byte cap`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > limits.maxBytes) {
          res.body.destroy();
          throw new FleetError('BH_ERR_FLEET_TOO_LARGE', `${what}: the response is over the ${limits.maxBytes}-byte cap`);
        }
        chunks.push(chunk as Buffer);
      }
      return { status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks) };
    } catch (err) {
      if (err instanceof FleetError) throw err;
      if (deadline.aborted && !signal?.aborted) throw new FleetError('BH_ERR_FLEET_UNREACHABLE', `${what}: no complete answer within ${limits.timeoutMs} ms`);
      throw transportError(err, what);
    }
  }
}
