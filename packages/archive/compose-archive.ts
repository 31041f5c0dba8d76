// Margo's Compose Archive rules: a gzip'd tar with exactly one top-level folder, named after the
// component, holding compose.yaml and everything it references by relative path. The entry-level
// rules (no absolute paths, no "..", no links out, no devices) are those of every archive we read.
import { ArchiveError, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './archive-limits.js';
import { inspectArchive, type ArchiveEntry } from './safe-archive.js';
import { quoteValue } from '../quote-value.js';

export function checkComposeArchive(file: string, component: string, where: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS): ArchiveEntry[] {
  const entries = inspectArchive(file, limits, where);
  const tops = new Set(entries.map((e) => e.path.split('/')[0]!));
  if (tops.size !== 1 || !tops.has(component)) {
    throw new ArchiveError(`${where}: a Compose archive must hold exactly one top-level folder named ${quoteValue(component)} (found: ${[...tops].join(', ') || 'nothing'})`);
  }
  if (!entries.some((e) => e.type === 'file' && e.path === `${component}/compose.yaml`)) {
    throw new ArchiveError(`${where}: no ${component}/compose.yaml`);
  }
  return entries;
}
