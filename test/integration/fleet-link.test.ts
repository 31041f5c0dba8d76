// The fleet link against our own test WFM (no reference WFM can run here, so test/support/test-wfm.ts
// is our own peer speaking the published Workload Management API 1.0.0-rc.3 over real mTLS on
// 127.0.0.1, with certificates made by openssl). Each hostile answer must be refused or retried as
// the spec says and leave the adopted state exactly as it was. The applier is a recording one:
// this file tests the link alone.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type Database from 'better-sqlite3';
import { openStateDb } from '../../runtime/state/state-db.js';
import { joinFleet } from '../../runtime/fleet/fleet-join.js';
import { FleetLink, type FleetLinkOptions } from '../../runtime/fleet/fleet-link.js';
import { FleetError } from '../../runtime/fleet/fleet-errors.js';
import { AdoptedState } from '../../runtime/fleet/adopted-state.js';
import { RecordingApplier } from '../support/recording-applier.js';
import { makeSpiffePki, WFM_SPIFFE_ID, type Pair } from '../support/spiffe-pki.js';
import { TestWfm, deploymentYaml } from '../support/test-wfm.js';
import { TestIdentityService } from '../support/test-identity-service.js';
import { spiffeBundleJson, TRUST_DOMAIN } from '../support/spiffe-pki.js';
import { tempDir } from '../support/paths.js';

const pki = makeSpiffePki();
let wfm: TestWfm;
const extra: TestWfm[] = [];

test.before(async () => {
  wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID });
});
test.after(async () => {
  await wfm.close();
  for (const w of extra) await w.close();
});

async function otherWfm(server: Pair, options: { maxVersion?: 'TLSv1.2' } = {}): Promise<TestWfm> {
  const w = await TestWfm.start({ server, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID, ...options });
  extra.push(w);
  return w;
}

interface Device { db: Database.Database; dataDir: string }

async function device(url = wfm.url, bundleFile = pki.ca): Promise<Device> {
  const dataDir = tempDir('bh-fleet-');
  const db = openStateDb(dataDir);
  await joinFleet({ dataDir, db, wfmUrl: url, deviceId: 'dev-1', certFile: pki.device.cert, keyFile: pki.device.key, trustBundleFile: bundleFile, reportTimeoutMs: 3000 });
  return { db, dataDir };
}

const links: FleetLink[] = [];

/** Waits for every link's background convergence, then closes the device's database. */
async function finish(d: Device): Promise<void> {
  for (const l of links.splice(0)) await l.close();
  d.db.close();
}

function link(d: Device, applier = new RecordingApplier(), options: Partial<FleetLinkOptions> = {}): FleetLink {
  const l = new FleetLink({
    db: d.db, dataDir: d.dataDir, applier, pollIntervalMs: 50,
    backoff: { baseMs: 20, capMs: 200, maxRetryAfterMs: 5000 },
    limits: {
      manifest: { maxBytes: 64 * 1024, timeoutMs: 800 }, deployment: { maxBytes: 64 * 1024, timeoutMs: 800 },
      bundle: { maxBytes: 1024 * 1024, timeoutMs: 800 }, report: { maxBytes: 4096, timeoutMs: 800 },
    },
    ...options,
  });
  links.push(l);
  return l;
}

async function refusal(p: Promise<unknown>): Promise<FleetError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof FleetError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

async function until<T>(what: string, fn: () => T | undefined | false, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v as T;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const two = () => [{ id: 'd-alpha', yaml: deploymentYaml('d-alpha', 'alpha') }, { id: 'd-beta', yaml: deploymentYaml('d-beta', 'beta') }];

/** A device that has adopted the two-deployment state; the WFM then serves `next` with `faults`. */
async function adoptedThenHostile(faults: TestWfm['faults'], next = () => wfm.setDeployments([...two(), { id: 'd-gamma', yaml: deploymentYaml('d-gamma', 'gamma') }])) {
  wfm.setFaults({});
  wfm.setDeployments(two());
  const d = await device();
  const applier = new RecordingApplier();
  const l = link(d, applier);
  assert.is(await l.pollOnce(), 'adopted');
  const before = { manifest: l.adopted.manifest(), deployments: l.adopted.deployments() };
  next();
  wfm.setFaults(faults);
  return { d, l, applier, before };
}

function unchanged(l: FleetLink, before: { manifest: unknown; deployments: unknown }) {
  assert.equal(l.adopted.manifest(), before.manifest, 'the adopted manifest is unchanged');
  assert.equal(l.adopted.deployments(), before.deployments, 'the adopted deployments are unchanged');
}

test('join stores the SVID 0600 in the data dir and reports capabilities with the fields Margo names', async () => {
  wfm.setFaults({});
  const before = wfm.count('PUT', '/api/v1/capabilities/dev-1');
  const d = await device();
  const key = path.join(d.dataDir, 'fleet', 'client-svid.key');
  assert.is(fs.statSync(key).mode & 0o777, 0o600);
  assert.is(fs.readFileSync(key, 'utf8'), fs.readFileSync(pki.device.key, 'utf8'));
  assert.is(wfm.count('PUT', '/api/v1/capabilities/dev-1'), before + 1);
  const put = wfm.requests.filter((r) => r.method === 'PUT').pop()!;
  assert.is(put.clientId, `${WFM_SPIFFE_ID}/client/dev-1`);
  const caps = put.body as Record<string, any>;
  assert.equal(Object.keys(caps).sort(), ['labels', 'properties', 'x-bulkhead-extensions']);
  assert.is(caps.properties.id, 'dev-1');
  assert.equal(caps.properties.supportedRuntimes, ['oci', 'custom']);
  assert.equal(caps.properties.supportedDeploymentTypes, ['compose', 'custom']);
  assert.ok(['amd64', 'arm64', 'arm'].includes(caps.properties.cpus[0].architecture));
  assert.match(caps.properties.memory, /^[0-9]+Mi$/);
  assert.is(caps.labels['bulkhead.dev/wasm-apps'], true);
  assert.ok(caps['x-bulkhead-extensions'].wasm.interfaces.includes('bulkhead:host/config'));
  await finish(d);
});

test('join refuses an SVID that is no WFM client, one the bundle does not anchor, a wrong key, plain http, an empty bundle', async () => {
  const dataDir = tempDir('bh-fleet-bad-');
  const db = openStateDb(dataDir);
  const base = { dataDir, db, wfmUrl: wfm.url, deviceId: 'dev-1', certFile: pki.device.cert, keyFile: pki.device.key, trustBundleFile: pki.ca, reportTimeoutMs: 2000 };
  const cases: Array<[string, Partial<typeof base>, RegExp]> = [
    ['not a client ID', { certFile: pki.deviceNotClient.cert, keyFile: pki.deviceNotClient.key }, /not of the form spiffe:\/\/<trust-domain>\/margo\/wfm/],
    ['untrusted', { certFile: pki.deviceUntrusted.cert, keyFile: pki.deviceUntrusted.key }, /does not chain to an anchor/],
    ['wrong key', { keyFile: pki.wfm.key }, /is not the private key/],
    ['http', { wfmUrl: wfm.url.replace('https:', 'http:') }, /must be https/],
    ['bad device id', { deviceId: 'a b' }, /--device-id/],
  ];
  for (const [name, change, message] of cases) {
    const e = await refusal(joinFleet({ ...base, ...change }));
    assert.is(e.code, 'BH_ERR_FLEET_JOIN', name);
    assert.match(e.message, message, name);
  }
  const empty = path.join(dataDir, 'empty.json');
  fs.writeFileSync(empty, JSON.stringify({ keys: [{ use: 'jwt-svid', kty: 'EC' }] }));
  assert.is((await refusal(joinFleet({ ...base, trustBundleFile: empty }))).code, 'BH_ERR_FLEET_TRUST_BUNDLE');
  assert.not.ok(fs.existsSync(path.join(dataDir, 'fleet', 'client-svid.key')), 'nothing was stored');
  db.close();
});

test('a new manifest is adopted with the exact bytes, reported per transition, then polled with If-None-Match (304)', async () => {
  wfm.setFaults({});
  wfm.setDeployments(two());
  const d = await device();
  const applier = new RecordingApplier();
  const l = link(d, applier);
  const controller = new AbortController();
  const running = l.run(controller.signal);
  await until('adopted', () => l.adopted.manifest()?.manifestVersion === BigInt(wfm.manifestVersion));
  await until('four status reports', () => wfm.statusReports().filter((r) => r.deploymentId.startsWith('d-') && r.adoptedManifestVersion === wfm.manifestVersion).length >= 4);
  await until('a 304 poll', () => wfm.requests.some((r) => r.url === '/api/v1/deployments' && r.headers['if-none-match'] === l.adopted.manifest()!.etag));
  controller.abort();
  await running;
  assert.equal(applier.last!.map((x) => x.document), two().map((x) => x.yaml));
  const report = wfm.statusReports().filter((r) => r.deploymentId === 'd-alpha').pop()!;
  assert.is(report.deviceId, 'dev-1');
  assert.is(report.status.state, 'installed');
  assert.equal(report.components, [{ name: 'main', state: 'installed' }]);
  await finish(d);
});

test('a deployment whose bytes do not match its digest aborts the update; the adopted state is kept', async () => {
  const { l, before, applier, d } = await adoptedThenHostile({ digestMismatch: ['d-gamma'] });
  const e = await refusal(l.pollOnce());
  assert.is(e.code, 'BH_ERR_FLEET_DIGEST');
  unchanged(l, before);
  assert.is(applier.calls.length, 1, 'the applier was not called again');
  await finish(d);
});

test('a digest algorithm other than sha256 makes the manifest invalid', async () => {
  const { l, before, d } = await adoptedThenHostile({ digestAlgorithm: 'sha512' });
  const e = await refusal(l.pollOnce());
  assert.is(e.code, 'BH_ERR_FLEET_MANIFEST');
  assert.match(e.message, /"sha512" is not supported/);
  unchanged(l, before);
  await finish(d);
});

test('a replayed or lower manifestVersion is refused (rollback protection), even with a new body', async () => {
  const { l, before, d } = await adoptedThenHostile({});
  const adoptedVersion = Number(before.manifest!.manifestVersion);
  for (const v of [adoptedVersion, adoptedVersion - 1]) {
    wfm.setFaults({ manifestVersion: v });
    const e = await refusal(l.pollOnce());
    assert.is(e.code, 'BH_ERR_FLEET_ROLLBACK', `version ${v}`);
    unchanged(l, before);
  }
  await finish(d);
});

test('manifestVersion is a u64: 2^64-1 is adopted exactly, 2^64 is refused', async () => {
  const { l, d } = await adoptedThenHostile({ manifestVersion: '18446744073709551615' });
  assert.is(await l.pollOnce(), 'adopted');
  assert.is(l.adopted.manifest()!.manifestVersion, 18446744073709551615n);
  const before = { manifest: l.adopted.manifest(), deployments: l.adopted.deployments() };
  wfm.setDeployments(two());
  wfm.setFaults({ manifestVersion: '18446744073709551616' });
  assert.is((await refusal(l.pollOnce())).code, 'BH_ERR_FLEET_MANIFEST');
  unchanged(l, before);
  await finish(d);
});

test('a bundle that disagrees with the list is refused when many deployments changed', async () => {
  const many = Array.from({ length: 12 }, (_, i) => ({ id: `d-m${i}`, yaml: deploymentYaml(`d-m${i}`, `m${i}`) }));
  const { l, before, d } = await adoptedThenHostile({ bundleDisagrees: true }, () => wfm.setDeployments(many));
  const e = await refusal(l.pollOnce());
  assert.is(e.code, 'BH_ERR_FLEET_MANIFEST');
  assert.match(e.message, /bundle and list disagree/);
  unchanged(l, before);
  // The same change with an honest bundle is fetched as one bundle, not 12 requests.
  wfm.setFaults({});
  const deploymentGets = wfm.count('GET', '/api/v1/deployments/');
  assert.is(await l.pollOnce(), 'adopted');
  assert.is(wfm.count('GET', '/api/v1/deployments/'), deploymentGets);
  assert.is(l.adopted.deployments().length, 12);
  await finish(d);
});

test('bundle null with deployments (or not null without) is refused; a wrong ETag too', async () => {
  for (const faults of [{ bundleNullMismatch: true }, { wrongEtag: true }]) {
    const { l, before, d } = await adoptedThenHostile(faults);
    assert.is((await refusal(l.pollOnce())).code, 'BH_ERR_FLEET_MANIFEST', JSON.stringify(faults));
    unchanged(l, before);
    await finish(d);
  }
});

test('a wrong sizeBytes is only advisory: the manifest is adopted on its digests', async () => {
  const { l, d } = await adoptedThenHostile({ wrongSizeBytes: true });
  assert.is(await l.pollOnce(), 'adopted');
  assert.is(l.adopted.deployments().length, 3);
  await finish(d);
});

test('503 with Retry-After is retried no sooner than it says, then the manifest is adopted', async () => {
  const { l, d } = await adoptedThenHostile({});
  await l.convergenceIdle();
  l.outbox.clear();
  wfm.setFaults({ unavailable: { count: 1, retryAfterSeconds: 1 } });
  const controller = new AbortController();
  const running = l.run(controller.signal);
  const version = BigInt(wfm.manifestVersion);
  await until('adopted after the 503', () => l.adopted.manifest()!.manifestVersion === version, 6000);
  controller.abort();
  await running;
  const polls = wfm.requests.filter((r) => r.url === '/api/v1/deployments');
  const i = polls.findIndex((r) => r.status === 503);
  assert.ok(i >= 0 && polls[i + 1], 'a 503 and a poll after it');
  const waited = polls[i + 1]!.at - polls[i]!.at;
  assert.ok(waited >= 950, `waited ${waited} ms after Retry-After: 1`);
  await finish(d);
});

test('406, a truncated body, a slow drip and a hanging connection are retried, never fatal, never stalling the loop', async () => {
  for (const faults of [{ notAcceptable: true }, { truncate: true }, { slowDripMs: 200 }, { hang: true }] as TestWfm['faults'][]) {
    const { l, before, d } = await adoptedThenHostile(faults);
    const t0 = Date.now();
    const e = await refusal(l.pollOnce());
    assert.ok(['BH_ERR_FLEET_UNREACHABLE'].includes(e.code), `${JSON.stringify(faults)}: ${e.code} ${e.message}`);
    assert.ok(Date.now() - t0 < 3000, `${JSON.stringify(faults)} took ${Date.now() - t0} ms`);
    unchanged(l, before);
    // Once the WFM behaves, the same link adopts.
    wfm.setFaults({});
    assert.is(await l.pollOnce(), 'adopted', JSON.stringify(faults));
    await finish(d);
  }
});

test('403 not-authorized (relationship retired) stops polling; fleet status shows it; the adopted state stays', async () => {
  const { l, before, d } = await adoptedThenHostile({ retired: true });
  const controller = new AbortController();
  const running = l.run(controller.signal);
  await until('retired', () => l.status.get()?.state === 'retired');
  const polls = wfm.count('GET', '/api/v1/deployments');
  await new Promise((r) => setTimeout(r, 400));
  assert.is(wfm.count('GET', '/api/v1/deployments'), polls, 'no more polls');
  controller.abort();
  await running;
  assert.is(l.status.get()!.lastError!.code, 'BH_ERR_FLEET_RETIRED');
  unchanged(l, before);
  await finish(d);
});

test('a WFM presenting another SPIFFE ID, an expired, untrusted, two-URI or CA certificate is refused before any request', async () => {
  const cases: Array<[string, Pair, RegExp]> = [
    ['wrong id', pki.wfmWrongId, /is not spiffe:\/\/factory.test\/margo\/wfm\/wfm-1/],
    ['expired', pki.wfmExpired, /expired/],
    ['untrusted', pki.wfmUntrusted, /issuer|self[- ]signed|verify/i],
    ['two URIs', pki.wfmTwoUris, /2 URI SANs/],
    ['CA leaf', pki.wfmCaLeaf, /CA certificate/],
  ];
  for (const [name, server, message] of cases) {
    const bad = await otherWfm(server);
    const d = await device(bad.url);
    const l = link(d);
    const e = await refusal(l.pollOnce());
    assert.is(e.code, 'BH_ERR_FLEET_TLS', name);
    assert.match(e.message, message, name);
    assert.is(bad.requests.length, 0, `${name}: no request reached it (join's capability report included)`);
    assert.is(l.adopted.manifest(), undefined);
    await finish(d);
  }
});

test('TLS 1.3 by default: a WFM that only speaks TLS 1.2 is refused', async () => {
  const old = await otherWfm(pki.wfm, { maxVersion: 'TLSv1.2' });
  const d = await device(old.url);
  const e = await refusal(link(d).pollOnce());
  assert.is(e.code, 'BH_ERR_FLEET_TLS');
  await finish(d);
});

test('offline first: after a restart with the WFM gone the adopted deployments go to the applier again', async () => {
  const gone = await otherWfm(pki.wfm);
  gone.setDeployments(two());
  const d = await device(gone.url);
  assert.is(await link(d).pollOnce(), 'adopted');
  await gone.close();
  const applier = new RecordingApplier();
  const l = link(d, applier);
  const controller = new AbortController();
  const running = l.run(controller.signal);
  await until('converged offline', () => applier.calls.length === 1);
  await until('a failed poll', () => l.status.get()?.state === 'retrying');
  controller.abort();
  await running;
  assert.equal(applier.last!.map((x) => x.document), two().map((x) => x.yaml));
  assert.is(l.status.get()!.lastError!.code, 'BH_ERR_FLEET_UNREACHABLE');
  await finish(d);
});

test('status reports survive a restart: queued while the WFM fails, delivered in order afterwards', async () => {
  wfm.setFaults({});
  wfm.setDeployments(two());
  const d = await device();
  const l1 = link(d);
  const before = wfm.statusReports().length;
  wfm.setFaults({});
  assert.is(await l1.pollOnce(), 'adopted');
  // Reports are queued by the convergence; the WFM now refuses everything with 503.
  wfm.setFaults({ unavailable: { count: 1000 } });
  const c1 = new AbortController();
  const r1 = l1.run(c1.signal);
  await until('queued', () => l1.outbox.size() >= 4);
  c1.abort();
  await r1;
  assert.is(wfm.statusReports().length, before);
  // A new daemon: the queue is still there and drains once the WFM is back.
  wfm.setFaults({});
  const l2 = link(d);
  const c2 = new AbortController();
  const r2 = l2.run(c2.signal);
  await until('drained', () => l2.outbox.size() === 0 && wfm.statusReports().length >= before + 4);
  c2.abort();
  await r2;
  const mine = wfm.statusReports().slice(before).filter((r) => r.deploymentId === 'd-alpha').map((r) => r.status.state);
  assert.equal(mine.slice(0, 2), ['pending', 'installed']);
  await finish(d);
});

test('a report the WFM rejects with 422 is dropped, not retried forever, and later reports still go', async () => {
  wfm.setFaults({ rejectStatus: true });
  wfm.setDeployments(two());
  const d = await device();
  const l = link(d);
  const c = new AbortController();
  const r = l.run(c.signal);
  await until('outbox emptied', () => l.adopted.manifest() !== undefined && l.outbox.size() === 0);
  c.abort();
  await r;
  assert.match(l.status.get()!.lastError!.message, /422/);
  wfm.setFaults({});
  await finish(d);
});

test('stored adopted state refuses a lower version even when written directly (the check is inside the transaction)', async () => {
  const d = await device();
  const s = new AdoptedState(d.db);
  s.adopt(5n, '"sha256:x"', Buffer.from('{}'), []);
  assert.throws(() => s.adopt(5n, '"sha256:y"', Buffer.from('{}'), []), /not greater/);
  assert.is(s.manifest()!.manifestVersion, 5n);
  await finish(d);
});

test('trust bundle from the identity service: authenticated by the configured CA only, same trust domain, https bundle URI', async () => {
  const mis = await TestIdentityService.start(pki.web, TRUST_DOMAIN);
  mis.bundle = spiffeBundleJson([pki.ca], 1, 3600);
  const dataDir = tempDir('bh-fleet-mis-');
  const db = openStateDb(dataDir);
  const base = { dataDir, db, wfmUrl: wfm.url, deviceId: 'dev-1', certFile: pki.device.cert, keyFile: pki.device.key, identityUrl: mis.url, reportTimeoutMs: 2000 };
  // No trust on first use: without --identity-ca the web CA is not trusted (system CAs only).
  assert.is((await refusal(joinFleet(base))).code, 'BH_ERR_FLEET_TLS');
  mis.discovery = { trustDomain: 'elsewhere.test', trustBundleUri: `${mis.url}/.well-known/spiffe/bundle.json` };
  assert.match((await refusal(joinFleet({ ...base, identityCaFile: pki.webCa }))).message, /describes trust domain "elsewhere.test"/);
  mis.discovery = { trustDomain: TRUST_DOMAIN, trustBundleUri: `http://127.0.0.1:1/.well-known/spiffe/bundle.json` };
  assert.match((await refusal(joinFleet({ ...base, identityCaFile: pki.webCa }))).message, /is not https/);
  mis.discovery = { trustDomain: TRUST_DOMAIN, trustBundleUri: `${mis.url}/.well-known/spiffe/bundle.json` };
  mis.bundle = JSON.stringify({ spiffe_sequence: 1, keys: [] });
  assert.match((await refusal(joinFleet({ ...base, identityCaFile: pki.webCa }))).message, /empty trust bundle is refused/);
  mis.bundle = spiffeBundleJson([pki.ca], 1, 3600);
  const joined = await joinFleet({ ...base, identityCaFile: pki.webCa });
  assert.is(joined.enrollment.trustBundle.sequence, '1');
  await mis.close();
  db.close();
});

test('a rotated bundle replaces the old one whole (never merged); lower sequences and empty bundles are refused', async () => {
  const mis = await TestIdentityService.start(pki.web, TRUST_DOMAIN);
  mis.bundle = spiffeBundleJson([pki.ca], 5, 3600);
  const rotated = await otherWfm(pki.wfmFromCa2);
  rotated.setDeployments(two());
  const dataDir = tempDir('bh-fleet-rot-');
  const db = openStateDb(dataDir);
  await joinFleet({ dataDir, db, wfmUrl: rotated.url, deviceId: 'dev-1', certFile: pki.device.cert, keyFile: pki.device.key, identityUrl: mis.url, identityCaFile: pki.webCa, reportTimeoutMs: 2000 });
  const d = { db, dataDir };
  const l = link(d);
  assert.is((await refusal(l.pollOnce())).code, 'BH_ERR_FLEET_TLS', 'ca2 is not trusted yet');
  // Lower sequence, and an empty bundle: refused, the current anchors stay.
  for (const body of [spiffeBundleJson([pki.ca2], 4, 3600), JSON.stringify({ spiffe_sequence: 9, keys: [{ use: 'jwt-svid', kty: 'EC' }] })]) {
    mis.bundle = body;
    assert.is((await refusal(l.refreshTrustBundle())).code, 'BH_ERR_FLEET_TRUST_BUNDLE');
    assert.is((await refusal(l.pollOnce())).code, 'BH_ERR_FLEET_TLS');
  }
  // The operator rotates to ca2 only (ca withdrawn): the device follows, and ca is no longer trusted.
  mis.bundle = spiffeBundleJson([pki.ca2], 6, 3600);
  assert.is(await l.refreshTrustBundle(), true);
  assert.is(await l.pollOnce(), 'adopted');
  // The same join, pointed at a WFM whose SVID comes from the withdrawn root: refused.
  const viaOldRoot = await otherWfm(pki.wfm);
  db.prepare("UPDATE fleet_enrollment SET enrollment = json_set(enrollment, '$.wfmUrl', ?)").run(viaOldRoot.url);
  assert.is((await refusal(link(d).pollOnce())).code, 'BH_ERR_FLEET_TLS', 'the old anchor was not kept');
  await mis.close();
  await finish(d);
});

test('a convergence that left a deployment failed is run again later with the same adopted list', async () => {
  wfm.setFaults({});
  wfm.setDeployments(two());
  const d = await device();
  let calls = 0;
  const flaky = {
    async converge(list: readonly { deploymentId: string }[], onStatus: (r: import('../../runtime/fleet/deployment-applier.js').DeploymentStatusReport) => void) {
      calls++;
      for (const x of list) onStatus({ deploymentId: x.deploymentId, state: calls === 1 ? 'failed' : 'installed', components: [], ...(calls === 1 ? { error: { code: 'BH_ERR_OCI', source: 'main', message: 'registry down' } } : {}) });
    },
  };
  const l = link(d, flaky as never, { convergeRetry: { baseMs: 100, capMs: 400 } });
  assert.is(await l.pollOnce(), 'adopted');
  await until('converged again', () => calls >= 2, 3000);
  await new Promise((r) => setTimeout(r, 500));
  assert.is(calls, 2, 'no more retries once nothing failed');
  await finish(d);
});

let t0 = 0;
test.before.each(() => { t0 = Date.now(); });
test.after.each((ctx) => { if (process.env.FLEET_TIMING) console.log(`\n${Date.now() - t0} ms ${ctx.__test__}`); });
test.run();
