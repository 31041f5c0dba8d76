// The trust bundle: the only anchors a WFM's certificate chain is verified against (never the
// system CAs). From a PEM file, or a SPIFFE bundle (JWK Set) from a file or the identity service.
// A bundle with no X.509 anchors is refused (fail closed, trust-bundle-and-discovery.md); a new
// bundle replaces the old one whole (an anchor removed to revoke a compromise must stop working);
// one whose spiffe_sequence is lower than the current one's is refused (a replayed old bundle).
import crypto from 'node:crypto';
import { numberValue, parseExactJson, unsignedIntegerText } from './exact-json.js';
import { FleetError } from './fleet-errors.js';

export interface TrustBundle {
  /** Each anchor as PEM: the `ca` option of the WFM connection, and nothing else. */
  anchors: string[];
  /** spiffe_sequence of a SPIFFE bundle (a decimal string: it may exceed 2^53). */
  sequence?: string;
  /** spiffe_refresh_hint in seconds. */
  refreshHintSeconds?: number;
}

const MAX_ANCHORS = 64;

function refuse(message: string): never {
  throw new FleetError('BH_ERR_FLEET_TRUST_BUNDLE', message);
}

function anchorPem(der: Buffer, where: string): string {
  let cert: crypto.X509Certificate;
  try {
    cert = new crypto.X509Certificate(der);
  } catch (err) {
    refuse(`${where}: not an X.509 certificate (${(err as Error).message})`);
  }
  if (!cert.ca) refuse(`${where}: ${cert.subject.replace(/\n/g, ', ')} is not a CA certificate, so it cannot anchor SVIDs`);
  return cert.toString();
}

/** PEM text with one or more CERTIFICATE blocks. */
export function parsePemBundle(text: string, where: string): TrustBundle {
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g)];
  if (blocks.length === 0) refuse(`${where} holds no certificate: an empty trust bundle is refused`);
  if (blocks.length > MAX_ANCHORS) refuse(`${where} holds ${blocks.length} certificates; at most ${MAX_ANCHORS} anchors are taken`);
  return { anchors: blocks.map((b, i) => anchorPem(Buffer.from(b[1]!.replace(/\s+/g, ''), 'base64'), `${where} certificate ${i + 1}`)) };
}

/**
 * A SPIFFE bundle: a JWK Set whose `use: x509-svid` keys each carry their authority in `x5c`
 * (exactly one base64 DER certificate). Other keys (jwt-svid...) are ignored, as MIAF requires.
 */
export function parseSpiffeBundle(body: Buffer | string, where: string): TrustBundle {
  let doc: unknown;
  try {
    doc = parseExactJson(typeof body === 'string' ? body : body.toString('utf8'));
  } catch (err) {
    refuse(`${where} is not JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) refuse(`${where} is not a JWK Set object`);
  const set = doc as Record<string, unknown>;
  if (!Array.isArray(set.keys)) refuse(`${where} has no "keys" array`);
  const anchors: string[] = [];
  set.keys.forEach((key: unknown, i: number) => {
    if (typeof key !== 'object' || key === null) refuse(`${where} keys[${i}] is not an object`);
    const k = key as Record<string, unknown>;
    if (k.use !== 'x509-svid') return;
    if (!Array.isArray(k.x5c) || k.x5c.length !== 1 || typeof k.x5c[0] !== 'string') refuse(`${where} keys[${i}]: an x509-svid key carries exactly one certificate in x5c`);
    if (anchors.length >= MAX_ANCHORS) refuse(`${where} holds more than ${MAX_ANCHORS} x509-svid anchors`);
    anchors.push(anchorPem(Buffer.from(k.x5c[0] as string, 'base64'), `${where} keys[${i}].x5c[0]`));
  });
  if (anchors.length === 0) refuse(`${where} carries no x509-svid anchor: an empty trust bundle is refused`);
  const bundle: TrustBundle = { anchors };
  if (set.spiffe_sequence !== undefined) {
    const seq = unsignedIntegerText(set.spiffe_sequence);
    if (seq === undefined) refuse(`${where}: spiffe_sequence must be a non-negative integer`);
    bundle.sequence = seq;
  }
  if (set.spiffe_refresh_hint !== undefined) {
    const hint = numberValue(set.spiffe_refresh_hint);
    if (hint === undefined || !Number.isFinite(hint) || hint <= 0) refuse(`${where}: spiffe_refresh_hint must be a positive number of seconds`);
    bundle.refreshHintSeconds = hint;
  }
  return bundle;
}

/** A file given to `fleet join --trust-bundle`: a SPIFFE bundle (JSON) or PEM certificates. */
export function parseTrustBundleFile(bytes: Buffer, where: string): TrustBundle {
  const text = bytes.toString('utf8');
  return text.trimStart().startsWith('{') ? parseSpiffeBundle(text, where) : parsePemBundle(text, where);
}

/**
 * Whether `candidate` may replace `current`: a lower spiffe_sequence is refused (throws); the same
 * sequence with other anchors is refused too (a bundle that changed must say so). Returns false
 * when nothing changed.
 */
export function bundleReplaces(current: TrustBundle | undefined, candidate: TrustBundle, where: string): boolean {
  if (!current) return true;
  const same = current.anchors.length === candidate.anchors.length && current.anchors.every((a, i) => a === candidate.anchors[i]);
  if (current.sequence !== undefined && candidate.sequence !== undefined) {
    const cur = BigInt(current.sequence);
    const next = BigInt(candidate.sequence);
    if (next < cur) refuse(`${where}: spiffe_sequence ${next} is lower than the current bundle's ${cur} (a replayed older bundle); kept the current one`);
    if (next === cur && !same) refuse(`${where}: spiffe_sequence ${next} is the current one's but the anchors differ; kept the current one`);
  }
  return !same || current.refreshHintSeconds !== candidate.refreshHintSeconds || current.sequence !== candidate.sequence;
}
