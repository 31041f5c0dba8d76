// The State Manifest (Workload Management API 1.0.0-rc.3, UnsignedAppStateManifest): what a device
// must run, as digests of ApplicationDeployment YAMLs. Checked before anything is fetched:
// manifestVersion an integer in [1, 2^64-1]; `bundle` present, null exactly when there are no
// deployments; digests sha256 only; URLs the content-addressed forms; deployment ids unique and
// safe as one URL path segment. Unknown fields are tolerated.
import { checkDigestSyntax } from './content-digest.js';
import { parseExactJson, numberValue, unsignedIntegerText } from './exact-json.js';
import { FleetError } from './fleet-errors.js';

export const MANIFEST_MEDIA_TYPE = 'application/vnd.margo.manifest.v1+json';
export const BUNDLE_MEDIA_TYPE = 'application/vnd.margo.bundle.v1+tar+gzip';
const U64_MAX = (1n << 64n) - 1n;
/** RFC 3986 unreserved characters: a deployment id travels as one path segment. */
const DEPLOYMENT_ID = /^[A-Za-z0-9._~-]{1,200}$/;

export interface DeploymentRef {
  deploymentId: string;
  digest: string;
  sizeBytes?: number;
  url: string;
}

export interface BundleRef {
  digest: string;
  sizeBytes?: number;
  url: string;
}

export interface StateManifest {
  manifestVersion: bigint;
  bundle: BundleRef | null;
  deployments: DeploymentRef[];
}

function invalid(message: string): never {
  throw new FleetError('BH_ERR_FLEET_MANIFEST', `state manifest: ${message}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function sizeOf(v: unknown, where: string): number | undefined {
  if (v === undefined) return undefined;
  const n = numberValue(v);
  if (n === undefined || !Number.isInteger(n) || n < 0) invalid(`${where}.sizeBytes must be a non-negative integer`);
  return n;
}

export function deploymentPath(deploymentId: string, digest: string): string {
  return `/api/v1/deployments/${deploymentId}/${digest}`;
}

export function bundlePath(digest: string): string {
  return `/api/v1/bundles/${digest}`;
}

export function parseStateManifest(body: Buffer, maxDeployments: number): StateManifest {
  let doc: unknown;
  try {
    doc = parseExactJson(body.toString('utf8'));
  } catch (err) {
    invalid(`not valid JSON (${(err as Error).message})`);
  }
  if (!isObject(doc)) invalid('not a JSON object');
  const versionText = unsignedIntegerText(doc.manifestVersion);
  if (versionText === undefined) invalid('manifestVersion must be an unsigned integer');
  const manifestVersion = BigInt(versionText);
  if (manifestVersion < 1n || manifestVersion > U64_MAX) invalid(`manifestVersion ${versionText} is outside [1, 2^64-1]`);
  if (!Array.isArray(doc.deployments)) invalid('deployments must be an array');
  if (doc.deployments.length > maxDeployments) invalid(`${doc.deployments.length} deployments, over this device's limit of ${maxDeployments}`);
  const seen = new Set<string>();
  const deployments = doc.deployments.map((d: unknown, i: number): DeploymentRef => {
    const where = `deployments[${i}]`;
    if (!isObject(d)) invalid(`${where} is not an object`);
    if (typeof d.deploymentId !== 'string' || !DEPLOYMENT_ID.test(d.deploymentId)) invalid(`${where}.deploymentId must be 1-200 characters of A-Z a-z 0-9 . _ ~ -`);
    if (seen.has(d.deploymentId)) invalid(`${where}.deploymentId ${d.deploymentId} appears twice`);
    seen.add(d.deploymentId);
    const digest = checkDigestSyntax(d.digest, `state manifest ${where}.digest`);
    const url = deploymentPath(d.deploymentId, digest);
    if (d.url !== url) invalid(`${where}.url must be ${url}`);
    return { deploymentId: d.deploymentId, digest, sizeBytes: sizeOf(d.sizeBytes, where), url };
  });
  if (!('bundle' in doc)) invalid('bundle is missing (it must be present, null when there are no deployments)');
  let bundle: BundleRef | null = null;
  if (doc.bundle === null) {
    if (deployments.length > 0) invalid(`bundle is null but there are ${deployments.length} deployments`);
  } else {
    if (!isObject(doc.bundle)) invalid('bundle must be an object or null');
    if (deployments.length === 0) invalid('bundle must be null when there are no deployments (an empty archive must not be served)');
    if (doc.bundle.mediaType !== BUNDLE_MEDIA_TYPE) invalid(`bundle.mediaType must be ${BUNDLE_MEDIA_TYPE}`);
    const digest = checkDigestSyntax(doc.bundle.digest, 'state manifest bundle.digest');
    if (doc.bundle.url !== bundlePath(digest)) invalid(`bundle.url must be ${bundlePath(digest)}`);
    bundle = { digest, sizeBytes: sizeOf(doc.bundle.sizeBytes, 'bundle'), url: bundlePath(digest) };
  }
  return { manifestVersion, bundle, deployments };
}

/** The manifest's ETag must be the quoted sha256 digest of the exact body (a strong validator). */
export function checkManifestEtag(etag: string | string[] | undefined, bodyDigest: string): string {
  const value = Array.isArray(etag) ? etag[0] : etag;
  if (value === undefined) invalid('the response has no ETag');
  const m = /^"([^"]*)"$/.exec(value.trim());
  if (!m) invalid(`ETag ${JSON.stringify(value.slice(0, 100))} is not a quoted strong validator`);
  checkDigestSyntax(m[1], 'state manifest ETag');
  if (m[1] !== bodyDigest) invalid(`ETag ${m[1]} is not the digest of the body received (${bodyDigest})`);
  return `"${bodyDigest}"`;
}
