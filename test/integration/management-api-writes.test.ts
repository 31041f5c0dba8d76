// The management API's state-changing routes beyond start/stop, over the real unix socket and over
// mTLS: trust keys (add with the look-alike vendor refusal, revoke, remove), package uninstall
// (refused while the app runs), the upload's transferFrom, and compose deployments (a policy
// violation refused with the CLI's code, secrets that try to leave their directory). A reader
// certificate tries every write route and changes nothing.
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { AppRecords } from '../../runtime/apps/app-records.js';
import { startManagementApi, type ManagementApi } from '../../runtime/api/management-api.js';
import { call, socketClient, tlsClient } from '../support/api-client.js';
import { makeKey, makePackage, type KeyFiles } from '../support/package-fixtures.js';
import { runCli, tempDir } from '../support/paths.js';
import { makeTestPki, type TestPki } from '../support/test-certificates.js';

const dataDir = tempDir('bh-api-w-');
let api: ManagementApi;
let pki: TestPki;
let keyA: KeyFiles;
let keyB: KeyFiles;
let db: Database.Database;
const log: string[] = [];

const local = async (method: string, p: string, body?: unknown, headers?: Record<string, string>) => {
  const c = socketClient(api.socketPath);
  try { return await call(c, method, p, body, headers); } finally { await c.close(); }
};
const asClient = (who: 'reader' | 'stranger') => async (method: string, p: string, body?: unknown, headers?: Record<string, string>) => {
  const c = tlsClient(api.tlsPort!, { ca: pki.ca, ...pki.clients[who] });
  try { return await call(c, method, p, body, headers); } finally { await c.destroy(); }
};
const asReader = asClient('reader');
/** The `stranger` certificate is Vendor A's CI: role vendor, for Vendor A only. */
const asVendorA = asClient('stranger');

function assertProblem(r: { status: number; headers: Record<string, unknown>; json: any; text: string }, status: number, code: string): void {
  assert.is(r.status, status, r.text);
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  assert.is(r.json.code, code);
  assert.not.match(r.json.detail, /\n|    at /);
}

async function signedBy(key: KeyFiles, vendor: string, id: string, version: string): Promise<{ file: string; signature: string }> {
  const file = await makePackage({ id, version, vendor });
  await signPackageFile(file, key.key, { id, version, vendor }, `${file}.minisig`);
  return { file, signature: fs.readFileSync(`${file}.minisig`).toString('base64') };
}

const upload = (pkg: { file: string; signature: string }, query = '') => local('POST', `/v1/packages${query}`, fs.readFileSync(pkg.file), {
  'content-type': 'application/octet-stream', 'bulkhead-signature': pkg.signature,
});

const POLICY = `api:
  clients:
    - cn: ops-laptop
      role: admin
    - uri: spiffe://plant-7/dashboard
      role: reader
    - cn: stranger
      role: vendor
      vendor: Vendor A
vendors:
  Vendor A:
    ports: { from: 20000, to: 20010 }
`;

test.before(async () => {
  pki = makeTestPki();
  keyA = await makeKey();
  keyB = await makeKey();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), POLICY);
  db = new Database(path.join(dataDir, 'state.db'));
  new TrustStore(db).add(keyA.publicText, 'Vendor A');
  api = await startManagementApi({
    dataDir, say: (l) => log.push(l),
    tls: { host: '127.0.0.1', port: 0, certFile: pki.server.cert, keyFile: pki.server.key, clientCaFile: pki.ca },
  });
});

test.after(async () => {
  await api.close();
  db.close();
});

test('trust: a key is added, a look-alike of a trusted vendor name is refused as by `trust add`, revoke and remove work', async () => {
  const added = await local('POST', '/v1/trust/keys', { publicKey: keyB.publicText, vendor: 'Vendor B' });
  assert.is(added.status, 201, added.text);
  assert.is(added.json.vendor, 'Vendor B');
  assert.is(added.json.role, 'vendor');
  const keyId = added.json.keyId as string;

  // "Vendor A" in capitals, with a full-width V, with a no-break space: the refusal the CLI gives.
  const other = await makeKey();
  for (const lookalike of ['VENDOR A', '\uff36endor A', 'Vendor\u00a0A']) {
    const r = await local('POST', '/v1/trust/keys', { publicKey: other.publicText, vendor: lookalike });
    assertProblem(r, 422, 'BH_ERR_TRUST_INPUT');
    assert.match(r.json.detail, /vendor name/);
  }
  const cli = await runCli(['--data-dir', tempDir('bh-api-w-cli-'), 'trust', 'add', other.publicFile, '--vendor', 'Vendor B']);
  assert.is(cli.code, 0, cli.stderr);
  const cliLookalike = await runCli(['--data-dir', dataDir, 'trust', 'add', other.publicFile, '--vendor', 'VENDOR A']);
  assert.match(cliLookalike.stderr, /BH_ERR_TRUST_INPUT/);
  assert.ok(!new TrustStore(db).list().some((k) => k.vendor !== 'Vendor A' && k.vendor !== 'Vendor B'), 'no look-alike vendor entered the store');

  assertProblem(await local('POST', '/v1/trust/keys', { publicKey: 'not a key', vendor: 'Vendor C' }), 422, 'BH_ERR_TRUST_INPUT');
  assertProblem(await local('POST', '/v1/trust/keys', { publicKey: other.publicText, vendor: 'Vendor C', role: 'root' }), 422, 'BH_ERR_TRUST_INPUT');
  assertProblem(await local('POST', '/v1/trust/keys', { publicKey: other.publicText, vendor: 'Vendor C', extra: 1 }), 400, 'BH_ERR_API_BAD_REQUEST');

  const revoked = await local('POST', `/v1/trust/keys/${keyId}/revoke`, { reason: 'leaked' });
  assert.is(revoked.status, 200, revoked.text);
  assert.is(revoked.json.revokeReason, 'leaked');
  assertProblem(await local('POST', `/v1/trust/keys/${keyId}/revoke`, {}), 409, 'BH_ERR_TRUST_INPUT');
  // A revoked key cannot be quietly re-added.
  assertProblem(await local('POST', '/v1/trust/keys', { publicKey: keyB.publicText, vendor: 'Vendor B' }), 422, 'BH_ERR_TRUST_INPUT');
  const removed = await local('DELETE', `/v1/trust/keys/${keyId}`);
  assert.is(removed.status, 200, removed.text);
  const missing = await local('DELETE', `/v1/trust/keys/${keyId}`);
  assertProblem(missing, 404, 'BH_ERR_TRUST_INPUT');
  assert.is(missing.json.detail, `no trusted key with id ${keyId}`);
  assert.ok(log.some((l) => /api: local \(local, admin\) DELETE \/v1\/trust\/keys\/\w+ -> 200/.test(l)), 'writes are logged with the client');
});

test('transferFrom: another vendor\'s app id is refused without it, with a wrong owner, and handed over with the right one', async () => {
  assert.is((await upload(await signedBy(keyA, 'Vendor A', 'shared-app', '1.0.0'))).status, 201);
  assert.is((await local('POST', '/v1/trust/keys', { publicKey: keyB.publicText, vendor: 'Vendor B' })).status, 201);
  const byB = await signedBy(keyB, 'Vendor B', 'shared-app', '2.0.0');
  assertProblem(await upload(byB), 409, 'BH_ERR_APP_OWNED');
  assertProblem(await upload(byB, '?transferFrom=Vendor%20C'), 409, 'BH_ERR_APP_OWNED');
  assertProblem(await upload(byB, '?transferFrom=vendor%20a'), 409, 'BH_ERR_APP_OWNED'); // exact identity, not a folded one
  assert.is((await local('GET', '/v1/packages/shared-app')).json.vendor, 'Vendor A');
  const moved = await upload(byB, '?transferFrom=Vendor%20A');
  assert.is(moved.status, 201, moved.text);
  assert.is(moved.json.transferredFrom, 'Vendor A');
  assert.is(moved.json.vendor, 'Vendor B');
  assert.is(moved.json.previousVersion, '1.0.0');
});

test('uninstall: refused while the app is started, 404 for an unknown id, then removes the package', async () => {
  assert.is((await upload(await signedBy(keyA, 'Vendor A', 'gone-app', '1.0.0'))).status, 201);
  const records = new AppRecords(db);
  records.setDesired('gone-app', 'running');
  const refused = await local('DELETE', '/v1/packages/gone-app');
  assertProblem(refused, 409, 'BH_ERR_API_CONFLICT');
  assert.match(refused.json.detail, /stop it first/);
  assert.ok(new InstalledPackages(db, dataDir).get('gone-app'));
  records.setDesired('gone-app', 'stopped');
  const ok = await local('DELETE', '/v1/packages/gone-app');
  assert.is(ok.status, 200, ok.text);
  assert.equal({ ...ok.json, digest: undefined }, { ok: true, id: 'gone-app', version: '1.0.0', vendor: 'Vendor A', digest: undefined, storeRemoved: true });
  assert.not.ok(new InstalledPackages(db, dataDir).get('gone-app'));
  assertProblem(await local('DELETE', '/v1/packages/gone-app'), 404, 'BH_ERR_API_NOT_FOUND');
});

const violating = 'services:\n  web:\n    image: busybox\n    privileged: true\n    volumes: ["/var/run/docker.sock:/var/run/docker.sock"]\n';
const composeBody = (text: string, extra: Record<string, unknown> = {}) => ({ file: { name: 'compose.yaml', text, directoryName: 'plant' }, vendor: 'Vendor A', ...extra });

test('compose: a policy violation is refused with BH_ERR_POLICY, as the CLI refuses it, before any engine is contacted', async () => {
  const check = await local('POST', '/v1/compose/check', composeBody(violating));
  assert.is(check.status, 200, check.text);
  assert.is(check.json.ok, false);
  const rules = check.json.violations.map((v: { rule: string }) => v.rule);
  assert.ok(rules.includes('privileged'), rules.join());

  // DOCKER_HOST points nowhere: a refusal that reached the engine would say BH_ERR_ENGINE.
  const saved = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = `unix://${path.join(dataDir, 'no-engine.sock')}`;
  try {
    const up = await local('POST', '/v1/compose/up', composeBody(violating));
    assertProblem(up, 422, 'BH_ERR_POLICY');
    assert.equal(up.json.violations.map((v: { rule: string }) => v.rule), rules);
    assert.equal(up.json.problems.map((p: { rule: string }) => p.rule), rules, 'the API lists the problems in the shape `compose check` prints');
    assert.match(up.json.detail, /^refused by the isolation policy: \[privileged\]/);
  } finally {
    if (saved === undefined) delete process.env.DOCKER_HOST; else process.env.DOCKER_HOST = saved;
  }
  const dir = tempDir('bh-api-w-compose-');
  fs.writeFileSync(path.join(dir, 'compose.yaml'), violating);
  const cli = await runCli(['--data-dir', tempDir('bh-api-w-off-'), 'compose', 'up', '-f', path.join(dir, 'compose.yaml'), '--vendor', 'Vendor A']);
  assert.is(cli.code, 1);
  assert.match(cli.stderr, /^bulkhead: BH_ERR_POLICY: refused by the isolation policy: .*compose\.yaml:4: services\.web\.privileged: privileged containers are not allowed \[BH_ERR_POLICY privileged\]/m);
});

test('compose: bad requests are 400s naming the problem; secrets may not leave their directory', async () => {
  assertProblem(await local('POST', '/v1/compose/check', { vendor: 'Vendor A' }), 400, 'BH_ERR_API_BAD_REQUEST');
  // check lists a malformed file's problems as it lists the policy's (ok: false); up refuses it as bad input.
  const malformed = await local('POST', '/v1/compose/check', composeBody('services: ['));
  assert.is(malformed.status, 200, malformed.text);
  assert.is(malformed.json.ok, false);
  assertProblem(await local('POST', '/v1/compose/up', composeBody('services: [')), 400, 'BH_ERR_COMPOSE_INVALID');
  assert.equal(malformed.json.problems.map((p: { file: string; path: string; message: string }) => [p.file, p.path, p.message.slice(0, 5)]), [['compose.yaml', '(document)', 'YAML:']]);
  assertProblem(await local('POST', '/v1/compose/check', { ...composeBody('services: {}'), app: 'ghost' }), 400, 'BH_ERR_API_BAD_REQUEST');
  const noApp = await local('POST', '/v1/compose/check', { app: 'ghost' });
  assertProblem(noApp, 400, 'BH_ERR_API_BAD_REQUEST');
  assert.match(noApp.json.detail, /no installed application "ghost"/);
  const secretText = 'services:\n  web:\n    image: busybox\n    secrets: [token]\nsecrets:\n  token:\n    file: ./token.txt\n';
  for (const bad of ['../escape.txt', '/etc/passwd', 'a/../../b', '']) {
    const r = await local('POST', '/v1/compose/check', composeBody(secretText, { file: { name: 'compose.yaml', text: secretText, directoryName: 'plant', files: { [bad]: 'eA==' } } }));
    assertProblem(r, 400, 'BH_ERR_API_BAD_REQUEST');
    assert.is(r.json.field, 'body.file.files');
  }
  assert.ok(!fs.existsSync(path.join(dataDir, '..', 'escape.txt')));
  const good = await local('POST', '/v1/compose/check', composeBody(secretText, { file: { name: 'compose.yaml', text: secretText, directoryName: 'plant', files: { 'token.txt': 'c2VjcmV0' } } }));
  assert.is(good.status, 200, good.text);
  assert.equal(fs.readdirSync(path.join(dataDir, 'compose-sources')), [], 'the scratch copy is removed');
});

test('a reader certificate is refused on every write route and changes nothing; it may check, ps and read', async () => {
  const before = { keys: new TrustStore(db).list(), packages: new InstalledPackages(db, dataDir).list(), policy: fs.readFileSync(path.join(dataDir, 'policy.yaml'), 'utf8') };
  const keyId = before.keys[0]!.keyId;
  const pkg = await signedBy(keyA, 'Vendor A', 'reader-app', '1.0.0');
  const writes: [string, string, unknown, Record<string, string>?][] = [
    ['POST', '/v1/trust/keys', { publicKey: (await makeKey()).publicText, vendor: 'Vendor R' }],
    ['POST', `/v1/trust/keys/${keyId}/revoke`, { reason: 'reader says so' }],
    ['DELETE', `/v1/trust/keys/${keyId}`, undefined],
    ['DELETE', '/v1/packages/shared-app', undefined],
    ['POST', '/v1/packages?transferFrom=Vendor%20B', fs.readFileSync(pkg.file), { 'content-type': 'application/octet-stream', 'bulkhead-signature': pkg.signature }],
    ['POST', '/v1/compose/up', composeBody('services:\n  web:\n    image: busybox\n')],
    ['POST', '/v1/compose/down', composeBody('services:\n  web:\n    image: busybox\n')],
    ['PUT', '/v1/policy', {}],
    ['POST', '/v1/apps/shared-app/start', {}],
  ];
  for (const [method, p, body, headers] of writes) {
    const r = await asReader(method, p, body, headers);
    assertProblem(r, 403, 'BH_ERR_API_FORBIDDEN');
  }
  assert.equal(new TrustStore(db).list(), before.keys);
  assert.equal(new InstalledPackages(db, dataDir).list(), before.packages);
  assert.is(fs.readFileSync(path.join(dataDir, 'policy.yaml'), 'utf8'), before.policy);
  assert.ok(log.some((l) => /api: spiffe:\/\/plant-7\/dashboard \(tls, reader\) DELETE \/v1\/packages\/shared-app -> 403/.test(l)), 'refused writes are logged too');
  const check = await asReader('POST', '/v1/compose/check', composeBody(violating));
  assert.is(check.status, 200, check.text);
  assert.is((await asReader('GET', '/v1/trust/keys')).status, 200);
});

test('a vendor client changes only its own vendor\'s packages, apps and deployments', async () => {
  // shared-app now belongs to Vendor B (the transfer above); own-app is Vendor A's.
  const own = await signedBy(keyA, 'Vendor A', 'own-app', '1.0.0');
  const ownUpload = await asVendorA('POST', '/v1/packages', fs.readFileSync(own.file), { 'content-type': 'application/octet-stream', 'bulkhead-signature': own.signature });
  assert.is(ownUpload.status, 201, ownUpload.text);
  const theirs = await signedBy(keyB, 'Vendor B', 'b-only-app', '1.0.0');
  const forged = await asVendorA('POST', '/v1/packages', fs.readFileSync(theirs.file), { 'content-type': 'application/octet-stream', 'bulkhead-signature': theirs.signature });
  assertProblem(forged, 403, 'BH_ERR_API_FORBIDDEN');
  assert.match(forged.json.detail, /acts for "Vendor A"; the package belongs to "Vendor B"/);
  assertProblem(await local('GET', '/v1/packages/b-only-app'), 404, 'BH_ERR_API_NOT_FOUND');
  const v2 = await signedBy(keyA, 'Vendor A', 'shared-app', '3.0.0');
  assertProblem(await asVendorA('POST', '/v1/packages?transferFrom=Vendor%20B', fs.readFileSync(v2.file), { 'content-type': 'application/octet-stream', 'bulkhead-signature': v2.signature }), 403, 'BH_ERR_API_FORBIDDEN');
  assert.is((await local('GET', '/v1/packages/shared-app')).json.vendor, 'Vendor B');

  assertProblem(await asVendorA('DELETE', '/v1/packages/shared-app'), 403, 'BH_ERR_API_FORBIDDEN');
  assert.is((await local('GET', '/v1/packages/shared-app')).status, 200, 'another vendor\'s package survives');
  assertProblem(await asVendorA('POST', '/v1/apps/shared-app/start', {}), 403, 'BH_ERR_API_FORBIDDEN');
  assert.is(new AppRecords(db).app('shared-app'), undefined);
  assert.is((await asVendorA('POST', '/v1/apps/own-app/start', {})).status, 202);
  assert.is((await asVendorA('POST', '/v1/apps/own-app/stop')).status, 202);

  const forB = { file: { name: 'compose.yaml', text: 'services:\n  web:\n    image: busybox\n', directoryName: 'b' }, vendor: 'Vendor B' };
  assertProblem(await asVendorA('POST', '/v1/compose/up', forB), 403, 'BH_ERR_API_FORBIDDEN');
  assertProblem(await asVendorA('POST', '/v1/compose/down', forB), 403, 'BH_ERR_API_FORBIDDEN');
  assertProblem(await asVendorA('POST', '/v1/compose/up', composeBody(violating)), 422, 'BH_ERR_POLICY'); // its own: on to the policy
  for (const [method, p, body] of [['POST', '/v1/trust/keys', { publicKey: keyB.publicText, vendor: 'Vendor A' }], ['PUT', '/v1/policy', {}], ['DELETE', `/v1/trust/keys/${new TrustStore(db).list()[0]!.keyId}`, undefined]] as const) {
    const r = await asVendorA(method, p, body);
    assertProblem(r, 403, 'BH_ERR_API_FORBIDDEN');
    assert.match(r.json.detail, /role vendor \("Vendor A"\), which may change only that vendor's/);
  }
  const gone = await asVendorA('DELETE', '/v1/packages/own-app');
  assert.is(gone.status, 200, gone.text);
  assert.ok(log.some((l) => /api: stranger \(tls, vendor for Vendor A\) DELETE \/v1\/packages\/shared-app -> 403/.test(l)));
});

test('api.clients: a vendor rule needs its vendor, and only vendor rules take one', async () => {
  const { loadApiPolicy } = await import('../../runtime/api/api-access.js');
  for (const bad of ['- cn: x\n      role: vendor', '- cn: x\n      role: admin\n      vendor: Vendor A', '- cn: x\n      uri: spiffe://y\n      role: admin']) {
    const dir = tempDir('bh-api-w-pol-');
    fs.writeFileSync(path.join(dir, 'policy.yaml'), `api:\n  clients:\n    ${bad}\n`);
    assert.throws(() => loadApiPolicy(dir), /policy\.yaml: api\.clients\[0\]: /);
  }
});

test.run();
