// Package verbs: keygen, pack, sign, verify, inspect, install.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ArchiveError, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../../packages/archive/archive-limits.js';
import { packPackage, readManifestText } from '../../packages/archive/pack-package.js';
import { inspectArchive } from '../../packages/archive/safe-archive.js';
import { installReport, installReportText, type InstallReport } from '../../packages/install/install-report.js';
import { installPackage } from '../../packages/install/package-installer.js';
import { preparePackageComponents } from '../apps/prepare-package-components.js';
import { verifyPackageInto } from '../../packages/install/package-verifier.js';
import { ManifestError, parseApplicationDescription, vendorOf } from '../../packages/manifest/application-description.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from '../../packages/manifest/manifest-limits.js';
import { sha256File } from '../../packages/signing/file-digest.js';
import { verifyPackageWithKey } from '../../packages/install/key-verifier.js';
import { generateKeyPair, keyIdHex, parseSignature } from '../../packages/signing/minisign.js';
import { defaultSignatureFiles, parseTrustedComment, readSignatureFiles, signPackageFile, type IgnoredSignature } from '../../packages/signing/package-signature.js';
import { PackageError } from '../../packages/package-errors.js';
import { defaultDataDir } from '../state/data-dir.js';
import { loadDevicePolicy } from '../state/device-policy.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { remoteDevice, type RemoteDevice } from './device-target.js';
import { checkKeyPairTargets, passwordForNewKey, PASSWORD_ENV, readPublicKey, readSecretKey, writeKeyPair } from './key-files.js';
import { keygenPlan, refuseSecretKeyAsSignature, signPlan, verifyPlan, type KeygenFlags, type SignFlags } from './minisign-flags.js';
import { ExitCode } from './exit-codes.js';
import { checkOutputFile, writeFailure } from './output-file.js';
import { asCliError, emit, progressReporter, stepReporter } from './output.js';
import { collect } from './repeatable-option.js';


/**
 * The signature files a package is checked with: `-x FILE` as minisign spells it (repeatable), and
 * the earlier `-s FILE`, hidden (minisign's -s is the secret key, which verify and install never take).
 */
function signatureFileOptions(command: Command): Command {
  return command
    .option('-x, --signature <FILE>', 'signature file (as minisign -x; repeatable; default PACKAGE.minisig and PACKAGE.*.minisig)', collect, [])
    .addOption(new Option('-s <FILE>', 'the same as -x (kept from earlier versions)').argParser(collect).default([]).hideHelp());
}

function mustExist(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new CliError(`${what} ${file}: no such file`, ExitCode.BAD_INPUT);
}

/** The first 4 KiB of a file ('' if unreadable: the signature check then says why). */
function readHead(file: string): string {
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(4096);
      return buf.subarray(0, fs.readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return '';
  }
}

function manifestOf(pkg: string, limits: ManifestLimits = DEFAULT_MANIFEST_LIMITS) {
  try {
    return parseApplicationDescription(readManifestText(pkg, limits.maxBytes), `${pkg}:margo.yaml`, limits);
  } catch (err) {
    if (err instanceof ManifestError || err instanceof ArchiveError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw new CliError(`${pkg}: not a readable package (${(err as Error).message})`, ExitCode.BAD_INPUT);
  }
}

/** The device's archive and manifest limits when its policy sets them (no data dir is created), else the defaults. */
function readLimitsFor(command: Command): { archive: ArchiveLimits; manifest: ManifestLimits } {
  const { dataDir } = command.optsWithGlobals() as { dataDir?: string };
  try {
    return loadDevicePolicy(dataDir ?? defaultDataDir());
  } catch {
    return { archive: DEFAULT_ARCHIVE_LIMITS, manifest: DEFAULT_MANIFEST_LIMITS };
  }
}

const ignoredLines = (ignored: IgnoredSignature[]) => ignored.map((i) => `  ignored signature: ${i.reason} [${i.code}]`);

export function registerPackageCommands(program: Command): void {
  program.command('keygen')
    .description('create an Ed25519 signing key pair in minisign format; the secret key is password-protected unless -W')
    .option('-o, --output <PREFIX>', 'write PREFIX.key and PREFIX.pub (default bulkhead)')
    .option('-s, --secret-key <FILE>', 'secret key file (as minisign -s; default PREFIX.key)')
    .option('-p, --public-key <FILE>', 'public key file (as minisign -p; default PREFIX.pub)')
    .option('-W, --unencrypted', 'write the secret key without a password (as minisign -W)')
    .option('--password-file <FILE>', `read the password from the first line of FILE (- for standard input); else $${PASSWORD_ENV}, else asked twice on a terminal`)
    .option('--kdf-memory <SIZE>', "memory scrypt uses to stretch the password, 16MiB to 1GiB (default 1GiB, minisign's); stored in the key file, which minisign reads")
    .option('-f, --force', 'overwrite existing key files')
    .option('--json', 'machine-readable output')
    .action(async (flags: KeygenFlags & { passwordFile?: string; force?: boolean; json?: boolean }) => {
      const plan = keygenPlan(flags);
      if (!plan.encrypted && flags.passwordFile !== undefined) throw new CliError('-W writes no password; drop --password-file or -W', ExitCode.BAD_INPUT);
      checkKeyPairTargets(plan, flags.force); // before asking for a password, not after
      const password = plan.encrypted ? await passwordForNewKey({ passwordFile: flags.passwordFile }) : undefined;
      const key = await generateKeyPair();
      await writeKeyPair(key, plan, { force: flags.force, password, kdfLimits: plan.kdfLimits });
      const keyId = keyIdHex(key.keyId);
      emit(flags.json, { keyId, secretKey: plan.secretKey, publicKey: plan.publicKey, encrypted: plan.encrypted },
        () => `key ${keyId}\n  secret key: ${plan.secretKey} (${plan.encrypted ? 'password-protected' : 'unencrypted'}, mode 0600: keep it safe)\n  public key: ${plan.publicKey}`);
    });

  program.command('pack')
    .description('validate a package directory and write it as a reproducible .bhpkg')
    .argument('<dir>', 'directory with margo.yaml at its root')
    .requiredOption('-o, --output <FILE>', 'package file to write, e.g. app.bhpkg')
    .option('--json', 'machine-readable output')
    .action(async (dir: string, flags: { output: string; json?: boolean }) => {
      if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new CliError(`${dir}: not a directory`, ExitCode.BAD_INPUT);
      checkOutputFile(flags.output);
      let result;
      try {
        result = await packPackage(dir, flags.output);
      } catch (err) {
        if (err instanceof ManifestError || err instanceof ArchiveError) throw new CliError(err.message, ExitCode.BAD_INPUT);
        throw writeFailure(flags.output, err);
      }
      const { sha256, size } = await sha256File(flags.output);
      const m = result.manifest.metadata;
      emit(flags.json, { output: flags.output, id: m.id, version: m.version, vendor: vendorOf(result.manifest), digest: sha256, size, entries: result.entries.length },
        () => `packed ${m.id} ${m.version} (${vendorOf(result.manifest)}): ${flags.output}, ${result.entries.length} entries, ${size} bytes, ${sha256}`);
    });

  program.command('sign')
    .description('sign a package (detached minisign signature binding its id, version, vendor and digest)')
    .argument('[package]', '.bhpkg file (or -m FILE)')
    .option('-s, --secret-key <FILE>', 'secret key (as minisign -s)')
    .option('-k, --key <FILE>', 'the same as -s')
    .option('-x, --signature-file <FILE>', 'signature file to write (as minisign -x; default PACKAGE.minisig)')
    .option('-o, --output <FILE>', 'the same as -x')
    .option('-m <FILE>', 'the package, as minisign takes it')
    .option('--password-file <FILE>', `password of an encrypted key, first line of FILE (- for standard input); else $${PASSWORD_ENV}, else asked on a terminal`)
    .option('--json', 'machine-readable output')
    .action(async (positional: string | undefined, flags: SignFlags & { m?: string; passwordFile?: string; json?: boolean }) => {
      const plan = signPlan(positional, { ...flags, message: flags.m });
      const pkg = plan.pkg;
      mustExist(pkg, 'package');
      const manifest = manifestOf(pkg);
      const output = plan.signatureFile;
      checkOutputFile(output); // before the password is asked for
      const key = await readSecretKey(plan.secretKey, { passwordFile: flags.passwordFile });
      let binding;
      try {
        binding = await signPackageFile(pkg, key, { id: manifest.metadata.id, version: manifest.metadata.version, vendor: vendorOf(manifest) }, output);
      } catch (err) {
        throw writeFailure(output, err);
      }
      emit(flags.json, { signature: output, keyId: keyIdHex(key.keyId), ...binding },
        () => `signed ${binding.id} ${binding.version} with key ${keyIdHex(key.keyId)}: ${output}`);
    });

  signatureFileOptions(program.command('verify')
    .description('fully verify a package against the trust store and device policy (or against one public key with -p/-P), without installing it')
    .argument('[package]', '.bhpkg file (or -m FILE)'))
    .option('-p, --public-key <FILE>', 'check the signature by this public key alone, without the trust store (as minisign -V -p)')
    .option('-P, --public-key-base64 <BASE64>', 'the same with the key inline (as minisign -P)')
    .option('-m <FILE>', 'the package, as minisign takes it')
    .option('--json', 'machine-readable output')
    .action(async (positional: string | undefined, flags: { signature: string[]; s: string[]; publicKey?: string; publicKeyBase64?: string; m?: string; json?: boolean }, command: Command) => {
      const plan = verifyPlan(positional, { signature: flags.signature, legacySignature: flags.s, publicKey: flags.publicKey, publicKeyBase64: flags.publicKeyBase64, message: flags.m });
      const pkg = plan.pkg;
      mustExist(pkg, 'package');
      for (const file of plan.signatureFiles) refuseSecretKeyAsSignature(file, readHead(file));
      const signatureFiles = plan.signatureFiles.length ? plan.signatureFiles : defaultSignatureFiles(pkg);
      const staging = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-verify-'));
      try {
        if (plan.publicKey) {
          const key = readPublicKey(plan.publicKey);
          const r = await verifyPackageWithKey(pkg, staging, key, signatureFiles);
          const v = r.verified;
          const m = v.manifest.metadata;
          emit(flags.json, {
            ok: true, id: m.id, version: m.version, vendor: v.vendor, digest: v.digest, packageDigest: v.digest, size: v.size,
            publicKey: r.keyId, trustStore: false, signatures: v.signers.map((s) => s.signatureFile), otherSignatures: r.otherSignatures,
          }, () => [`verified ${m.id} ${m.version} (vendor ${v.vendor} as margo.yaml says) against public key ${r.keyId}`,
            `  package digest: ${v.digest}`,
            ...v.signers.map((s) => `  signature ${s.signatureFile}: valid`),
            ...r.otherSignatures.map((s) => `  signature ${s.file}: by another key (${s.keyId}), not checked`),
            '  no trust store or device policy consulted: install checks the vendor against the trust store'].join('\n'));
          return;
        }
        await withDevice(command, async (ctx) => {
          const v = await verifyPackageInto(pkg, staging, {
            trust: ctx.trust, policy: ctx.policy.signatures, limits: ctx.policy.archive, manifestLimits: ctx.policy.manifest,
            signatureFiles,
            onProgress: progressReporter('verifying'),
          });
          const m = v.manifest.metadata;
          emit(flags.json, {
            ok: true, id: m.id, version: m.version, vendor: v.vendor, digest: v.digest, packageDigest: v.digest, size: v.size,
            signers: v.signers.map((s) => ({ keyId: s.key.keyId, vendor: s.key.vendor, role: s.key.role, signature: s.signatureFile })),
            ignoredSignatures: v.ignoredSignatures,
          }, () => [`verified ${m.id} ${m.version} from ${v.vendor}`, `  package digest: ${v.digest}`,
            ...v.signers.map((s) => `  signed by ${s.key.vendor} (${s.key.role}, key ${s.key.keyId})`), ...ignoredLines(v.ignoredSignatures)].join('\n'));
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
    .action(async (pkg: string, flags: { json?: boolean }, command: Command) => {
      mustExist(pkg, 'package');
      const limits = readLimitsFor(command);
      let entries;
      try {
        entries = inspectArchive(pkg, limits.archive);
      } catch (err) {
        throw new CliError((err as Error).message, ExitCode.BAD_INPUT);
      }
      const manifest = manifestOf(pkg, limits.manifest);
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

  signatureFileOptions(program.command('install')
    .description('verify and install a package into the device (atomic; never a silent downgrade)')
    .argument('<package>', '.bhpkg file'))
    .option('--allow-downgrade', 'install even if the version is not newer than the installed one')
    .option('--transfer-from <VENDOR>', 'hand the app id over from this vendor (its current owner, exactly as `bulkhead list` shows it) to the package\'s vendor')
    .option('--json', 'machine-readable output')
    .action(async (pkg: string, flags: { signature: string[]; s: string[]; allowDowngrade?: boolean; transferFrom?: string; json?: boolean }, command: Command) => {
      mustExist(pkg, 'package');
      const given = [...flags.signature, ...flags.s];
      const signatureFiles = given.length ? given : defaultSignatureFiles(pkg);
      try {
        const device = await remoteDevice(command);
        const report = device
          ? await installThroughApi(device, pkg, signatureFiles, flags)
          : await withDevice(command, async (ctx) => installReport(await installPackage(pkg, {
            dataDir: ctx.dataDir, installed: ctx.installed, trust: ctx.trust, policy: ctx.policy.signatures,
            limits: ctx.policy.archive, manifestLimits: ctx.policy.manifest, allowDowngrade: flags.allowDowngrade, transferFrom: flags.transferFrom,
            signatureFiles,
            onProgress: progressReporter('verifying'),
            beforeCommit: (verified, staged) => preparePackageComponents(verified.manifest, staged, ctx.dataDir, stepReporter(flags.json)),
          })));
        emit(flags.json, { ok: true, ...report }, () => installReportText(report));
      } catch (err) {
        throw asCliError(err);
      }
    });
}

/**
 * `bulkhead install` through a daemon: the package streams to POST /v1/packages, its signatures
 * travel base64 in Bulkhead-Signature, and the daemon verifies and installs exactly as offline.
 * The daemon calls the signatures "signature #N" (it never sees their names): they are named back.
 */
async function installThroughApi(device: RemoteDevice, pkg: string, signatureFiles: string[], flags: { allowDowngrade?: boolean; transferFrom?: string }): Promise<InstallReport> {
  if (signatureFiles.length === 0) {
    throw new PackageError('BH_ERR_SIG_MISSING', `${pkg}: no signature found (looked for ${pkg}.minisig and ${pkg}.*.minisig; pass --signature)`);
  }
  const signatures = readSignatureFiles(signatureFiles);
  const named = (text: string) => signatureFiles.reduceRight((t, f, i) => t.split(`signature #${i + 1}`).join(f), text);
  const query = new URLSearchParams();
  if (flags.allowDowngrade) query.set('allowDowngrade', 'true');
  if (flags.transferFrom !== undefined) query.set('transferFrom', flags.transferFrom);
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'bulkhead-signature': signatures.map((s) => Buffer.from(s.text).toString('base64')).join(','),
  };
  // Header values are Latin-1: a name that is not plain ASCII is left out ("the uploaded package").
  if (/^[\x20-\x7e]+$/.test(pkg)) headers['bulkhead-package-name'] = pkg;
  try {
    const r = await device.call<InstallReport>(`/v1/packages${query.size ? `?${query}` : ''}`, {
      method: 'POST', stream: fs.createReadStream(pkg), length: fs.statSync(pkg).size, headers, timeoutMs: 300_000,
    });
    return { ...r, ignoredSignatures: r.ignoredSignatures.map((i) => ({ ...i, signatureFile: named(i.signatureFile), reason: named(i.reason) })) };
  } catch (err) {
    if (err instanceof CliError) throw new CliError(named(err.message), err.exitCode, err.code);
    throw err;
  }
}
