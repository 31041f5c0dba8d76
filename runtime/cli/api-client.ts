// The thin client: `bulkhead status`, `bulkhead audit` and `bulkhead logs [-f]` ask the running daemon over its API
// instead of opening the data dir, and `bulkhead --version`/`--help` answer without loading any verb.
// bin/bulkhead.js tries this module first; it loads only what the command needs (version.js for
// --version, the help snapshot for --help, thin-client-verbs.ts and Node built-ins for the verbs),
// so these start in about the time of `node -e 0` (bench/results/api.md). Anything it does not
// handle (other verbs, unknown flags, no daemon) returns false and the full CLI runs, which works
// offline on the data dir.
import { VERSION } from './version.js';

export interface ClientArgs {
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

/** Handles the command if it can; false means: run the full CLI. */
export async function runThinClient(argv: string[]): Promise<boolean> {
  const a = parseClientArgs(argv);
  if (!a) return false;
  if (a.version) {
    process.stdout.write(`${VERSION}\n`);
    return true;
  }
  if (a.help) {
    process.stdout.write((await import('./top-level-help.js')).TOP_LEVEL_HELP);
    return true;
  }
  return (await import('./thin-client-verbs.js')).runClientVerb(a);
}
