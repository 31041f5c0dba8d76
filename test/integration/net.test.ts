// Network grants end to end: a component using wasi:sockets (TCP, name lookup) and wasi:http,
// installed from signed packages of two vendors against real servers on 127.0.0.1. The granted
// vendor reaches exactly its targets; the hostile one is refused by IP literal, by another port
// and by a name that resolves to a protected address, each refusal audited, and the servers see
// no connection from it at all.
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { packPackage } from '../../packages/archive/pack-package.js';
import { formatPublicKey, generateKeyPair } from '../../packages/signing/minisign.js';
import { signPackageFile } from '../../packages/signing/package-signature.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const dataDir = tempDir('bulkhead-net-');
const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
const connections = { echo: 0, other: 0, http: 0 };
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

function listen(server: net.Server | http.Server): Promise<number> {
  servers.push(server);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)));
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
  listenPort = await freePort();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  Netwise Systems:
    ports: { from: ${listenPort}, to: ${listenPort} }
    wasm:
      netConnect: ["127.0.0.1:${ports.echo}", "127.0.0.1:${ports.http}", "[::1]:${ports.echo}", "[::1]:${ports.http}", "localhost:${ports.echo}", "localhost:${ports.http}"]
  Rogue Labs:
    wasm:
      netConnect: ["localhost:${ports.echo}", "localhost:${ports.http}"]
`);
  const targets = {
    'tcp-allowed': `127.0.0.1:${ports.echo}`, 'tcp-other-port': `127.0.0.1:${ports.other}`, 'tcp-by-name': `localhost:${ports.echo}`,
    'http-allowed': `127.0.0.1:${ports.http}`, 'http-by-name': `localhost:${ports.http}`, 'http-other-port': `127.0.0.1:${ports.other}`,
  };
  await install('net-client', 'Netwise Systems', targets);
  await install('net-rogue', 'Rogue Labs', targets);
  await install('listener', 'Netwise Systems', { port: String(listenPort) }, 'net-listener.wasm', `{ listen: [${listenPort}] }`);
  await install('rogue-listener', 'Rogue Labs', { port: String(listenPort) }, 'net-listener.wasm', `{ listen: [${listenPort}] }`);
});

test.after(async () => {
  await cli('daemon', '--stop');
  for (const s of servers) s.close();
});

test('a granted vendor reaches its targets over TCP and HTTP, by address and by name', async () => {
  const r = await cli('start', 'net-client', '--wait');
  assert.is(r.code, 0, r.stdout + r.stderr);
  const lines = await probeLines('net-client');
  assert.ok(lines.includes('tcp allowed: connected, got "pong: ping"'), lines.join('\n'));
  assert.ok(lines.includes('tcp by-name: connected, got "pong: ping"'), 'the name resolves to an address an explicit rule grants');
  assert.ok(lines.includes('tcp other-port: connect refused (access-denied)'));
  assert.ok(lines.includes('http allowed: status 200, body "21.5"'), lines.join('\n'));
  assert.ok(lines.includes('http by-name: status 200, body "21.5"'));
  assert.ok(lines.includes('http other-port: refused (HTTP-request-denied)'));
  assert.equal(connections, { echo: 2, other: 0, http: 2 });
});

test('hostile: IP literals, other ports and names resolving to protected addresses are refused and audited; nothing connects', async () => {
  const before = { ...connections };
  const r = await cli('start', 'net-rogue', '--wait');
  assert.is(r.code, 0, r.stdout + r.stderr);
  const lines = await probeLines('net-rogue');
  assert.ok(lines.includes('tcp allowed: connect refused (access-denied)'), `IP literal: ${lines.join('\n')}`);
  assert.ok(lines.includes('tcp other-port: connect refused (access-denied)'));
  assert.ok(lines.includes('tcp by-name: connect refused (access-denied)'), 'localhost is granted by name, but it resolves to 127.0.0.1');
  assert.ok(lines.includes('http by-name: refused (destination-IP-prohibited)'));
  assert.ok(lines.includes('http allowed: refused (HTTP-request-denied)'));
  assert.equal(connections, before, 'not one connection reached a server');
  const audit = JSON.parse((await cli('audit', '--app', 'net-rogue', '--json')).stdout).events as { capability: string; attempted: string; reason: string }[];
  const net = audit.filter((e) => e.capability === 'net.connect');
  assert.ok(net.some((e) => e.attempted === `127.0.0.1:${ports.echo}` && /resolves to 127\.0\.0\.1, a protected address no rule grants|matches no net\.connect rule/.test(e.reason)));
  assert.ok(net.some((e) => e.attempted === `GET http://localhost:${ports.http}/reading` && /localhost resolves to 127\.0\.0\.1, a protected address no rule grants/.test(e.reason)));
  assert.ok(audit.some((e) => e.attempted === 'requested 127.0.0.1:*' && /not in the operator's net.connect list for Rogue Labs/.test(e.reason)),
    'the manifest request the operator did not grant is on record too');
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
