// Which engine images a vendor may run, each pinned by image ID.
//
// Engine image names are shared by every vendor, so a name in a Compose file is never handed to
// the engine: it is resolved here, per vendor, to an image ID, and the container is created from
// that ID. A vendor may run
//  - the images it loaded itself (image archives of its packages, or given to `compose up
//    --image-archive` for it): recorded at load in the data dir (vendor-images/<vendor dir>.json,
//    holding the exact VendorId), under the names the archive claimed, with the ID loaded;
//  - the images the operator allows it by name (policy.yaml `vendors.<name>.images`), resolved
//    by the engine at `up`: only the operator names images in the engine, since archives are
//    loaded without their names (image-archives.ts).
// Anything else is refused, whatever the engine holds under that name. Each vendor's loaded images
// count against its `imageStorage` (default 1 GiB) and lose the vendor's name on `down` when no
// container of the vendor uses them (the engine deletes an image when nobody names it any more).
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import type { VendorId } from '../../packages/trust/vendor-id.js';
import { vendorDirName, vendorImageName } from '../state/vendor-names.js';
import type { EnforcedService, Violation } from './container-policy.js';
import { LABEL } from './container-spec.js';
import { ImageArchiveError, loadImageArchive } from './image-archives.js';
import { quoteValue } from '../../packages/quote-value.js';

export interface LoadedImage { id: string; engineName: string; bytes: number }
interface VendorImageRecord { vendor: VendorId; images: Record<string, LoadedImage> }

/**
 * The canonical form of an image reference, as Docker reads one: a registry host when the first
 * component looks like one (else docker.io, plus library/ for a single name), and `:latest` when
 * neither tag nor digest is given. Both the archive's names and the Compose file's are compared so.
 */
export function canonicalImageName(reference: string): string {
  let ref = reference.trim();
  const first = ref.split('/')[0]!;
  if (!ref.includes('/') || (!first.includes('.') && !first.includes(':') && first !== 'localhost')) {
    ref = `docker.io/${ref.includes('/') ? '' : 'library/'}${ref}`;
  }
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  if (!last.includes(':') && !last.includes('@')) ref += ':latest';
  return ref;
}

function recordFile(dataDir: string, vendor: VendorId): string {
  return path.join(dataDir, 'vendor-images', `${vendorDirName(vendor)}.json`);
}

export function readVendorImages(dataDir: string, vendor: VendorId): Record<string, LoadedImage> {
  let record: VendorImageRecord;
  try {
    record = JSON.parse(fs.readFileSync(recordFile(dataDir, vendor), 'utf8')) as VendorImageRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw err;
  }
  // The file name is derived from the vendor; the exact identity inside decides.
  return record.vendor === vendor ? record.images : {};
}

function writeVendorImages(dataDir: string, vendor: VendorId, images: Record<string, LoadedImage>): void {
  const file = recordFile(dataDir, vendor);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify({ vendor, images } satisfies VendorImageRecord, null, 1), { mode: 0o600 });
  fs.renameSync(tmp, file);
}

/** Removes an image by ID only when no name is left on it: every vendor's record entry holds a name. */
async function removeIfNameless(docker: Docker, id: string): Promise<void> {
  try {
    const info = await docker.getImage(id).inspect();
    if ((info.RepoTags ?? []).length === 0) await docker.getImage(id).remove();
  } catch { /* gone, or a container still uses it */ }
}

/**
 * Loads an image archive for `vendor`: by ID only, each image named by the bridge and recorded for
 * the vendor under the names it claimed. Refused (and what it loaded removed again) when the
 * vendor's loaded images would exceed `storageBytes`.
 */
export async function loadVendorImageArchive(
  docker: Docker, dataDir: string, vendor: VendorId, file: string, storageBytes: number, onProgress?: (done: number, total: number) => void,
): Promise<string[]> {
  const images = await loadImageArchive(docker, file, onProgress, storageBytes);
  const record = readVendorImages(dataDir, vendor);
  const replaced: string[] = [];
  const loadedNames: string[] = [];
  for (const image of images) {
    const bytes = (await docker.getImage(image.id).inspect()).Size ?? 0;
    // An image claiming no name can be named by no Compose file; it is kept under its ID.
    for (const claimed of image.names.length ? image.names.map(canonicalImageName) : [image.id]) {
      const engineName = vendorImageName(vendor, claimed);
      const colon = engineName.lastIndexOf(':');
      await docker.getImage(image.id).tag({ repo: engineName.slice(0, colon), tag: engineName.slice(colon + 1) });
      if (record[claimed] && record[claimed]!.id !== image.id) replaced.push(record[claimed]!.id);
      record[claimed] = { id: image.id, engineName, bytes };
      loadedNames.push(claimed);
    }
  }
  const total = new Map(Object.values(record).map((i) => [i.id, i.bytes]));
  const used = [...total.values()].reduce((a, b) => a + b, 0);
  if (used > storageBytes) {
    // Over the quota: what this archive added is named no more (and so deleted by the engine).
    const before = readVendorImages(dataDir, vendor);
    for (const name of loadedNames) {
      if (before[name]?.engineName === record[name]!.engineName && before[name]!.id !== record[name]!.id) {
        const colon = before[name]!.engineName.lastIndexOf(':');
        await docker.getImage(before[name]!.id).tag({ repo: before[name]!.engineName.slice(0, colon), tag: before[name]!.engineName.slice(colon + 1) });
      } else if (!before[name]) {
        await docker.getImage(record[name]!.engineName).remove().catch(() => undefined);
      }
    }
    for (const image of images) await removeIfNameless(docker, image.id);
    throw new ImageArchiveError(`${file}: ${vendor}'s images would take ${mib(used)} MiB of engine storage, over its imageStorage of ${mib(storageBytes)} MiB; raise vendors.${vendor}.imageStorage in policy.yaml or ship smaller images`);
  }
  writeVendorImages(dataDir, vendor, record);
  for (const id of replaced) await removeIfNameless(docker, id);
  return loadedNames;
}

const mib = (bytes: number) => Math.ceil(bytes / 1024 / 1024);

/**
 * Each service's image resolved to an image ID for `vendor`: its own loaded image of that name,
 * else an image the operator allows it, else a violation naming both ways to make it runnable.
 */
export async function resolveVendorImages(
  docker: Docker, dataDir: string, vendor: VendorId, allowed: readonly string[], services: EnforcedService[],
): Promise<{ services: EnforcedService[]; violations: Violation[] }> {
  const own = readVendorImages(dataDir, vendor);
  const allowedNames = new Set(allowed.map(canonicalImageName));
  const violations: Violation[] = [];
  const resolved: EnforcedService[] = [];
  for (const service of services) {
    const name = canonicalImageName(service.image);
    const [repo, digest] = name.split('@') as [string, string | undefined];
    const mine = digest ? Object.entries(own).find(([n, i]) => n.startsWith(`${repo}:`) && i.id === digest)?.[1] : own[name];
    let id: string | undefined;
    if (mine) {
      id = mine.id;
      const present = await docker.getImage(id).inspect().then(() => true, () => false);
      if (!present) {
        violations.push({ service: service.name, rule: 'image', message: `services.${service.name}: image ${quoteValue(service.image)} that ${vendor} loaded (${id.slice(7, 19)}) is no longer in the engine; load its image archive again (compose up --app, or --image-archive)` });
        continue;
      }
    } else if (allowedNames.has(name) || (digest && allowedNames.has(repo))) {
      id = await docker.getImage(service.image).inspect().then((i) => i.Id, () => undefined);
      if (!id) {
        violations.push({ service: service.name, rule: 'image', message: `services.${service.name}: image ${quoteValue(service.image)} is allowed by the operator but not in the engine; pull or load it first` });
        continue;
      }
    } else {
      violations.push({ service: service.name, rule: 'image', message: `services.${service.name}: image ${quoteValue(service.image)} was not loaded by ${vendor} nor allowed for it; ship it as an image archive in the vendor's package, or allow it in policy.yaml (vendors.${vendor}.images)` });
      continue;
    }
    resolved.push({ ...service, image: id });
  }
  return { services: violations.length ? [] : resolved, violations };
}

/**
 * After `down`: the vendor's loaded images no container of the vendor uses lose the vendor's
 * name and leave its record; the engine deletes each one nobody else names.
 */
export async function releaseUnusedVendorImages(docker: Docker, dataDir: string, vendor: VendorId): Promise<string[]> {
  const record = readVendorImages(dataDir, vendor);
  const containers = await docker.listContainers({ all: true, filters: { label: [`${LABEL.vendor}=${vendor}`] } });
  const inUse = new Set(containers.filter((c) => c.Labels[LABEL.vendor] === vendor).map((c) => c.ImageID.startsWith('sha256:') ? c.ImageID : `sha256:${c.ImageID}`));
  const released: string[] = [];
  for (const [name, image] of Object.entries(record)) {
    if (inUse.has(image.id)) continue;
    try {
      await docker.getImage(image.engineName).remove();
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode !== 404) continue; // another vendor's container uses it: kept for now
    }
    delete record[name];
    released.push(name);
  }
  if (released.length) writeVendorImages(dataDir, vendor, record);
  return released;
}
