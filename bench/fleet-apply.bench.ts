// The apply side of the fleet client at manifest scale (issue 14): N deployments (default 200),
// each its own signed wasm app in the real registry, converged by the applier against a real
// daemon. Measured: the first converge (validate, check constraints, pull, verify, install,
// transpile (cached after the first: one component digest), start; per deployment), the same list
// again (what every adopted-but-unchanged manifest costs: no pull, no report), one parameter
// changed among N, and removing all N. Wasm jobs are used so that N apps fit in one vendor's
// instance cap: each runs once and completes.
import fs from 'node:fs';
import path from 'node:path';
import { spawnDaemon } from '../runtime/apps/device-daemon.js';
import type { AdoptedDeployment, DeploymentStatusReport } from '../runtime/fleet/deployment-applier.js';
import { adoptedSpec, type DeploymentSpec } from '../test/support/application-deployments.js';
import { openFleetDevice, publish, sensorFilterPackage, trustedVendor } from '../test/support/fleet-device.js';
import { runCli, tempDir } from '../test/support/paths.js';
import { startRegistry } from '../test/support/registry.js';
import { writeReport } from './support/report.js';
import type { Sample } from './support/stats.js';

const N = Number(process.env.BENCH_FLEET_DEPLOYMENTS ?? 200);
const VENDOR = 'ACME Industrial';
const progress = (m: string) => process.stderr.write(`bench: ${m}\n`);

const registry = await startRegistry();
const dataDir = tempDir('bulkhead-bench-fleet-');
fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n  ${VENDOR}:\n    wasm: { fsWritable: true, publish: ["plant/line1/#"], memory: 16Mi, maxInstances: ${N + 8}, memoryTotal: 4Gi }\n`);
const vendor = await trustedVendor(dataDir, VENDOR);
progress(`publishing ${N} signed packages to ${registry.address}`);
const specs: DeploymentSpec[] = [];
for (let i = 0; i < N; i++) {
  const id = `bench-app-${i}`;
  const repository = await publish(registry.address, sensorFilterPackage(id, '1.0.0', VENDOR), vendor, { id, version: '1.0.0', vendor: VENDOR });
  specs.push({
    id: `dep-${i}`, applicationId: id, repository, components: ['filter'], type: 'custom',
    parameters: { samples: { value: '12', targets: [{ pointer: 'samples', components: ['filter'] }] } },
  });
}
const pid = await spawnDaemon(dataDir);
const device = openFleetDevice(dataDir);
const rows: Sample[] = [];
const rss = () => process.memoryUsage().rss / 2 ** 20;

async function timed(label: string, list: AdoptedDeployment[], note: string): Promise<DeploymentStatusReport[]> {
  progress(label);
  const reports: DeploymentStatusReport[] = [];
  const t0 = performance.now();
  await device.applier.converge(list, (r) => reports.push(r));
  const ms = performance.now() - t0;
  rows.push({ label, unit: 'ms', samples: [ms], note: `${note}; ${reports.length} reports` });
  return reports;
}

try {
  const list = specs.map((s) => adoptedSpec(s));
  const rss0 = rss();
  // The first app's component is transpiled at install (then cached by digest): a cold start.
  await timed('first deployment (component transpiled, cold)', list.slice(0, 1), 'pull, verify, install, transpile, start');
  const rest = await timed(`converge to all ${N} (${N - 1} new)`, list, 'pull, verify, install, start each');
  const installed = rest.filter((r) => r.state === 'installed').length;
  if (installed !== N - 1) throw new Error(`only ${installed} of ${N - 1} deployments were installed: ${JSON.stringify(rest.find((r) => r.state === 'failed'))}`);
  rows.push({ label: 'per new deployment (component cached)', unit: 'ms', samples: [rows[1]!.samples[0]! / (N - 1)], note: 'mean over that converge' });
  const again = await timed(`the same ${N} again`, list, 'nothing changes');
  if (again.length !== 0) throw new Error('the same list reported again');
  const changed = specs.map((s, i) => adoptedSpec(i === N - 1 ? { ...s, parameters: { samples: { value: '20', targets: [{ pointer: 'samples', components: ['filter'] }] } } } : s));
  await timed(`one parameter changed among ${N}`, changed, 'one app restarted');
  rows.push({ label: 'applier process RSS growth over those converges', unit: 'MiB', samples: [rss() - rss0], note: 'the applier\'s own process (the apps run in the daemon); includes jco\'s transpiler, loaded by the first install' });
  await timed(`removing all ${N}`, [], 'stop and uninstall each');
} finally {
  device.close();
  await runCli(['--data-dir', dataDir, 'daemon', '--stop']);
  void pid;
  await registry.stop();
}
writeReport('fleet-apply', `Fleet apply: ${N} deployments from a real registry`, rows, [
  'Each deployment is its own signed package (the sample sensor filter under another app id), pulled',
  'from the test registry, verified and installed by the installer `bulkhead install` uses, and run',
  'as a wasm job by a real daemon; deployments are applied one after another. The link side (polling',
  'the WFM, digests, reports) is not part of these numbers.',
]);
