// App verbs for wasm apps: start, stop, status, logs, audit, and daemon. The CLI writes the
// desired state (through the daemon's API when one answers, else to the device database); the
// daemon (started on demand) runs the apps and writes back what happened, which status/logs/audit
// read. status, logs and audit reach this module only offline: with a daemon, the thin client
// (api-client.ts) answers them.
import type { Command } from 'commander';
import { AppRecords, type AppRow, type InstanceRow } from '../apps/app-records.js';
import { ResourceRecords } from '../apps/resource-records.js';
// The daemon module pulls in the whole app host (sandboxes, host APIs): loaded only by the verbs
// that start or run a daemon, so offline status/logs/audit stay light.
import { daemonPid, DaemonRunningError } from '../apps/daemon-lock.js';
import { CliError } from './cli-error.js';
import { openDevice, withDevice, type DeviceContext } from './device-context.js';
import { appDetailText, auditText, logLine, stateLine, statusText } from './app-status-text.js';
import { ExitCode } from './exit-codes.js';
import { ApiError } from '../api/api-errors.js';
import { ApiFailure } from './api-transport.js';
import { cliErrorOf, remoteDevice, type RemoteDevice } from './device-target.js';
import { parseListenFlags, type ListenFlags } from './listen-address.js';
import { emit, stepReporter } from './output.js';
import { collect, parseParamFlags } from './repeatable-option.js';

/** A whole number of at least `min` from a flag, or a usage error naming the flag. */
function wholeNumber(flag: string, text: string | undefined, min: number): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) throw new CliError(`${flag} ${text}: expected a whole number of at least ${min}`, ExitCode.BAD_INPUT);
  return n;
}

/**
 * What start and stop need from the device, through its daemon's API or on the data dir: one
 * implementation each, so the verbs' checks, waiting and output are the same either way.
 */
interface AppControl {
  installedApps(): Promise<string[]>;
  /** Sets desired state running; the generation the daemon must act on. */
  start(app: string, parameters: Record<string, string> | undefined): Promise<number>;
  stop(app: string): Promise<void>;
  detail(app: string): Promise<{ app: AppRow; instances: InstanceRow[] } | undefined>;
  /** Throws if the daemon that should act went away. */
  checkDaemon(): Promise<void>;
}

function localControl(ctx: DeviceContext): AppControl {
  const records = new AppRecords(ctx.db);
  return {
    installedApps: async () => ctx.installed.list().map((p) => p.appId),
    start: async (app, parameters) => records.setDesired(app, 'running', parameters),
    stop: async (app) => {
      records.setDesired(app, 'stopped');
      // No daemon runs it, so nobody else will say it stopped.
      const row = records.app(app)!;
      if (daemonPid(ctx.dataDir) === undefined && (row.actual === 'running' || row.actual === 'starting')) records.setActual(app, 'stopped');
    },
    detail: async (app) => records.snapshot(() => {
      const row = records.app(app);
      return row && { app: row, instances: records.instances(app) };
    }),
    checkDaemon: async () => {
      if (daemonPid(ctx.dataDir) === undefined) throw new CliError(`the daemon for ${ctx.dataDir} stopped; see ${ctx.dataDir}/daemon.log`, ExitCode.FAILURE);
    },
  };
}

function remoteControl(device: RemoteDevice): AppControl {
  const app = (id: string) => `/v1/apps/${encodeURIComponent(id)}`;
  return {
    installedApps: async () => (await device.call<{ packages: { appId: string }[] }>('/v1/packages')).packages.map((p) => p.appId),
    start: async (id, parameters) => (await device.call<AppRow>(`${app(id)}/start`, { method: 'POST', json: parameters ? { parameters } : {} })).generation,
    stop: async (id) => { await device.call(`${app(id)}/stop`, { method: 'POST', json: {} }); },
    detail: async (id) => {
      try {
        return await device.raw<{ app: AppRow; instances: InstanceRow[] }>(app(id));
      } catch (err) {
        if (err instanceof ApiFailure && err.status === 404) return undefined;
        throw cliErrorOf(err, device.target);
      }
    },
    checkDaemon: async () => {},
  };
}

/** Runs `fn` with the device's app control: its daemon's API when one answers, else the data dir. */
async function withApps<T>(command: Command, fn: (control: AppControl, remote: boolean, dataDir?: string) => Promise<T>): Promise<T> {
  const device = await remoteDevice(command);
  if (device) return fn(remoteControl(device), true);
  return withDevice(command, (ctx) => fn(localControl(ctx), false, ctx.dataDir));
}

async function mustBeInstalled(control: AppControl, apps: string[]): Promise<void> {
  const known = await control.installedApps();
  for (const app of apps) {
    if (!known.includes(app)) {
      throw new CliError(`${app} is not installed (installed: ${known.join(', ') || 'none'}); install it with: bulkhead install PACKAGE`, ExitCode.FAILURE);
    }
  }
}

/** Waits until the daemon has acted on every app's latest generation and none is still starting. */
async function waitSettled(control: AppControl, apps: string[], settled: (d: { app: AppRow; instances: InstanceRow[] }) => boolean, timeoutMs: number): Promise<AppRow[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const now = await Promise.all(apps.map(async (a) => (await control.detail(a))!));
    if (now.every(settled)) return now.map((d) => d.app);
    await control.checkDaemon();
    if (Date.now() > deadline) throw new CliError(`timed out after ${timeoutMs / 1000} s waiting for ${apps.join(', ')}; see bulkhead status`, ExitCode.FAILURE);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}


export function registerAppCommands(program: Command): void {
  program.command('start')
    .description('run installed wasm apps (each vendor in its own sandbox); starts the device daemon if needed')
    .argument('<app...>', 'application ids')
    .option('-p, --param <NAME=VALUE>', 'deployment parameter (repeatable), overriding margo.yaml', collect, [])
    .option('--wait', 'also wait until their jobs (wasi:cli/run components) have finished')
    .option('--timeout <SECONDS>', 'how long to wait', '60')
    .option('--json', 'machine-readable output')
    .action(async (apps: string[], flags: { param: string[]; wait?: boolean; timeout: string; json?: boolean }, command: Command) => {
      const params = parseParamFlags(flags.param);
      const timeoutSeconds = wholeNumber('--timeout', flags.timeout, 1)!;
      await withApps(command, async (control, remote, dataDir) => {
        await mustBeInstalled(control, apps);
        const generations = new Map<string, number>();
        for (const a of apps) generations.set(a, await control.start(a, flags.param.length ? params : undefined));
        if (!remote && daemonPid(dataDir!) === undefined) {
          stepReporter(flags.json)?.('starting the device daemon');
          try {
            await (await import('../apps/device-daemon.js')).spawnDaemon(dataDir!);
          } catch (err) {
            throw new CliError((err as Error).message, ExitCode.FAILURE);
          }
        }
        // With --wait, a running app counts as settled only once no job of it runs and a service does
        // (an app of jobs alone becomes completed or failed).
        const servicesOnly = (instances: InstanceRow[]) => {
          const running = instances.filter((i) => i.state === 'running');
          return running.length > 0 && running.every((i) => i.role === 'service');
        };
        const rows = await waitSettled(control, apps, ({ app: r, instances }) => r.startedGeneration === generations.get(r.appId) && r.actual !== 'starting'
          && r.actual !== 'stopped' && !(flags.wait && r.actual === 'running' && !servicesOnly(instances)), timeoutSeconds * 1000);
        emit(flags.json, { ok: rows.every((r) => r.actual !== 'failed'), apps: rows }, () => rows.map(stateLine).join('\n'));
        if (rows.some((r) => r.actual === 'failed')) process.exitCode = ExitCode.FAILURE;
      });
    });

  program.command('stop')
    .description('stop running wasm apps')
    .argument('<app...>', 'application ids')
    .option('--json', 'machine-readable output')
    .action(async (apps: string[], flags: { json?: boolean }, command: Command) => {
      await withApps(command, async (control) => {
        for (const a of apps) if (!(await control.detail(a))) throw new CliError(`${a} was never started on this device`, ExitCode.FAILURE);
        for (const a of apps) await control.stop(a);
        const rows = await waitSettled(control, apps, ({ app: r }) => r.actual !== 'running' && r.actual !== 'starting', 30_000);
        emit(flags.json, { ok: true, apps: rows }, () => rows.map(stateLine).join('\n'));
      });
    });

  program.command('status')
    .description('desired and actual state of wasm apps, and their instances')
    .argument('[app]', 'one application id (shows its instances)')
    .option('--json', 'machine-readable output')
    .action(async (app: string | undefined, flags: { json?: boolean }, command: Command) => {
      await withDevice(command, (ctx) => {
        const records = new AppRecords(ctx.db);
        const daemon = daemonPid(ctx.dataDir) ?? null;
        // Only the live daemon's rows are live: a killed daemon's running rows are shown as stopped.
        const live = { run: records.liveRun(daemon ?? undefined) };
        if (app) {
          const row = records.app(app, live);
          if (!row) throw new CliError(`${app} was never started on this device`, ExitCode.FAILURE);
          const instances = records.instances(app, live);
          emit(flags.json, { daemon, app: row, instances }, () => appDetailText(row, instances));
          return;
        }
        const rows = records.apps(live);
        const sandboxes = records.sandboxes(live);
        const usage = new ResourceRecords(ctx.db);
        const resources = usage.vendors();
        const dropped = usage.deviceDrops();
        emit(flags.json, { daemon, apps: rows, sandboxes, resources, dropped }, () => statusText(daemon, rows, sandboxes, resources, dropped));
      });
    });

  program.command('logs')
    .description("an app's log: its bulkhead:host/log records and its stdout/stderr lines")
    .argument('<app>', 'application id')
    .option('-n, --tail <N>', 'only the last N records')
    .option('-f, --follow', 'keep printing new records until interrupted')
    .option('--json', 'one JSON object per line')
    .action(async (app: string, flags: { tail?: string; follow?: boolean; json?: boolean }, command: Command) => {
      const ctx = openDevice(command);
      try {
        const records = new AppRecords(ctx.db);
        if (!records.app(app) && records.logs(app, { tail: 1 }).length === 0) throw new CliError(`${app} has no logs (was it started?)`, ExitCode.FAILURE);
        const tail = wholeNumber('--tail', flags.tail, 0);
        let last = 0;
        const print = (rows: ReturnType<typeof records.logs>) => {
          for (const r of rows) {
            last = r.id;
            process.stdout.write(logLine(r, flags.json));
          }
        };
        print(records.logs(app, { tail }));
        if (flags.follow) {
          const stop = new Promise<void>((resolve) => process.once('SIGINT', resolve));
          let done = false;
          void stop.then(() => { done = true; });
          while (!done) {
            await new Promise((resolve) => setTimeout(resolve, 200));
            print(records.logs(app, { afterId: last }));
          }
        }
      } finally {
        ctx.close();
      }
    });

  program.command('audit')
    .description('audit events: every capability an app requested or used and was refused')
    .option('--vendor <NAME>', 'only this vendor')
    .option('--app <ID>', 'only this app')
    .option('-n, --tail <N>', 'only the last N events')
    .option('--json', 'machine-readable output')
    .action(async (flags: { vendor?: string; app?: string; tail?: string; json?: boolean }, command: Command) => {
      await withDevice(command, (ctx) => {
        const events = new AppRecords(ctx.db).audit({ vendor: flags.vendor, appId: flags.app, tail: wholeNumber('--tail', flags.tail, 0) });
        emit(flags.json, { events }, () => auditText(events));
      });
    });

  program.command('daemon')
    .description('run the device daemon in the foreground (start does this in the background when needed)')
    .option('--stop', 'stop the running daemon (its apps stop; they start again with the next daemon)')
    .option('--listen <HOST:PORT>', 'also serve the management API over TLS 1.3 with mandatory client certificates')
    .option('--tls-cert <FILE>', "the listener's certificate (PEM)")
    .option('--tls-key <FILE>', "the listener's private key (PEM)")
    .option('--client-ca <FILE>', 'CA certificate(s) that sign client certificates (PEM); roles come from api.clients in policy.yaml')
    .action(async (flags: { stop?: boolean } & ListenFlags, command: Command) => {
      const tls = parseListenFlags(flags);
      const ctx = openDevice(command);
      const dataDir = ctx.dataDir;
      ctx.close();
      if (flags.stop) {
        const pid = daemonPid(dataDir);
        if (pid === undefined) return;
        process.kill(pid, 'SIGTERM');
        const deadline = Date.now() + 15_000;
        while (daemonPid(dataDir) !== undefined) {
          if (Date.now() > deadline) throw new CliError(`daemon ${pid} did not stop within 15 s`, ExitCode.FAILURE);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        return;
      }
      const abort = new AbortController();
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => abort.abort());
      try {
        const { runDaemon } = await import('../apps/device-daemon.js');
        await runDaemon({ dataDir, api: { tls }, say: (line) => process.stderr.write(`${new Date().toISOString()} ${line}\n`) }, abort.signal);
      } catch (err) {
        if (err instanceof DaemonRunningError) throw new CliError(err.message, ExitCode.FAILURE);
        if (err instanceof ApiError) throw new CliError(err.message, ExitCode.FAILURE, err.code);
        throw err;
      }
    });
}
