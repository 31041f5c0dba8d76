// Resource exhaustion (issue 10): what a hostile vendor's attack costs the device and a victim
// vendor, with the vendor's caps as the policy sets them and with the caps lifted (as before they
// existed). Each scenario runs in its own process (RSS does not shrink back between runs):
//   hoard   64 wasi:http request bodies of 8 MiB, never sent: daemon RSS, the victim's round trip
//   audit   a loop of denied kv calls for 3 s: audit rows written, the victim's round trip
// Imports the compiled runtime from dist/ so sandbox threads start as they do in production.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppHost } from '../dist/runtime/apps/app-host.js';
import { loadDevicePolicy } from '../dist/runtime/state/device-policy.js';
import { openStateDb } from '../dist/runtime/state/state-db.js';
import { appPackage, startVictim, VICTIM_POLICY } from '../test/support/victim.js';
import { writeReport } from './support/report.js';
import type { Sample } from './support/stats.js';

const MiB = 1024 * 1024;
const self = fileURLToPath(import.meta.url);
type Scenario = 'hoard' | 'audit';
interface Result { rssBeforeMiB: number; rssPeakMiB: number; rttBefore: number; rttDuring: number; rttAfter: number; guest: string; auditRows: number }

async function run(scenario: Scenario, capped: boolean): Promise<Result> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-bench-exhaust-'));
  const caps = capped ? 'hostMemory: 32Mi, auditRate: 20' : 'hostMemory: 8Gi, auditRate: 100000000';
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:\n${VICTIM_POLICY}  Rogue Labs:\n    wasm: { memory: 16Mi, cpu: 1, ${caps} }\n`);
  const db = openStateDb(dataDir);
  const host = new AppHost({ dataDir, db, policy: () => loadDevicePolicy(dataDir) });
  const victim = await startVictim(host as never, dataDir);
  const wasm = scenario === 'hoard' ? 'net-c/build/rogue-hoard.wasm' : 'vendors/build/rogue-exhaust.wasm';
  const attack = (appId: string, params: Record<string, string>) => appPackage(dataDir, { appId, vendor: 'Rogue Labs', wasm, params, capabilities: '{}' });
  // Warm-up: the vendor's sandbox thread exists and the component is compiled before measuring.
  await host.start(attack('warm', scenario === 'hoard' ? { bodies: '0', 'hold-ms': '0' } : { attack: 'audit', 'hold-ms': '1' }));
  await host.ended('warm');
  const rttBefore = await victim.rttMs(15);
  const rssBefore = process.memoryUsage().rss;
  let peak = rssBefore;
  const sampler = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 50);
  await host.start(attack('attack', scenario === 'hoard' ? { bodies: '64', mib: '8', 'hold-ms': '4000' } : { attack: 'audit', 'hold-ms': '3000' }));
  await new Promise((r) => setTimeout(r, 1500));
  const rttDuring = await victim.rttMs(15);
  await host.ended('attack');
  clearInterval(sampler);
  const rttAfter = await victim.rttMs(15);
  host.flushLogs();
  const guest = host.records.logs('attack').map((l) => l.message).filter((m) => /^(hoard: held|exhaust audit)/.test(m)).join('; ');
  const auditRows = host.records.audit({ appId: 'attack' }).length;
  await host.close();
  db.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { rssBeforeMiB: rssBefore / MiB, rssPeakMiB: peak / MiB, rttBefore, rttDuring, rttAfter, guest, auditRows };
}

const [mode, scenario, cap] = process.argv.slice(2);
if (mode === '--child') {
  process.stdout.write(JSON.stringify(await run(scenario as Scenario, cap === 'capped')));
} else {
  const rows: Sample[] = [];
  const notes: string[] = [];
  for (const s of ['hoard', 'audit'] as Scenario[]) {
    for (const c of ['uncapped', 'capped']) {
      process.stderr.write(`bench: ${s} ${c}\n`);
      const out = execFileSync(process.execPath, ['--import', 'tsx', self, '--child', s, c], { encoding: 'utf8', maxBuffer: 1 << 24 });
      const r = JSON.parse(out) as Result;
      const label = `${s}, ${c === 'capped' ? 'vendor caps (policy)' : 'caps lifted (as before)'}`;
      if (s === 'hoard') rows.push({ label: `${label}: daemon RSS growth`, samples: [r.rssPeakMiB - r.rssBeforeMiB], unit: 'MiB', note: `from ${r.rssBeforeMiB.toFixed(0)} MiB` });
      else rows.push({ label: `${label}: audit rows written`, samples: [r.auditRows], unit: 'rows' });
      rows.push({ label: `${label}: victim round trip before / during / after`, samples: [r.rttDuring], unit: 'ms', note: `${r.rttBefore.toFixed(2)} / ${r.rttDuring.toFixed(2)} / ${r.rttAfter.toFixed(2)}` });
      notes.push(`- ${label}: the guest said "${r.guest}"`);
    }
  }
  writeReport('exhaustion', 'Resource exhaustion: one hostile vendor against the device and a victim vendor', rows, [
    'Victim round trip: median of 15 message round trips through the victim\'s echo service (bus -> its sandbox -> bus); "during" is the median value shown.',
    'RSS growth: peak RSS of the daemon process while the guest holds its bodies, minus RSS after a warm-up run.',
    ...notes,
  ]);
}
