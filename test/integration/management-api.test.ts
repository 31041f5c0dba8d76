// The management API over its real unix socket: read routes, writes, uploads through the installer,
// problem+json errors, metrics and the OpenAPI document, plus hostile clients (oversized and
// malformed bodies, an upload cut off half way, slow-loris clients, 500 followers). After each
// attack the API still answers and nothing partial is visible.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import { Validator } from '@seriousme/openapi-schema-validator';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { AppRecords } from '../../runtime/apps/app-records.js';
import { startManagementApi, type ManagementApi } from '../../runtime/api/management-api.js';
import { call, socketClient, socketPool } from '../support/api-client.js';
import { makeKey, makePackage, type KeyFiles } from '../support/package-fixtures.js';
import { tempDir } from '../support/paths.js';

const dataDir = tempDir('bh-api-');
let api: ManagementApi;
let key: KeyFiles;
let db: Database.Database; // a second connection, as the daemon's own writes would come from
let records: AppRecords;
const client = () => socketClient(api.socketPath);

async function signed(version: string, id = 'test-app'): Promise<{ file: string; signature: string }> {
  const file = await makePackage({ id, version, vendor: 'Vendor A' });
  await signPackageFile(file, key.key, { id, version, vendor: 'Vendor A' }, `${file}.minisig`);
  return { file, signature: fs.readFileSync(`${file}.minisig`).toString('base64') };
}

const upload = async (pkg: { file: string; signature: string }, query = '') => {
  const c = client();
  try {
    return await call(c, 'POST', `/v1/packages${query}`, fs.readFileSync(pkg.file), { 'content-type': 'application/octet-stream', 'bulkhead-signature': pkg.signature });
  } finally {
    await c.close();
  }
};

const get = async (p: string) => {
  const c = client();
  try { return await call(c, 'GET', p); } finally { await c.close(); }
};

function assertProblem(r: { status: number; headers: Record<string, unknown>; json: any }, status: number, code: string): void {
  assert.is(r.status, status, JSON.stringify(r.json));
  assert.match(String(r.headers['content-type']), /^application\/problem\+json/);
  assert.is(r.json.code, code);
  assert.is(r.json.status, status);
  assert.is(r.json.type, `https://bulkhead.dev/errors/${code}`);
  assert.type(r.json.detail, 'string');
  assert.not.match(r.json.detail, /\n|    at /); // one line, never a stack trace
}

test.before(async () => {
  key = await makeKey();
  db = new Database(path.join(dataDir, 'state.db'));
  new TrustStore(db).add(key.publicText, 'Vendor A');
  records = new AppRecords(db);
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), 'api:\n  maxFollowers: 100\n');
  api = await startManagementApi({ dataDir, feedTickMs: 50, limits: { headersTimeoutMs: 1000, heartbeatMs: 500 } });
});

test.after(async () => {
  await api.close();
  db.close();
});

test('the socket is 0660 and health, readiness and empty lists answer', async () => {
  assert.is(fs.statSync(api.socketPath).mode & 0o777, 0o660);
  assert.is((await get('/healthz')).json.status, 'ok');
  assert.is((await get('/readyz')).json.status, 'ready');
  assert.equal((await get('/v1/apps')).json, { apps: [] });
  assert.equal((await get('/v1/packages')).json, { packages: [] });
});

test('errors are problem+json with a BH_ERR code and the offending field', async () => {
  assertProblem(await get('/no/such/route'), 404, 'BH_ERR_API_NOT_FOUND');
  const missing = await get('/v1/apps/ghost');
  assertProblem(missing, 404, 'BH_ERR_API_NOT_FOUND');
  assert.is(missing.json.field, 'params.id');
  const badTail = await get('/v1/audit?tail=-3');
  assertProblem(badTail, 400, 'BH_ERR_API_BAD_REQUEST');
  assert.is(badTail.json.field, 'query.tail');
  assertProblem(await get('/v1/audit?bogus=1'), 400, 'BH_ERR_API_BAD_REQUEST');
  assertProblem(await get('/v1/apps/..%2f..%2fetc'), 400, 'BH_ERR_API_BAD_REQUEST');
});

test('upload: a signed package installs through the installer; a replay, a bad signature and no signature are refused', async () => {
  const v1 = await signed('1.0.0');
  const r = await upload(v1);
  assert.is(r.status, 201, r.text);
  assert.is(r.json.appId, 'test-app');
  assert.is(r.json.previousVersion, null);
  assert.is(r.json.signers[0].vendor, 'Vendor A');
  assert.is((await get('/v1/packages/test-app')).json.version, '1.0.0');
  assert.ok(fs.existsSync(new InstalledPackages(db, dataDir).get('test-app')!.path));

  assertProblem(await upload(v1), 409, 'BH_ERR_ROLLBACK');
  const other = await signed('2.0.0');
  assertProblem(await upload({ file: other.file, signature: v1.signature }), 422, 'BH_ERR_SIG_INVALID');
  const c = client();
  const unsigned = await call(c, 'POST', '/v1/packages', fs.readFileSync(other.file), { 'content-type': 'application/octet-stream' });
  await c.close();
  assertProblem(unsigned, 400, 'BH_ERR_SIG_MISSING');
  const c2 = client();
  const garbage = await call(c2, 'POST', '/v1/packages', fs.readFileSync(other.file), { 'content-type': 'application/octet-stream', 'bulkhead-signature': '%%%not base64' });
  await c2.close();
  assertProblem(garbage, 400, 'BH_ERR_SIG_MALFORMED');
  assert.is((await get('/v1/packages/test-app')).json.version, '1.0.0');
  assert.equal(fs.readdirSync(path.join(dataDir, 'spool')), []);
});

test('upload: over the quota is refused before and while streaming; nothing is spooled or installed', async () => {
  const v3 = await signed('3.0.0');
  const size = fs.statSync(v3.file).size;
  const policy = (await get('/v1/policy')).json;
  const c = client();
  const put = await call(c, 'PUT', '/v1/policy', { ...policy, archive: { maxPackedBytes: Math.floor(size / 2) } });
  assert.is(put.status, 200, put.text);
  // Declared too large: refused from the header.
  assertProblem(await upload(v3), 413, 'BH_ERR_API_TOO_LARGE');
  // Chunked (no length): refused by the meter once it passes the quota.
  const chunked = await c.request({
    method: 'POST', path: '/v1/packages', headers: { 'content-type': 'application/octet-stream', 'bulkhead-signature': v3.signature },
    body: Readable.from([fs.readFileSync(v3.file)]),
  });
  const body = await chunked.body.json() as { code: string };
  assert.is(chunked.statusCode, 413);
  assert.is(body.code, 'BH_ERR_API_TOO_LARGE');
  assert.is((await call(c, 'PUT', '/v1/policy', policy)).status, 200);
  await c.close();
  assert.is((await get('/v1/packages/test-app')).json.version, '1.0.0');
  assert.equal(fs.readdirSync(path.join(dataDir, 'spool')), []);
});

test('upload cut off half way: no partial package, nothing left in the spool, the API still answers', async () => {
  const v4 = await signed('4.0.0');
  const bytes = fs.readFileSync(v4.file);
  await new Promise<void>((resolve, reject) => {
    const s = net.connect(api.socketPath, () => {
      s.write(`POST /v1/packages HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nBulkhead-Signature: ${v4.signature}\r\nContent-Length: ${bytes.length}\r\n\r\n`);
      s.write(bytes.subarray(0, bytes.length >> 1), () => setTimeout(() => { s.destroy(); resolve(); }, 100));
    });
    s.on('error', reject);
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.is((await get('/v1/packages/test-app')).json.version, '1.0.0');
  assert.equal(fs.readdirSync(path.join(dataDir, 'spool')), []);
  assert.equal(fs.readdirSync(path.join(dataDir, 'staging')), []);
  assert.is((await get('/healthz')).status, 200);
});

test('start and stop set desired state as the CLI does; unknown apps are refused', async () => {
  const c = client();
  assertProblem(await call(c, 'POST', '/v1/apps/not-installed/start', {}), 404, 'BH_ERR_API_NOT_FOUND');
  const started = await call(c, 'POST', '/v1/apps/test-app/start', { parameters: { GREETING: 'hi' } });
  assert.is(started.status, 202, started.text);
  assert.is(records.app('test-app')!.desired, 'running');
  assert.equal(records.app('test-app')!.parameters, { GREETING: 'hi' });
  const gen = records.app('test-app')!.generation;
  assertProblem(await call(c, 'POST', '/v1/apps/test-app/start', { parameters: { 'bad name!': 'x' } }), 400, 'BH_ERR_API_BAD_REQUEST');
  assertProblem(await call(c, 'POST', '/v1/apps/test-app/start', { extra: 1 }), 400, 'BH_ERR_API_BAD_REQUEST');
  assert.is(records.app('test-app')!.generation, gen);
  assert.is((await call(c, 'POST', '/v1/apps/test-app/stop')).status, 202);
  assert.is(records.app('test-app')!.desired, 'stopped');
  const detail = await call(c, 'GET', '/v1/apps/test-app');
  assert.is(detail.json.app.desired, 'stopped');
  await c.close();
});

test('policy: invalid, malformed, oversized and non-JSON bodies are refused and the file is unchanged', async () => {
  const file = path.join(dataDir, 'policy.yaml');
  const before = fs.readFileSync(file, 'utf8');
  const c = client();
  const invalid = await call(c, 'PUT', '/v1/policy', { signatures: { minimumSignatures: 0 } });
  assertProblem(invalid, 400, 'BH_ERR_API_BAD_REQUEST');
  assert.is(invalid.json.field, 'body.signatures.minimumSignatures');
  const unknown = await call(c, 'PUT', '/v1/policy', { sigantures: {} });
  assertProblem(unknown, 400, 'BH_ERR_API_BAD_REQUEST');
  assert.is(unknown.json.field, 'body.sigantures');
  assertProblem(await call(c, 'PUT', '/v1/policy', '{"signatures": {', { 'content-type': 'application/json' }), 400, 'BH_ERR_API_BAD_REQUEST');
  assertProblem(await call(c, 'PUT', '/v1/policy', 'signatures: {}', { 'content-type': 'text/yaml' }), 415, 'BH_ERR_API_UNSUPPORTED_MEDIA');
  const huge = JSON.stringify({ vendors: { a: { addresses: Array.from({ length: 40_000 }, () => '10.0.0.1') } } });
  assertProblem(await call(c, 'PUT', '/v1/policy', huge, { 'content-type': 'application/json' }), 413, 'BH_ERR_API_TOO_LARGE');
  assertProblem(await call(c, 'PUT', '/v1/policy', '{"a":'.repeat(5000), { 'content-type': 'application/json' }), 400, 'BH_ERR_API_BAD_REQUEST');
  assert.is(fs.readFileSync(file, 'utf8'), before);
  const ok = await call(c, 'PUT', '/v1/policy', { api: { maxFollowers: 100 }, signatures: { minimumSignatures: 1 } });
  assert.is(ok.status, 200, ok.text);
  assert.match(fs.readFileSync(file, 'utf8'), /minimumSignatures: 1/);
  assert.equal(fs.readdirSync(dataDir).filter((n) => n.endsWith('.tmp')), []);
  await c.close();
});

test('logs: tail, since, and follow as NDJSON and as Server-Sent Events', async () => {
  const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
  records.addLogs([1, 2, 3].map((i) => ({ appId: 'test-app', component: 'hello', at: at(i), level: 'info', message: `line ${i}`, fields: {} })));
  assert.equal((await get('/v1/apps/test-app/logs?tail=2')).json.logs.map((l: any) => l.message), ['line 2', 'line 3']);
  assert.equal((await get(`/v1/apps/test-app/logs?since=${encodeURIComponent(at(2))}`)).json.logs.map((l: any) => l.message), ['line 2', 'line 3']);
  assertProblem(await get('/v1/apps/test-app/logs?since=yesterday'), 400, 'BH_ERR_API_BAD_REQUEST');

  for (const format of ['ndjson', 'sse'] as const) {
    const lastLine = records.logs('test-app', { tail: 1 })[0]!.message;
    const c = client();
    const r = await c.request({ method: 'GET', path: `/v1/apps/test-app/logs?tail=1&follow=true&format=${format}` });
    assert.match(String(r.headers['content-type']), format === 'sse' ? /text\/event-stream/ : /application\/x-ndjson/);
    let text = '';
    const seen = new Promise<void>((resolve) => r.body.on('data', (d: Buffer) => { text += d; if (text.includes(`fresh ${format}`)) resolve(); }));
    await new Promise((res) => setTimeout(res, 100));
    records.addLogs([{ appId: 'test-app', component: 'hello', at: at(9), level: 'warn', message: `fresh ${format}`, fields: { k: 'v' } }]);
    await seen;
    const first = format === 'sse' ? /^id: \d+\ndata: (\{.*\})$/m.exec(text)?.[1] : text.split('\n')[0];
    assert.is(JSON.parse(first!).message, lastLine);
    assert.match(text, format === 'sse' ? /^id: \d+\ndata: \{.*"fresh sse"/m : /^\{.*"fresh ndjson".*\}$/m);
    r.body.on('error', () => {}).destroy();
    await c.destroy();
  }
});

test('500 concurrent followers: the cap admits 100, refuses the rest with 503, all get new lines, the API keeps answering', async () => {
  const t0 = Date.now();
  const clients = Array.from({ length: 10 }, () => socketPool(api.socketPath, 50));
  const answers = await Promise.all(Array.from({ length: 500 }, (_, i) => clients[i % 10]!.request({ method: 'GET', path: '/v1/apps/test-app/logs?tail=0&follow=true' })));
  const open = answers.filter((a) => a.statusCode === 200);
  const refused = answers.filter((a) => a.statusCode === 503);
  assert.is(open.length, 100);
  assert.is(refused.length, 400);
  assert.is(((await refused[0]!.body.json()) as { code: string }).code, 'BH_ERR_API_BUSY');
  for (const r of refused.slice(1)) r.body.resume();
  const got = open.map((r) => new Promise<void>((resolve) => { let t = ''; r.body.on('data', (d: Buffer) => { t += d; if (t.includes('to all followers')) resolve(); }); }));
  const health = await get('/healthz');
  assert.is(health.status, 200);
  records.addLogs([{ appId: 'test-app', component: 'hello', at: new Date().toISOString(), level: 'info', message: 'to all followers', fields: {} }]);
  await Promise.all(got);
  assert.ok(Date.now() - t0 < 30_000, `took ${Date.now() - t0} ms`);
  for (const r of open) r.body.on('error', () => {}).destroy();
  await Promise.all(clients.map((c) => c.destroy()));
  const deadline = Date.now() + 5000;
  while (!/bulkhead_api_followers 0\b/.test((await get('/metrics')).text)) {
    assert.ok(Date.now() < deadline, 'followers were not released');
    await new Promise((r) => setTimeout(r, 50));
  }
});

test('slow-loris clients are cut off after the header timeout while others are served', async () => {
  const sockets = Array.from({ length: 40 }, () => net.connect(api.socketPath));
  const closedAt: number[] = [];
  const t0 = Date.now();
  const drips = sockets.map((s) => {
    s.on('error', () => {});
    s.on('close', () => closedAt.push(Date.now() - t0));
    let i = 0;
    const text = 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ';
    return setInterval(() => { if (!s.destroyed) s.write(i < text.length ? text[i++]! : 'a'); }, 100);
  });
  const during = Date.now();
  assert.is((await get('/healthz')).status, 200);
  assert.ok(Date.now() - during < 1000);
  const deadline = Date.now() + 8000;
  while (closedAt.length < sockets.length && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  drips.forEach(clearInterval);
  for (const s of sockets) s.destroy();
  assert.is(closedAt.length, sockets.length, 'every slow client was disconnected');
  assert.ok(Math.max(...closedAt) < 6000, `slowest cut after ${Math.max(...closedAt)} ms (header timeout 1 s)`);
});

test('/metrics is Prometheus text and its counters move: a denial, a request, an install', async () => {
  const before = (await get('/metrics')).text;
  records.addAudit({ at: new Date().toISOString(), vendor: 'Vendor A', appId: 'test-app', component: 'hello', capability: 'net.connect', attempted: 'connect 10.0.0.1:80', reason: 'not granted' });
  const r = await get('/metrics');
  assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4/);
  const sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})? -?(\d+(\.\d+)?([eE][-+]?\d+)?|NaN|\+Inf|-Inf)$/i;
  for (const line of r.text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    assert.ok(sample.test(line), `not a Prometheus sample line: ${line}`);
  }
  const value = (text: string, series: string) => Number(new RegExp(`^${series.replace(/[{}.]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
  const denial = 'bulkhead_hostapi_denials_total{vendor="Vendor A",capability="net.connect"}';
  assert.is(value(r.text, denial), value(before, denial) + 1);
  assert.ok(value(r.text, 'bulkhead_api_requests_total{method="GET",route="/healthz",status="200"}') > 0);
  assert.ok(value(r.text, 'bulkhead_package_install_duration_seconds_count{outcome="installed"}') >= 1);
  assert.ok(value(r.text, 'bulkhead_process_resident_memory_bytes') > 0);
  assert.match(r.text, /^bulkhead_nodejs_eventloop_lag_seconds /m);
  assert.match(r.text, /^bulkhead_app_state\{app="test-app",state="stopped"\} 1$/m);
});

test('/openapi.json is a valid OpenAPI 3.1 document naming every route', async () => {
  const doc = (await get('/openapi.json')).json;
  assert.is(doc.openapi, '3.1.0');
  const result = await new Validator().validate(doc);
  assert.ok(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 2000));
  const documented = new Set(Object.entries(doc.paths as Record<string, object>).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p.replace(/\{(\w+)\}/g, ':$1')}`)));
  assert.ok(api.routes.length >= 15);
  for (const route of api.routes) assert.ok(documented.has(route), `${route} is not in /openapi.json`);
});

test('rate limit: a client over its budget gets 429 with Retry-After, then the API answers others', async () => {
  const dir = tempDir('bh-api-rl-');
  fs.writeFileSync(path.join(dir, 'policy.yaml'), 'api:\n  rateLimit: { max: 20, windowSeconds: 60 }\n');
  const limited = await startManagementApi({ dataDir: dir });
  try {
    const c = socketClient(limited.socketPath);
    const codes: number[] = [];
    let last;
    for (let i = 0; i < 25; i++) codes.push((last = await call(c, 'GET', '/healthz')).status);
    assert.is(codes.filter((s) => s === 200).length, 20);
    assertProblem(last!, 429, 'BH_ERR_API_RATE_LIMITED');
    assert.ok(Number(last!.headers['retry-after']) > 0);
    await c.close();
  } finally {
    await limited.close();
  }
  assert.is((await get('/healthz')).status, 200);
});

test.run();
