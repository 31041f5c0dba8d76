// POST /v1/packages: the body (a .bhpkg, application/octet-stream) is streamed into a private spool
// file under <data-dir>/spool (0700) while a meter enforces the quota, never buffered whole; the
// signatures travel in `Bulkhead-Signature` headers (base64 of each .minisig file). Only a complete
// upload reaches the installer, the same installPackage + component preparation `bulkhead install`
// runs, so an upload cut off half way, or a daemon killed during one, leaves at most a spool file
// (removed at the next start) and never a partial package.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { installPackage, type InstallResult } from '../../packages/install/package-installer.js';
import type { InstalledPackages } from '../../packages/install/installed-packages.js';
import type { TrustStore } from '../../packages/trust/trust-store.js';
import { preparePackageComponents } from '../apps/prepare-package-components.js';
import { loadDevicePolicy } from '../state/device-policy.js';
import { ApiError } from './api-errors.js';

export const MAX_SIGNATURES = 8;
const MAX_SIGNATURE_BYTES = 4096;

export const spoolDir = (dataDir: string) => path.join(dataDir, 'spool');

/** Removes what uploads interrupted by a crash left behind. */
export function clearSpool(dataDir: string): void {
  fs.rmSync(spoolDir(dataDir), { recursive: true, force: true });
  fs.mkdirSync(spoolDir(dataDir), { recursive: true, mode: 0o700 });
}

/** The `Bulkhead-Signature` header values, decoded: each one .minisig file's text. */
export function signaturesFromHeader(header: string | string[] | undefined): string[] {
  const values = (Array.isArray(header) ? header : header ? [header] : []).flatMap((h) => h.split(',')).map((s) => s.trim()).filter(Boolean);
  if (values.length === 0) throw new ApiError(400, 'BH_ERR_SIG_MISSING', 'no Bulkhead-Signature header: send each .minisig file base64-encoded in one', 'headers.bulkhead-signature');
  if (values.length > MAX_SIGNATURES) throw new ApiError(400, 'BH_ERR_API_BAD_REQUEST', `${values.length} signatures, at most ${MAX_SIGNATURES} are accepted`, 'headers.bulkhead-signature');
  return values.map((v, i) => {
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(v) || v.length > (MAX_SIGNATURE_BYTES * 4) / 3 + 4) {
      throw new ApiError(400, 'BH_ERR_SIG_MALFORMED', `Bulkhead-Signature #${i + 1} is not base64 of a minisign signature (at most ${MAX_SIGNATURE_BYTES} bytes)`, 'headers.bulkhead-signature');
    }
    return Buffer.from(v, 'base64').toString('utf8');
  });
}

/** Copies `body` into a new spool file, refusing past `quota` bytes; removes the file on any failure. */
export async function spoolUpload(body: Readable, dataDir: string, quota: number, declaredLength: number | undefined): Promise<string> {
  if (declaredLength !== undefined && declaredLength > quota) {
    throw new ApiError(413, 'BH_ERR_API_TOO_LARGE', `the package is ${declaredLength} bytes, over the upload quota of ${quota} (policy archive.maxPackedBytes)`);
  }
  fs.mkdirSync(spoolDir(dataDir), { recursive: true, mode: 0o700 });
  const file = path.join(spoolDir(dataDir), `upload-${randomBytes(8).toString('hex')}.bhpkg`);
  let received = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      received += chunk.length;
      if (received > quota) done(new ApiError(413, 'BH_ERR_API_TOO_LARGE', `the upload passed the quota of ${quota} bytes (policy archive.maxPackedBytes)`));
      else done(null, chunk);
    },
  });
  let complete = false;
  body.once('end', () => { complete = true; });
  // Opened here, synchronously: a stream that opened the file itself could still be opening it when
  // a failed pipeline's cleanup below runs, and the spool file would appear after its removal.
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    await pipeline(body, meter, fs.createWriteStream(file, { fd }));
    if (!complete || (declaredLength !== undefined && received !== declaredLength)) {
      throw new ApiError(400, 'BH_ERR_API_INCOMPLETE', `the upload ended after ${received} of ${declaredLength ?? '?'} bytes; nothing was installed`);
    }
    return file;
  } catch (err) {
    fs.rmSync(file, { force: true });
    if (err instanceof ApiError) throw err;
    throw new ApiError(400, 'BH_ERR_API_INCOMPLETE', `the upload broke off after ${received} bytes (${(err as Error).message}); nothing was installed`);
  }
}

export interface DeviceInstaller { dataDir: string; installed: InstalledPackages; trust: TrustStore }
export interface UploadTimings { verifySeconds?: number }

/**
 * Installs a spooled package with its signatures exactly as `bulkhead install` does (same verifier,
 * signature policy, archive limits, monotonicity check and component preparation). Installs run
 * one at a time.
 */
export class PackageUploads {
  #queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly device: DeviceInstaller) {}

  quota(): number {
    return loadDevicePolicy(this.device.dataDir).archive.maxPackedBytes;
  }

  install(spooled: string, signatures: string[], options: { allowDowngrade: boolean; transferFrom?: string; packageName?: string; actsFor?: (vendor: string) => void }, timings: UploadTimings): Promise<InstallResult> {
    const run = async () => {
      const sigFiles = signatures.map((text, i) => {
        const f = `${spooled}.${i}.minisig`;
        fs.writeFileSync(f, text, { flag: 'wx', mode: 0o600 });
        return f;
      });
      const policy = loadDevicePolicy(this.device.dataDir);
      const t0 = performance.now();
      // The spool names are the daemon's business: a client knows its signatures by their order and
      // its package by the name it gave (Bulkhead-Package-Name, used in messages only).
      const named = (text: string) => sigFiles.reduce((t, f, i) => t.split(f).join(`signature #${i + 1}`), text)
        .split(spooled).join(options.packageName ?? 'the uploaded package');
      try {
        const r = await installPackage(spooled, {
          dataDir: this.device.dataDir, installed: this.device.installed, trust: this.device.trust, policy: policy.signatures,
          limits: policy.archive, manifestLimits: policy.manifest, allowDowngrade: options.allowDowngrade, transferFrom: options.transferFrom, signatureFiles: sigFiles,
          beforeCommit: async (verified, staged) => {
            timings.verifySeconds = (performance.now() - t0) / 1000;
            options.actsFor?.(verified.vendor);
            await preparePackageComponents(verified.manifest, staged, this.device.dataDir);
          },
        });
        const ignoredSignatures = r.verified.ignoredSignatures.map((i) => ({ ...i, signatureFile: named(i.signatureFile), reason: named(i.reason) }));
        return { ...r, verified: { ...r.verified, ignoredSignatures } };
      } catch (err) {
        if (err instanceof Error) err.message = named(err.message);
        throw err;
      } finally {
        timings.verifySeconds ??= (performance.now() - t0) / 1000;
        for (const f of [spooled, ...sigFiles]) fs.rmSync(f, { force: true });
      }
    };
    const result = this.#queue.then(run, run);
    this.#queue = result.catch(() => {});
    return result;
  }
}
