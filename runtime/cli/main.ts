// The `bulkhead` command: composition root of the CLI verbs.
import { Command, CommanderError } from 'commander';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { registerComposeCommands } from './compose-commands.js';
import { registerPackageCommands } from './package-commands.js';
import { registerRegistryCommands } from './registry-commands.js';
import { registerRunCommand } from './run-command.js';
import { registerTrustCommands } from './trust-commands.js';
import { registerWasmCommands } from './wasm-commands.js';

export function buildProgram(): Command {
  const program = new Command('bulkhead')
    .description('Run signed multi-vendor apps in capability-scoped WebAssembly sandboxes')
    .version('0.1.0')
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .option('--data-dir <DIR>', 'device state directory (default $BULKHEAD_DATA_DIR, /var/lib/bulkhead as root, else ~/.local/share/bulkhead)')
    .exitOverride();
  registerRunCommand(program);
  registerPackageCommands(program);
  registerTrustCommands(program);
  registerRegistryCommands(program);
  registerWasmCommands(program);
  registerComposeCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander reports is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : ExitCode.BAD_INPUT;
      return;
    }
    if (err instanceof CliError) {
      if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, code: err.code ?? null, message: err.message })}\n`);
      process.stderr.write(`bulkhead: ${err.message}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`bulkhead: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.BULKHEAD_DEBUG) console.error(err);
    process.exitCode = ExitCode.FAILURE;
  }
}
