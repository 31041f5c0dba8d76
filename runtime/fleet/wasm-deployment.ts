// A fleet deployment's wasm app is run the way `bulkhead start` runs one: by writing desired state
// (with the deployment's parameter values, which the app reads through bulkhead:host/config) for
// the daemon's reconciler, which owns the sandboxes. The applier then waits for the outcome, so
// the status it reports is what the device actually did. A changed parameter or a new version
// restarts the app: stop, wait until stopped, start with the new values.
import { AppRecords, type ActualState } from '../apps/app-records.js';
import { FleetApplyError } from './apply-errors.js';

const POLL_MS = 50;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

async function waitFor(records: AppRecords, appId: string, what: string, done: () => boolean, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (signal?.aborted) throw new FleetApplyError('BH_ERR_FLEET_START', `${appId}: stopped waiting until it ${what} (the applier was stopped)`);
    if (Date.now() > deadline) {
      const row = records.app(appId);
      throw new FleetApplyError('BH_ERR_FLEET_START', `${appId} did not ${what} within ${Math.round(timeoutMs / 1000)} s (state ${row?.actual ?? 'unknown'}${row?.reason ? `: ${row.reason}` : ''}); is the daemon running?`);
    }
    await sleep(POLL_MS, signal);
  }
}

const LIVE: ActualState[] = ['running', 'starting'];
const sameValues = (a: Record<string, string>, b: Record<string, string>) => JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

export interface WasmRun {
  appId: string;
  parameters: Record<string, string>;
  /** A new version was installed since the app last started: it must start again to run it. */
  newVersion: boolean;
  timeoutMs: number;
}

/** Makes the app run with these values; resolves when it is running (a service) or completed (a job). */
export async function runWasmApp(records: AppRecords, run: WasmRun, signal?: AbortSignal): Promise<void> {
  const { appId } = run;
  const row = records.app(appId);
  const settled = row && row.desired === 'running' && row.startedGeneration === row.generation;
  if (settled && !run.newVersion && sameValues(row.parameters, run.parameters) && (row.actual === 'running' || row.actual === 'completed')) return;
  if (row && (row.desired === 'running' || LIVE.includes(row.actual))) {
    records.setDesired(appId, 'stopped');
    await waitFor(records, appId, 'stop', () => !LIVE.includes(records.app(appId)!.actual), run.timeoutMs, signal);
  }
  const generation = records.setDesired(appId, 'running', run.parameters);
  await waitFor(records, appId, 'start', () => {
    const now = records.app(appId)!;
    return now.generation !== generation || (now.startedGeneration === generation && now.actual !== 'starting' && now.actual !== 'stopped');
  }, run.timeoutMs, signal);
  const now = records.app(appId)!;
  if (now.generation !== generation) throw new FleetApplyError('BH_ERR_FLEET_START', `${appId} was started or stopped by someone else while the fleet started it`);
  if (now.actual === 'failed') throw new FleetApplyError('BH_ERR_FLEET_START', `${appId} failed: ${now.reason ?? 'no reason recorded'}`);
}

/** Stops the app (desired state), and waits until the daemon has stopped it. */
export async function stopWasmApp(records: AppRecords, appId: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const row = records.app(appId);
  if (!row) return;
  if (row.desired !== 'stopped') records.setDesired(appId, 'stopped');
  await waitFor(records, appId, 'stop', () => !LIVE.includes(records.app(appId)?.actual ?? 'stopped'), timeoutMs, signal);
}
