// How large a margo.yaml may be before we parse it. A manifest is read from unverified input too
// (`inspect`, and before the contents are trusted during install), so its cost must be bounded
// before parsing: issue 12 measured a 60k-key manifest hanging install and inspect past 120 s and a
// 50 MB one reaching 1.25 GB RSS. Operators can change both in the device policy (`manifest:`).
export interface ManifestLimits {
  /** Bytes of margo.yaml. A real description is a few KiB. */
  maxBytes: number;
  /** YAML nodes (scalars, aliases, collection items) counted by the lexer before anything is composed. */
  maxNodes: number;
}

export const DEFAULT_MANIFEST_LIMITS: ManifestLimits = { maxBytes: 256 * 1024, maxNodes: 10_000 };
