// Stable error codes of the package area. Every code is documented in packages/README.md (a test
// checks both directions), so operators and scripts can rely on them.
export const PackageErrorCode = {
  BH_ERR_PKG_UNREADABLE: 'the package or signature file cannot be read',
  BH_ERR_PKG_TOO_LARGE: 'the package file is over the configured size limit',
  BH_ERR_SIG_MISSING: 'no signature was found for the package',
  BH_ERR_SIG_MALFORMED: 'a signature or key file is not in minisign format',
  BH_ERR_SIG_UNKNOWN_KEY: 'a signature was made with a key that is not in the trust store',
  BH_ERR_SIG_REVOKED_KEY: 'a signature was made with a key that has been revoked',
  BH_ERR_SIG_INVALID: 'a signature does not match the package bytes or its trusted comment',
  BH_ERR_SIG_BINDING: "the signed trusted comment names another package id, version or digest",
  BH_ERR_SIG_POLICY: 'the valid signatures do not satisfy the device signature policy',
  BH_ERR_SIG_WRONG_VENDOR: "no valid signature is from the vendor named in the package's margo.yaml",
  BH_ERR_ARCHIVE_UNSAFE: 'an archive entry is unsafe (absolute path, "..", a link leading outside even through other links, an entry beneath a link, device file, duplicate)',
  BH_ERR_ARCHIVE_LIMIT: 'the archive breaks a size, entry-count or compression-ratio limit',
  BH_ERR_MANIFEST_INVALID: 'margo.yaml is missing or does not validate against the published schema',
  BH_ERR_MANIFEST_LIMIT: 'margo.yaml is over the size or YAML node-count limit (manifest: in the device policy) and was not parsed',
  BH_ERR_MANIFEST_FILE_MISSING: 'margo.yaml refers to a file that is not in the package',
  BH_ERR_COMPOSE_ARCHIVE: 'a Compose archive breaks Margo\'s layout rules (one top-level folder named after the component, with compose.yaml)',
  BH_ERR_COMPONENT: 'a WebAssembly component cannot be prepared (not a valid component, or it imports interfaces the device does not provide)',
  BH_ERR_APP_OWNED: 'the app id belongs to another vendor (the first to install it); only install --transfer-from naming that vendor hands it over',
  BH_ERR_ROLLBACK: 'the package version is not newer than the installed one',
  BH_ERR_TRUST_INPUT: 'a trust store command got bad input (unknown key, revoked key re-added, bad role)',
  BH_ERR_WASM_SIGNATURE: 'an embedded WebAssembly signature is missing, malformed or does not verify',
  BH_ERR_OCI: 'an OCI registry operation failed (unreachable, refused, not found, digest mismatch)',
} as const;

export type PackageErrorCodeName = keyof typeof PackageErrorCode;

export class PackageError extends Error {
  constructor(readonly code: PackageErrorCodeName, message: string) {
    super(message);
  }
}
