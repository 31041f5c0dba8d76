// Fetching the trust bundle from a Margo Identity Service (trust-bundle-api 1.0.0-rc.3): the
// discovery document (GET /.well-known/margo -> trustDomain, trustBundleUri), then the SPIFFE
// bundle at trustBundleUri. These HTTPS connections cannot be authenticated by an SVID yet, so they
// use the initial trust the operator configured: the system's CAs (web or enterprise PKI) or, with
// --identity-ca, only that CA; host names are checked as for any HTTPS server. Never trust on
// first use: an unauthenticated answer is refused. The discovery document must name the trust
// domain of the device's own SVID, and trustBundleUri must be https.
import { Agent, request } from 'undici';
import { FleetError } from './fleet-errors.js';
import { transportError } from './wfm-transport.js';
import { parseSpiffeBundle, type TrustBundle } from './trust-bundle.js';

export interface IdentityFetchOptions {
  /** PEM of the CA(s) that authenticate the identity service; undefined: the system's CAs. */
  ca?: string;
  expectedTrustDomain: string;
  allowTls12?: boolean;
  timeoutMs?: number;
}

const MAX_DOC_BYTES = 256 * 1024;

function refuse(message: string): never {
  throw new FleetError('BH_ERR_FLEET_TRUST_BUNDLE', message);
}

/** --identity URL: an origin (discovery at /.well-known/margo) or the discovery document's URL. */
export function discoveryUrl(identity: string): URL {
  let url: URL;
  try {
    url = new URL(identity);
  } catch {
    throw new FleetError('BH_ERR_FLEET_JOIN', `--identity ${JSON.stringify(identity)} is not a URL`);
  }
  if (url.protocol !== 'https:') throw new FleetError('BH_ERR_FLEET_JOIN', `--identity ${identity} must be an https:// URL`);
  if (url.pathname === '/' || url.pathname === '') url.pathname = '/.well-known/margo';
  return url;
}

async function getJson(agent: Agent, url: URL, timeoutMs: number): Promise<Buffer> {
  try {
    const res = await request(url, {
      method: 'GET', headers: { accept: 'application/json' }, dispatcher: agent,
      signal: AbortSignal.timeout(timeoutMs), headersTimeout: timeoutMs, bodyTimeout: timeoutMs,
    });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of res.body) {
      size += (c as Buffer).length;
      if (size > MAX_DOC_BYTES) {
        res.body.destroy();
        refuse(`${url.href}: the answer is over ${MAX_DOC_BYTES} bytes`);
      }
      chunks.push(c as Buffer);
    }
    if (res.statusCode !== 200) refuse(`${url.href} answered ${res.statusCode}`);
    return Buffer.concat(chunks);
  } catch (err) {
    if (err instanceof FleetError) throw err;
    throw transportError(err, `GET ${url.href}`);
  }
}

export async function fetchTrustBundle(identity: string, options: IdentityFetchOptions): Promise<{ bundle: TrustBundle; trustBundleUri: string }> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const agent = new Agent({
    connect: {
      ...(options.ca ? { ca: options.ca } : {}),
      rejectUnauthorized: true,
      minVersion: options.allowTls12 ? 'TLSv1.2' : 'TLSv1.3',
      maxCachedSessions: 0,
      timeout: timeoutMs,
    },
  });
  try {
    const where = discoveryUrl(identity);
    let doc: Record<string, unknown>;
    try {
      doc = JSON.parse((await getJson(agent, where, timeoutMs)).toString('utf8')) as Record<string, unknown>;
    } catch (err) {
      if (err instanceof FleetError) throw err;
      refuse(`${where.href}: the discovery document is not JSON`);
    }
    if (!doc || typeof doc !== 'object') refuse(`${where.href}: the discovery document is not an object`);
    if (typeof doc.trustDomain !== 'string' || typeof doc.trustBundleUri !== 'string') refuse(`${where.href}: the discovery document lacks trustDomain or trustBundleUri`);
    if (doc.trustDomain !== options.expectedTrustDomain) {
      refuse(`${where.href} describes trust domain ${JSON.stringify(doc.trustDomain)}, but this device's SVID is in ${JSON.stringify(options.expectedTrustDomain)}`);
    }
    let bundleUrl: URL;
    try {
      bundleUrl = new URL(doc.trustBundleUri);
    } catch {
      refuse(`${where.href}: trustBundleUri ${JSON.stringify(doc.trustBundleUri)} is not an absolute URL`);
    }
    if (bundleUrl.protocol !== 'https:') refuse(`${where.href}: trustBundleUri ${bundleUrl.href} is not https; refused`);
    const bundle = parseSpiffeBundle(await getJson(agent, bundleUrl, timeoutMs), bundleUrl.href);
    return { bundle, trustBundleUri: bundleUrl.href };
  } finally {
    await agent.destroy().catch(() => {});
  }
}
