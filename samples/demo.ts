// The main job for now (`npm start`): run the samples in sandboxes through the real `bulkhead`
// command and show what each produced, including the hostile ones being contained.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { samplePackageDir } from './build.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bulkhead = path.join(root, 'bin', 'bulkhead.js');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-demo-'));
const outside = path.join(scratch, 'outside');
const data = path.join(scratch, 'data');
fs.mkdirSync(outside);
fs.mkdirSync(data);
fs.writeFileSync(path.join(outside, 'secret'), 'host secret\n');
fs.writeFileSync(path.join(data, 'readings.csv'), 'sensor,value\ntemp-1,21.5\ntemp-2,22.1\n');
fs.writeFileSync(path.join(data, 'existing.txt'), 'keep me\n');
fs.mkdirSync(path.join(data, 'subdir'));
fs.symlinkSync(path.join(outside, 'secret'), path.join(data, 'planted-abs'));
fs.symlinkSync('../outside/secret', path.join(data, 'planted-rel'));
fs.symlinkSync('../outside', path.join(data, 'planted-dir'));

const s = (rel: string) => path.join(root, 'samples', rel);
const steps: { title: string; args: string[] }[] = [
  { title: 'hello (AssemblyScript), with one granted env variable', args: ['run', '--env', 'GREETING=hello, gateway', s('hello-as/build/hello.wasm'), 'sensor-a'] },
  { title: 'cat (C) reading a read-only granted directory', args: ['run', '--dir', `${data}::/data:ro`, s('cat-c/build/cat.wasm'), '/data/readings.csv'] },
  { title: 'hostile: escape attempts out of /data', args: ['run', '--dir', `${data}::/data`, s('hostile/build/escape.wasm'), '/data', path.join(outside, 'secret')] },
  { title: 'hostile: writes to a read-only preopen', args: ['run', '--dir', `${data}::/data:ro`, s('hostile/build/write-readonly.wasm'), '/data'] },
  { title: 'hostile: infinite loop, 500 ms time limit', args: ['run', '--timeout', '500ms', s('hostile/build/infinite-loop.wasm')] },
  { title: 'hostile: memory bomb, 32 MiB cap', args: ['run', '--max-memory', '32MiB', s('hostile/build/memory-bomb.wasm')] },
  { title: 'hostile: unreachable trap', args: ['run', s('hostile/build/trap.wasm')] },
];

// A vendor's signed package: key, pack, sign; the device trusts the key, verifies, installs, and
// refuses a copy with one flipped byte.
const pkgSource = samplePackageDir('acme-hello', { 'hello.wasm': 'hello-as/build/hello.wasm' });
const device = path.join(scratch, 'device');
const keyPrefix = path.join(scratch, 'acme');
const pkg = path.join(scratch, 'acme-hello-1.0.0.bhpkg');
const tampered = path.join(scratch, 'tampered.bhpkg');
steps.push(
  { title: 'vendor: create a signing key (minisign format)', args: ['keygen', '-o', keyPrefix] },
  { title: 'vendor: pack the application (reproducible .bhpkg)', args: ['pack', pkgSource, '-o', pkg] },
  { title: 'vendor: sign it', args: ['sign', pkg, '-k', `${keyPrefix}.key`] },
  { title: 'device: trust the vendor key', args: ['--data-dir', device, 'trust', 'add', `${keyPrefix}.pub`, '--vendor', 'ACME Industrial'] },
  { title: 'device: install (verify signature, archive, manifest, version; atomic)', args: ['--data-dir', device, 'install', pkg] },
  { title: 'device: a copy with one flipped byte is refused', args: ['--data-dir', device, 'install', tampered, '--signature', `${pkg}.minisig`] },
);

for (const [i, step] of steps.entries()) {
  if (step.args.includes(tampered)) {
    const bytes = fs.readFileSync(pkg);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    fs.writeFileSync(tampered, bytes);
  }
  const shown = step.args.map((a) => a.replaceAll(scratch, '$DEMO').replaceAll(`${root}/`, '')).map((a) => (a.includes(' ') ? JSON.stringify(a) : a));
  process.stdout.write(`\n[${i + 1}/${steps.length}] ${step.title}\n$ bulkhead ${shown.join(' ')}\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bulkhead, ...step.args], { encoding: 'utf8' });
  const out = (r.stdout + r.stderr).replaceAll(scratch, '$DEMO').trimEnd().split('\n').map((l) => `  | ${l}`).join('\n');
  process.stdout.write(`${out}\n  -> exit ${r.status} in ${Math.round(performance.now() - t0)} ms\n`);
}
fs.rmSync(scratch, { recursive: true, force: true });
