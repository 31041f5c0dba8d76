// Network grants end to end: a component using wasi:sockets (TCP, name lookup) and wasi:http,
// installed from signed packages of two vendors against real servers on 127.0.0.1 and on the
// device's own LAN address. The granted vendor (its operator rules name 127.0.0.1 and localhost)
// reaches exactly its targets; the hostile one, under the operator's "*:PORT" with a manifest
// asking for 127.0.0.1 (issue 9 items 5 and 6), is refused by IP literal, by localhost, by numeric
// shorthand (2130706433, 0x7f.1), by IPv6 embedding (::7f00:1) and by the LAN address, each
// refusal audited, and the servers see no connection from it at all.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packPackage } from '../../packages/archive/pack-package.js';
import { formatPublicKey, generateKeyPair } from '../../packages/signing/minisign.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const dataDir = tempDir('bulkhead-net-');
const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const connections = { echo: 0, other: 0, http: 0, lan: 0 };
/** The device's own LAN address (a non-internal interface address), bracketed when IPv6. */
const lanAddress = Object.values(os.networkInterfaces()).flat().find((i) => i && !i.internal && !i.address.startsWith('fe80:'))?.address;
const lanHost = lanAddress?.includes(':') ? `[${lanAddress}]` : lanAddress;
const servers: (net.Server | http.Server)[] = [];
let ports = { echo: 0, other: 0, http: 0 };
let listenPort = 0;

/** A port nobody listens on right now. */
async function freePort(): Promise<number> {
  const s = net.createServer();
  const port = await new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
  await new Promise((resolve) => s.close(resolve));
  return port;
}

/** One line exchanged with 127.0.0.1:port, retried while nothing listens yet. */
async function ask(port: number, line: string): Promise<string> {
  const deadline = Date.now() + 5000;
  for (;;) {
    try {
      return await new Promise<string>((resolve, reject) => {
        const s = net.connect(port, '127.0.0.1');
        let answer = '';
        s.on('connect', () => s.write(`${line}\n`));
        s.on('data', (d) => { answer += d; });
        s.on('end', () => resolve(answer));
        s.on('error', reject);
      });
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

function listen(server: net.Server | http.Server, host = '127.0.0.1', port = 0): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(port, host, () => resolve((server.address() as net.AddressInfo).port)));
}

async function install(appId: string, vendor: string, params: Record<string, string>, wasm = 'net-probe.wasm', net = '{ connect: ["127.0.0.1:*", "localhost:*"] }'): Promise<void> {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, 'components'));
  fs.copyFileSync(sample(`net-c/build/${wasm}`), path.join(dir, 'components', 'net-probe.wasm'));
  const parameters = Object.entries(params).map(([k, v]) => `  ${k}:\n    value: "${v}"\n    targets: [{ pointer: ${k}, components: [probe] }]`).join('\n');
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata:
  id: ${appId}
  name: Net probe
  version: 1.0.0
  catalog:
    organization: [{ name: ${vendor} }]
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - name: probe
        properties:
          module: components/net-probe.wasm
          capabilities:
            net: ${net}
parameters:
${parameters}
`);
  const out = tempDir();
  const file = path.join(out, `${appId}.bhpkg`);
  await packPackage(dir, file);
  const key = await generateKeyPair();
  fs.writeFileSync(path.join(out, 'key.pub'), formatPublicKey(key));
  await signPackageFile(file, key, { id: appId, version: '1.0.0', vendor }, `${file}.minisig`);
  assert.is((await cli('trust', 'add', path.join(out, 'key.pub'), '--vendor', vendor)).code, 0);
  const r = await cli('install', file);
  assert.is(r.code, 0, r.stderr);
}

const probeLines = async (app: string) => {
  const r = await cli('logs', app, '--json');
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).message as string);
};

test.before(async () => {
  ports = {
    echo: await listen(net.createServer((s) => { connections.echo++; s.on('data', (d) => s.end(`pong: ${d}`)); })),
    other: await listen(net.createServer((s) => { connections.other++; s.end('other\n'); })),
    http: await listen(http.createServer((_req, res) => { connections.http++; res.end('21.5'); })),
  };
  // The same services on the device's LAN address, as a service listening on all interfaces has.
  assert.ok(lanAddress, 'this machine has a LAN address');
  await listen(net.createServer((s) => { connections.lan++; s.end('lan\n'); }), lanAddress, ports.echo);
  await listen(http.createServer((_req, res) => { connections.lan++; res.end('lan'); }), lanAddress, ports.http);
  listenPort = await freePort();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  Netwise Systems:
    ports: { from: ${listenPort}, to: ${listenPort} }
    wasm:
      netConnect: ["127.0.0.1:${ports.echo}", "127.0.0.1:${ports.http}", "[::1]:${ports.echo}", "[::1]:${ports.http}", "localhost:${ports.echo}", "localhost:${ports.http}"]
  Rogue Labs:
    wasm:
      netConnect: ["*:${ports.echo}", "*:${ports.http}"]
`);
  const targets = {
    'tcp-allowed': `127.0.0.1:${ports.echo}`, 'tcp-other-port': `127.0.0.1:${ports.other}`, 'tcp-by-name': `localhost:${ports.echo}`,
    'http-allowed': `127.0.0.1:${ports.http}`, 'http-by-name': `localhost:${ports.http}`, 'http-other-port': `127.0.0.1:${ports.other}`,
  };
  await install('net-client', 'Netwise Systems', { ...targets, 'http-hex': `0x7f.1:${ports.http}`, probes: [...Object.keys(targets), 'http-hex'].join(',') });
  await install('net-rogue', 'Rogue Labs', { ...rogueTargets(), probes: Object.keys(rogueTargets()).join(',') }, 'net-probe.wasm',
    '{ connect: ["127.0.0.1:*", "localhost:*", "*:*"] }');
  await install('listener', 'Netwise Systems', { port: String(listenPort) }, 'net-listener.wasm', `{ listen: [${listenPort}] }`);
  await install('rogue-listener', 'Rogue Labs', { port: String(listenPort) }, 'net-listener.wasm', `{ listen: [${listenPort}] }`);
});

/** What the hostile vendor tries, each a way to a service on this device. */
function rogueTargets(): Record<string, string> {
  return {
    'tcp-loopback': `127.0.0.1:${ports.echo}`, 'tcp-localhost': `localhost:${ports.echo}`, 'tcp-decimal': `2130706433:${ports.echo}`,
    'tcp-v4compat': `[::7f00:1]:${ports.echo}`, 'tcp-lan': `${lanHost}:${ports.echo}`, 'tcp-other-port': `127.0.0.1:${ports.other}`,
    'http-loopback': `127.0.0.1:${ports.http}`, 'http-localhost': `localhost:${ports.http}`, 'http-decimal': `2130706433:${ports.http}`,
    'http-hex': `0x7f.1:${ports.http}`, 'http-v4compat': `[::7f00:1]:${ports.http}`, 'http-lan': `${lanHost}:${ports.http}`,
  };
}

test.after(async () => {
  await cli('daemon', '--stop');
  for (const s of servers) s.close();
});

test('a granted vendor reaches its targets over TCP and HTTP, by address, numeric form and name the operator wrote', async () => {
  const r = await cli('start', 'net-client', '--wait');
  assert.is(r.code, 0, r.stdout + r.stderr);
  const lines = await probeLines('net-client');
  assert.ok(lines.includes('tcp allowed: connected, got "pong: ping"'), lines.join('\n'));
  assert.ok(lines.includes('tcp by-name: connected, got "pong: ping"'), 'the operator wrote localhost:PORT, which names loopback');
  assert.ok(lines.includes('tcp other-port: connect refused (access-denied)'));
  assert.ok(lines.includes('http allowed: status 200, body "21.5"'), lines.join('\n'));
  assert.ok(lines.includes('http by-name: status 200, body "21.5"'), lines.join('\n'));
  assert.ok(lines.includes('http hex: status 200, body "21.5"'), '0x7f.1 is 127.0.0.1, which the operator named');
  assert.ok(lines.includes('http other-port: refused (HTTP-request-denied)'));
  assert.equal(connections, { echo: 2, other: 0, http: 3, lan: 0 });
});

test('hostile: under *:PORT, loopback in every form, localhost and the LAN address are refused and audited; nothing connects', async () => {
  const before = { ...connections };
  const r = await cli('start', 'net-rogue', '--wait');
  assert.is(r.code, 0, r.stdout + r.stderr);
  const lines = await probeLines('net-rogue');
  const expected = [
    'tcp loopback: connect refused (access-denied)',
    'tcp localhost: resolve localhost refused (access-denied)',
    'tcp decimal: resolve 2130706433 refused (access-denied)',
    'tcp v4compat: connect refused (access-denied)',
    'tcp lan: connect refused (access-denied)',
    'tcp other-port: connect refused (access-denied)',
    'http loopback: refused (destination-IP-prohibited)',
    'http localhost: refused (destination-IP-prohibited)',
    'http decimal: refused (destination-IP-prohibited)',
    'http hex: refused (destination-IP-prohibited)',
    'http v4compat: refused (destination-IP-prohibited)',
    'http lan: refused (destination-IP-prohibited)',
  ];
  assert.equal(lines.filter((l) => /^(tcp|http) /.test(l)), expected, lines.join('\n'));
  assert.equal(connections, before, 'not one connection reached a server, on loopback or on the LAN address');
  const audit = JSON.parse((await cli('audit', '--app', 'net-rogue', '--json')).stdout).events as { capability: string; attempted: string; reason: string }[];
  const has = (attempted: string, reason: RegExp) => assert.ok(audit.some((e) => e.attempted === attempted && reason.test(e.reason)),
    `audited: ${attempted} ${reason}\n${audit.map((e) => `${e.capability} ${e.attempted}: ${e.reason}`).join('\n')}`);
  const unnamed = /a protected address \(([^)]*)\) that no operator rule names/;
  has('requested 127.0.0.1:*', /127\.0\.0\.1 is a protected address \(loopback\); the operator's net\.connect list for Rogue Labs matches it only by wildcard/);
  has('requested localhost:*', /localhost is this device \(loopback\)/);
  has(`127.0.0.1:${ports.echo}`, unnamed);
  has('resolve localhost', /localhost resolves to 127\.0\.0\.1, a protected address \(loopback\)/);
  has('resolve 127.0.0.1', /127\.0\.0\.1 is a protected address \(loopback\)/); // 2130706433, read as the address it is
  has(`[::7f00:1]:${ports.echo}`, /loopback, as ipv4-compatible of 127\.0\.0\.1/);
  has(`${lanHost}:${ports.echo}`, /one of this device's own addresses/);
  has(`127.0.0.1:${ports.other}`, /matches no net\.connect rule/);
  for (const [label, authority] of Object.entries(rogueTargets()).filter(([k]) => k.startsWith('http-'))) {
    has(`GET http://${authority}/reading`, label === 'http-lan' ? /one of this device's own addresses/ : unnamed);
  }
});

test('a vendor listens on a port of its range and serves a client', async () => {
  const r = await cli('start', 'listener');
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(await ask(listenPort, 'plc'), 'hello plc\n');
  const deadline = Date.now() + 5000;
  while (JSON.parse((await cli('status', 'listener', '--json')).stdout).app.actual !== 'completed') {
    if (Date.now() > deadline) throw new Error('the listener did not finish');
    await new Promise((res) => setTimeout(res, 50));
  }
  const lines = await probeLines('listener');
  assert.ok(lines.includes(`listener: listening on 127.0.0.1:${listenPort}`));
  assert.ok(lines.includes('listener: answered one client'));
});

test('hostile: listening outside the vendor\'s port range is refused and audited', async () => {
  const r = await cli('start', 'rogue-listener', '--wait');
  assert.is(r.code, 0, r.stdout + r.stderr);
  const lines = await probeLines('rogue-listener');
  assert.ok(lines.includes(`listener: bind 127.0.0.1:${listenPort} refused (access-denied)`), lines.join('\n'));
  const audit = JSON.parse((await cli('audit', '--app', 'rogue-listener', '--json')).stdout).events as { capability: string; attempted: string; reason: string }[];
  assert.ok(audit.some((e) => e.capability === 'net.listen' && e.attempted === `requested ${listenPort}` && /Rogue Labs has no listen port range/.test(e.reason)));
  assert.ok(audit.some((e) => e.capability === 'net.listen' && e.attempted === `listen 127.0.0.1:${listenPort}` && /no net\.listen grant/.test(e.reason)));
});

test.run();
