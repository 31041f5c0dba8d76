// `bulkhead run`: run one WASI preview1 command module in a sandbox, wasmtime-style flags.
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { PREVIEW1_FUNCTIONS, type PreopenGrant } from '../../host-apis/wasi-p1/preview1.js';
import { formatBytes } from '../sandbox/guest-run.js';
import { binaryKind } from '../sandbox/wasm-binary.js';
import { defaultDataDir } from '../state/data-dir.js';
import { LoadError, loadModule } from '../sandbox/module-loader.js';
import { runInProcess } from '../sandbox/process-guest.js';
import { ExitCode } from './exit-codes.js';
import { CliError } from './cli-error.js';
import { parseDuration, parseSize, UnitError } from './parse-units.js';
import { collect } from './repeatable-option.js';
import { quoteValue } from '../../packages/quote-value.js';

export const DEFAULT_MAX_MEMORY = 256 * 1024 * 1024;
const MAX_WASM32_MEMORY = 4 * 1024 ** 3;

interface RunFlags {
  dir: string[];
  dirRo: string[];
  env: string[];
  maxMemory?: string;
  timeout?: string;
  isolation: string;
}

/** "HOST[::GUEST][:ro|:rw]" -> a preopen grant. Without GUEST, the guest sees HOST's text as its name. */
export function parseDirFlag(text: string, forceReadOnly = false): PreopenGrant {
  let spec = text;
  let readOnly = forceReadOnly;
  const mode = /:(ro|rw)$/.exec(spec);
  if (mode && !spec.endsWith('::ro') && !spec.endsWith('::rw')) {
    readOnly = readOnly || mode[1] === 'ro';
    spec = spec.slice(0, -3);
  }
  const [host, guest, ...rest] = spec.split('::');
  if (!host || rest.length > 0 || guest === '') {
    throw new CliError(`--dir ${quoteValue(text)}: expected HOST_DIR[::GUEST_DIR][:ro]`, ExitCode.BAD_INPUT);
  }
  let st: fs.Stats;
  try {
    st = fs.statSync(host);
  } catch {
    throw new CliError(`--dir ${quoteValue(text)}: host directory ${host} does not exist`, ExitCode.BAD_INPUT);
  }
  if (!st.isDirectory()) throw new CliError(`--dir ${quoteValue(text)}: ${host} is not a directory`, ExitCode.BAD_INPUT);
  return { hostPath: path.resolve(host), guestPath: guest ?? host, readOnly };
}

/** "NAME=VALUE", or "NAME" to pass the host's value through (as wasmtime does). */
export function parseEnvFlag(text: string, hostEnv: NodeJS.ProcessEnv = process.env): [string, string] {
  const eq = text.indexOf('=');
  const name = eq === -1 ? text : text.slice(0, eq);
  if (!/^[^=\0]+$/.test(name)) throw new CliError(`--env ${quoteValue(text)}: expected NAME=VALUE`, ExitCode.BAD_INPUT);
  if (eq !== -1) return [name, text.slice(eq + 1)];
  const inherited = hostEnv[name];
  if (inherited === undefined) throw new CliError(`--env ${name}: not set in the host environment; use ${name}=VALUE`, ExitCode.BAD_INPUT);
  return [name, inherited];
}


// `process` (default): a preview1 guest on this process's main thread, the process the boundary
// (process-guest.ts); a component still gets a sandbox thread. `worker`: a sandbox thread for
// either. `none`: in-process without a time limit (the floor for benchmarks).
type IsolationLevel = 'process' | 'worker' | 'none';
const ISOLATION_LEVELS: readonly IsolationLevel[] = ['process', 'worker', 'none'];

export function registerRunCommand(program: Command): void {
  program
    .command('run')
    .description('run a WASI command (preview1 core module, or a WASI 0.2 component) in an isolated sandbox')
    .argument('<module>', 'path to a .wasm core module or component')
    .argument('[args...]', 'arguments passed to the guest (argv[1..])')
    .option('--dir <HOST_DIR[::GUEST_DIR][:ro]>', 'grant a host directory (repeatable; :ro for read-only)', collect, [])
    .option('--dir-ro <HOST_DIR[::GUEST_DIR]>', 'grant a host directory read-only (repeatable)', collect, [])
    .option('--env <NAME=VALUE>', 'set a guest environment variable (repeatable; NAME alone passes the host value)', collect, [])
    .option('--max-memory <SIZE>', `cap on the guest's linear memory, e.g. 64MiB (default ${formatBytes(DEFAULT_MAX_MEMORY)})`)
    .option('--timeout <DURATION>', 'terminate the guest after this wall-clock time, e.g. 500ms, 2s')
    .option('--isolation <LEVEL>', `sandbox level: ${ISOLATION_LEVELS.join(' | ')}`, 'process')
    .passThroughOptions()
    .addHelpText('after', `
Exit status: the guest's own exit code; otherwise 124 timeout, 125 bad input,
126 sandbox set-up failure, 134 trap, 137 memory limit reached.`)
    .action(async (modulePath: string, args: string[], flags: RunFlags, command: Command) => {
      const { dataDir } = command.optsWithGlobals() as { dataDir?: string };
      process.exitCode = await runCommand(modulePath, args, flags, dataDir ?? defaultDataDir());
    });
}

async function runCommand(modulePath: string, guestArgs: string[], flags: RunFlags, dataDir: string): Promise<number> {
  if (!ISOLATION_LEVELS.includes(flags.isolation as IsolationLevel)) {
    throw new CliError(`--isolation ${quoteValue(flags.isolation)}: expected one of ${ISOLATION_LEVELS.join(', ')}`, ExitCode.BAD_INPUT);
  }
  const isolation = flags.isolation as IsolationLevel;
  let memoryCapBytes = DEFAULT_MAX_MEMORY;
  let timeoutMs: number | undefined;
  try {
    if (flags.maxMemory !== undefined) memoryCapBytes = parseSize(flags.maxMemory);
    if (flags.timeout !== undefined) timeoutMs = parseDuration(flags.timeout);
  } catch (err) {
    if (err instanceof UnitError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
  if (memoryCapBytes < 65536) throw new CliError('--max-memory must be at least 64KiB (one wasm page)', ExitCode.BAD_INPUT);
  // A 32-bit wasm memory holds at most 65536 pages; a larger cap is not a cap but a typo.
  if (memoryCapBytes > MAX_WASM32_MEMORY) throw new CliError(`--max-memory ${flags.maxMemory}: at most 4GiB (the largest 32-bit wasm memory)`, ExitCode.BAD_INPUT);
  if (isolation === 'none' && timeoutMs !== undefined) {
    throw new CliError('--timeout needs --isolation process or worker: --isolation none has no watchdog', ExitCode.BAD_INPUT);
  }
  const preopens = [...flags.dir.map((d) => parseDirFlag(d)), ...flags.dirRo.map((d) => parseDirFlag(d, true))];
  const env = Object.fromEntries(flags.env.map((e) => parseEnvFlag(e)));

  let bytes: Uint8Array;
  try {
    bytes = fs.readFileSync(modulePath);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(`${modulePath}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code})`}`, ExitCode.BAD_INPUT);
  }
  let kind;
  try {
    kind = binaryKind(bytes);
  } catch (err) {
    throw new CliError(`${modulePath}: ${(err as Error).message}`, ExitCode.BAD_INPUT);
  }
  if (kind === 'component') {
    if (isolation === 'none') throw new CliError('components run in a sandbox thread: use --isolation process or worker', ExitCode.BAD_INPUT);
    // Loaded only for components: the vendor sandbox and the component cache are not needed otherwise.
    const { runComponent } = await import('./run-component.js');
    return runComponent(bytes, modulePath, guestArgs, { preopens, env, memoryCapBytes, timeoutMs, dataDir });
  }

  let loaded;
  try {
    loaded = await loadModule(bytes, {
      memoryCapBytes,
      providedImports: new Map([['wasi_snapshot_preview1', PREVIEW1_FUNCTIONS]]),
      source: modulePath,
    });
  } catch (err) {
    if (err instanceof LoadError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }

  const request = { module: loaded.module, args: [path.basename(modulePath), ...guestArgs], env, preopens, stdio: 'inherit' as const, memoryCapBytes };
  const result = isolation === 'worker'
    ? await (await import('../sandbox/supervisor.js')).runSandboxed(request, { isolation, timeoutMs })
    : runInProcess(request, timeoutMs);
  const { outcome } = result;
  switch (outcome.kind) {
    case 'exit': return outcome.code & 0xff;
    case 'timeout': throw new CliError(`guest terminated: time limit of ${outcome.limitMs} ms exceeded`, ExitCode.TIMEOUT);
    case 'trap': throw new CliError(`guest trapped: ${outcome.message}`, ExitCode.TRAP);
    case 'memory-limit': throw new CliError(`guest stopped: ${outcome.message}`, ExitCode.MEMORY_LIMIT);
    case 'host-error': throw new CliError(`sandbox failed: ${outcome.message}`, ExitCode.SANDBOX_ERROR);
  }
}
