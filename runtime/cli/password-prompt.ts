// Reading a password from the terminal without echoing it, as minisign does: the prompt goes to
// stderr, standard input is put in raw mode and restored whatever happens. Our own 40 lines rather
// than a dependency (npm's `read` + `mute-stream`): the behaviour needed is small and fixed.
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

const ENTER = new Set([0x0a, 0x0d]);
const INTERRUPT = 0x03; // Ctrl-C
const END = 0x04; // Ctrl-D
const ERASE = new Set([0x08, 0x7f]);
/** minisign's PASSWORDMAXBYTES less its terminator. */
export const PASSWORD_MAX_BYTES = 1023;

/** Prompts on stderr and reads one line from the terminal on stdin, not echoed. */
export function promptHidden(prompt: string): Promise<string> {
  const input = process.stdin;
  if (!input.isTTY) return Promise.reject(new CliError('cannot prompt for a password: standard input is not a terminal', ExitCode.BAD_INPUT));
  // Echo off before the prompt shows: anything typed after seeing it must not appear.
  input.setRawMode(true);
  input.resume();
  process.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    const bytes: number[] = [];
    const finish = (error?: CliError) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(Buffer.from(bytes).toString('utf8'));
    };
    const onData = (chunk: Buffer) => {
      for (const b of chunk) {
        if (ENTER.has(b)) return finish();
        if (b === INTERRUPT || (b === END && bytes.length === 0)) return finish(new CliError('password entry cancelled', ExitCode.BAD_INPUT));
        if (ERASE.has(b)) {
          // Drop one whole UTF-8 character: continuation bytes first, then its lead byte.
          while (bytes.length && (bytes[bytes.length - 1]! & 0xc0) === 0x80) bytes.pop();
          bytes.pop();
        } else if (bytes.length < PASSWORD_MAX_BYTES) {
          bytes.push(b);
        }
      }
    };
    input.on('data', onData);
  });
}
