// Margo's content digests (desired-state.md, Protocol - Digest): `sha256:<64 lowercase hex>` over
// the exact bytes of a decoded response body. Any other algorithm makes the manifest invalid.
import crypto from 'node:crypto';
import { FleetError } from './fleet-errors.js';

const SHA256 = /^sha256:[0-9a-f]{64}$/;

export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${crypto.createHash('sha256').update(bytes).digest('hex')}`;
}

/** Throws BH_ERR_FLEET_MANIFEST unless `digest` is a well-formed sha256 digest. */
export function checkDigestSyntax(digest: unknown, where: string): string {
  if (typeof digest !== 'string') throw new FleetError('BH_ERR_FLEET_MANIFEST', `${where}: the digest is missing`);
  if (SHA256.test(digest)) return digest;
  const algorithm = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):/.exec(digest)?.[1];
  if (algorithm && algorithm !== 'sha256') throw new FleetError('BH_ERR_FLEET_MANIFEST', `${where}: digest algorithm ${JSON.stringify(algorithm)} is not supported (only sha256); the manifest is invalid`);
  throw new FleetError('BH_ERR_FLEET_MANIFEST', `${where}: ${JSON.stringify(digest.slice(0, 80))} is not a digest of the form sha256:<64 lowercase hex>`);
}

/** Throws BH_ERR_FLEET_DIGEST unless `bytes` hash to `expected`. */
export function verifyDigest(bytes: Uint8Array, expected: string, what: string): void {
  const actual = sha256Digest(bytes);
  if (actual !== expected) throw new FleetError('BH_ERR_FLEET_DIGEST', `${what}: the ${bytes.length} bytes received hash to ${actual}, not ${expected}; update aborted, adopted state kept`);
}
