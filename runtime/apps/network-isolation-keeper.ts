// Keeps the bridge's network-isolation table (runtime/bridge/network-isolation.ts) in place while
// the daemon runs. `compose up` installs it before any container starts, but containers also run
// without an `up`: the engine restarts them after a reboot (when the table, like every nftables
// table, is gone), and an operator may flush the ruleset. So at start and every few seconds the
// daemon checks that the table is there and names every current bridge, and reinstalls it when not.
// No engine, or no Bulkhead network on it: nothing to keep apart, nothing done.
import { spawnSync } from 'node:child_process';
import type Docker from 'dockerode';
import { sleepUnlessAborted } from './abortable-sleep.js';
import { connectEngine } from '../bridge/engine-connection.js';
import { engineBridges, enforceNetworkIsolation, ISOLATION_TABLE, isolationRuleset } from '../bridge/network-isolation.js';

const CHECK_MS = 5000;

/** Whether the installed table holds every bridge the ruleset names (nft prints them in its set). */
function tableCovers(bridges: readonly string[]): boolean {
  const r = spawnSync('nft', ['list', 'table', 'inet', ISOLATION_TABLE], { encoding: 'utf8' });
  if (r.status !== 0) return false;
  return bridges.every((b) => r.stdout.includes(`"${b}"`));
}

/** One check; says what it did when it had to reinstall or could not. */
export async function keepNetworkIsolation(docker: Docker, say: (line: string) => void): Promise<void> {
  const bridges = await engineBridges(docker);
  if (!bridges.some((b) => b.ours)) return;
  isolationRuleset(bridges); // refuses unusable interface names before nft sees them
  if (tableCovers(bridges.map((b) => b.bridge))) return;
  try {
    await enforceNetworkIsolation(docker);
    say('network isolation: the table keeping vendors\' container networks apart was missing or stale; reinstalled');
  } catch (err) {
    say(`network isolation: ${(err as Error).message}`);
  }
}

/** Runs the check at start and every few seconds until `signal` aborts. */
export async function superviseNetworkIsolation(say: (line: string) => void, signal: AbortSignal): Promise<void> {
  let engine: Docker | undefined;
  while (!signal.aborted) {
    try {
      engine ??= await connectEngine();
      await keepNetworkIsolation(engine, say);
    } catch {
      engine = undefined; // no engine (yet): no containers to keep apart
    }
    await sleepUnlessAborted(CHECK_MS, signal);
  }
}
