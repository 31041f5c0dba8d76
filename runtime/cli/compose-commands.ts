// `bulkhead compose check`: every isolation-policy violation of a Compose file, without touching
// the container engine. (up/down/ps/logs against the engine come with the container bridge.)
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { applyContainerPolicy } from '../bridge/container-policy.js';
import { ComposeError, loadComposeText } from '../bridge/compose-file.js';
import { InterpolationError, parseDotEnv } from '../bridge/compose-interpolation.js';
import { containerPolicyFor } from '../bridge/vendor-policy.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { ExitCode } from './exit-codes.js';
import { emit } from './output.js';

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function registerComposeCommands(program: Command): void {
  const compose = program.command('compose').description('Compose workloads under the per-vendor isolation policy');

  compose.command('check')
    .description('list every isolation-policy violation of a Compose file (the engine is not contacted)')
    .requiredOption('-f, --file <FILE>', 'compose.yaml')
    .requiredOption('--vendor <NAME>', "vendor whose policy applies (margo.yaml's organization name)")
    .option('--param <NAME=VALUE>', 'deployment parameter for ${...} interpolation (repeatable)', collect, [])
    .option('--env-file <FILE>', '.env file for interpolation (default: .env beside the compose file, if any)')
    .option('--json', 'machine-readable output')
    .action(async (flags: { file: string; vendor: string; param: string[]; envFile?: string; json?: boolean }, command: Command) => {
      let text: string;
      try {
        text = fs.readFileSync(flags.file, 'utf8');
      } catch {
        throw new CliError(`${flags.file}: cannot read`, ExitCode.BAD_INPUT);
      }
      const baseDir = path.dirname(path.resolve(flags.file));
      const envFile = flags.envFile ?? (fs.existsSync(path.join(baseDir, '.env')) ? path.join(baseDir, '.env') : undefined);
      let variables: Record<string, string> = {};
      try {
        if (envFile) variables = parseDotEnv(fs.readFileSync(envFile, 'utf8'), envFile);
      } catch (err) {
        throw new CliError(err instanceof InterpolationError ? err.message : `${envFile}: cannot read`, ExitCode.BAD_INPUT);
      }
      for (const p of flags.param) {
        const eq = p.indexOf('=');
        if (eq <= 0) throw new CliError(`--param "${p}": expected NAME=VALUE`, ExitCode.BAD_INPUT);
        variables[p.slice(0, eq)] = p.slice(eq + 1);
      }
      let loaded;
      try {
        loaded = loadComposeText(text, flags.file, variables);
      } catch (err) {
        if (err instanceof ComposeError) throw new CliError(err.message, ExitCode.BAD_INPUT);
        throw err;
      }
      await withDevice(command, (ctx) => {
        const policy = containerPolicyFor(flags.vendor, ctx.policy, ctx.dataDir);
        // Relative bind mounts resolve where the bridge deploys the project: under the vendor's data root.
        const project = loaded.file.name ?? path.basename(baseDir);
        const { violations, services } = applyContainerPolicy(loaded.file, policy, path.join(policy.dataRoot, 'deployments', project));
        emit(flags.json, { ok: violations.length === 0, vendor: flags.vendor, warnings: loaded.warnings, violations, services },
          () => [
            ...loaded.warnings.map((w) => `warning: ${w}`),
            ...(violations.length
              ? violations.map((v) => `violation [${v.rule}] ${v.message}`)
              : [`${flags.file}: no violations for ${flags.vendor}`, ...services.flatMap((s) => s.adjustments.map((a) => `  ${s.name}: ${a}`))]),
          ].join('\n'));
        if (violations.length) process.exitCode = ExitCode.FAILURE;
      });
    });
}
