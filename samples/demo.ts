// The main job (`npm start`): two vendors' signed packages installed on one device and run side
// by side, then a hostile vendor trying to get out, all through the real `bulkhead` command.
// It shows what each app produces and what was denied. Then the device follows a Margo fleet
// manager (samples/fleet-demo.ts).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { vendorId } from '../packages/trust/vendor-id.js';
import { vendorDirName } from '../runtime/state/vendor-names.js';
import { fleetAct } from './fleet-demo.js';
import { SAMPLE_POLICY_FILE, signedSamplePackages } from './vendor-packages.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bulkhead = path.join(root, 'bin', 'bulkhead.js');
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-demo-'));
const device = path.join(scratch, 'device');
fs.mkdirSync(device);
fs.copyFileSync(SAMPLE_POLICY_FILE, path.join(device, 'policy.yaml'));

const { packages, keys } = await signedSamplePackages(path.join(scratch, 'vendors'));
const pkg = (id: string) => packages.find((p) => p.appId === id)!.file;

let n = 0;
function step(title: string, args: string[], filter?: (line: string) => boolean): void {
  const shown = args.map((a) => a.replaceAll(scratch, '$DEMO')).map((a) => (a.includes(' ') ? JSON.stringify(a) : a));
  process.stdout.write(`\n[${++n}] ${title}\n$ bulkhead ${shown.join(' ')}\n`);
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [bulkhead, '--data-dir', device, ...args], { encoding: 'utf8' });
  let lines = (r.stdout + r.stderr).replaceAll(scratch, '$DEMO').trimEnd().split('\n');
  if (filter) lines = lines.filter(filter);
  process.stdout.write(`${lines.map((l) => `  | ${l}`).join('\n')}\n  -> exit ${r.status} in ${Math.round(performance.now() - t0)} ms\n`);
}

/** The same, without blocking this process (the fleet act's WFM runs in it and must answer meanwhile). */
async function stepAsync(title: string, args: string[]): Promise<void> {
  const shown = args.map((a) => a.replaceAll(scratch, '$DEMO')).map((a) => (a.includes(' ') ? JSON.stringify(a) : a));
  process.stdout.write(`\n[${++n}] ${title}\n$ bulkhead ${shown.join(' ')}\n`);
  const t0 = performance.now();
  const child = spawn(process.execPath, [bulkhead, '--data-dir', device, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => { out += d; });
  child.stderr.on('data', (d) => { out += d; });
  const status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  const lines = out.replaceAll(scratch, '$DEMO').trimEnd().split('\n');
  process.stdout.write(`${lines.map((l) => `  | ${l}`).join('\n')}\n  -> exit ${status} in ${Math.round(performance.now() - t0)} ms\n`);
}

process.stdout.write(`Device data dir: $DEMO/device (policy: samples/vendors/device-policy.yaml)\n`);
for (const k of keys) step(`trust ${k.vendor}'s signing key`, ['trust', 'add', k.publicFile, '--vendor', k.vendor]);
for (const id of ['globex-dashboard', 'acme-sensor-filter', 'rogue-probe', 'rogue-spin']) {
  step(`install ${id} (signature, archive, manifest checked; component transpiled once)`, ['install', pkg(id)]);
}
step('start the dashboard of vendor B (a service: subscribes to plant/+/temperature)', ['start', 'globex-dashboard']);
step('start the sensor filter of vendor A (a job: samples, filters, publishes)', ['start', 'acme-sensor-filter', '--wait']);
step('what vendor A produced', ['logs', 'acme-sensor-filter']);
step('what vendor B made of it (statistics kept in its kv namespace)', ['logs', 'globex-dashboard', '--tail', '4']);
// Someone with shell access on the device planted a symlink in the hostile vendor's directory.
const rogueProbeDir = path.join(device, 'vendors', vendorDirName(vendorId('Rogue Labs')), 'probe');
fs.mkdirSync(rogueProbeDir, { recursive: true });
fs.symlinkSync(`../../${vendorDirName(vendorId('Globex Analytics'))}`, path.join(rogueProbeDir, 'planted'));
step('the hostile vendor probes every way out (and finds a planted symlink to vendor B)', ['start', 'rogue-probe', '--wait']);
step('what it saw: each attempt refused', ['logs', 'rogue-probe'], (l) => !l.includes(' flood'));
step('the hostile vendor spins forever (CPU share 50% over 1 s)', ['start', 'rogue-spin', '--wait']);
step('the other vendors are unaffected', ['status']);
step('what was denied: the audit log', ['audit']);
step('stop the dashboard and the daemon', ['stop', 'globex-dashboard']);
step('stop the device daemon', ['daemon', '--stop']);
await fleetAct({ device, step, stepAsync, say: (line) => process.stdout.write(`${line.replaceAll(scratch, '$DEMO')}\n`) });
fs.rmSync(scratch, { recursive: true, force: true });
