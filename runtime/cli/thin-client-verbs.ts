// status, audit and logs [-f] of the thin client (api-client.ts): one request to the daemon's API,
// printed with the same formatters as the offline verbs.
import path from 'node:path';
import type { AppRow, AuditRow, InstanceRow, LogRow, SandboxRow } from '../apps/app-records.js';
import type { DeviceDrops, ResourceRow } from '../apps/resource-records.js';
import { defaultDataDir } from '../state/data-dir.js';
import type { ClientArgs } from './api-client.js';
import { appDetailText, auditText, logLine, statusText } from './app-status-text.js';
import { ApiFailure, failureOf, open, readBody, requestJson, targetOf, Unreachable, type Target } from './api-transport.js';

const dataDirOf = (a: ClientArgs) => (a.dataDir ? path.resolve(a.dataDir) : defaultDataDir());

async function getJson(target: Target, urlPath: string): Promise<unknown> {
  return requestJson(target, urlPath);
}

async function status(target: Target, a: ClientArgs): Promise<void> {
  const app = a.positional[0];
  const write = (data: unknown, text: () => string) => process.stdout.write(a.json ? `${JSON.stringify(data, null, 2)}\n` : `${text()}\n`);
  if (app) {
    const d = await getJson(target, `/v1/apps/${encodeURIComponent(app)}`) as { daemon: number; app: AppRow; instances: InstanceRow[] };
    write(d, () => appDetailText(d.app, d.instances));
  } else {
    const d = await getJson(target, '/v1/status') as { daemon: number; apps: AppRow[]; sandboxes: SandboxRow[]; resources: ResourceRow[]; dropped: DeviceDrops };
    write(d, () => statusText(d.daemon, d.apps, d.sandboxes, d.resources, d.dropped));
  }
}

function checkTail(a: ClientArgs): void {
  if (a.tail !== undefined && !/^\d+$/.test(a.tail)) throw new ApiFailure(`--tail ${a.tail}: expected a whole number of at least 0`);
}

async function audit(target: Target, a: ClientArgs): Promise<void> {
  checkTail(a);
  const query = new URLSearchParams();
  if (a.vendor !== undefined) query.set('vendor', a.vendor);
  if (a.app !== undefined) query.set('app', a.app);
  if (a.tail !== undefined) query.set('tail', a.tail);
  const d = await getJson(target, `/v1/audit?${query}`) as { events: AuditRow[] };
  process.stdout.write(a.json ? `${JSON.stringify(d, null, 2)}\n` : `${auditText(d.events)}\n`);
}

async function logs(target: Target, a: ClientArgs): Promise<void> {
  checkTail(a);
  const query = new URLSearchParams();
  if (a.tail !== undefined) query.set('tail', a.tail);
  if (a.follow) query.set('follow', 'true');
  const { res, req } = await open(target, `/v1/apps/${encodeURIComponent(a.positional[0]!)}/logs?${query}`, { timeoutMs: a.follow ? 0 : undefined });
  if ((res.statusCode ?? 500) >= 400) throw await failureOf(res);
  if (!a.follow) {
    const d = JSON.parse(await readBody(res)) as { logs: LogRow[] };
    for (const r of d.logs) process.stdout.write(logLine(r, a.json));
    return;
  }
  // A follow may be idle for long (no timeout above); the daemon's heartbeats keep it open.
  let interrupted = false;
  process.once('SIGINT', () => { interrupted = true; req.destroy(); });
  let pending = '';
  try {
    for await (const chunk of res) {
      pending += chunk;
      const lines = pending.split('\n');
      pending = lines.pop()!;
      for (const line of lines) if (line.trim()) process.stdout.write(logLine(JSON.parse(line) as LogRow, a.json));
    }
  } catch (err) {
    if (!interrupted) throw new ApiFailure(`the log stream broke off: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** Runs status, audit or logs through the daemon; false means no daemon: run the full CLI offline. */
export async function runClientVerb(a: ClientArgs): Promise<boolean> {
  try {
    const target = targetOf(a, dataDirOf(a));
    if (!target) return false; // no daemon: the offline path reads the data dir
    try {
      await (a.verb === 'status' ? status(target, a) : a.verb === 'audit' ? audit(target, a) : logs(target, a));
    } catch (err) {
      if (err instanceof Unreachable && !target.explicit) return false; // a stale socket: work offline
      throw err;
    }
    return true;
  } catch (err) {
    if (err instanceof Unreachable) process.stderr.write(`bulkhead: cannot reach the daemon (${err.message}); check --host, or drop it to work offline on the data dir\n`);
    else process.stderr.write(`bulkhead: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return true;
  }
}
