// The fleet link (Margo WFM client), measured against our own test WFM over real mTLS:
// 1. idle cost of following a WFM: a real daemon process, first not joined, then joined and
//    polling every 2 s (each poll a 304): its CPU time (from /proc) and RSS over the same window;
// 2. time from a change at the WFM to `installed` reported back, for a wasm app and a compose app
//    (real registry, signed packages, real daemon and Podman; poll interval 1 s);
// 3. a manifest of 200 deployments: the link's part (fetch the bundle, verify 200 digests, adopt
//    durably, hand over) with a recording applier, and the real applier converging N wasm apps.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { vendorId } from '../packages/trust/vendor-id.js';
import { daemonPid, spawnDaemon } from '../runtime/apps/device-daemon.js';
import { joinFleet } from '../runtime/fleet/fleet-join.js';
import { FleetLink } from '../runtime/fleet/fleet-link.js';
import { openStateDb } from '../runtime/state/state-db.js';
import { vendorNetworkName } from '../runtime/state/vendor-names.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../samples/containers/busybox-image.js';
import { deploymentDocument, type DeploymentSpec } from '../test/support/application-deployments.js';
import { composePackage, publish, sensorFilterPackage, trustedVendor } from '../test/support/fleet-device.js';
import { bulkheadBin } from '../test/support/paths.js';
import { RecordingApplier } from '../test/support/recording-applier.js';
import { startRegistry } from '../test/support/registry.js';
import { makeSpiffePki, WFM_SPIFFE_ID } from '../test/support/spiffe-pki.js';
import { deploymentYaml, TestWfm } from '../test/support/test-wfm.js';
import { writeReport } from './support/report.js';
import { fmt, median, type Sample } from './support/stats.js';

const progress = (m: string) => process.stderr.write(`bench: ${m}\n`);
const IDLE_SECONDS = Number(process.env.BENCH_FLEET_IDLE_SECONDS ?? 30);
const UPDATES = Number(process.env.BENCH_FLEET_UPDATES ?? 5);
const APPS = Number(process.env.BENCH_FLEET_APPS ?? 200);
const pki = makeSpiffePki();
const rows: Sample[] = [];
const notes: string[] = [];
const ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
const cpuMs = (pid: number) => {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks;
};
const rssMiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) / 1024;
const cli = (dataDir: string, args: string[]) => spawnSync(process.execPath, [bulkheadBin, '--data-dir', dataDir, ...args], { encoding: 'utf8' });
async function until(what: string, ok: () => boolean, ms = 180_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// ---- 1. idle cost of polling ----
{
  const wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-fleet-bench-idle-'));
  const pid = await spawnDaemon(dataDir);
  const window = async (label: string) => {
    await new Promise((r) => setTimeout(r, 5000));
    const c0 = cpuMs(pid);
    const polls0 = wfm.count('GET', '/api/v1/deployments');
    // RSS moves with every GC; its median over the window (sampled each second) is the figure.
    const rss: number[] = [];
    for (let s = 0; s < IDLE_SECONDS; s++) {
      await new Promise((r) => setTimeout(r, 1000));
      rss.push(rssMiB(pid));
    }
    const cpu = cpuMs(pid) - c0;
    const polls = wfm.count('GET', '/api/v1/deployments') - polls0;
    progress(`${label}: ${fmt(cpu)} ms CPU in ${IDLE_SECONDS} s, ${polls} polls, RSS median ${fmt(median(rss))} MiB`);
    return { cpu, polls, rss };
  };
  progress('idle daemon, not joined');
  const base = await window('not joined');
  const join = cli(dataDir, ['fleet', 'join', '--wfm', wfm.url, '--device-id', 'bench', '--cert', pki.device.cert, '--key', pki.device.key, '--trust-bundle', pki.ca, '--poll-interval', '2']);
  if (join.status !== 0) throw new Error(join.stderr);
  await until('the first poll', () => wfm.count('GET', '/api/v1/deployments') > 0, 30_000);
  progress('idle daemon, joined, polling every 2 s');
  const joined = await window('joined');
  rows.push(
    { label: `daemon CPU over ${IDLE_SECONDS} s, not joined`, samples: [base.cpu], unit: 'ms', note: 'the reconcile loop alone' },
    { label: `daemon CPU over ${IDLE_SECONDS} s, joined (poll every 2 s, all 304)`, samples: [joined.cpu], unit: 'ms', note: `${joined.polls} polls; ${fmt((joined.cpu - base.cpu) / Math.max(joined.polls, 1))} ms CPU per poll above the baseline; ${fmt(((joined.cpu - base.cpu) / (IDLE_SECONDS * 1000)) * 100)}% of a core` },
    { label: 'daemon RSS, not joined (sampled each second)', samples: base.rss, unit: 'MiB' },
    { label: 'daemon RSS, joined (sampled each second)', samples: joined.rss, unit: 'MiB', note: `last sample ${fmt(joined.rss[joined.rss.length - 1]!)} MiB` },
  );
  cli(dataDir, ['daemon', '--stop']);
  await until('the idle daemon stopped', () => daemonPid(dataDir) === undefined, 30_000);
  await wfm.close();
}

// ---- 3a. 200 deployments, the link's part ----
{
  const wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID });
  const many = Array.from({ length: 200 }, (_, i) => ({ id: `dep-${i}`, yaml: deploymentYaml(`dep-${i}`, `app-${i}`, `  parameters: {n: {value: "${i}", targets: [{pointer: n, components: [main]}]}}`) }));
  for (const [label, threshold] of [['bundle', 8], ['one by one', 1_000_000]] as const) {
    const samples: number[] = [];
    for (let round = 0; round < 5; round++) {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-fleet-bench-200-'));
      const db = openStateDb(dataDir);
      await joinFleet({ dataDir, db, wfmUrl: wfm.url, deviceId: 'bench', certFile: pki.device.cert, keyFile: pki.device.key, trustBundleFile: pki.ca });
      wfm.setDeployments(many);
      const applier = new RecordingApplier();
      const link = new FleetLink({ db, dataDir, applier, bundleThreshold: threshold, maxDeployments: 1000 });
      const t0 = performance.now();
      await link.pollOnce();
      await until('handed over', () => applier.calls.length === 1);
      samples.push(performance.now() - t0);
      await link.close();
      db.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
    rows.push({ label: `200 deployments: manifest change to handed to the applier (${label})`, samples, unit: 'ms', note: 'GET manifest, fetch, 200 sha256 checks, adopt in one transaction' });
  }
  await wfm.close();
}

// ---- 2 and 3b. with the real applier ----
const engineProblem = podmanAvailable();
if (engineProblem || spawnSync('docker-registry', ['--version']).error) {
  notes.push(`Not measured here: time to installed and the real applier's convergence need Podman and docker-registry (${engineProblem ?? 'no docker-registry'}).`);
} else {
  ensureBusyboxImage();
  const registry = await startRegistry({ private: true });
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-fleet-bench-apply-'));
  const WASM = 'Bench Wasm Vendor';
  const COMPOSE = 'Bench Compose Vendor';
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${WASM}:\n    wasm: { fsWritable: true, publish: ["plant/line1/#"], memory: 32Mi, maxInstances: ${APPS + 4} }\n  ${COMPOSE}:\n    limits: { memory: 32Mi, cpus: 0.5, pids: 32 }\n    images: ["${BUSYBOX_IMAGE}"]\n`);
  const wasmVendor = await trustedVendor(dataDir, WASM);
  const composeVendor = await trustedVendor(dataDir, COMPOSE);
  progress(`publishing ${APPS + 1} wasm packages and a compose package`);
  const wasmRepos: string[] = [];
  for (let i = 0; i <= APPS; i++) {
    const id = `bench-filter-${i}`;
    wasmRepos.push(await publish(registry.address, sensorFilterPackage(id, '1.0.0', WASM), wasmVendor, { id, version: '1.0.0', vendor: WASM }));
  }
  const composeRepo = await publish(registry.address, composePackage('bench-greeter', '1.0.0', COMPOSE, BUSYBOX_IMAGE), composeVendor, { id: 'bench-greeter', version: '1.0.0', vendor: COMPOSE });
  const wasmSpec = (i: number, samples = '12'): DeploymentSpec => ({
    id: `dep-wasm-${i}`, applicationId: `bench-filter-${i}`, repository: wasmRepos[i]!, components: ['filter'], type: 'custom', deviceId: 'bench',
    parameters: { samples: { value: samples, targets: [{ pointer: 'samples', components: ['filter'] }] } },
  });
  const composeSpec = (greeting = 'hello'): DeploymentSpec => ({
    id: 'dep-compose', applicationId: 'bench-greeter', repository: composeRepo, components: ['web'], type: 'compose', deviceId: 'bench',
    parameters: { greeting: { value: greeting, targets: [{ pointer: 'GREETING', components: ['web'] }] } },
  });
  const served = (s: DeploymentSpec) => ({ id: s.id, yaml: YAML.stringify(deploymentDocument(s)) });
  const wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID });
  const installedAt = (id: string, version: number) => wfm.statusReports().some((r) => r.deploymentId === id && r.adoptedManifestVersion === version && r.status.state === 'installed');
  try {
    const join = cli(dataDir, ['fleet', 'join', '--wfm', wfm.url, '--device-id', 'bench', '--cert', pki.device.cert, '--key', pki.device.key, '--trust-bundle', pki.ca, '--poll-interval', '1']);
    if (join.status !== 0) throw new Error(join.stderr);
    await spawnDaemon(dataDir);
    const first: Record<string, number[]> = { wasm: [], compose: [] };
    const update: Record<string, number[]> = { wasm: [], compose: [] };
    let t0 = performance.now();
    wfm.setDeployments([served(wasmSpec(0)), served(composeSpec())]);
    let v = wfm.manifestVersion;
    await until('first deploy', () => {
      if (!first.wasm!.length && installedAt('dep-wasm-0', v)) first.wasm!.push(performance.now() - t0);
      if (!first.compose!.length && installedAt('dep-compose', v)) first.compose!.push(performance.now() - t0);
      return first.wasm!.length > 0 && first.compose!.length > 0;
    });
    for (let i = 1; i <= UPDATES; i++) {
      for (const kind of ['wasm', 'compose'] as const) {
        t0 = performance.now();
        wfm.setDeployments([served(wasmSpec(0, kind === 'wasm' ? String(12 + i) : '12')), served(composeSpec(kind === 'compose' ? `hello-${i}` : 'hello-0'))]);
        v = wfm.manifestVersion;
        const id = kind === 'wasm' ? 'dep-wasm-0' : 'dep-compose';
        await until(`${kind} update ${i}`, () => installedAt(id, v));
        update[kind]!.push(performance.now() - t0);
      }
      progress(`update round ${i} done`);
    }
    rows.push(
      { label: 'first deploy, wasm app: WFM change to installed reported', samples: first.wasm!, unit: 'ms', note: 'poll (1 s interval), pull, verify, install, transpile, run the job' },
      { label: 'first deploy, compose app: WFM change to installed reported', samples: first.compose!, unit: 'ms', note: 'poll, pull, verify, install, create and start the container' },
      { label: 'parameter change, wasm app: WFM change to installed reported', samples: update.wasm!, unit: 'ms', note: 'the job runs again with the new config value' },
      { label: 'parameter change, compose app: WFM change to installed reported', samples: update.compose!, unit: 'ms', note: 'the container is recreated with the new environment' },
    );
    progress(`${APPS} wasm deployments at once`);
    t0 = performance.now();
    const specs = Array.from({ length: APPS }, (_, i) => wasmSpec(i + 1));
    wfm.setDeployments(specs.map(served));
    v = wfm.manifestVersion;
    await until(`${APPS} installed`, () => specs.every((s) => installedAt(s.id, v)), 600_000);
    rows.push({ label: `${APPS} new wasm deployments: WFM change to all installed`, samples: [performance.now() - t0], unit: 'ms', note: `${APPS} packages pulled, verified, installed and run; the two earlier deployments removed` });
    wfm.setDeployments([]);
    v = wfm.manifestVersion;
    await until('all removed', () => specs.every((s) => wfm.statusReports().some((r) => r.deploymentId === s.id && r.adoptedManifestVersion === v && r.status.state === 'removed')), 600_000);
  } finally {
    cli(dataDir, ['daemon', '--stop']);
    await wfm.close();
    await registry.stop();
    for (const vendor of [WASM, COMPOSE]) {
      const ids = execFileSync('podman', ['ps', '-aq', '--filter', `label=org.bulkhead.vendor=${vendor}`], { encoding: 'utf8' }).split('\n').filter(Boolean);
      if (ids.length) execFileSync('podman', ['rm', '-f', '-t', '0', ...ids], { stdio: 'ignore' });
      try { execFileSync('podman', ['network', 'rm', vendorNetworkName(vendorId(vendor))], { stdio: 'ignore' }); } catch { /* gone */ }
    }
  }
}

writeReport('fleet', 'Fleet link (Margo WFM client) against the test WFM', rows, [
  'The WFM is our own test peer (test/support/test-wfm.ts) over mTLS on 127.0.0.1, in the benchmark process; the device is a real daemon process except in the 200-deployment link rows (in-process link, recording applier). Times from a change at the WFM include up to one poll interval of waiting.',
  ...notes,
  `Median of ${UPDATES} updates per app kind; ${APPS} signed packages (one per app id) are pushed to the registry before the convergence row.`,
]);
