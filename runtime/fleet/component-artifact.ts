// Where a deployment component's bytes come from: `repository: oci://REGISTRY/REPO` + `revision`
// (the OCI tag). The artifact there must be one of our signed package artifacts (the whole .bhpkg
// as a layer, detached signatures as referrers), pulled with the same transport as `bulkhead pull`
// and then verified and installed by the same installer as `bulkhead install`. Anything else is
// refused: there is no unsigned path onto the device.
import { isLoopbackRegistry, parseReference, ReferenceError, type OciReference } from '../../packages/oci/oci-reference.js';
import { BULKHEAD_PACKAGE_LAYER, MARGO_APP_ARTIFACT, MARGO_COMPOSE_ARTIFACT, OCI_MANIFEST, type ImageManifest } from '../../packages/oci/media-types.js';
import { pullPackage, type PullResult } from '../../packages/oci/package-transport.js';
import { RegistryClient, type RegistryOptions } from '../../packages/oci/registry-client.js';
import { findCredentials } from '../../packages/oci/registry-credentials.js';
import { PackageError } from '../../packages/package-errors.js';
import { quoteValue } from '../../packages/quote-value.js';
import { FleetApplyError } from './apply-errors.js';

/** How to reach a registry: plain HTTP for loopback ones (as the CLI defaults), TLS with the system CAs otherwise. */
export type RegistryOptionsFor = (registry: string) => RegistryOptions;

export const defaultRegistryOptions: RegistryOptionsFor = (registry) => ({
  plainHttp: isLoopbackRegistry(registry), credentials: findCredentials(registry), timeoutMs: 30_000,
});

export interface ComponentArtifact {
  reference: string;
  /** SHA-256 of the .bhpkg, as the OCI manifest names its layer (what the installer records after checking). */
  packageDigest: string;
  /** Downloads the package and its signatures into `dir` (digests checked on the way). */
  pull(dir: string): Promise<PullResult>;
  close(): Promise<void>;
}

/** A component's repository + revision as an OCI reference; the revision is the tag (Margo's `_` for build metadata is tag-safe). */
export function componentReference(repository: string, revision: string, field: string): OciReference {
  let ref: OciReference;
  try {
    ref = parseReference(repository);
  } catch (err) {
    if (err instanceof ReferenceError) throw new FleetApplyError('BH_ERR_FLEET_INVALID', `${field}.repository: ${err.message}`);
    throw err;
  }
  if (ref.tag || ref.digest) throw new FleetApplyError('BH_ERR_FLEET_INVALID', `${field}.repository: ${quoteValue(repository)} names a tag or digest; the version goes in revision`);
  return { ...ref, tag: revision };
}

/** Finds the artifact and says what it is, without downloading its layers. */
export async function openComponentArtifact(ref: OciReference, registryOptions: RegistryOptionsFor): Promise<ComponentArtifact> {
  const reference = `${ref.registry}/${ref.repository}:${ref.tag}`;
  const client = new RegistryClient(ref.registry, registryOptions(ref.registry));
  try {
    const got = await client.getManifest(ref.repository, ref.tag!, [OCI_MANIFEST]);
    if (!got) throw new PackageError('BH_ERR_OCI', `${reference} not found in the registry`);
    const manifest = got.manifest as ImageManifest;
    if (manifest.artifactType === MARGO_COMPOSE_ARTIFACT) {
      throw new FleetApplyError('BH_ERR_FLEET_UNSUPPORTED', `${reference} is a bare Margo Compose component artifact; this device installs only signed packages (push the package with bulkhead push and point the deployment at it)`);
    }
    const layer = manifest.artifactType === MARGO_APP_ARTIFACT ? manifest.layers?.find((l) => l.mediaType === BULKHEAD_PACKAGE_LAYER) : undefined;
    if (!layer || !/^sha256:[0-9a-f]{64}$/.test(layer.digest)) {
      throw new FleetApplyError('BH_ERR_FLEET_UNSUPPORTED', `${reference} is not a signed Bulkhead package artifact (artifactType ${quoteValue(manifest.artifactType ?? got.mediaType)}, no ${BULKHEAD_PACKAGE_LAYER} layer)`);
    }
    return {
      reference, packageDigest: layer.digest,
      // Pinned to the manifest digest just read: a tag moved in between cannot swap the package.
      pull: (dir) => pullPackage(client, { ...ref, tag: undefined, digest: got.digest }, dir),
      close: () => client.close(),
    };
  } catch (err) {
    await client.close();
    throw err;
  }
}
