// The container bridge against the plain engine CLI, in one run: time from `up` to healthy for a
// one-service app, and start/stop latency of one container through the bridge versus `podman run`.
// Needs a Podman engine serving the Docker API (DOCKER_HOST, or /run/podman/podman.sock).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { composeDown, composeUp, waitHealthy } from '../dist/runtime/bridge/compose-deployer.js';
import { loadComposeText } from '../dist/runtime/bridge/compose-file.js';
import { applyContainerPolicy, defaultVendorPolicy } from '../dist/runtime/bridge/container-policy.js';
import { containerName, healthCheckOf } from '../dist/runtime/bridge/container-spec.js';
import { connectEngine } from '../dist/runtime/bridge/engine-connection.js';
import { deploymentName, vendorNetworkName } from '../dist/runtime/state/vendor-names.js';
import { vendorId } from '../dist/packages/trust/vendor-id.js';
import { BUSYBOX_IMAGE, ensureBusyboxImage, podmanAvailable } from '../samples/containers/busybox-image.js';
import { writeReport } from './support/report.js';
import { median, type Sample } from './support/stats.js';

const N = Number(process.env.BENCH_ITERATIONS ?? 10);
const problem = podmanAvailable();
if (problem) {
  writeReport('container-bridge', 'Container bridge vs plain engine', [], [`skipped: ${problem}`]);
  process.exit(0);
}
ensureBusyboxImage();
const docker = await connectEngine();
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-bridge-bench-'));
const policy = { ...defaultVendorPolicy(root), ports: { from: 20990, to: 20999 } };
const vendor = vendorId('Bench Vendor');
const identity = { vendor, project: 'bench', app: 'bench', deployment: deploymentName(vendor, 'bench'), network: vendorNetworkName(vendor) };
const progress = (m: string) => process.stderr.write(`bench: ${m}\n`);

function prepare(yaml: string) {
  const { file } = loadComposeText(yaml, 'compose.yaml');
  const { violations, services } = applyContainerPolicy(file, policy, root);
  if (violations.length) throw new Error(JSON.stringify(violations));
  return { file, services };
}

const healthy = prepare(`services:
  web:
    image: ${BUSYBOX_IMAGE}
    command: ["sh", "-c", "echo ok > /tmp/index.html && httpd -f -p 8080 -h /tmp"]
    ports: ["20990:8080"]
    healthcheck: { test: ["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1:8080/"], interval: 100ms, retries: 100 }
`);
const plain = prepare(`services:\n  app:\n    image: ${BUSYBOX_IMAGE}\n    command: ["sleep", "3600"]\n`);

const rows: Sample[] = [];
const upToHealthy: number[] = [];
progress('up to healthy');
for (let i = 0; i < N; i++) {
  const t0 = performance.now();
  await composeUp({ docker, identity, compose: healthy.file, enforced: healthy.services, projectDir: root, sourceDir: root, vendorRoot: root, dataDir: root, secretsDir: path.join(root, '.secrets') });
  await waitHealthy(docker.getContainer(containerName(identity.deployment, 'web')), healthCheckOf(healthy.file.services.web!)!, 30_000);
  upToHealthy.push(performance.now() - t0);
  await composeDown(docker, identity, healthy.file);
}
rows.push({ label: '`up` to healthy, one service with an HTTP healthcheck (bridge)', unit: 'ms', samples: upToHealthy });

progress('start/stop through the bridge');
const bridgeStart: number[] = [];
const bridgeStop: number[] = [];
for (let i = 0; i < N; i++) {
  let t0 = performance.now();
  await composeUp({ docker, identity, compose: plain.file, enforced: plain.services, projectDir: root, sourceDir: root, vendorRoot: root, dataDir: root, secretsDir: path.join(root, '.secrets') });
  bridgeStart.push(performance.now() - t0);
  t0 = performance.now();
  await composeDown(docker, identity, plain.file);
  bridgeStop.push(performance.now() - t0);
}
progress('start/stop with the podman CLI');
const cliStart: number[] = [];
const cliStop: number[] = [];
for (let i = 0; i < N; i++) {
  let t0 = performance.now();
  execFileSync('podman', ['run', '-d', '--name', 'bh-bench-cli', BUSYBOX_IMAGE, 'sleep', '3600'], { stdio: 'ignore' });
  cliStart.push(performance.now() - t0);
  t0 = performance.now();
  execFileSync('podman', ['rm', '-f', '-t', '0', 'bh-bench-cli'], { stdio: 'ignore' });
  cliStop.push(performance.now() - t0);
}
rows.push(
  { label: 'start one container: bridge `up` (policy, labels, network check, create, start)', unit: 'ms', samples: bridgeStart },
  { label: 'start one container: `podman run -d`', unit: 'ms', samples: cliStart },
  { label: 'stop+remove: bridge `down`', unit: 'ms', samples: bridgeStop },
  { label: 'stop+remove: `podman rm -f`', unit: 'ms', samples: cliStop },
);
try { execFileSync('podman', ['network', 'rm', identity.network], { stdio: 'ignore' }); } catch { /* in use or gone */ }
fs.rmSync(root, { recursive: true, force: true });
writeReport('container-bridge', 'Container bridge vs plain engine', rows, [
  `- start ratio bridge / podman CLI: ${(median(bridgeStart) / median(cliStart)).toFixed(2)}x`,
  `- stop ratio bridge / podman CLI: ${(median(bridgeStop) / median(cliStop)).toFixed(2)}x`,
  '- the bridge talks to the engine API in-process; the CLI pays its own process start each time.',
]);
