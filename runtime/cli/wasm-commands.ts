// `bulkhead wasm sign|verify`: signatures embedded in a single WebAssembly module or component.
import fs from 'node:fs';
import type { Command } from 'commander';
import { keyIdHex, parsePublicKey, SignatureFormatError, type PublicKey } from '../../packages/signing/minisign.js';
import { signWasm, verifyWasm } from '../../packages/signing/wasm-signature.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { ExitCode } from './exit-codes.js';
import { PASSWORD_ENV, readSecretKey } from './key-files.js';
import { checkOutputFile } from './output-file.js';
import { asCliError, emit } from './output.js';
import { collect } from './repeatable-option.js';


function readFile(file: string, what: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    throw new CliError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot read'}`, ExitCode.BAD_INPUT);
  }
}

/** A minisign public key file, or wasmsign2's raw form (0x01 || 32-byte key, which has no key id). */
function readPublicKey(file: string): PublicKey {
  const raw = readFile(file, 'public key');
  if (raw.length === 33 && raw[0] === 0x01) return { keyId: Buffer.alloc(0), publicKey: raw.subarray(1) };
  try {
    return parsePublicKey(raw.toString('utf8'), file);
  } catch (err) {
    if (err instanceof SignatureFormatError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
}

export function registerWasmCommands(program: Command): void {
  const wasm = program.command('wasm').description('signatures embedded in a WebAssembly module (tool-conventions format, as wasmsign2)');

  wasm.command('sign')
    .description('sign a module or component; signing a signed module adds a signature')
    .argument('<module>', '.wasm file')
    .requiredOption('-k, --key <FILE>', 'secret key (minisign format)')
    .option('--password-file <FILE>', `password of an encrypted key, first line of FILE (- for standard input); else $${PASSWORD_ENV}, else asked on a terminal`)
    .option('-o, --output <FILE>', 'signed module to write (default: in place)')
    .option('--detached <FILE>', 'write the signature to FILE and leave the module unchanged')
    .option('--delimit', 'end the signed part with a delimiter so sections can be appended and signed later')
    .option('--json', 'machine-readable output')
    .action(async (modulePath: string, flags: { key: string; passwordFile?: string; output?: string; detached?: string; delimit?: boolean; json?: boolean }) => {
      const bytes = readFile(modulePath, 'module');
      checkOutputFile(flags.detached ?? flags.output ?? modulePath);
      const key = await readSecretKey(flags.key, { passwordFile: flags.passwordFile });
      try {
        const existing = flags.detached && fs.existsSync(flags.detached) ? fs.readFileSync(flags.detached) : undefined;
        const r = await signWasm(bytes, key, { delimit: flags.delimit, detached: Boolean(flags.detached), detachedSignature: existing });
        const out = flags.detached ?? flags.output ?? modulePath;
        fs.writeFileSync(out, flags.detached ? r.signature : r.module);
        emit(flags.json, { output: out, keyId: keyIdHex(key.keyId), detached: Boolean(flags.detached) },
          () => `signed ${modulePath} with key ${keyIdHex(key.keyId)}${flags.detached ? ` (detached: ${out})` : `: ${out}`}`);
      } catch (err) {
        throw asCliError(err);
      }
    });

  wasm.command('verify')
    .description('verify a module against given public keys, or against the trust store')
    .argument('<module>', '.wasm file')
    .option('-p, --public-key <FILE>', 'public key to accept (repeatable; default: every non-revoked key in the trust store)', collect, [])
    .option('-s, --signature <FILE>', 'detached signature (default: the embedded one)')
    .option('--json', 'machine-readable output')
    .action(async (modulePath: string, flags: { publicKey: string[]; signature?: string; json?: boolean }, command: Command) => {
      const bytes = readFile(modulePath, 'module');
      const detached = flags.signature ? readFile(flags.signature, 'signature') : undefined;
      try {
        const vendors = new Map<string, string>();
        let keys: PublicKey[];
        if (flags.publicKey.length > 0) {
          keys = flags.publicKey.map(readPublicKey);
        } else {
          keys = await withDevice(command, (ctx) => ctx.trust.list().filter((k) => !k.revokedAt).map((k) => {
            vendors.set(k.keyId, k.vendor);
            return ctx.trust.publicKeyOf(k);
          }));
        }
        const r = await verifyWasm(bytes, keys, detached);
        const describe = (k: PublicKey) => ({ keyId: k.keyId.length ? keyIdHex(k.keyId) : null, vendor: vendors.get(keyIdHex(k.keyId)) ?? null });
        const report = { ok: r.valid.length > 0, valid: r.valid.map(describe), partial: r.partial.map(describe) };
        if (!report.ok) {
          const partial = r.partial.length ? `; ${r.partial.length} signature(s) cover only part of it (sections were appended)` : '';
          throw new CliError(`BH_ERR_WASM_SIGNATURE: ${modulePath}: no valid signature from an accepted key covers the whole module${partial}`, ExitCode.FAILURE, 'BH_ERR_WASM_SIGNATURE');
        }
        emit(flags.json, report, () => report.valid.map((v) => `valid signature by key ${v.keyId ?? '(no key id)'}${v.vendor ? ` (${v.vendor})` : ''}`).join('\n'));
      } catch (err) {
        throw asCliError(err);
      }
    });
}
