// The fleet act of the main job: the device follows a Margo Workload Fleet Manager. Our test WFM
// (test/support/test-wfm.ts: the rc.3 API over mTLS, certificates generated with openssl) and an
// OCI registry (Debian's docker-registry) start on 127.0.0.1; the device joins the WFM, its daemon
// polls, pulls the signed package the deployment names, runs it, refuses what it must, and
// reports every transition, which the WFM prints as it receives them.
import { spawnSync } from 'node:child_process';
import YAML from 'yaml';
import { spawnDaemon } from '../runtime/apps/device-daemon.js';
import { deploymentDocument, type DeploymentSpec } from '../test/support/application-deployments.js';
import { publish, sensorFilterPackage, trustedVendor } from '../test/support/fleet-device.js';
import { startRegistry } from '../test/support/registry.js';
import { makeSpiffePki, WFM_SPIFFE_ID } from '../test/support/spiffe-pki.js';
import { TestWfm } from '../test/support/test-wfm.js';

export interface DemoStage {
  device: string;
  step: (title: string, args: string[], filter?: (line: string) => boolean) => void;
  /** A step that lets this process keep serving (the WFM runs here). */
  stepAsync: (title: string, args: string[]) => Promise<void>;
  say: (line: string) => void;
}

const ACME = 'ACME Industrial';
const DEVICE_ID = 'dev-1';

export async function fleetAct({ device, step, stepAsync, say }: DemoStage): Promise<void> {
  say('\n== Fleet: the device follows a Margo Workload Fleet Manager (Workload Management API 1.0.0-rc.3)');
  const missing = ['docker-registry', 'openssl'].filter((tool) => spawnSync(tool, ['--version']).error);
  if (missing.length) {
    say(`(skipped: needs ${missing.join(' and ')} for the local OCI registry and certificates; apt-get install -y docker-registry openssl)`);
    return;
  }
  const pki = makeSpiffePki();
  const registry = await startRegistry({ private: true });
  const wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID });
  try {
    // ACME publishes a signed build of its sensor filter under a new app id, with a fresh key the operator trusts.
    const acme = await trustedVendor(device, ACME);
    const repository = await publish(registry.address, sensorFilterPackage('acme-line2-filter', '1.0.0', ACME), acme, { id: 'acme-line2-filter', version: '1.0.0', vendor: ACME });
    say(`WFM ${wfm.url} (SPIFFE ID ${WFM_SPIFFE_ID}); registry ${registry.address}; ACME's package pushed to ${repository}`);
    const samples = { samples: { value: '20', targets: [{ pointer: 'samples', components: ['filter'] }] } };
    const deployment = (s: DeploymentSpec) => ({ id: s.id, yaml: YAML.stringify(deploymentDocument({ ...s, deviceId: DEVICE_ID })) });
    wfm.setDeployments([
      deployment({ id: 'line2-filter', applicationId: 'acme-line2-filter', repository, components: ['filter'], type: 'custom', parameters: samples }),
      // Refused: more memory than this device has.
      deployment({ id: 'line2-big', applicationId: 'acme-line2-big', repository, components: ['filter'], type: 'custom', deviceConstraints: { capacityRequirements: { memory: '4096Gi' } } }),
      // Refused: the operator installed acme-sensor-filter by hand; the fleet never takes it over.
      deployment({ id: 'line1-takeover', applicationId: 'acme-sensor-filter', repository, components: ['filter'], type: 'custom' }),
    ]);
    await stepAsync('join the fleet manager (X.509-SVID issued out of band; the WFM must present its SPIFFE ID)', ['fleet', 'join', '--wfm', wfm.url, '--device-id', DEVICE_ID,
      '--cert', pki.device.cert, '--key', pki.device.key, '--trust-bundle', pki.ca, '--poll-interval', '1', '--label', 'site=line-2']);
    await spawnDaemon(device);
    say('daemon started: it polls the WFM, adopts the manifest, pulls, verifies, installs and runs');
    const terminal = new Set(['installed', 'failed']);
    const deadline = Date.now() + 120_000;
    const seen = new Set<string>();
    while (Date.now() < deadline) {
      const reports = wfm.statusReports();
      for (const [i, r] of reports.entries()) {
        if (seen.has(String(i))) continue;
        seen.add(String(i));
        const error = r.status.error as { code?: string; message?: string } | undefined;
        say(`  WFM received: ${r.deploymentId} ${r.status.state}${error?.code ? ` [${error.code}] ${error.message}` : ''} (manifest ${r.adoptedManifestVersion})`);
      }
      const last = new Map(reports.map((r) => [r.deploymentId, r.status.state]));
      if (['line2-filter', 'line2-big', 'line1-takeover'].every((id) => terminal.has(last.get(id) ?? ''))) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    await stepAsync('the link as the device sees it', ['fleet', 'status']);
    step('what the fleet-deployed app produced (samples = 20, a bulkhead:host/config value from the deployment)', ['logs', 'acme-line2-filter']);
  } finally {
    step('stop the device daemon', ['daemon', '--stop']);
    await wfm.close();
    await registry.stop();
  }
}
