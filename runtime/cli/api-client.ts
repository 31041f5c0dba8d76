// The thin client: `bulkhead status`, `bulkhead audit` and `bulkhead logs [-f]` ask the running daemon over its API
// instead of opening the data dir, and `bulkhead --version`/`--help` answer without loading any verb.
// bin/bulkhead.js tries this module first; it imports only Node built-ins and two small modules, so
// these verbs start in about the time of `node -e 0`. It uses node:http rather than undici because
// loading undici alone costs more than the whole budget (see bench/results/api.md). Anything it does
// not handle (other verbs, unknown flags, no daemon) returns false and the full CLI runs, which works
// offline on the data dir.
import path from 'node:path';
import type { AppRow, AuditRow, InstanceRow, LogRow, SandboxRow } from '../apps/app-records.js';
import type { DeviceDrops, ResourceRow } from '../apps/resource-records.js';
import { defaultDataDir } from '../state/data-dir.js';
import { appDetailText, auditText, logLine, statusText } from './app-status-text.js';
import { ApiFailure, failureOf, open, readBody, requestJson, targetOf, Unreachable, type Target } from './api-transport.js';
import { TOP_LEVEL_HELP } from './top-level-help.js';
import { VERSION } from './version.js';

interface ClientArgs {
  verb?: string;
  positional: string[];
  dataDir?: string;
  host?: string;
  tlsCert?: string;
  tlsKey?: string;
  ca?: string;
  json?: boolean;
  follow?: boolean;
  vendor?: string;
  app?: string;
  tail?: string;
  version?: boolean;
  help?: boolean;
}

const VALUE_FLAGS: Record<string, keyof ClientArgs> = { '--data-dir': 'dataDir', '--host': 'host', '--tls-cert': 'tlsCert', '--tls-key': 'tlsKey', '--ca': 'ca', '-n': 'tail', '--tail': 'tail', '--vendor': 'vendor', '--app': 'app' };
const BOOL_FLAGS: Record<string, keyof ClientArgs> = { '--json': 'json', '-f': 'follow', '--follow': 'follow', '--version': 'version', '-V': 'version', '--help': 'help', '-h': 'help' };

/** The arguments, if this client handles them entirely; else undefined (the full CLI runs). */
export function parseClientArgs(argv: string[]): ClientArgs | undefined {
  const a: ClientArgs = { positional: [] };
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    let arg = args[i]!;
    let inline: string | undefined;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq > 0) { inline = arg.slice(eq + 1); arg = arg.slice(0, eq); }
    if (VALUE_FLAGS[arg]) {
      const value = inline ?? args[++i];
      if (value === undefined) return undefined;
      (a as unknown as Record<string, string>)[VALUE_FLAGS[arg]!] = value;
    } else if (BOOL_FLAGS[arg] && inline === undefined) {
      (a as unknown as Record<string, boolean>)[BOOL_FLAGS[arg]!] = true;
    } else if (arg.startsWith('-')) {
      return undefined;
    } else if (a.verb === undefined) {
      a.verb = arg;
    } else {
      a.positional.push(arg);
    }
  }
  if (a.version || a.help) return a.verb === undefined && a.positional.length === 0 ? a : undefined;
  const auditFlags = a.vendor !== undefined || a.app !== undefined;
  if (a.verb === 'status' && a.positional.length <= 1 && !a.follow && a.tail === undefined && !auditFlags) return a;
  if (a.verb === 'logs' && a.positional.length === 1 && !auditFlags) return a;
  if (a.verb === 'audit' && a.positional.length === 0 && !a.follow) return a;
  return undefined;
}

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

/** Handles the command if it can; false means: run the full CLI. */
export async function runThinClient(argv: string[]): Promise<boolean> {
  const a = parseClientArgs(argv);
  if (!a) return false;
  if (a.version) {
    process.stdout.write(`${VERSION}\n`);
    return true;
  }
  if (a.help) {
    process.stdout.write(TOP_LEVEL_HELP);
    return true;
  }
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
