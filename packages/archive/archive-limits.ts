// What an archive may contain before we even look at its files. Defaults suit an edge gateway;
// operators can tighten or widen them in the device policy.
export interface ArchiveLimits {
  /** Sum of all entries' sizes once unpacked. */
  maxUnpackedBytes: number;
  maxEntries: number;
  /** Unpacked/packed ratio above which an archive is treated as a decompression bomb. */
  maxCompressionRatio: number;
  /** Size of the archive file itself. */
  maxPackedBytes: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  maxUnpackedBytes: 2 * 1024 ** 3,
  maxEntries: 10_000,
  maxCompressionRatio: 200,
  maxPackedBytes: 2 * 1024 ** 3,
};

export class ArchiveError extends Error {
  /** `limit`: a configured size/entry/ratio limit was exceeded, rather than an unsafe entry. */
  constructor(message: string, readonly limit = false) {
    super(message);
  }
}
