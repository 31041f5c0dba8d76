// The supervisor's network service against real sockets: under the operator's "*:PW" with a
// manifest asking for loopback, every way to a loopback or device-own server (literal, name,
// numeric shorthand, IPv6 embeddings, the LAN address, name lookup, HTTP) is refused and audited,
// and the servers see no connection. Naming the address in the operator's rule grants it.
import http from 'node:http';
import type net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DenialReport } from '../../host-apis/bulkhead/audit.js';
import { denyAllPolicy, effectiveGrant } from '../../host-apis/capabilities/grant.js';
import { deviceAddresses } from '../../host-apis/net/protected-addresses.js';
import { NetService } from '../../runtime/apps/net-service.js';

const lan = deviceAddresses().find((a) => !a.startsWith('127.') && a !== '::1' && !a.startsWith('fe80:'))!;
let hits = 0;
const servers: http.Server[] = [];
let PW = 0;

async function serve(host: string, port = 0): Promise<number> {
  const s = http.createServer((_req, res) => { hits++; res.end('secret'); });
  servers.push(s);
  return new Promise((resolve, reject) => {
    s.once('error', reject);
    s.listen(port, host, () => resolve((s.address() as net.AddressInfo).port));
  });
}

test.before(async () => {
  PW = await serve('127.0.0.1');
  await serve(lan, PW); // the device's LAN address, same port: what "*:PW" would reach
});
test.after(() => { for (const s of servers) s.close(); });

function service() {
  const audit: DenialReport[] = [];
  return { audit, net: new NetService((_id, d) => audit.push(d)) };
}

const http1 = (authority: string) => ({ method: 'GET', scheme: 'http', authority, pathWithQuery: '/', headers: [], body: null });

test('hostile: *:PW with a manifest asking for loopback reaches nothing on this device, each refusal audited', async () => {
  assert.ok(lan, 'this machine has a LAN address');
  const { audit, net } = service();
  const { grant, denials } = effectiveGrant('Rogue Labs', 'probe', { net: { connect: ['127.0.0.1:*', 'localhost:*', `*:${PW}`] } },
    { ...denyAllPolicy('/data/r'), netConnect: [`*:${PW}`] });
  assert.equal(denials.map((d) => d.requested), ['127.0.0.1:*', 'localhost:*']);
  net.register('rogue', grant.netConnect);
  const call = (method: string, ...args: unknown[]) => net.handle({ instanceId: 'rogue', method, args });
  const lanV6 = lan.includes(':');
  const tcp = ['127.0.0.1', '127.0.0.2', '0:0:0:0:0:0:7f00:1', '0:0:0:0:0:ffff:7f00:1', '64:ff9b:0:0:0:0:7f00:1', '0.0.0.0', '0:0:0:0:0:0:0:1', lan];
  for (const address of tcp) {
    const r = await call('connect', address, PW) as { error?: string };
    assert.is(r.error, 'access-denied', `tcp ${address}`);
  }
  for (const name of ['localhost', '2130706433', '0x7f.1', '0177.0.0.1', '127.1', lan]) {
    assert.equal(await call('resolve', name), { error: 'access-denied' }, `lookup ${name}`);
  }
  for (const authority of [`2130706433:${PW}`, `0x7f.1:${PW}`, `127.1:${PW}`, `[::7f00:1]:${PW}`, `[::ffff:127.0.0.1]:${PW}`, `[64:ff9b::7f00:1]:${PW}`,
    `localhost:${PW}`, `0:${PW}`, lanV6 ? `[${lan}]:${PW}` : `${lan}:${PW}`]) {
    const r = await call('http', http1(authority)) as { error?: { tag: string } };
    assert.is(r.error?.tag, 'destination-IP-prohibited', `http ${authority}`);
  }
  assert.is(hits, 0, 'no server on this device saw a request');
  assert.is(audit.length, tcp.length + 6 + 9, 'one audit event per refusal');
  assert.ok(audit.every((a) => /protected address .* that no operator rule names/.test(a.reason)), audit.map((a) => a.reason).join('\n'));
  assert.ok(audit.some((a) => a.attempted === `GET http://0x7f.1:${PW}/` && a.reason.startsWith('127.0.0.1 is a protected address (loopback)')));
  assert.ok(audit.some((a) => a.attempted === `[::7f00:1]:${PW}` && /loopback, as ipv4-compatible of 127\.0\.0\.1/.test(a.reason)));
  assert.ok(audit.some((a) => a.attempted === `resolve localhost` && a.capability === 'net.resolve' && /localhost resolves to 127\.0\.0\.1/.test(a.reason)));
  assert.ok(audit.some((a) => a.attempted.startsWith(lanV6 ? `[${lan}]` : lan) && /one of this device's own addresses/.test(a.reason)));
  net.unregister('rogue');
});

test('the operator naming 127.0.0.1:PW (or localhost:PW) grants it, in any form of the address, and the socket reaches that address', async () => {
  const { audit, net } = service();
  const { grant } = effectiveGrant('Netwise', 'probe', { net: { connect: ['127.0.0.1:*', 'localhost:*'] } },
    { ...denyAllPolicy('/data/n'), netConnect: [`127.0.0.1:${PW}`, `localhost:${PW}`] });
  net.register('ok', grant.netConnect);
  const call = (method: string, ...args: unknown[]) => net.handle({ instanceId: 'ok', method, args });
  const before = hits;
  const r = await call('http', http1(`0x7f.1:${PW}`)) as { ok?: { status: number; body: Uint8Array } };
  assert.is(r.ok?.status, 200, JSON.stringify(r));
  const viaName = await call('http', http1(`localhost:${PW}`)) as { ok?: { status: number } };
  assert.is(viaName.ok?.status, 200, JSON.stringify(viaName));
  const looked = await call('resolve', 'localhost') as { ok: string[] };
  assert.ok(looked.ok.includes('127.0.0.1'));
  const sock = await call('connect', '127.0.0.1', PW) as { ok?: number };
  assert.type(sock.ok, 'number');
  await call('close', sock.ok);
  assert.is(hits, before + 2);
  assert.equal(await call('connect', lan, PW), { error: 'access-denied', reason: audit.at(-1)?.reason }, 'naming loopback is not naming the LAN address');
  net.unregister('ok');
});

test.run();
