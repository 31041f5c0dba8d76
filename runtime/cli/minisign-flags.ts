// Flags of keygen, sign and verify, accepting minisign's spellings next to our earlier ones, so a
// vendor's minisign habits work: `keygen -p PUB -s SEC [-W]`, `sign -s KEY -x SIG [-m FILE]`,
// `verify -p PUB | -P BASE64 -x SIG [-m FILE]`. Where minisign's letter meant something else here
// (`verify -s` was the signature file), -s keeps working for a signature and a secret key given
// there is refused with a hint, because minisign's meaning (a secret key) has no use in verify.
// These are pure functions of the parsed flags, so the rules are unit-tested without running commands.
import { parseSize, UnitError } from './parse-units.js';
import { MIN_KDF_MEMLIMIT, MINISIGN_KDF_LIMITS, type KdfLimits } from '../../packages/signing/key-encryption.js';
import { quoteValue } from '../../packages/quote-value.js';
import { secretKeyIsEncrypted } from '../../packages/signing/minisign.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

const usage = (message: string) => new CliError(message, ExitCode.BAD_INPUT);

/** Two spellings of one option: either, or both if they agree. */
function either(a: string | undefined, aName: string, b: string | undefined, bName: string): string | undefined {
  if (a !== undefined && b !== undefined && a !== b) throw usage(`${aName} and ${bName} are the same option; give one of them`);
  return a ?? b;
}

/** The package: positional, or minisign's -m. */
function packageOf(positional: string | undefined, m: string | undefined): string {
  const pkg = either(positional, 'the package argument', m, '-m');
  if (pkg === undefined) throw usage('which package? give it as an argument or with -m FILE');
  return pkg;
}

export interface KeygenFlags {
  output?: string; secretKey?: string; publicKey?: string; unencrypted?: boolean; kdfMemory?: string;
}

export interface KeygenPlan { secretKey: string; publicKey: string; encrypted: boolean; kdfLimits: KdfLimits }

/**
 * Where keygen writes: -s/-p name each file (minisign); -o PREFIX gives PREFIX.key and PREFIX.pub;
 * with only one of -s/-p, the other sits beside it (a.key <-> a.pub). Default bulkhead.key/.pub.
 */
export function keygenPlan(flags: KeygenFlags): KeygenPlan {
  const stem = (file: string) => file.replace(/\.(key|pub)$/, '');
  const prefix = flags.output ?? (flags.secretKey ? stem(flags.secretKey) : flags.publicKey ? stem(flags.publicKey) : 'bulkhead');
  const secretKey = flags.secretKey ?? `${prefix}.key`;
  const publicKey = flags.publicKey ?? `${prefix}.pub`;
  let kdfLimits = MINISIGN_KDF_LIMITS;
  if (flags.kdfMemory !== undefined) {
    if (flags.unencrypted) throw usage('--kdf-memory sets how the password is stretched; -W writes no password');
    let memlimit: number;
    try {
      memlimit = parseSize(flags.kdfMemory);
    } catch (err) {
      if (err instanceof UnitError) throw usage(`--kdf-memory: ${err.message}`);
      throw err;
    }
    if (memlimit < MIN_KDF_MEMLIMIT || memlimit > MINISIGN_KDF_LIMITS.memlimit) {
      throw usage(`--kdf-memory ${quoteValue(flags.kdfMemory)}: expected 16MiB to 1GiB (minisign's default, and ours, is 1GiB)`);
    }
    // Both of libsodium's presets spend 1 operation per 32 bytes; keep that ratio.
    kdfLimits = { opslimit: Math.floor(memlimit / 32), memlimit };
  }
  return { secretKey, publicKey, encrypted: !flags.unencrypted, kdfLimits };
}

export interface SignFlags { key?: string; secretKey?: string; output?: string; signatureFile?: string; message?: string }

export interface SignPlan { pkg: string; secretKey: string; signatureFile: string }

/** sign: -s (minisign) or -k for the key, -x (minisign) or -o for the signature, -m or the argument for the package. */
export function signPlan(positional: string | undefined, flags: SignFlags): SignPlan {
  const pkg = packageOf(positional, flags.message);
  const secretKey = either(flags.secretKey, '-s', flags.key, '-k');
  if (secretKey === undefined) throw usage('which secret key? give it with -s FILE (or -k FILE)');
  const signatureFile = either(flags.signatureFile, '-x', flags.output, '-o') ?? `${pkg}.minisig`;
  return { pkg, secretKey, signatureFile };
}

export interface VerifyFlags { signature: string[]; legacySignature: string[]; publicKey?: string; publicKeyBase64?: string; message?: string }

export interface VerifyPlan {
  pkg: string;
  /** Signature files given (-x, or -s as before); empty means the ones beside the package. */
  signatureFiles: string[];
  /** Check against this key alone (minisign -V -p/-P), not the trust store. */
  publicKey?: { file?: string; base64?: string };
}

export function verifyPlan(positional: string | undefined, flags: VerifyFlags): VerifyPlan {
  const pkg = packageOf(positional, flags.message);
  if (flags.publicKey !== undefined && flags.publicKeyBase64 !== undefined) throw usage('give the public key either as a file (-p) or inline (-P), not both');
  const publicKey = flags.publicKey !== undefined || flags.publicKeyBase64 !== undefined ? { file: flags.publicKey, base64: flags.publicKeyBase64 } : undefined;
  return { pkg, signatureFiles: [...flags.signature, ...flags.legacySignature], publicKey };
}

/** Refuses a secret key passed where a signature belongs (minisign users type -s for a secret key). */
export function refuseSecretKeyAsSignature(file: string, text: string): void {
  let isSecretKey = false;
  try {
    secretKeyIsEncrypted(text, file); // parses it as a secret key; throws if it is none
    isSecretKey = true;
  } catch {
    // not a secret key: the signature check will say what it is
  }
  if (isSecretKey) {
    throw usage(`${file} is a secret key, not a signature: verify takes signatures with -x FILE and a public key with -p FILE (in minisign, -s names the secret key; never hand it out)`);
  }
}
