// Where a verb that changes device state acts: through a daemon's management API, or on the data dir
// itself (offline). `--host` / $BULKHEAD_HOST name a daemon, and failing to reach it is an error.
// Without them, a daemon answering on the data dir's socket is used, so the CLI never writes beside
// a running daemon when it can ask it; a socket nobody answers on (a killed daemon's) means offline.
// Offline writes stay safe next to a daemon that is starting (its API not up yet): they are SQLite
// transactions and atomic renames, which the daemon picks up as it does any CLI write.
import path from 'node:path';
import type { Command } from 'commander';
import { isBadInput, problemsRefusalCode, problemsRefusalText } from '../bridge/compose-problems.js';
import { policyRefusalText } from '../bridge/policy-refusal.js';
import { defaultDataDir } from '../state/data-dir.js';
import { ApiFailure, open, requestJson, targetOf, Unreachable, type RequestSpec, type Target, type TargetFlags } from './api-transport.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

export interface RemoteDevice {
  target: Target;
  /** One request with a JSON answer; a problem answer or a broken connection is a CliError. */
  call<T>(urlPath: string, spec?: RequestSpec): Promise<T>;
  /** The same, for a request whose failure the caller wants as an ApiFailure (e.g. a 404 it expects). */
  raw<T>(urlPath: string, spec?: RequestSpec): Promise<T>;
}

/** The program's own options: subcommands may have options of the same name (compose --host is the engine). */
function globalFlags(command: Command): TargetFlags & { dataDir?: string } {
  let root = command;
  while (root.parent) root = root.parent;
  return root.opts() as TargetFlags & { dataDir?: string };
}

/** Whether --host or $BULKHEAD_HOST names a daemon. */
export function hostNamed(command: Command): boolean {
  return Boolean(globalFlags(command).host ?? process.env.BULKHEAD_HOST);
}

/** The daemon to ask, or undefined: work offline on the data dir. */
export async function remoteDevice(command: Command): Promise<RemoteDevice | undefined> {
  const flags = globalFlags(command);
  let target: Target | undefined;
  try {
    target = targetOf(flags, flags.dataDir ? path.resolve(flags.dataDir) : defaultDataDir());
  } catch (err) {
    throw cliErrorOf(err);
  }
  if (!target) return undefined;
  const t = target;
  const device: RemoteDevice = {
    target: t,
    raw: (urlPath, spec) => requestJson(t, urlPath, spec),
    call: async (urlPath, spec) => {
      try {
        return await requestJson(t, urlPath, spec);
      } catch (err) {
        throw cliErrorOf(err, t);
      }
    },
  };
  if (t.explicit) return device;
  try {
    // Does a daemon answer on the data dir's socket? Only a refused or absent connection means no.
    const { res } = await open(t, '/healthz', { timeoutMs: 5000 });
    res.resume();
    return device;
  } catch (err) {
    if (err instanceof Unreachable) return undefined;
    throw cliErrorOf(err, t);
  }
}

/** An API failure as the CLI reports it: the same words and code as the offline path's refusal. */
export function cliErrorOf(err: unknown, target?: Target): unknown {
  if (err instanceof Unreachable) {
    return new CliError(target && !target.explicit
      ? `the daemon at ${target.name} stopped answering (${err.message}); see daemon.log in the data dir`
      : `cannot reach the daemon at ${target?.name ?? 'the given --host'} (${err.message}); check --host, or drop it to work offline on the data dir`, ExitCode.FAILURE);
  }
  if (!(err instanceof ApiFailure)) return err;
  if (!err.problem) return new CliError(err.message, err.brokeOff ? ExitCode.FAILURE : ExitCode.BAD_INPUT);
  const { status, code, detail, violations, problems } = err.problem;
  const exit = status === 400 || status === 413 || status === 415 ? ExitCode.BAD_INPUT : ExitCode.FAILURE;
  // A refused Compose file: the same lines, exit status and --json problems as offline.
  if (problems?.length) {
    return new CliError(`${problemsRefusalCode(problems)}: ${problemsRefusalText(problems)}`, isBadInput(problems) ? ExitCode.BAD_INPUT : ExitCode.FAILURE, code, { problems });
  }
  if (violations?.length) return new CliError(`${code}: ${policyRefusalText(violations)}`, ExitCode.FAILURE, code);
  // The API's own codes are about the request; the rest (BH_ERR_SIG_*, BH_ERR_ROLLBACK...) are the
  // installer's and bridge's, which the offline path prints as `CODE: message`.
  if (!code || /^BH_ERR_API_/.test(code)) return new CliError(detail, exit, code || undefined);
  return new CliError(`${code}: ${detail}`, exit, code);
}
