// `bulkhead compose check|up|down|ps|logs`: Compose files on the local engine, under the same
// per-vendor isolation policy as installed packages. `check` never contacts the engine. The flags
// become a ComposeRequest (bridge/compose-request.ts) and the verbs run bridge/compose-verbs.ts,
// the same code the management API's /v1/compose routes run. The habits of `docker compose`
// hold: compose.yaml (or docker-compose.yml, with its override file) found in the current
// directory, several -f merged in order, -p, up -d, up --remove-orphans, down -v.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { loadComposeText } from '../bridge/compose-file.js';
import { parseDotEnv } from '../bridge/compose-interpolation.js';
import { ComposeRequestError, declaredFiles, isPlainRelative, prepareCompose, type ComposeRequest, type PreparedCompose } from '../bridge/compose-request.js';
import {
  composeCheck, composeDownVerb, composeLogsVerb, composePsVerb, composeUpVerb, ComposeVerbError, isBadComposeInput, type ComposePsResult, type ComposeVerb,
} from '../bridge/compose-verbs.js';
import { isBadInput, problemLine } from '../bridge/compose-problems.js';
import { quoteValue } from '../../packages/quote-value.js';
import { CliError } from './cli-error.js';
import { withDevice, type DeviceContext } from './device-context.js';
import { hostNamed, remoteDevice } from './device-target.js';
import { ExitCode } from './exit-codes.js';
import { emit, progressReporter, stepReporter as say } from './output.js';
import { printable } from './app-status-text.js';
import { collect, parseParamFlags } from './repeatable-option.js';

interface ComposeFlags {
  file: string[]; projectName?: string; vendor?: string; app?: string; component?: string; param: string[]; profile: string[];
  envFile?: string; json?: boolean; host?: string;
}

/** What `docker compose` looks for in the current directory, in its order; each has an `.override` file. */
const DEFAULT_FILES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

export function discoverComposeFiles(dir: string): string[] {
  const main = DEFAULT_FILES.find((f) => fs.existsSync(path.join(dir, f)));
  if (!main) return [];
  const stem = main.replace(/\.ya?ml$/, '.override');
  const override = [`${stem}.yaml`, `${stem}.yml`].find((f) => fs.existsSync(path.join(dir, f)));
  return [path.join(dir, main), ...(override ? [path.join(dir, override)] : [])];
}

/** The request the flags make: files named by -f (or found here) and --env-file are read here, on this machine. */
function requestOf(flags: ComposeFlags): { request: ComposeRequest; sourceDir?: string } {
  if (flags.app && flags.file.length) throw new CliError('give either -f FILE --vendor NAME, or --app APP-ID (an installed package), not both', ExitCode.BAD_INPUT);
  const request: ComposeRequest = {
    vendor: flags.vendor, app: flags.app, component: flags.component, params: parseParamFlags(flags.param), profiles: flags.profile, project: flags.projectName,
  };
  const readText = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      throw new CliError(`${file}: cannot read`, ExitCode.BAD_INPUT);
    }
  };
  let sourceDir: string | undefined;
  if (!flags.app) {
    const files = flags.file.length ? flags.file : discoverComposeFiles(process.cwd());
    if (!files.length) throw new CliError(`no Compose file: give -f FILE, or run where one of ${DEFAULT_FILES.join(', ')} is`, ExitCode.BAD_INPUT);
    if (!flags.vendor) throw new CliError('--vendor is required with a Compose file (whose isolation policy applies)', ExitCode.BAD_INPUT);
    sourceDir = path.dirname(path.resolve(files[0]!));
    request.file = { name: files[0]!, text: readText(files[0]!), directoryName: path.basename(sourceDir) };
    request.overrides = files.slice(1).map((f) => ({ name: f, text: readText(f) }));
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
  if (err instanceof ComposeVerbError) {
    // --json carries every problem beside the message: the same shape `check` prints.
    return new CliError(`${err.code}: ${err.message}`, isBadComposeInput(err) ? ExitCode.BAD_INPUT : ExitCode.FAILURE, err.code, err.problems ? { problems: err.problems } : undefined);
  }
  return err;
}

function withComposeOptions(cmd: Command): Command {
  return cmd
    .option('-f, --file <FILE>', 'a Compose file (repeatable: later files override earlier ones; default: compose.yaml or docker-compose.yml here, with its .override file)', collect, [])
    .option('-p, --project-name <NAME>', "project name (default: the file's name:, else the directory's name)")
    .option('--vendor <NAME>', "vendor whose policy applies (margo.yaml's organization name)")
    .option('--app <APP-ID>', 'instead of -f: the compose component of an installed package (its vendor, parameters and image archives)')
    .option('--component <NAME>', 'with --app: which compose component, when the package has several')
    .option('--param <NAME=VALUE>', 'with -f: a variable for ${...} interpolation; with --app: a deployment parameter value (repeatable)', collect, [])
    .option('--env-file <FILE>', '.env file for interpolation (default: .env beside the first compose file, if any)')
    .option('--profile <NAME>', 'enable services of this profile (repeatable)', collect, [])
    .option('--host <SOCKET>', 'engine socket, e.g. unix:///run/podman/podman.sock (default: DOCKER_HOST, then the usual sockets)')
    .option('--json', 'machine-readable output');
}


export function registerComposeCommands(program: Command): void {
  const compose = program.command('compose').description('Compose workloads on the local engine under the per-vendor isolation policy');

  withComposeOptions(compose.command('check')
    .description('list every problem of the Compose files: structure, references and isolation policy (the engine is not contacted)'))
    .action(async (flags: ComposeFlags, command: Command) => {
      const r = await runCompose(command, flags, 'check', (p) => composeCheck(p));
      if (!flags.json) for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      emit(flags.json, r, () => (r.ok
        ? [`${r.files.join(' + ')}: no problems for ${r.vendor}`, ...r.services.flatMap((s) => s.adjustments.map((a) => `  ${s.name}: ${a}`))]
        : r.problems.map(problemLine)).join('\n'));
      if (!r.ok) process.exitCode = isBadInput(r.problems) ? ExitCode.BAD_INPUT : ExitCode.FAILURE;
    });

  withComposeOptions(compose.command('up')
    .description('create or update the services (idempotent), in dependency order; containers always run detached')
    .option('-d, --detach', 'accepted for docker compose habits: the services always run in the background')
    .option('--remove-orphans', "remove this project's containers for services the files no longer name")
    .option('--image-archive <FILE>', 'load an image archive (docker save / OCI) into the engine first (repeatable)', collect, []))
    .action(async (flags: ComposeFlags & { imageArchive: string[]; removeOrphans?: boolean }, command: Command) => {
      const removeOrphans = flags.removeOrphans === true;
      const r = await runCompose(command, flags, 'up', (p, ctx) => composeUpVerb(p, {
        dataDir: ctx.dataDir, host: flags.host, imageArchives: flags.imageArchive, onEvent: say(flags.json), removeOrphans,
        archiveProgress: (archive) => progressReporter(`loading ${path.basename(archive)}`),
      }), (request) => ({ ...request, removeOrphans }), flags.imageArchive.length
        ? '--image-archive loads a file of this machine into its engine; through a daemon, ship the images in the package (compose up --app)' : undefined);
      for (const w of r.warnings) process.stderr.write(`warning: ${w}\n`);
      for (const o of r.orphans ?? []) process.stderr.write(`warning: container for service ${quoteValue(o)} is not in the Compose files (an orphan); remove it with --remove-orphans\n`);
      emit(flags.json, r, () => r.actions.map((a) => `${a.service}: ${a.action}`).join('\n'));
    });

  withComposeOptions(compose.command('down').description('remove exactly the containers this deployment owns (and its volumes with -v)')
    .option('-v, --volumes', "also remove the project's named and anonymous volumes")
    .option('--remove-orphans', 'accepted for docker compose habits: down removes every container of the project anyway'))
    .action(async (flags: ComposeFlags & { volumes?: boolean }, command: Command) => {
      const volumes = flags.volumes === true;
      const r = await runCompose(command, flags, 'down', (p) => composeDownVerb(p, flags.host, { volumes }), (request) => ({ ...request, volumes }));
      emit(flags.json, r, () => [
        ...(r.removed.length ? r.removed.map((s) => `${s}: removed`) : ['nothing to remove']),
        ...(r.volumes ?? []).map((v) => `volume ${v}: removed`),
      ].join('\n'));
    });

  withComposeOptions(compose.command('ps').description('the containers of the project: name, image, service, status, ports'))
    .action(async (flags: ComposeFlags, command: Command) => {
      const rows = await runCompose<ComposePsResult>(command, flags, 'ps', (p) => composePsVerb(p, flags.host));
      emit(flags.json, rows, () => table(['NAME', 'IMAGE', 'SERVICE', 'STATUS', 'PORTS'],
        rows.map((r) => [r.container, r.image ?? '', r.service, r.status ?? r.state, (r.ports ?? []).join(', ')])));
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

/** Columns padded to their widest cell, as `docker compose ps` prints them. Cells are escaped (names and images are the vendor's). */
function table(header: string[], rows: string[][]): string {
  const cells = [header, ...rows.map((r) => r.map(printable))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]! + 3))).join('').trimEnd()).join('\n');
}
