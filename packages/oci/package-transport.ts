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
import { copyToPrivateFile } from '../archive/private-copy.js';
import { sha256File } from '../signing/file-digest.js';
import { MAX_SIGNATURE_BYTES, readSignatureFiles } from '../signing/package-signature.js';
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

/** The signature layer digests already attached to `subject`, each with its referrer's descriptor. */
async function existingSignatures(client: RegistryClient, repo: string, subject: string): Promise<Map<string, Descriptor>> {
  const { index } = await client.referrers(repo, subject);
  const out = new Map<string, Descriptor>();
  for (const d of index.manifests.filter((m) => m.artifactType === BULKHEAD_SIGNATURE_ARTIFACT)) {
    const got = await client.getManifest(repo, d.digest, [OCI_MANIFEST]);
    const layer = (got?.manifest as ImageManifest | undefined)?.layers?.find((l) => l.mediaType === BULKHEAD_SIGNATURE_LAYER);
    if (layer && !out.has(layer.digest)) out.set(layer.digest, d);
  }
  return out;
}

export async function pushPackage(client: RegistryClient, pkgFile: string, ref: OciReference, signatureFiles: string[], onStep?: (msg: string) => void): Promise<PushResult> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-push-'));
  try {
    // What is listed, read and uploaded is one private copy of the package and of each signature.
    const copy = await copyToPrivateFile(pkgFile, path.join(work, 'package.bhpkg'), DEFAULT_ARCHIVE_LIMITS.maxPackedBytes);
    const signatures = readSignatureFiles(signatureFiles);
    const contentDir = path.join(work, 'content');
    const entries = inspectArchive(copy.file, DEFAULT_ARCHIVE_LIMITS, path.basename(pkgFile));
    extractArchive(copy.file, contentDir, entries);
    const app = parseApplicationDescription(fs.readFileSync(path.join(contentDir, 'margo.yaml'), 'utf8'), `${pkgFile}:margo.yaml`);
    const tag = app.metadata.version;
    if (ref.tag && ref.tag !== tag) throw new PackageError('BH_ERR_OCI', `tag ${quoteValue(ref.tag)} differs from metadata.version ${tag}; Margo requires them to be equal (omit the tag)`);
    if (ref.digest) throw new PackageError('BH_ERR_OCI', 'push to a tag, not a digest');
    await client.ping();
    const repo = ref.repository;
    await client.pushBlob(repo, EMPTY_CONFIG.digest, EMPTY_CONFIG.size, () => EMPTY_JSON);

    onStep?.('uploading layers');
    const layers: Descriptor[] = [await pushFile(client, repo, path.join(contentDir, 'margo.yaml'), MARGO_DESCRIPTION, 'margo.yaml')];
    const catalog = app.metadata.catalog.application ?? {};
    for (const kind of ['icon', 'descriptionFile', 'releaseNotes', 'licenseFile'] as const) {
      const rel = catalog[kind];
      if (typeof rel === 'string') layers.push(await pushFile(client, repo, path.join(contentDir, rel), margoResourceType(kind, rel), rel));
    }
    for (const profile of app.deploymentProfiles.filter((p) => p.type === WASM_PROFILE_TYPE)) {
      for (const c of profile.components) {
        const rel = (c.properties as { module: string }).module;
        layers.push(await pushFile(client, repo, path.join(contentDir, rel), BULKHEAD_WASM_LAYER, rel));
      }
    }
    await client.pushBlob(repo, copy.sha256, copy.size, () => fs.createReadStream(copy.file));
    layers.push({ mediaType: BULKHEAD_PACKAGE_LAYER, digest: copy.sha256, size: copy.size, annotations: { [TITLE]: path.basename(pkgFile) } });

    const composeArtifacts = await pushComposeArtifacts(client, app, contentDir, repo, tag);

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

    // A signature already attached (same bytes) is not attached again: re-pushing used to add a
    // referrer per push (issue 12). Identity is the signature blob's digest.
    const attached = await existingSignatures(client, repo, stored.digest);
    const pushed: string[] = [];
    let referrersApi = stored.subjectSupported;
    for (const sig of signatures) {
      const bytes = Buffer.from(sig.text, 'utf8');
      const digest = sha256(bytes);
      const already = attached.get(digest);
      if (already) {
        onStep?.(`signature ${path.basename(sig.name)} is already attached`);
        pushed.push(already.digest);
        continue;
      }
      onStep?.(`attaching signature ${path.basename(sig.name)}`);
      await client.pushBlob(repo, digest, bytes.length, () => bytes);
      const layer: Descriptor = { mediaType: BULKHEAD_SIGNATURE_LAYER, digest, size: bytes.length, annotations: { [TITLE]: path.basename(sig.name) } };
      const sigManifest: ImageManifest = {
        schemaVersion: 2, mediaType: OCI_MANIFEST, artifactType: BULKHEAD_SIGNATURE_ARTIFACT, config: EMPTY_CONFIG,
        layers: [layer], subject, annotations: { 'org.opencontainers.image.created': new Date().toISOString() },
      };
      const sigStored = await client.putManifest(repo, sha256(Buffer.from(JSON.stringify(sigManifest))), sigManifest);
      referrersApi = referrersApi || sigStored.subjectSupported;
      const entry: Descriptor = { mediaType: OCI_MANIFEST, digest: sigStored.digest, size: sigStored.size, artifactType: BULKHEAD_SIGNATURE_ARTIFACT, annotations: sigManifest.annotations };
      if (!sigStored.subjectSupported) {
        // Registry without the referrers API: maintain the tag-schema index ourselves.
        const { index } = await client.referrers(repo, stored.digest);
        const updated: ImageIndex = { schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...index.manifests.filter((m) => m.digest !== entry.digest), entry] };
        await client.putManifest(repo, referrersTag(stored.digest), updated);
      }
      attached.set(digest, entry);
      pushed.push(sigStored.digest);
    }
    const signaturesOut = [...new Set(pushed)];
    return { reference: `${client.registry}/${repo}:${tag}`, digest: stored.digest, packageDigest: copy.sha256, tag, layers: layers.length, signatures: signaturesOut, composeArtifacts, referrersApi };
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

/**
 * Downloads a package and its signatures; every blob's digest is checked as it is written. All of
 * it lands in a private directory beside the output first and is renamed into place only when
 * everything arrived intact, so a failed pull (a tampered signature blob, say) leaves nothing.
 */
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
  // mkdtemp: mode 0700 and a fresh name, so nobody else can write or swap what we download.
  const temp = fs.mkdtempSync(path.join(outDir, '.bulkhead-pull-'));
  try {
    onStep?.(`downloading ${name} (${layer.size} bytes)`);
    await client.pullBlob(ref.repository, layer, path.join(temp, name), DEFAULT_ARCHIVE_LIMITS.maxPackedBytes);

    const { index, viaApi } = await client.referrers(ref.repository, got.digest);
    const signatureNames: string[] = [];
    const seen = new Set<string>();
    for (const d of index.manifests.filter((m) => m.artifactType === BULKHEAD_SIGNATURE_ARTIFACT)) {
      const sig = await client.getManifest(ref.repository, d.digest, [OCI_MANIFEST]);
      const sigLayer = (sig?.manifest as ImageManifest | undefined)?.layers?.find((l) => l.mediaType === BULKHEAD_SIGNATURE_LAYER);
      if (!sigLayer || sigLayer.size > MAX_SIGNATURE_BYTES || seen.has(sigLayer.digest)) continue; // duplicates of older pushes count once
      seen.add(sigLayer.digest);
      const file = signatureNames.length === 0 ? `${name}.minisig` : `${name}.${signatureNames.length}.minisig`;
      await client.pullBlob(ref.repository, sigLayer, path.join(temp, file), MAX_SIGNATURE_BYTES);
      signatureNames.push(file);
    }
    // Everything arrived intact: put it in place, and drop signature files an earlier pull of this
    // package left that this one did not bring (they would otherwise be read as its signatures).
    const ours = new RegExp(`^${name.replace(/[.]/g, '\\.')}(\\.\\d+)?\\.minisig$`);
    for (const stale of fs.readdirSync(outDir).filter((n) => ours.test(n) && !signatureNames.includes(n))) fs.rmSync(path.join(outDir, stale), { force: true });
    for (const n of [name, ...signatureNames]) fs.renameSync(path.join(temp, n), path.join(outDir, n));
    return { packageFile: path.join(outDir, name), signatureFiles: signatureNames.map((n) => path.join(outDir, n)), digest: got.digest, packageDigest: layer.digest, referrersApi: viaApi };
  } finally {
    fs.rmSync(temp, { recursive: true, force: true });
  }
}
