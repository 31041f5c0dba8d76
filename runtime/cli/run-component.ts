// `bulkhead run COMPONENT`: a WASI 0.2 command component in a sandbox of its own, with exactly
// the files and environment the flags grant. It has no kv, messaging or network grant: those
// belong to installed apps (`bulkhead start`), whose grants come from their manifest and policy.
import path from 'node:path';
import type { PreopenGrant } from '../../host-apis/wasi-p1/preview1.js';
import { DEFAULT_LOG_LIMITS } from '../../host-apis/bulkhead/log.js';
import { ComponentPrepareError, prepareComponent } from '../apps/component-cache.js';
import { VendorSandbox } from '../sandbox/vendor-sandbox.js';
import { DataDirError, ensureDataDir } from '../state/data-dir.js';
import type { FromSandbox } from '../sandbox/vendor-sandbox-protocol.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

export interface ComponentRunOptions {
  preopens: PreopenGrant[];
  env: Record<string, string>;
  memoryCapBytes: number;
  timeoutMs?: number;
  dataDir: string;
}

export async function runComponent(bytes: Uint8Array, file: string, args: string[], o: ComponentRunOptions): Promise<number> {
  let prepared;
  try {
    ensureDataDir(o.dataDir);
  } catch (err) {
    if (err instanceof DataDirError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
  try {
    prepared = await prepareComponent(bytes, o.dataDir, file);
  } catch (err) {
    if (err instanceof ComponentPrepareError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
  if (!prepared.exports.some((e) => e.startsWith('wasi:cli/run'))) {
    const service = prepared.exports.some((e) => e.startsWith('bulkhead:host/app'));
    throw new CliError(service
      ? `${file} is a service (exports bulkhead:host/app); install its package and run it with bulkhead start`
      : `${file} exports no wasi:cli/run; bulkhead run runs commands`, ExitCode.SANDBOX_ERROR);
  }
  const dir = prepared.dir;
  type Outcome = (FromSandbox & { type: 'state' }) | { lost: string };
  let settle!: (o: Outcome) => void;
  const ended = new Promise<Outcome>((resolve) => { settle = resolve; });
  // One instance; a single thread cannot use more than one core, so the CPU watchdog never fires.
  const sandbox = new VendorSandbox('(run)', path.join(o.dataDir, 'state.db'), { share: 1.01, windowMs: 60_000 }, {
    message: (m) => {
      if (m.type !== 'state' || (m.state === 'running' && m.role === 'job')) return;
      settle(m.state === 'running' ? { lost: 'the component is a service (exports bulkhead:host/app); run it with bulkhead start' } : m);
    },
    lost: (_ids, reason) => settle({ lost: reason }),
  });
  const timer = o.timeoutMs === undefined ? undefined : setTimeout(() => void sandbox.terminate('timeout'), o.timeoutMs);
  sandbox.start({
    instanceId: 'run', app: 'run', component: path.basename(file), kind: 'component', path: dir,
    grant: { fs: o.preopens, netConnect: [], netListen: [], kv: undefined, publish: [], subscribe: [], env: o.env },
    args, parameters: {}, memoryCapBytes: o.memoryCapBytes, logLimits: DEFAULT_LOG_LIMITS, stdio: 'inherit',
  });
  const outcome = await ended;
  clearTimeout(timer);
  await sandbox.terminate();
  if ('lost' in outcome) {
    if (outcome.lost === 'timeout') throw new CliError(`guest terminated: time limit of ${o.timeoutMs} ms exceeded`, ExitCode.TIMEOUT);
    throw new CliError(`sandbox failed: ${outcome.lost}`, ExitCode.SANDBOX_ERROR);
  }
  if (outcome.state === 'exited') return outcome.code & 0xff;
  if (outcome.state === 'failed') {
    if (outcome.reason.startsWith('trap:')) throw new CliError(`guest trapped: ${outcome.reason.slice(6)}`, ExitCode.TRAP);
    throw new CliError(`sandbox failed: ${outcome.reason}`, ExitCode.SANDBOX_ERROR);
  }
  return ExitCode.OK;
}
