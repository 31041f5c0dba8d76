// The `bulkhead` command: composition root of the CLI verbs. Each verb group's module (and the
// libraries it needs: dockerode, libsodium, SQLite...) is imported only when that verb runs, so
// `bulkhead run` starts without loading the container bridge; help loads them all.
import { Command, CommanderError } from 'commander';
import { boundedMessage, oneLine } from '../../packages/quote-value.js';
import { CliError, errorLines } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { VERSION } from './version.js';

type Register = (program: Command) => void;
const GROUPS: Record<string, () => Promise<Register>> = {
  run: () => import('./run-command.js').then((m) => m.registerRunCommand),
  package: () => import('./package-commands.js').then((m) => m.registerPackageCommands),
  trust: () => import('./trust-commands.js').then((m) => m.registerTrustCommands),
  registry: () => import('./registry-commands.js').then((m) => m.registerRegistryCommands),
  wasm: () => import('./wasm-commands.js').then((m) => m.registerWasmCommands),
  compose: () => import('./compose-commands.js').then((m) => m.registerComposeCommands),
  apps: () => import('./app-commands.js').then((m) => m.registerAppCommands),
  installed: () => import('./installed-commands.js').then((m) => m.registerInstalledCommands),
  fleet: () => import('./fleet-commands.js').then((m) => m.registerFleetCommands),
  policy: () => import('./policy-commands.js').then((m) => m.registerPolicyCommands),
};
const VERB_GROUP: Record<string, keyof typeof GROUPS> = {
  run: 'run', keygen: 'package', pack: 'package', sign: 'package', verify: 'package', inspect: 'package', install: 'package',
  trust: 'trust', push: 'registry', pull: 'registry', wasm: 'wasm', compose: 'compose',
  start: 'apps', stop: 'apps', status: 'apps', logs: 'apps', audit: 'apps', daemon: 'apps',
  list: 'installed', uninstall: 'installed', fleet: 'fleet', policy: 'policy',
};

/** Verbs that act through the daemon's API when --host (or $BULKHEAD_HOST) names one. */
const REMOTE_VERBS = new Set(['install', 'uninstall', 'start', 'stop', 'trust', 'compose', 'policy']);

const GLOBAL_VALUE_FLAGS = new Set(['--data-dir', '--host', '--tls-cert', '--tls-key', '--ca']);

/** The verb in argv, skipping global options (and their values). */
export function verbOf(argv: string[]): string | undefined {
  const args = argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (GLOBAL_VALUE_FLAGS.has(a)) { i++; continue; }
    if (a.startsWith('-')) continue;
    return a;
  }
  return undefined;
}

/** `error: unknown command 'x'\n(Did you mean y?)` as `bulkhead: unknown command 'x' (did you mean y?)`. */
export function commanderErrorLine(text: string): string {
  const message = text.trim().replace(/^error: /, '').replace(/\n\(Did you mean/, ' (did you mean');
  return `bulkhead: ${boundedMessage(oneLine(message))}`;
}

export async function buildProgram(argv: string[] = []): Promise<Command> {
  const program = new Command('bulkhead')
    .description('Run signed multi-vendor apps in capability-scoped WebAssembly sandboxes and isolated containers')
    .version(VERSION)
    .enablePositionalOptions()
    .showSuggestionAfterError()
    .option('--data-dir <DIR>', 'device state directory (default $BULKHEAD_DATA_DIR, /var/lib/bulkhead as root, else ~/.local/share/bulkhead)')
    .option('--host <unix:PATH|https://HOST:PORT>', 'act through a daemon\'s API; default $BULKHEAD_HOST, else the data dir\'s socket when a daemon answers on it')
    .option('--tls-cert <FILE>', 'client certificate for an https:// --host')
    .option('--tls-key <FILE>', 'its private key')
    .option('--ca <FILE>', 'CA certificate that signed the device\'s certificate')
    .exitOverride()
    // Commander's own usage errors look like ours: one line, prefixed, its suggestion on the same line.
    .configureOutput({ outputError: (text, write) => write(`${commanderErrorLine(text)}\n`) });
  // The verbs in REMOTE_VERBS honour --host themselves (device-target.ts), and the thin client
  // (api-client.ts) answers it for status, logs and audit; anything else that reaches here would act
  // on the local data dir, which is not what --host asked for.
  program.hook('preAction', (_cmd, action) => {
    let verb = action;
    while (verb.parent && verb.parent !== program) verb = verb.parent;
    if (program.opts().host !== undefined && !REMOTE_VERBS.has(verb.name())) {
      throw new CliError(['status', 'logs', 'audit'].includes(verb.name())
        ? `--host: ${verb.name()} through a daemon takes only its documented options (see bulkhead ${verb.name()} --help)`
        : `--host works with ${[...REMOTE_VERBS].join(', ')}, status, logs and audit; ${verb.name()} acts on the local data dir, so drop --host`, ExitCode.BAD_INPUT);
    }
  });
  const group = VERB_GROUP[verbOf(argv) ?? ''];
  const wanted = group ? [GROUPS[group]!] : Object.values(GROUPS);
  for (const load of wanted) (await load())(program);
  return program;
}

/** `bulkhead --help` at 80 columns: the text the thin client prints (scripts/generate-help.ts). */
export async function renderTopLevelHelp(): Promise<string> {
  const program = await buildProgram();
  program.configureHelp({ helpWidth: 80 });
  return program.helpInformation();
}

export async function main(argv: string[]): Promise<void> {
  // `bulkhead logs APP | head`: a closed pipe ends the output quietly, as for any Unix tool.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
  try {
    const program = await buildProgram(argv);
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version are successes; everything else commander reports is a usage error.
      process.exitCode = err.exitCode === 0 ? 0 : ExitCode.BAD_INPUT;
      return;
    }
    if (err instanceof CliError) {
      const message = boundedMessage(err.message);
      if (argv.includes('--json')) process.stdout.write(`${JSON.stringify({ ok: false, code: err.code ?? null, message, ...err.details })}\n`);
      // One line per error (a list of violations: one headed line per violation).
      for (const line of errorLines(message)) process.stderr.write(`bulkhead: ${line}\n`);
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(`bulkhead: internal error: ${boundedMessage(oneLine(err instanceof Error ? err.message : String(err)))}\n`);
    if (process.env.BULKHEAD_DEBUG) console.error(err);
    process.exitCode = ExitCode.FAILURE;
  }
}
