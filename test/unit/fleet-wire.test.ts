// The fleet link's wire rules on their own: state manifest checks, digests, problem details and
// Retry-After, backoff bounds, trust bundle parsing and replacement.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { checkDigestSyntax, sha256Digest } from '../../runtime/fleet/content-digest.js';
import { FleetError } from '../../runtime/fleet/fleet-errors.js';
import { problemError, retryAfterMs } from '../../runtime/fleet/problem-details.js';
import { Backoff } from '../../runtime/fleet/retry-backoff.js';
import { parseWfmClientId } from '../../runtime/fleet/spiffe-id.js';
import { checkManifestEtag, parseStateManifest } from '../../runtime/fleet/state-manifest.js';
import { bundleReplaces, parseSpiffeBundle } from '../../runtime/fleet/trust-bundle.js';

const D = `sha256:${'a'.repeat(64)}`;
const ref = (id: string, digest = D) => ({ deploymentId: id, digest, url: `/api/v1/deployments/${id}/${digest}` });
const bundle = { mediaType: 'application/vnd.margo.bundle.v1+tar+gzip', digest: D, url: `/api/v1/bundles/${D}` };
const manifest = (doc: unknown) => Buffer.from(typeof doc === 'string' ? doc : JSON.stringify(doc));
function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof FleetError) return `${err.code}: ${err.message}`;
    throw err;
  }
  return 'accepted';
}

test('manifest shape: bundle null exactly when empty, versions in [1, 2^64-1], unique safe ids, canonical urls', () => {
  assert.is(parseStateManifest(manifest({ manifestVersion: 1, bundle: null, deployments: [] }), 10).deployments.length, 0);
  assert.is(parseStateManifest(manifest({ manifestVersion: 2, bundle, deployments: [ref('a')] }), 10).manifestVersion, 2n);
  const bad: Array<[unknown, RegExp]> = [
    [{ manifestVersion: 1, deployments: [] }, /bundle is missing/],
    [{ manifestVersion: 1, bundle, deployments: [] }, /must be null when there are no deployments/],
    [{ manifestVersion: 1, bundle: null, deployments: [ref('a')] }, /bundle is null but there are 1/],
    [{ manifestVersion: 0, bundle: null, deployments: [] }, /outside \[1, 2\^64-1\]/],
    [{ manifestVersion: 1.5, bundle: null, deployments: [] }, /unsigned integer/],
    [{ manifestVersion: '1', bundle: null, deployments: [] }, /unsigned integer/],
    [{ manifestVersion: 1, bundle, deployments: [ref('a'), ref('a')] }, /appears twice/],
    [{ manifestVersion: 1, bundle, deployments: [ref('../x')] }, /deploymentId must be/],
    [{ manifestVersion: 1, bundle, deployments: [{ ...ref('a'), url: 'https://evil.example/x' }] }, /url must be/],
    [{ manifestVersion: 1, bundle, deployments: [ref('a', `sha512:${'a'.repeat(128)}`)] }, /"sha512" is not supported/],
    [{ manifestVersion: 1, bundle, deployments: [ref('a', `sha256:${'A'.repeat(64)}`)] }, /sha256:<64 lowercase hex>/],
  ];
  for (const [doc, message] of bad) assert.match(code(() => parseStateManifest(manifest(doc), 10)), message, JSON.stringify(doc));
  // A repeated key with another value would let two readers see two versions.
  assert.match(code(() => parseStateManifest(manifest('{"manifestVersion":9,"manifestVersion":1,"bundle":null,"deployments":[]}'), 10)), /Duplicate key/);
  assert.match(code(() => parseStateManifest(manifest({ manifestVersion: 1, bundle, deployments: [ref('a'), ref('b')] }), 1)), /over this device's limit/);
});

test('ETag: the quoted digest of the exact body, strong, sha256', () => {
  const body = Buffer.from('{"x":1}');
  assert.is(checkManifestEtag(`"${sha256Digest(body)}"`, sha256Digest(body)), `"${sha256Digest(body)}"`);
  assert.match(code(() => checkManifestEtag(`W/"${sha256Digest(body)}"`, sha256Digest(body))), /not a quoted strong validator/);
  assert.match(code(() => checkManifestEtag(`"${D}"`, sha256Digest(body))), /not the digest of the body/);
  assert.match(code(() => checkManifestEtag(undefined, sha256Digest(body))), /no ETag/);
  assert.match(code(() => checkDigestSyntax('md5:abc', 'x')), /"md5" is not supported/);
});

test('problems: 403 not-authorized retires, 5xx/406/429 retry after Retry-After, 422 is a refusal, backoffStrategy none stops retrying', () => {
  const res = (status: number, body: object, headers: Record<string, string> = {}) => ({ status, headers: { 'content-type': 'application/problem+json', ...headers }, body: Buffer.from(JSON.stringify(body)) });
  assert.is(problemError('x', res(403, { type: 'https://docs.margo.org/specification/problem-types#not-authorized', title: 'Not Authorized', status: 403 })).code, 'BH_ERR_FLEET_RETIRED');
  assert.is(problemError('x', res(403, { type: 'https://docs.margo.org/specification/margo-management-interface/problem-types#not-authorized', title: 'Not Authorized', status: 403 })).code, 'BH_ERR_FLEET_RETIRED');
  const unavailable = problemError('x', res(503, { type: 'about:blank', title: 'Service Unavailable', status: 503, retryAfterSeconds: 30 }, { 'retry-after': '7' }));
  assert.is(unavailable.code, 'BH_ERR_FLEET_UNREACHABLE');
  assert.is(unavailable.retryAfterMs, 7000, 'the header wins over retryAfterSeconds');
  assert.is(problemError('x', res(406, { type: 'about:blank', title: 'Not Acceptable', status: 406 })).code, 'BH_ERR_FLEET_UNREACHABLE');
  assert.is(problemError('x', res(422, { type: 'about:blank', title: 'Semantic Error', status: 422 })).code, 'BH_ERR_FLEET_REFUSED');
  assert.is(problemError('x', res(503, { type: 'about:blank', title: 'x', status: 503, backoffStrategy: 'none' })).code, 'BH_ERR_FLEET_REFUSED');
  assert.is(problemError('x', { status: 502, headers: { 'content-type': 'text/html' }, body: Buffer.from('<html>') }).code, 'BH_ERR_FLEET_UNREACHABLE');
  assert.is(retryAfterMs('120'), 120_000);
  assert.is(retryAfterMs(new Date(Date.now() + 10_000).toUTCString())! > 8000, true);
  assert.is(retryAfterMs('soon'), undefined);
});

test('backoff: exponential with jitter, capped, never sooner than Retry-After (itself capped)', () => {
  const b = new Backoff({ baseMs: 100, capMs: 1000, maxRetryAfterMs: 5000, random: () => 1 });
  assert.equal([b.next(), b.next(), b.next(), b.next(), b.next(), b.next()], [100, 200, 400, 800, 1000, 1000]);
  const low = new Backoff({ baseMs: 100, capMs: 1000, maxRetryAfterMs: 5000, random: () => 0 });
  assert.is(low.next(), 50);
  assert.is(low.next(3000), 3000);
  assert.is(low.next(10 * 3600_000), 5000);
});

test('SPIFFE IDs: the WFM is derived from the client ID; anything else is refused', () => {
  const id = parseWfmClientId('spiffe://factory.test/margo/wfm/wfm-1/client/dev-1');
  assert.ok(!('error' in id) && id.wfmSpiffeId === 'spiffe://factory.test/margo/wfm/wfm-1');
  for (const bad of ['spiffe://factory.test/margo/wfm/wfm-1', 'spiffe://Factory.test/margo/wfm/w/client/c', 'spiffe://factory.test/margo/wfm/../client/c',
    'spiffe://factory.test/margo/wfm/w/client/c/extra', 'https://factory.test/margo/wfm/w/client/c']) {
    assert.ok('error' in parseWfmClientId(bad), bad);
  }
});

test('trust bundles: jwt-svid keys ignored, no anchors refused, x5c exactly one, lower sequence refused, same sequence must be the same', () => {
  assert.match(code(() => parseSpiffeBundle(JSON.stringify({ keys: [{ use: 'jwt-svid', kty: 'EC' }] }), 'b')), /empty trust bundle is refused/);
  assert.match(code(() => parseSpiffeBundle(JSON.stringify({ keys: [{ use: 'x509-svid', x5c: ['AAAA', 'BBBB'] }] }), 'b')), /exactly one certificate/);
  assert.match(code(() => parseSpiffeBundle('not json', 'b')), /not JSON/);
  const a = { anchors: ['A'], sequence: '5' };
  assert.is(bundleReplaces(a, { anchors: ['A'], sequence: '5' }, 'b'), false);
  assert.is(bundleReplaces(a, { anchors: ['B'], sequence: '6' }, 'b'), true);
  assert.match(code(() => bundleReplaces(a, { anchors: ['B'], sequence: '4' }, 'b')), /lower than the current bundle's 5/);
  assert.match(code(() => bundleReplaces(a, { anchors: ['B'], sequence: '5' }, 'b')), /anchors differ/);
});

test.run();
