// Media types for packages in OCI registries, as Margo specifies them (MARGO.md) plus ours.
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json';
export const EMPTY_JSON = Buffer.from('{}');

export const MARGO_APP_ARTIFACT = 'application/vnd.margo.app.v1+json';
export const MARGO_DESCRIPTION = 'application/vnd.margo.app.description.v1+yaml';
export const MARGO_COMPOSE_ARTIFACT = 'application/vnd.org.margo.component.compose+json';
export const MARGO_COMPOSE_LAYER = 'application/vnd.org.margo.component.compose.v1.tar+gzip';

/** The whole signed .bhpkg, so the detached signatures verify against exactly these bytes. */
export const BULKHEAD_PACKAGE_LAYER = 'application/vnd.bulkhead.package.v1.tar+gzip';
export const BULKHEAD_WASM_LAYER = 'application/vnd.bulkhead.wasm.v1+wasm';
export const BULKHEAD_SIGNATURE_ARTIFACT = 'application/vnd.bulkhead.signature.minisign.v1';
export const BULKHEAD_SIGNATURE_LAYER = 'application/vnd.bulkhead.signature.minisign.v1+text';

export const TITLE = 'org.opencontainers.image.title';

/** application/vnd.margo.app.{kind}.v1+{format} for the resources Margo names. */
export function margoResourceType(kind: 'icon' | 'descriptionFile' | 'licenseFile' | 'releaseNotes', file: string): string {
  const ext = file.includes('.') ? file.slice(file.lastIndexOf('.') + 1).toLowerCase() : 'octet-stream';
  const format = ext === 'md' ? 'markdown' : ext === 'txt' ? 'plain' : ext === 'svg' ? 'svg+xml' : ext;
  return `application/vnd.margo.app.${kind}.v1+${format}`;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ImageManifest {
  schemaVersion: 2;
  mediaType: typeof OCI_MANIFEST;
  artifactType?: string;
  config: Descriptor;
  layers: Descriptor[];
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

export interface ImageIndex {
  schemaVersion: 2;
  mediaType: typeof OCI_INDEX;
  manifests: Descriptor[];
}
