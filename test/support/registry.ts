// A real OCI registry (Debian's docker-registry, distribution 2.8) on 127.0.0.1 for tests.
// Uses the one .ci/run started (BULKHEAD_TEST_REGISTRY) when no special setup is needed.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import bcrypt from 'bcryptjs';
import { tempDir } from './paths.js';

export interface TestRegistry { address: string; root: string; stop(): Promise<void> }

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

/** `private` (or `users`) starts a registry of the test's own, whose storage it may tamper with. */
export async function startRegistry(options: { users?: Record<string, string>; private?: boolean; tls?: boolean } = {}): Promise<TestRegistry & { caFile?: string }> {
  const shared = process.env.BULKHEAD_TEST_REGISTRY;
  if (shared && !options.users && !options.private && !options.tls) {
    return { address: shared, root: process.env.BULKHEAD_TEST_REGISTRY_ROOT ?? '', stop: async () => undefined };
  }
  const dir = tempDir('bulkhead-registry-');
  const port = await freePort();
  let auth = '';
  if (options.users) {
    const lines = Object.entries(options.users).map(([u, p]) => `${u}:${bcrypt.hashSync(p, 5)}`);
    fs.writeFileSync(path.join(dir, 'htpasswd'), `${lines.join('\n')}\n`);
    auth = `auth:\n  htpasswd:\n    realm: bulkhead-test\n    path: ${path.join(dir, 'htpasswd')}\n`;
  }
  let tls = '';
  let caFile: string | undefined;
  if (options.tls) {
    // A self-signed certificate for 127.0.0.1, made with the openssl CLI.
    caFile = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', path.join(dir, 'key.pem'), '-out', caFile, '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    tls = `  tls:\n    certificate: ${caFile}\n    key: ${path.join(dir, 'key.pem')}\n`;
  }
  fs.writeFileSync(path.join(dir, 'config.yml'), `version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: ${path.join(dir, 'data')}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:${port}
${tls}${auth}`);
  const child: ChildProcess = spawn('docker-registry', ['serve', path.join(dir, 'config.yml')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => { stderr += d; });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if (options.tls) {
        await new Promise<void>((resolve, reject) => { const s = net.connect(port, '127.0.0.1', () => { s.end(); resolve(); }); s.on('error', reject); });
        break;
      }
      const res = await fetch(`http://${address}/v2/`);
      if (res.status === 200 || res.status === 401) break;
    } catch { /* not up yet */ }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`docker-registry did not start: ${stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    address, root: path.join(dir, 'data'), caFile,
    stop: () => new Promise<void>((resolve) => {
      if (child.exitCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    }),
  };
}
