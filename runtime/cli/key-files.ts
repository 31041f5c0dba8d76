// Secret and public key files on the vendor's machine: where a key's password comes from, reading a
// (possibly encrypted) secret key, and writing a new key pair without ever leaving half of one.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { isatty } from 'node:tty';
import { quoteValue } from '../../packages/quote-value.js';
import { KeyEncryptionError, type KdfLimits } from '../../packages/signing/key-encryption.js';
import {
  formatPublicKey, formatSecretKey, parsePublicKey, parseSecretKey, secretKeyIsEncrypted, SignatureFormatError,
  type PublicKey, type SecretKey,
} from '../../packages/signing/minisign.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { checkOutputFile, describeFsError } from './output-file.js';
import { PASSWORD_MAX_BYTES, promptHidden } from './password-prompt.js';

/** The environment variable a script may use to give a key's password. */
export const PASSWORD_ENV = 'BULKHEAD_KEY_PASSWORD';

export interface PasswordSource {
  /** --password-file: a file whose first line is the password; "-" reads standard input. */
  passwordFile?: string;
  env?: NodeJS.ProcessEnv;
}

const usage = (message: string) => new CliError(message, ExitCode.BAD_INPUT);

/** The first line of a file (or of stdin for "-"), read with a bound: a password is short. */
function firstLine(file: string): string {
  let fd: number;
  try {
    fd = file === '-' ? 0 : fs.openSync(file, 'r');
  } catch (err) {
    throw usage(`--password-file ${file}: ${describeFsError(err)}`);
  }
  try {
    const buf = Buffer.alloc(PASSWORD_MAX_BYTES + 2);
    let length = 0;
    for (;;) {
      let n: number;
      try {
        n = fs.readSync(fd, buf, length, buf.length - length, null);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') { // a non-blocking stdin pipe not ready yet
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10);
          continue;
        }
        throw usage(`--password-file ${file}: ${describeFsError(err)}`);
      }
      length += n;
      if (n === 0 || buf.subarray(0, length).includes(0x0a) || length === buf.length) break;
    }
    const text = buf.subarray(0, length).toString('utf8');
    const newline = text.search(/\r?\n/);
    if (newline < 0 && length === buf.length) throw usage(`--password-file ${file}: the first line is over ${PASSWORD_MAX_BYTES} bytes (minisign's limit)`);
    return newline < 0 ? text : text.slice(0, newline);
  } finally {
    if (fd !== 0) fs.closeSync(fd);
  }
}

/** `--password-file -` on a terminal: ask without echo rather than read a visible line. */
function typedOnTerminal(passwordFile: string): boolean {
  return passwordFile === '-' && isatty(0); // not process.stdin: creating it makes a pipe non-blocking
}

/** The password to unlock a key: --password-file, else $BULKHEAD_KEY_PASSWORD, else a prompt on the terminal. */
export async function passwordToUnlock(source: PasswordSource, keyFile: string): Promise<string> {
  if (source.passwordFile !== undefined) return typedOnTerminal(source.passwordFile) ? promptHidden(`Password for ${keyFile}: `) : firstLine(source.passwordFile);
  const fromEnv = (source.env ?? process.env)[PASSWORD_ENV];
  if (fromEnv !== undefined) return fromEnv;
  if (!isatty(0)) {
    throw usage(`${keyFile} is password-protected: give --password-file FILE (- for standard input) or set ${PASSWORD_ENV}, or run on a terminal to be asked`);
  }
  return promptHidden(`Password for ${keyFile}: `);
}

/** The password for a new key, asked twice on a terminal (as minisign does). Never empty. */
export async function passwordForNewKey(source: PasswordSource): Promise<string> {
  let password: string;
  if (source.passwordFile !== undefined && !typedOnTerminal(source.passwordFile)) password = firstLine(source.passwordFile);
  else if (source.passwordFile === undefined && (source.env ?? process.env)[PASSWORD_ENV] !== undefined) password = (source.env ?? process.env)[PASSWORD_ENV]!;
  else if (!isatty(0)) {
    throw usage(`keygen encrypts the secret key: give --password-file FILE (- for standard input) or set ${PASSWORD_ENV}, run on a terminal to be asked, or pass -W for an unencrypted key`);
  } else {
    password = await promptHidden('Password: ');
    const again = await promptHidden('Password (one more time): ');
    if (again !== password) throw usage("passwords don't match; nothing was written");
  }
  if (password === '') throw usage('the password is empty; pass -W (--unencrypted) for a key without one');
  return password;
}

/** Reads a secret key file, asking for its password only if it is encrypted. */
export async function readSecretKey(file: string, source: PasswordSource): Promise<SecretKey> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw usage(`secret key ${file}: ${describeFsError(err)}`);
  }
  try {
    const password = secretKeyIsEncrypted(text, file) ? await passwordToUnlock(source, file) : undefined;
    return await parseSecretKey(text, password, file);
  } catch (err) {
    if (err instanceof SignatureFormatError) throw usage(err.message);
    throw err;
  }
}

/** A public key from a file (-p) or its base64 line (-P), as minisign takes them. */
export function readPublicKey(flags: { file?: string; base64?: string }): PublicKey {
  if (flags.file !== undefined && flags.base64 !== undefined) throw usage('give the public key either as a file (-p) or inline (-P), not both');
  let text: string;
  let what: string;
  if (flags.file !== undefined) {
    what = flags.file;
    try {
      text = fs.readFileSync(flags.file, 'utf8');
    } catch (err) {
      throw usage(`public key ${flags.file}: ${describeFsError(err)}`);
    }
  } else {
    what = `-P ${quoteValue(flags.base64 ?? '')}`;
    text = flags.base64 ?? '';
    if (text.includes('\n')) throw usage(`${what}: expected the one-line base64 public key`);
  }
  try {
    return parsePublicKey(text, what);
  } catch (err) {
    if (err instanceof SignatureFormatError) throw usage(err.message);
    throw err;
  }
}

/**
 * Writes `text` to `file` through a temporary file and a rename, so a reader (or a crash) sees
 * the old file or the new one, never a half-written key. Without `force`, an existing file wins.
 */
function writeAtomically(file: string, text: string, mode: number, force: boolean | undefined): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = fs.openSync(tmp, 'wx', mode);
    try {
      fs.writeFileSync(fd, text);
      fs.fchmodSync(fd, mode); // the umask may have narrowed or (for 0644) kept less than asked
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    if (force) fs.renameSync(tmp, file);
    else {
      fs.linkSync(tmp, file); // fails with EEXIST if the file appeared meanwhile
      fs.unlinkSync(tmp);
    }
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw usage(`${file} exists; pass --force to overwrite`);
    throw usage(`cannot write ${file}: ${describeFsError(err)}`);
  }
}

export interface KeyPairFiles { secretKey: string; publicKey: string }

/** Both targets can be written (their directories exist and are writable, no file is in the way). */
export function checkKeyPairTargets(files: KeyPairFiles, force: boolean | undefined): void {
  if (path.resolve(files.secretKey) === path.resolve(files.publicKey)) throw usage(`the secret and public key would both be ${files.secretKey}`);
  checkOutputFile(files.secretKey, { force });
  checkOutputFile(files.publicKey, { force });
}

/**
 * Writes a new key pair: both targets are checked before the (slow) key derivation, the secret key
 * is written first (mode 0600), then the public key; if the public key cannot be written, the
 * secret key just written is removed again.
 */
export async function writeKeyPair(key: SecretKey, files: KeyPairFiles, options: { force?: boolean; password?: string; kdfLimits?: KdfLimits }): Promise<void> {
  checkKeyPairTargets(files, options.force);
  let secretText: string;
  try {
    secretText = await formatSecretKey(key, options.password === undefined ? undefined : { password: options.password, limits: options.kdfLimits });
  } catch (err) {
    if (err instanceof SignatureFormatError || err instanceof KeyEncryptionError) throw usage(err.message);
    throw err;
  }
  writeAtomically(files.secretKey, secretText, 0o600, options.force);
  try {
    writeAtomically(files.publicKey, formatPublicKey(key), 0o644, options.force);
  } catch (err) {
    fs.rmSync(files.secretKey, { force: true });
    throw err;
  }
}
