// Package verbs: keygen, pack, sign, verify, inspect, install.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { ArchiveError } from '../../packages/archive/archive-limits.js';
import { packPackage, readManifestText } from '../../packages/archive/pack-package.js';
import { inspectArchive } from '../../packages/archive/safe-archive.js';
import { installPackage } from '../../packages/install/package-installer.js';
import { preparePackageComponents } from '../apps/prepare-package-components.js';
import { verifyPackageInto } from '../../packages/install/package-verifier.js';
import { ManifestError, parseApplicationDescription, vendorOf } from '../../packages/manifest/application-description.js';
import { sha256File } from '../../packages/signing/file-digest.js';
import {
  formatPublicKey, formatSecretKey, generateKeyPair, keyIdHex, parseSecretKey, parseSignature, SignatureFormatError,
} from '../../packages/signing/minisign.js';
import { defaultSignatureFiles, parseTrustedComment, signPackageFile } from '../../packages/signing/package-signature.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { ExitCode } from './exit-codes.js';
import { asCliError, emit, progressReporter, stepReporter } from './output.js';
import { collect } from './repeatable-option.js';


function mustExist(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new CliError(`${what} ${file}: no such file`, ExitCode.BAD_INPUT);
}

async function readSecretKeyFile(file: string) {
  mustExist(file, 'secret key');
  try {
    return await parseSecretKey(fs.readFileSync(file, 'utf8'), process.env.BULKHEAD_KEY_PASSWORD, file);
  } catch (err) {
    if (err instanceof SignatureFormatError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
}

function manifestOf(pkg: string) {
  try {
    return parseApplicationDescription(readManifestText(pkg), `${pkg}:margo.yaml`);
  } catch (err) {
    if (err instanceof ManifestError || err instanceof ArchiveError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw new CliError(`${pkg}: not a readable package (${(err as Error).message})`, ExitCode.BAD_INPUT);
  }
}

export function registerPackageCommands(program: Command): void {
  program.command('keygen')
    .description('create an Ed25519 signing key pair (minisign format, interoperates with the minisign tool)')
    .option('-o, --output <PREFIX>', 'write PREFIX.key and PREFIX.pub', 'bulkhead')
    .option('-f, --force', 'overwrite existing key files')
    .option('--json', 'machine-readable output')
    .action(async (flags: { output: string; force?: boolean; json?: boolean }) => {
      const keyFile = `${flags.output}.key`;
      const pubFile = `${flags.output}.pub`;
      for (const f of [keyFile, pubFile]) {
        if (fs.existsSync(f) && !flags.force) throw new CliError(`${f} exists; pass --force to overwrite`, ExitCode.BAD_INPUT);
      }
      const key = await generateKeyPair();
      fs.writeFileSync(keyFile, await formatSecretKey(key), { mode: 0o600 });
      fs.chmodSync(keyFile, 0o600);
      fs.writeFileSync(pubFile, formatPublicKey(key));
      const keyId = keyIdHex(key.keyId);
      emit(flags.json, { keyId, secretKey: keyFile, publicKey: pubFile },
        () => `key ${keyId}\n  secret key: ${keyFile} (unencrypted, mode 0600: keep it safe)\n  public key: ${pubFile}`);
    });

  program.command('pack')
    .description('validate a package directory and write it as a reproducible .bhpkg')
    .argument('<dir>', 'directory with margo.yaml at its root')
    .requiredOption('-o, --output <FILE>', 'package file to write, e.g. app.bhpkg')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, flags: { output: string; json?: boolean }) => {
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CliError(`${dir}: not a directory`, ExitCode.BAD_INPUT);
      let result;
      try {
        result = await packPackage(dir, flags.output);
      } catch (err) {
        if (err instanceof ManifestError || err instanceof ArchiveError) throw new CliError(err.message, ExitCode.BAD_INPUT);
        throw err;
      }
      const { sha256, size } = await sha256File(flags.output);
      const m = result.manifest.metadata;
      emit(flags.json, { output: flags.output, id: m.id, version: m.version, vendor: vendorOf(result.manifest), digest: sha256, size, entries: result.entries.length },
        () => `packed ${m.id} ${m.version} (${vendorOf(result.manifest)}): ${flags.output}, ${result.entries.length} entries, ${size} bytes, ${sha256}`);
    });

  program.command('sign')
    .description('sign a package (detached minisign signature binding its id, version, vendor and digest)')
    .argument('<package>', '.bhpkg file')
    .requiredOption('-k, --key <FILE>', 'secret key (BULKHEAD_KEY_PASSWORD unlocks an encrypted one)')
    .option('-o, --output <FILE>', 'signature file (default PACKAGE.minisig)')
    .option('--json', 'machine-readable output')
    .action(async (pkg: string, flags: { key: string; output?: string; json?: boolean }) => {
      mustExist(pkg, 'package');
      const key = await readSecretKeyFile(flags.key);
      const manifest = manifestOf(pkg);
      const output = flags.output ?? `${pkg}.minisig`;
      const binding = await signPackageFile(pkg, key, { id: manifest.metadata.id, version: manifest.metadata.version, vendor: vendorOf(manifest) }, output);
      emit(flags.json, { signature: output, keyId: keyIdHex(key.keyId), ...binding },
        () => `signed ${binding.id} ${binding.version} with key ${keyIdHex(key.keyId)}: ${output}`);
    });

  program.command('verify')
    .description('fully verify a package against the trust store and device policy, without installing it')
    .argument('<package>', '.bhpkg file')
    .option('-s, --signature <FILE>', 'signature file (repeatable; default PACKAGE.minisig and PACKAGE.*.minisig)', collect, [])
    .option('--json', 'machine-readable output')
    .action(async (pkg: string, flags: { signature: string[]; json?: boolean }, command: Command) => {
      mustExist(pkg, 'package');
      const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-verify-'));
      try {
        await withDevice(command, async (ctx) => {
          const v = await verifyPackageInto(pkg, staging, {
            trust: ctx.trust, policy: ctx.policy.signatures, limits: ctx.policy.archive,
            signatureFiles: flags.signature.length ? flags.signature : defaultSignatureFiles(pkg),
            onProgress: progressReporter('verifying'),
          });
          const m = v.manifest.metadata;
          emit(flags.json, {
            ok: true, id: m.id, version: m.version, vendor: v.vendor, digest: v.digest, size: v.size,
            signers: v.signers.map((s) => ({ keyId: s.key.keyId, vendor: s.key.vendor, role: s.key.role, signature: s.signatureFile })),
          }, () => [`verified ${m.id} ${m.version} from ${v.vendor} (${v.digest})`,
            ...v.signers.map((s) => `  signed by ${s.key.vendor} (${s.key.role}, key ${s.key.keyId})`)].join('\n'));
        });
      } catch (err) {
        throw asCliError(err);
      } finally {
        fs.rmSync(staging, { recursive: true, force: true });
      }
    });

  program.command('inspect')
    .description('show what a package contains and who signed it (nothing is verified; use verify)')
    .argument('<package>', '.bhpkg file')
    .option('--json', 'machine-readable output')
    .action(async (pkg: string, flags: { json?: boolean }) => {
      mustExist(pkg, 'package');
      let entries;
      try {
        entries = inspectArchive(pkg);
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.BAD_INPUT);
      }
      const manifest = manifestOf(pkg);
      const { sha256, size } = await sha256File(pkg);
      const signatures = defaultSignatureFiles(pkg).map((file) => {
        try {
          const sig = parseSignature(fs.readFileSync(file, 'utf8'), file);
          return { file, keyId: keyIdHex(sig.keyId), trustedComment: sig.trustedComment, binding: parseTrustedComment(sig.trustedComment) ?? null };
        } catch (err) {
          return { file, error: (err as Error).message };
        }
      });
      const m = manifest.metadata;
      const profiles = manifest.deploymentProfiles.map((p) => ({ type: p.type, id: p.id ?? null, components: p.components.map((c) => c.name) }));
      emit(flags.json, {
        verified: false, id: m.id, name: m.name, version: m.version, vendor: vendorOf(manifest), description: m.description ?? null,
        digest: sha256, size, profiles, parameters: Object.keys(manifest.parameters ?? {}), entries, signatures,
      }, () => [
        `${m.name} (${m.id}) ${m.version}, vendor ${vendorOf(manifest)}   [not verified: run bulkhead verify]`,
        `  digest ${sha256}, ${size} bytes, ${entries.length} entries`,
        ...profiles.map((p) => `  profile ${p.type}${p.id ? ` (${p.id})` : ''}: ${p.components.join(', ')}`),
        ...(signatures.length ? signatures.map((s) => ('error' in s ? `  signature ${s.file}: ${s.error}` : `  signature ${s.file}: key ${s.keyId}, "${s.trustedComment}"`)) : ['  no signatures found next to the package']),
      ].join('\n'));
    });

  program.command('install')
    .description('verify and install a package into the device (atomic; never a silent downgrade)')
    .argument('<package>', '.bhpkg file')
    .option('-s, --signature <FILE>', 'signature file (repeatable; default PACKAGE.minisig and PACKAGE.*.minisig)', collect, [])
    .option('--allow-downgrade', 'install even if the version is not newer than the installed one')
    .option('--json', 'machine-readable output')
    .action(async (pkg: string, flags: { signature: string[]; allowDowngrade?: boolean; json?: boolean }, command: Command) => {
      mustExist(pkg, 'package');
      try {
        await withDevice(command, async (ctx) => {
          const r = await installPackage(pkg, {
            dataDir: ctx.dataDir, installed: ctx.installed, trust: ctx.trust, policy: ctx.policy.signatures,
            limits: ctx.policy.archive, allowDowngrade: flags.allowDowngrade,
            signatureFiles: flags.signature.length ? flags.signature : defaultSignatureFiles(pkg),
            onProgress: progressReporter('verifying'),
            beforeCommit: (verified, staged) => preparePackageComponents(verified.manifest, staged, ctx.dataDir, stepReporter(flags.json)),
          });
          const i = r.installed;
          emit(flags.json, { ok: true, ...i, previousVersion: r.previous?.version ?? null },
            () => `installed ${i.appId} ${i.version} from ${i.vendor}${r.previous ? ` (was ${r.previous.version})` : ''}`);
        });
      } catch (err) {
        throw asCliError(err);
      }
    });
}
