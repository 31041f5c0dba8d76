// Moving packages through OCI registries the Margo way: one artifact per package version
// (artifactType application/vnd.margo.app.v1+json, empty config, margo.yaml and resources as
// typed layers, tag = metadata.version), Compose archives as their own artifacts, our wasm modules
// and the whole signed .bhpkg as further layers, and each detached signature as a referrer.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_ARCHIVE_LIMITS } from '../archive/archive-limits.js';
import { extractArchive, inspectArchive } from '../archive/safe-archive.js';
import { parseApplicationDescription, vendorOf, WASM_PROFILE_TYPE, type ApplicationDescription } from '../manifest/application-description.js';
import { PackageError } from '../package-errors.js';
import { sha256File } from '../signing/file-digest.js';
import {
  BULKHEAD_PACKAGE_LAYER, BULKHEAD_SIGNATURE_ARTIFACT, BULKHEAD_SIGNATURE_LAYER, BULKHEAD_WASM_LAYER, EMPTY_JSON,
  MARGO_APP_ARTIFACT, MARGO_COMPOSE_ARTIFACT, MARGO_COMPOSE_LAYER, MARGO_DESCRIPTION, margoResourceType, OCI_EMPTY,
  OCI_INDEX, OCI_MANIFEST, TITLE, type Descriptor, type ImageIndex, type ImageManifest,
} from './media-types.js';
import type { OciReference } from './oci-reference.js';
import { referrersTag, type RegistryClient } from './registry-client.js';
import { quoteValue } from '../quote-value.js';

const sha256 = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const EMPTY_CONFIG: Descriptor = { mediaType: OCI_EMPTY, digest: sha256(EMPTY_JSON), size: EMPTY_JSON.length };

/** `digest` is the OCI manifest's (what a registry reference pins); `packageDigest` the .bhpkg file's (what verify and install report). */
export interface PushResult { reference: string; digest: string; packageDigest: string; tag: string; layers: number; signatures: string[]; composeArtifacts: string[]; referrersApi: boolean }

async function pushFile(client: RegistryClient, repo: string, file: string, mediaType: string, title: string): Promise<Descriptor> {
  const { sha256: digest, size } = await sha256File(file);
  await client.pushBlob(repo, digest, size, () => fs.createReadStream(file));
  return { mediaType, digest, size, annotations: { [TITLE]: title } };
}

export async function pushPackage(client: RegistryClient, pkgFile: string, ref: OciReference, signatureFiles: string[], onStep?: (msg: string) => void): Promise<PushResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-push-'));
  try {
    const entries = inspectArchive(pkgFile, DEFAULT_ARCHIVE_LIMITS, path.basename(pkgFile));
    extractArchive(pkgFile, work, entries);
    const app = parseApplicationDescription(fs.readFileSync(path.join(work, 'margo.yaml'), 'utf8'), `${pkgFile}:margo.yaml`);
    const tag = app.metadata.version;
    if (ref.tag && ref.tag !== tag) throw new PackageError('BH_ERR_OCI', `tag ${quoteValue(ref.tag)} differs from metadata.version ${tag}; Margo requires them to be equal (omit the tag)`);
    if (ref.digest) throw new PackageError('BH_ERR_OCI', 'push to a tag, not a digest');
    await client.ping();
    const repo = ref.repository;
    await client.pushBlob(repo, EMPTY_CONFIG.digest, EMPTY_CONFIG.size, () => EMPTY_JSON);

    onStep?.('uploading layers');
    const layers: Descriptor[] = [await pushFile(client, repo, path.join(work, 'margo.yaml'), MARGO_DESCRIPTION, 'margo.yaml')];
    const catalog = app.metadata.catalog.application ?? {};
    for (const kind of ['icon', 'descriptionFile', 'releaseNotes', 'licenseFile'] as const) {
      const rel = catalog[kind];
      if (typeof rel === 'string') layers.push(await pushFile(client, repo, path.join(work, rel), margoResourceType(kind, rel), rel));
    }
    for (const profile of app.deploymentProfiles.filter((p) => p.type === WASM_PROFILE_TYPE)) {
      for (const c of profile.components) {
        const rel = (c.properties as { module: string }).module;
        layers.push(await pushFile(client, repo, path.join(work, rel), BULKHEAD_WASM_LAYER, rel));
      }
    }
    const packageLayer = await pushFile(client, repo, pkgFile, BULKHEAD_PACKAGE_LAYER, path.basename(pkgFile));
    layers.push(packageLayer);

    const composeArtifacts = await pushComposeArtifacts(client, app, work, repo, tag);

    const manifest: ImageManifest = {
      schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: MARGO_APP_ARTIFACT, config: EMPTY_CONFIG, layers,
      annotations: {
        'org.opencontainers.image.version': tag, 'org.opencontainers.image.vendor': vendorOf(app),
        'org.opencontainers.image.title': app.metadata.name, 'org.margo.app.id': app.metadata.id,
      },
    };
    onStep?.(`storing manifest ${repo}:${tag}`);
    const stored = await client.putManifest(repo, tag, manifest);
    const subject: Descriptor = { mediaType: OCI_MANIFEST, digest: stored.digest, size: stored.size };

    const signatures: string[] = [];
    let referrersApi = stored.subjectSupported;
    for (const sigFile of signatureFiles) {
      onStep?.(`attaching signature ${path.basename(sigFile)}`);
      const layer = await pushFile(client, repo, sigFile, BULKHEAD_SIGNATURE_LAYER, path.basename(sigFile));
      const sigManifest: ImageManifest = {
        schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: BULKHEAD_SIGNATURE_ARTIFACT, config: EMPTY_CONFIG,
        layers: [layer], subject, annotations: { 'org.opencontainers.image.created': new Date().toISOString() },
      };
      const sigStored = await client.putManifest(repo, sha256(Buffer.from(JSON.stringify(sigManifest))), sigManifest);
      referrersApi = referrersApi || sigStored.subjectSupported;
      if (!sigStored.subjectSupported) {
        // Registry without the referrers API: maintain the tag-schema index ourselves.
        const { index } = await client.referrers(repo, stored.digest);
        const entry: Descriptor = { mediaType: OCI_MANIFEST, digest: sigStored.digest, size: sigStored.size, artifactType: BULKHEAD_SIGNATURE_ARTIFACT, annotations: sigManifest.annotations };
        const updated: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...index.manifests.filter((m) => m.digest !== entry.digest), entry] };
        await client.putManifest(repo, referrersTag(stored.digest), updated);
      }
      signatures.push(sigStored.digest);
    }
    return { reference: `${client.registry}/${repo}:${tag}`, digest: stored.digest, packageDigest: packageLayer.digest, tag, layers: layers.length, signatures, composeArtifacts, referrersApi };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

async function pushComposeArtifacts(client: RegistryClient, app: ApplicationDescription, work: string, repo: string, tag: string): Promise<string[]> {
  const out: string[] = [];
  for (const profile of app.deploymentProfiles.filter((p) => p.type === 'compose')) {
    for (const c of profile.components) {
      const archive = (c.properties as { archive?: string } | undefined)?.archive;
      if (!archive) continue;
      const componentRepo = `${repo}/${c.name}`;
      await client.pushBlob(componentRepo, EMPTY_CONFIG.digest, EMPTY_CONFIG.size, () => EMPTY_JSON);
      const layer = await pushFile(client, componentRepo, path.join(work, archive), MARGO_COMPOSE_LAYER, path.basename(archive));
      await client.putManifest(componentRepo, tag, {
        schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: MARGO_COMPOSE_ARTIFACT, config: EMPTY_CONFIG, layers: [layer],
      });
      out.push(`${client.registry}/${componentRepo}:${tag}`);
    }
  }
  return out;
}

/** `digest` is the OCI manifest's; `packageDigest` the .bhpkg file's (checked while downloading). */
export interface PullResult { packageFile: string; signatureFiles: string[]; digest: string; packageDigest: string; referrersApi: boolean }

/** Downloads a package and its signatures; every blob's digest is checked before it is named. */
export async function pullPackage(client: RegistryClient, ref: OciReference, outDir: string, onStep?: (msg: string) => void): Promise<PullResult> {
  const reference = ref.digest ?? ref.tag;
  if (!reference) throw new PackageError('BH_ERR_OCI', 'pull needs a tag (the package version) or a digest');
  const got = await client.getManifest(ref.repository, reference, [OCI_MANIFEST]);
  if (!got) throw new PackageError('BH_ERR_OCI', `${client.registry}/${ref.repository}:${reference} not found`);
  const manifest = got.manifest as ImageManifest;
  if (manifest.artifactType !== MARGO_APP_ARTIFACT) {
    throw new PackageError('BH_ERR_OCI', `${ref.repository}:${reference} is not a Margo application package (artifactType ${manifest.artifactType ?? 'none'})`);
  }
  const layer = manifest.layers.find((l) => l.mediaType === BULKHEAD_PACKAGE_LAYER);
  if (!layer) throw new PackageError('BH_ERR_OCI', `${ref.repository}:${reference} has no ${BULKHEAD_PACKAGE_LAYER} layer (not pushed by bulkhead?)`);
  const name = path.basename(layer.annotations?.[TITLE] ?? `${ref.repository.replace(/\//g, '-')}-${reference}.bhpkg`);
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new PackageError('BH_ERR_OCI', `refusing layer title ${quoteValue(name)} as a file name`);
  fs.mkdirSync(outDir, { recursive: true });
  const packageFile = path.join(outDir, name);
  onStep?.(`downloading ${name} (${layer.size} bytes)`);
  await client.pullBlob(ref.repository, layer, packageFile, DEFAULT_ARCHIVE_LIMITS.maxPackedBytes);

  const { index, viaApi } = await client.referrers(ref.repository, got.digest);
  const signatureFiles: string[] = [];
  for (const [i, d] of index.manifests.filter((m) => m.artifactType === BULKHEAD_SIGNATURE_ARTIFACT).entries()) {
    const sig = await client.getManifest(ref.repository, d.digest, [OCI_MANIFEST]);
    const sigLayer = (sig?.manifest as ImageManifest | undefined)?.layers.find((l) => l.mediaType === BULKHEAD_SIGNATURE_LAYER);
    if (!sigLayer || sigLayer.size > 64 * 1024) continue;
    const file = path.join(outDir, i === 0 ? `${name}.minisig` : `${name}.${i}.minisig`);
    await client.pullBlob(ref.repository, sigLayer, file, 64 * 1024);
    signatureFiles.push(file);
  }
  return { packageFile, signatureFiles, digest: got.digest, packageDigest: layer.digest, referrersApi: viaApi };
}
