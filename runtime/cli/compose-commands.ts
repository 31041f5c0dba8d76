// `bulkhead compose check|up|down|ps|logs`: Compose files on the local engine, under the same
// per-vendor isolation policy as installed packages. `check` never contacts the engine.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyContainerPolicy } from '../bridge/container-policy.js';
import { composeDown, composeLogs, composePs, composeUp, DeployError } from '../bridge/compose-deployer.js';
import { connectEngine, EngineError } from '../bridge/engine-connection.js';
import { loadImageArchive } from '../bridge/image-archives.js';
import { composeComponent, PackageDeploymentError, withParameterEnvironment } from '../bridge/package-deployment.js';
import { ArchiveError } from '../../packages/archive/archive-limits.js';
import { applyProfiles, ComposeError, loadComposeText } from '../bridge/compose-file.js';
import { InterpolationError, parseDotEnv } from '../bridge/compose-interpolation.js';
import { containerPolicyFor } from '../bridge/vendor-policy.js';
import { makeDirectoryBeneath, OutsideRootError } from '../../host-apis/capabilities/directory-handle.js';
import { vendorId, type VendorId } from '../../packages/trust/vendor-id.js';
import { deploymentName, vendorDirName, vendorNetworkName } from '../state/vendor-names.js';
import { CliError } from './cli-error.js';
import { withDevice, type DeviceContext } from './device-context.js';
import { ExitCode } from './exit-codes.js';
import { emit, progressReporter, stepReporter as say } from './output.js';
import { printable } from './app-status-text.js';
import { collect, parseParamFlags } from './repeatable-option.js';
import { quoteValue } from '../../packages/quote-value.js';


interface ComposeFlags { file?: string; vendor?: string; app?: string; component?: string; param: string[]; profile: string[]; envFile?: string; json?: boolean; host?: string }

/**
 * Loads the Compose file (given with -f, or a compose component of an installed package with
 * --app) and applies the vendor's policy; shared by check and the engine verbs.
 */
function prepare(flags: ComposeFlags, ctx: DeviceContext) {
  if (Boolean(flags.app) === Boolean(flags.file)) throw new CliError('give either -f FILE --vendor NAME, or --app APP-ID (an installed package)', ExitCode.BAD_INPUT);
  const params = parseParamFlags(flags.param);
  let file: string;
  let vendor: VendorId;
  let project: string;
  let parameterEnv: Record<string, string> = {};
  let imageArchives: string[] = [];
  let variables: Record<string, string> = {};
  if (flags.app) {
    const installed = ctx.installed.get(flags.app);
    if (!installed) throw new CliError(`no installed application ${quoteValue(flags.app)} (bulkhead install it first)`, ExitCode.BAD_INPUT);
    vendor = vendorId(installed.vendor);
    if (flags.vendor && flags.vendor !== vendor) throw new CliError(`--vendor ${flags.vendor}: ${flags.app} belongs to ${vendor}`, ExitCode.BAD_INPUT);
    let component;
    try {
      // Unpacked where only the daemon writes: a vendor's apps could plant links in its own root.
      component = composeComponent(installed.path, flags.component, params, path.join(ctx.dataDir, 'compose-packages', vendorDirName(vendor), `${flags.app}-${flags.component ?? 'compose'}`));
    } catch (err) {
      if (err instanceof PackageDeploymentError || err instanceof ArchiveError) throw new CliError(err.message, ExitCode.BAD_INPUT);
      throw err;
    }
    file = component.composeFile;
    project = `${flags.app}-${component.component}`;
    parameterEnv = component.environment;
    imageArchives = component.imageArchives;
    variables = { ...parameterEnv };
  } else {
    if (!flags.vendor) throw new CliError('--vendor is required with -f', ExitCode.BAD_INPUT);
    file = flags.file!;
    vendor = vendorId(flags.vendor);
    project = '';
    variables = params;
  }
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`${file}: cannot read`, ExitCode.BAD_INPUT);
  }
  const sourceDir = path.dirname(path.resolve(file));
  const envFile = flags.envFile ?? (fs.existsSync(path.join(sourceDir, '.env')) ? path.join(sourceDir, '.env') : undefined);
  try {
    // Precedence, lowest first: .env, then deployment parameters / --param.
    if (envFile) variables = { ...parseDotEnv(fs.readFileSync(envFile, 'utf8'), envFile), ...variables };
  } catch (err) {
    throw new CliError(err instanceof InterpolationError ? err.message : `${envFile}: cannot read`, ExitCode.BAD_INPUT);
  }
  let loaded;
  try {
    loaded = loadComposeText(text, file, variables);
    loaded = { ...loaded, file: withParameterEnvironment(applyProfiles(loaded.file, flags.profile, file), parameterEnv) };
  } catch (err) {
    if (err instanceof ComposeError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
  const policy = containerPolicyFor(vendor, ctx.policy, ctx.dataDir);
  project ||= loaded.file.name ?? path.basename(sourceDir);
  // Relative bind mounts resolve where the bridge deploys the project: under the vendor's data root.
  const projectDir = path.join(policy.dataRoot, 'deployments', project);
  const { violations, services } = applyContainerPolicy(loaded.file, policy, projectDir);
  const identity = { vendor, project, app: flags.app ?? project, deployment: deploymentName(vendor, project), network: vendorNetworkName(vendor) };
  return { loaded, policy, violations, services, identity, projectDir, sourceDir, vendor, file, imageArchives };
}

async function engine(host?: string) {
  try {
    return await connectEngine(host);
  } catch (err) {
    if (err instanceof EngineError) throw new CliError(`BH_ERR_ENGINE: ${err.message}`, ExitCode.FAILURE, 'BH_ERR_ENGINE');
    throw err;
  }
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
      await withDevice(command, (ctx) => {
        const p = prepare(flags, ctx);
        const { loaded, violations, services } = p;
        emit(flags.json, { ok: violations.length === 0, vendor: p.vendor, warnings: loaded.warnings, violations, services },
          () => [
            ...loaded.warnings.map((w) => `warning: ${w}`),
            ...(violations.length
              ? violations.map((v) => `violation [${v.rule}] ${v.message}`)
              : [`${p.file}: no violations for ${p.vendor}`, ...services.flatMap((s) => s.adjustments.map((a) => `  ${s.name}: ${a}`))]),
          ].join('\n'));
        if (violations.length) process.exitCode = ExitCode.FAILURE;
      });
    });

  withComposeOptions(compose.command('up')
    .description('create or update the services (idempotent), in dependency order')
    .option('--image-archive <FILE>', 'load an image archive (docker save / OCI) into the engine first (repeatable)', collect, []))
    .action(async (flags: ComposeFlags & { imageArchive: string[] }, command: Command) => {
      await withDevice(command, async (ctx) => {
        const p = prepare(flags, ctx);
        if (p.violations.length) {
          throw new CliError(`BH_ERR_POLICY: refused by the isolation policy:\n${p.violations.map((v) => `  - [${v.rule}] ${v.message}`).join('\n')}`, ExitCode.FAILURE, 'BH_ERR_POLICY');
        }
        for (const w of p.loaded.warnings) process.stderr.write(`warning: ${w}\n`);
        try {
          makeDirectoryBeneath(p.policy.dataRoot, p.projectDir);
        } catch (err) {
          if (err instanceof OutsideRootError) throw new CliError(`BH_ERR_DEPLOY: ${err.message}; remove the link and run up again`, ExitCode.FAILURE, 'BH_ERR_DEPLOY');
          throw err;
        }
        const docker = await engine(flags.host);
        for (const archive of [...p.imageArchives, ...flags.imageArchive]) {
          const image = await loadImageArchive(docker, archive, progressReporter(`loading ${path.basename(archive)}`)).catch((err: Error) => {
            throw new CliError(err.message, ExitCode.FAILURE);
          });
          say(flags.json)?.(`loaded ${image}`);
        }
        try {
          const r = await composeUp({
            docker, identity: p.identity, compose: p.loaded.file, enforced: p.services, projectDir: p.projectDir, sourceDir: p.sourceDir,
            vendorRoot: p.policy.dataRoot, secretsDir: path.join(ctx.dataDir, 'compose-secrets', p.identity.deployment), onEvent: say(flags.json),
          });
          emit(flags.json, { ok: true, deployment: p.identity.deployment, ...r }, () => r.actions.map((a) => `${a.service}: ${a.action}`).join('\n'));
        } catch (err) {
          if (err instanceof DeployError) throw new CliError(`BH_ERR_DEPLOY: ${err.message}`, ExitCode.FAILURE, 'BH_ERR_DEPLOY');
          throw err;
        }
      });
    });

  withComposeOptions(compose.command('down').description('remove exactly the containers and volumes this deployment owns'))
    .action(async (flags: ComposeFlags, command: Command) => {
      await withDevice(command, async (ctx) => {
        const p = prepare(flags, ctx);
        const removed = await composeDown(await engine(flags.host), p.identity, p.loaded.file);
        emit(flags.json, { ok: true, removed }, () => (removed.length ? removed.map((s) => `${s}: removed`).join('\n') : 'nothing to remove'));
      });
    });

  withComposeOptions(compose.command('ps').description('state, health and exit code of each service'))
    .action(async (flags: ComposeFlags, command: Command) => {
      await withDevice(command, async (ctx) => {
        const p = prepare(flags, ctx);
        const rows = await composePs(await engine(flags.host), p.identity, p.loaded.file);
        emit(flags.json, rows, () => (rows.length ? rows.map((r) => `${r.service}  ${r.state}${r.restarting ? ' (restarting)' : ''}${r.health ? `  ${r.health}` : ''}${r.exitCode !== null ? `  exit ${r.exitCode}` : ''}`).join('\n') : 'no containers'));
      });
    });

  withComposeOptions(compose.command('logs').description('recent output of the services').argument('[service]', 'one service (default: all)')
    .option('--tail <N>', 'lines per service', '200'))
    .action(async (service: string | undefined, flags: ComposeFlags & { tail: string }, command: Command) => {
      await withDevice(command, async (ctx) => {
        const p = prepare(flags, ctx);
        if (service && !p.loaded.file.services[service]) throw new CliError(`no service ${quoteValue(service)} in ${p.file}`, ExitCode.BAD_INPUT);
        const text = await composeLogs(await engine(flags.host), p.identity, service, Number(flags.tail) || 200);
        // Container output is the vendor's: escaped like wasm apps' logs (no forged lines, no terminal escapes).
        if (text) process.stdout.write(`${text.split('\n').map(printable).join('\n')}\n`);
      });
    });
}
