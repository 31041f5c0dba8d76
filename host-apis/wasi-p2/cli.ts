// wasi:cli (environment, exit, std streams, terminals) for one component instance. Arguments and
// environment are exactly the grant's; exit unwinds the guest instead of ending the host process.
import { ComponentExit } from './errors.js';
import type { ByteSink, ByteSource, Io } from './io.js';

export interface CliContext {
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  stdin: ByteSource;
  stdout: ByteSink;
  stderr: ByteSink;
}

export function createCli(io: Io, ctx: CliContext) {
  class TerminalInput {}
  class TerminalOutput {}
  return {
    environment: {
      getEnvironment: (): [string, string][] => Object.entries(ctx.env),
      getArguments: (): string[] => [...ctx.args],
      initialCwd: (): string | undefined => undefined,
    },
    exit: {
      exit: (status: { tag: 'ok' | 'err' }): never => {
        throw new ComponentExit(status.tag === 'ok' ? 0 : 1);
      },
      exitWithCode: (code: number): never => {
        throw new ComponentExit(code);
      },
    },
    // A fresh stream object per call, over the same source/sink: jco disposes an object when the
    // guest drops its handle, and the preview1 adapter drops and re-fetches these freely.
    stdin: { getStdin: () => new io.InputStream(ctx.stdin) },
    stdout: { getStdout: () => new io.OutputStream(ctx.stdout) },
    stderr: { getStderr: () => new io.OutputStream(ctx.stderr) },
    terminalInput: { TerminalInput },
    terminalOutput: { TerminalOutput },
    // Guests never get a terminal: their streams go to the app's log.
    terminalStdin: { getTerminalStdin: () => undefined },
    terminalStdout: { getTerminalStdout: () => undefined },
    terminalStderr: { getTerminalStderr: () => undefined },
  };
}
