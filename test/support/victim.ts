// A device host (the daemon's AppHost, in this process) with a victim vendor whose health is
// measured while another vendor attacks: a message round trip through the victim's echo service
// (bus -> victim sandbox -> bus), as the median of several pings.
import fs from 'node:fs';
import path from 'node:path';
import type { AppHost } from '../../runtime/apps/app-host.js';
import type { InstalledPackage } from '../../packages/install/installed-packages.js';
import { sample, tempDir } from './paths.js';

export interface AppFixture {
  appId: string;
  vendor: string;
  /** A built component, relative to samples/ (e.g. vendors/build/rogue-exhaust.wasm). */
  wasm: string;
  /** margo.yaml `capabilities` of the component, as YAML flow text. */
  capabilities?: string;
  params?: Record<string, string>;
  memory?: string;
}

/** Writes an unsigned package directory the AppHost can start (as if installed). */
export function appPackage(root: string, f: AppFixture): InstalledPackage {
  const dir = path.join(root, 'src', f.appId);
  fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
  fs.copyFileSync(sample(f.wasm), path.join(dir, 'components', 'app.wasm'));
  const params = Object.entries(f.params ?? {});
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata: { id: ${f.appId}, name: ${f.appId}, version: 1.0.0, catalog: { organization: [{ name: "${f.vendor}" }] } }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - name: main
        properties:
          module: components/app.wasm
          limits: { memory: ${f.memory ?? '16Mi'} }
          capabilities: ${f.capabilities ?? '{}'}
${params.length ? `parameters:\n${params.map(([k, v]) => `  ${k}: { value: "${v}", targets: [{ pointer: ${k}, components: [main] }] }`).join('\n')}` : ''}
`);
  return { appId: f.appId, version: '1.0.0', vendor: f.vendor, digest: '', path: dir, installedAt: '' } as InstalledPackage;
}

export const VICTIM_POLICY = `  Victim Co:
    wasm: { publish: ["bench/pong"], subscribe: ["bench/ping"], memory: 16Mi }
`;

/** Starts the victim's echo service and returns a probe measuring its round trip. */
export async function startVictim(host: AppHost, root: string) {
  const state = await host.start(appPackage(root, {
    appId: 'victim-echo', vendor: 'Victim Co', wasm: 'bench-c/build/echo.wasm',
    capabilities: '{ messaging: { publish: [bench/pong], subscribe: [bench/ping] } }',
  }));
  if (state !== 'running') throw new Error(`the victim did not start: ${state} ${host.records.app('victim-echo')?.reason}`);
  let waiting: (() => void) | undefined;
  host.bus.subscribe('test-probe', 'bench/pong', () => waiting?.());
  const once = (timeoutMs: number) => new Promise<number>((resolve, reject) => {
    const t0 = performance.now();
    const timer = setTimeout(() => { waiting = undefined; reject(new Error(`no pong within ${timeoutMs} ms`)); }, timeoutMs);
    waiting = () => { clearTimeout(timer); waiting = undefined; resolve(performance.now() - t0); };
    host.bus.publish('bench/ping', new Uint8Array([1]));
  });
  return {
    /** Median round trip of `n` pings, in ms. */
    async rttMs(n = 9, timeoutMs = 5000): Promise<number> {
      const times: number[] = [];
      for (let i = 0; i < n; i++) times.push(await once(timeoutMs));
      times.sort((a, b) => a - b);
      return times[Math.floor(n / 2)]!;
    },
  };
}

/** The health bound every attack test states: during and after, within this of the baseline. */
export function withinFactor(baselineMs: number, factor = 20, slackMs = 50): number {
  return baselineMs * factor + slackMs;
}

export function dataDirWithPolicy(policy: string, prefix = 'bulkhead-exhaust-'): string {
  const dir = tempDir(prefix);
  fs.writeFileSync(path.join(dir, 'policy.yaml'), policy);
  return dir;
}
