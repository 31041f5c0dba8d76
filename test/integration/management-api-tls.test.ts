// The management API's TCP listener: TLS 1.3 only, client certificates mandatory. Missing,
// expired, self-signed and wrong-CA certificates are refused in the handshake; a CA-signed
// certificate that policy.yaml maps to no role is refused per request; a reader cannot write.
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startManagementApi, type ManagementApi } from '../../runtime/api/management-api.js';
import { call, socketClient, tlsClient } from '../support/api-client.js';
import { tempDir } from '../support/paths.js';
import { makeTestPki, type TestPki } from '../support/test-certificates.js';

const dataDir = tempDir('bh-api-tls-');
let pki: TestPki;
let api: ManagementApi;

const as = async (who: keyof TestPki['clients'] | 'nobody', method: string, p: string, body?: unknown) => {
  const files = who === 'nobody' ? { ca: pki.ca } : { ca: pki.ca, ...pki.clients[who] };
  const c = tlsClient(api.tlsPort!, files);
  try {
    return await call(c, method, p, body);
  } finally {
    await c.destroy();
  }
};

/** A handshake (and one request) that must fail: the error, for the record. */
async function refused(who: keyof TestPki['clients'] | 'nobody'): Promise<string> {
  try {
    const r = await as(who, 'GET', '/healthz');
    assert.unreachable(`${who} got an answer: ${r.status}`);
  } catch (err) {
    if ((err as Error).name === 'Assertion') throw err;
    return (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  }
  return '';
}

test.before(() => {
  pki = makeTestPki();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), [
    'api:', '  clients:', '    - cn: ops-laptop', '      role: admin', '    - uri: spiffe://plant-7/dashboard', '      role: reader', '',
  ].join('\n'));
});

test.after(async () => {
  await api?.close();
});

test('the listener starts with the given certificate, key and client CA', async () => {
  api = await startManagementApi({ dataDir, tls: { host: '127.0.0.1', port: 0, certFile: pki.server.cert, keyFile: pki.server.key, clientCaFile: pki.ca } });
  assert.ok(api.tlsPort! > 0);
});

test('an admin certificate (by CN) reads and writes', async () => {
  assert.is((await as('admin', 'GET', '/healthz')).status, 200);
  const policy = (await as('admin', 'GET', '/v1/policy')).json;
  const put = await as('admin', 'PUT', '/v1/policy', policy);
  assert.is(put.status, 200, put.text);
});

test('a reader certificate (by URI SAN) reads but cannot write', async () => {
  assert.is((await as('reader', 'GET', '/v1/apps')).status, 200);
  const before = fs.readFileSync(path.join(dataDir, 'policy.yaml'), 'utf8');
  for (const [method, p, body] of [['PUT', '/v1/policy', {}], ['POST', '/v1/apps/x/start', {}], ['POST', '/v1/apps/x/stop', undefined], ['POST', '/v1/packages', 'x']] as const) {
    const r = await as('reader', method, p, body);
    assert.is(r.status, 403, `${method} ${p}: ${r.text}`);
    assert.is(r.json.code, 'BH_ERR_API_FORBIDDEN');
  }
  assert.is(fs.readFileSync(path.join(dataDir, 'policy.yaml'), 'utf8'), before);
});

test('a CA-signed certificate that no rule names is refused', async () => {
  const r = await as('stranger', 'GET', '/v1/apps');
  assert.is(r.status, 403);
  assert.is(r.json.code, 'BH_ERR_API_FORBIDDEN');
  assert.match(r.json.detail, /stranger maps to no role/);
});

test('missing, expired, self-signed and wrong-CA client certificates are refused in the handshake', async () => {
  for (const who of ['nobody', 'expired', 'selfSigned', 'wrongCa'] as const) {
    const why = await refused(who);
    assert.ok(why, `${who} refused`);
  }
  const metrics = (await as('admin', 'GET', '/metrics')).text;
  const refusedTotal = [...metrics.matchAll(/^bulkhead_api_tls_refused_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  assert.ok(refusedTotal >= 4, `refusals counted: ${refusedTotal}`);
});

test('TLS 1.2 is refused even with a good certificate', async () => {
  const outcome = await new Promise<string>((resolve) => {
    const s = tls.connect({
      host: '127.0.0.1', port: api.tlsPort!, ca: fs.readFileSync(pki.ca), cert: fs.readFileSync(pki.clients.admin.cert), key: fs.readFileSync(pki.clients.admin.key),
      maxVersion: 'TLSv1.2',
    }, () => { resolve(`connected with ${s.getProtocol()}`); s.destroy(); });
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
  assert.not.match(outcome, /^connected/);
});

test('the unix socket still answers next to the TLS listener', async () => {
  const c = socketClient(api.socketPath);
  assert.is((await call(c, 'GET', '/healthz')).status, 200);
  await c.close();
});

test.run();
