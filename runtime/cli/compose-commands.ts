// `bulkhead compose check|up|down|ps|logs`: Compose files on the local engine, under the same
// per-vendor isolation policy as installed packages. `check` never contacts the engine. The flags
// become a ComposeRequest (bridge/compose-request.ts) and the verbs run bridge/compose-verbs.ts,
// the same code the management API's /v1/compose routes run.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadComposeText } from '../bridge/compose-file.js';
import { parseDotEnv } from '../bridge/compose-interpolation.js';
import { ComposeRequestError, declaredFiles, isPlainRelative, prepareCompose, type ComposeRequest, type PreparedCompose } from '../bridge/compose-request.js';
import {
  composeCheck, composeDownVerb, composeLogsVerb, composePsVerb, composeUpVerb, ComposeVerbError, type ComposePsResult, type ComposeVerb,
} from '../bridge/compose-verbs.js';
import { CliError } from './cli-error.js';
import { withDevice, type DeviceContext } from './device-context.js';
import { hostNamed, remoteDevice } from './device-target.js';
import { ExitCode } from './exit-codes.js';
import { emit, progressReporter, stepReporter as say } from './output.js';
import { printable } from './app-status-text.js';
import { collect, parseParamFlags } from './repeatable-option.js';

interface ComposeFlags { file?: string; vendor?: string; app?: string; component?: string; param: string[]; profile: string[]; envFile?: string; json?: boolean; host?: string }

/** The request the flags make: files named by -f and --env-file are read here, on this machine. */
function requestOf(flags: ComposeFlags): { request: ComposeRequest; sourceDir?: string } {
  if (Boolean(flags.app) === Boolean(flags.file)) throw new CliError('give either -f FILE --vendor NAME, or --app APP-ID (an installed package)', ExitCode.BAD_INPUT);
  const request: ComposeRequest = { vendor: flags.vendor, app: flags.app, component: flags.component, params: parseParamFlags(flags.param), profiles: flags.profile };
  const readText = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      throw new CliError(`${file}: cannot read`, ExitCode.BAD_INPUT);
    }
  };
  let sourceDir: string | undefined;
  if (flags.file) {
    if (!flags.vendor) throw new CliError('--vendor is required with -f', ExitCode.BAD_INPUT);
    sourceDir = path.dirname(path.resolve(flags.file));
    request.file = { name: flags.file, text: readText(flags.file), directoryName: path.basename(sourceDir) };
  }
  const envFile = flags.envFile ?? (sourceDir && fs.existsSync(path.join(sourceDir, '.env')) ? path.join(sourceDir, '.env') : undefined);
  if (envFile) request.env = { name: envFile, text: readText(envFile) };
  return { request, sourceDir };
}

/**
 * Runs a compose verb: through the daemon's API when one answers (the daemon prepares the same
 * request and runs the same verb), else `local` on the prepared request against the data dir.
 * An engine named with the verb's own --host is this machine's choice: it runs here, offline.
 */
async function runCompose<T>(command: Command, flags: ComposeFlags, verb: ComposeVerb, local: (p: PreparedCompose, ctx: DeviceContext) => Promise<T> | T,
  remoteBody: (request: ComposeRequest) => unknown = (request) => request, notThroughDaemon?: string): Promise<T> {
  const { request, sourceDir } = requestOf(flags);
  if (flags.host && hostNamed(command)) {
    throw new CliError(`compose ${verb} --host ${flags.host} names an engine on this machine; through a daemon (--host/BULKHEAD_HOST) the daemon's engine is used: drop one of the two`, ExitCode.BAD_INPUT);
  }
  const device = flags.host ? undefined : await remoteDevice(command);
  if (device) {
    if (notThroughDaemon) throw new CliError(notThroughDaemon, ExitCode.BAD_INPUT);
    if (verb === 'up' && request.file) request.file.files = declaredFileContents(request, sourceDir!);
    return device.call<T>(`/v1/compose/${verb}`, { method: 'POST', json: remoteBody(request), timeoutMs: verb === 'up' ? 900_000 : 120_000 });
  }
  return withDevice(command, async (ctx) => {
    try {
      return await local(prepareCompose(request, ctx, sourceDir), ctx);
    } catch (err) {
      throw composeCliError(err);
    }
  });
}

/**
 * The secrets and configs files a Compose file declares, read here to travel with the request (the
 * daemon writes them into a private directory of its own). One the file cannot reach, or cannot
 * be read, is left out: the daemon then refuses the service naming it, as it would here.
 */
function declaredFileContents(request: ComposeRequest, sourceDir: string): Record<string, string> {
  let loaded;
  try {
    const variables = { ...(request.env ? parseDotEnv(request.env.text, request.env.name) : {}), ...request.params };
    loaded = loadComposeText(request.file!.text, request.file!.name, variables);
  } catch {
    return {}; // the daemon reports what is wrong with the file
  }
  const files: Record<string, string> = {};
  for (const declared of declaredFiles(loaded)) {
    const rel = path.posix.normalize(declared.split(path.sep).join('/'));
    if (!isPlainRelative(rel)) continue;
    try {
      files[rel] = fs.readFileSync(path.join(sourceDir, rel)).toString('base64');
    } catch { /* refused by the daemon, naming it */ }
  }
  return files;
}

function composeCliError(err: unknown): unknown {
  if (err instanceof ComposeRequestError) return new CliError(err.message, ExitCode.BAD_INPUT);
  if (err instanceof ComposeVerbError) return new CliError(`${err.code}: ${err.message}`, ExitCode.FAILURE, err.code);
  return err;
}

function withComposeOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <FILE>', 'compose.yaml (with --vendor)')
    .option('--vendor <NAME>', "vendor whose policy applies (margo.yaml's organization name)")
    .option('--app <APP-ID>', 'instead of -f: the compose component of an installed package (its vendor, parameters and image archives)')
    .option('--component <NAME>', 'with --app: which compose component, when the package has several')
    .option('--param <NAME=VALUE>', 'with -f: a variable for ${...} interpolation; with --app: a deployment parameter value (repeatable)', collect, [])
    .option('--env-file <FILE>', '.env file for interpolation (default: .env beside the compose file, if any)')
    .option('--profile <NAME>', 'enable services of this profile (repeatable)', collect, [])
    .option('--host <SOCKET>', 'engine socket, e.g. unix:///run/podman/podman.sock (default: DOCKER_HOST, then the usual sockets)')
    .option('--json', 'machine-readable output');
}


export function registerComposeCommands(program: Command): void {
  const compose = program.command('compose').description('Compose workloads on the local engine under the per-vendor isolation policy');

  withComposeOptions(compose.command('check')
    .description('list every isolation-policy violation of a Compose file (the engine is not contacted)'))
    .action(async (flags: ComposeFlags, command: Command) => {
      const r = await runCompose(command, flags, 'check', (p) => composeCheck(p));
      const file = flags.file ?? flags.app!;
      emit(flags.json, r, () => [
        ...r.warnings.map((w) => `warning: ${w}`),
        ...(r.violations.length
          ? r.violations.map((v) => `violation [${v.rule}] ${v.message}`)
          : [`${file}: no violations for ${r.vendor}`, ...r.services.flatMap((s) => s.adjustments.map((a) => `  ${s.name}: ${a}`))]),
      ].join('\n'));
      if (r.violations.length) process.exitCode = ExitCode.FAILURE;
    });

  withComposeOptions(compose.command('up')
    .description('create or update the services (idempotent), in dependency order')
    .option('--image-archive <FILE>', 'load an image archive (docker save / OCI) into the engine first (repeatable)', collect, []))
    .action(async (flags: ComposeFlags & { imageArchive: string[] }, command: Command) => {
      const r = await runCompose(command, flags, 'up', (p, ctx) => composeUpVerb(p, {
        dataDir: ctx.dataDir, host: flags.host, imageArchives: flags.imageArchive, onEvent: say(flags.json),
        archiveProgress: (archive) => progressReporter(`loading ${path.basename(archive)}`),
      }), undefined, flags.imageArchive.length
        ? '--image-archive loads a file of this machine into its engine; through a daemon, ship the images in the package (compose up --app)' : undefined);
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      emit(flags.json, r, () => r.actions.map((a) => `${a.service}: ${a.action}`).join('\n'));
    });

  withComposeOptions(compose.command('down').description('remove exactly the containers and volumes this deployment owns'))
    .action(async (flags: ComposeFlags, command: Command) => {
      const r = await runCompose(command, flags, 'down', (p) => composeDownVerb(p, flags.host));
      emit(flags.json, r, () => (r.removed.length ? r.removed.map((s) => `${s}: removed`).join('\n') : 'nothing to remove'));
    });

  withComposeOptions(compose.command('ps').description('state, health and exit code of each service'))
    .action(async (flags: ComposeFlags, command: Command) => {
      const rows = await runCompose<ComposePsResult>(command, flags, 'ps', (p) => composePsVerb(p, flags.host));
      emit(flags.json, rows, () => (rows.length ? rows.map((r) => `${r.service}  ${r.state}${r.restarting ? ' (restarting)' : ''}${r.health ? `  ${r.health}` : ''}${r.exitCode !== null ? `  exit ${r.exitCode}` : ''}`).join('\n') : 'no containers'));
    });

  withComposeOptions(compose.command('logs').description('recent output of the services').argument('[service]', 'one service (default: all)')
    .option('--tail <N>', 'lines per service', '200'))
    .action(async (service: string | undefined, flags: ComposeFlags & { tail: string }, command: Command) => {
      const tail = Number(flags.tail) || 200;
      const { text } = await runCompose(command, flags, 'logs', (p) => composeLogsVerb(p, service, tail, flags.host), (request) => ({ request, service, tail }));
      // Container output is the vendor's: escaped like wasm apps' logs (no forged lines, no terminal escapes).
      if (text) process.stdout.write(`${text.split('\n').map(printable).join('\n')}\n`);
    });
}
