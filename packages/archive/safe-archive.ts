// Reading untrusted tar.gz archives: list and check every entry before a byte is extracted, then
// extract only what was checked. Refuses absolute paths, "..", links leading outside, device files,
// duplicates, and archives over the size/entry limits or with a bomb-like compression ratio.
import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { ArchiveError, DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from './archive-limits.js';
import { quoteValue } from '../quote-value.js';

export interface ArchiveEntry {
  path: string;
  type: 'file' | 'directory' | 'symlink' | 'hardlink';
  size: number;
  mode: number;
  linkTarget?: string;
}

const TYPES: Record<string, ArchiveEntry['type']> = {
  File: 'file', OldFile: 'file', ContiguousFile: 'file', Directory: 'directory',
  SymbolicLink: 'symlink', Link: 'hardlink',
};

/** Normalises an entry path; throws if it is absolute, has "..", or is otherwise unsafe. */
export function checkEntryPath(raw: string, where: string): string {
  if (raw.includes('\0')) throw new ArchiveError(`${where}: entry name contains a NUL byte`);
  if (raw.includes('\\')) throw new ArchiveError(`${where}: entry ${quoteValue(raw)} contains a backslash`);
  if (raw.startsWith('/')) throw new ArchiveError(`${where}: entry ${quoteValue(raw)} is an absolute path`);
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw new ArchiveError(`${where}: entry ${quoteValue(raw)} contains ".."`);
  if (parts.length === 0) throw new ArchiveError(`${where}: entry ${quoteValue(raw)} has an empty name`);
  return parts.join('/');
}

function checkLink(entry: ArchiveEntry, seen: Map<string, ArchiveEntry>, where: string): void {
  const target = entry.linkTarget ?? '';
  if (target.startsWith('/')) throw new ArchiveError(`${where}: link ${quoteValue(entry.path)} points to absolute path ${quoteValue(target)}`);
  if (entry.type === 'hardlink') {
    const normal = checkEntryPath(target, where);
    if (!seen.has(normal)) throw new ArchiveError(`${where}: hard link ${quoteValue(entry.path)} points to ${quoteValue(target)}, which is not an earlier entry`);
    return;
  }
  const resolved = path.posix.normalize(path.posix.join(path.posix.dirname(entry.path), target));
  if (resolved === '..' || resolved.startsWith('../')) {
    throw new ArchiveError(`${where}: symlink ${quoteValue(entry.path)} points outside the archive (${quoteValue(target)})`);
  }
}

/**
 * Lists and checks every entry of a tar.gz without extracting anything. Stops at the first entry
 * that breaks a rule or a limit, so a bomb is not inflated further than needed to notice it.
 */
export function inspectArchive(file: string, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS, where = file): ArchiveEntry[] {
  const packed = fs.statSync(file).size;
  if (packed > limits.maxPackedBytes) {
    throw new ArchiveError(`${where}: ${packed} bytes, over the limit of ${limits.maxPackedBytes}`, true);
  }
  const entries: ArchiveEntry[] = [];
  const seen = new Map<string, ArchiveEntry>();
  let unpacked = 0;
  try {
    tar.t({
      file, sync: true, strict: true,
      onReadEntry: (e) => {
        const type = TYPES[e.type];
        if (!type) throw new ArchiveError(`${where}: entry ${quoteValue(e.path)} is a ${e.type}; only files, directories and links are allowed`);
        const entry: ArchiveEntry = { path: checkEntryPath(e.path, where), type, size: e.size ?? 0, mode: e.mode ?? 0o644 };
        if (type === 'symlink' || type === 'hardlink') {
          entry.linkTarget = e.linkpath ?? '';
          checkLink(entry, seen, where);
        }
        const previous = seen.get(entry.path);
        if (previous && !(previous.type === 'directory' && type === 'directory')) {
          throw new ArchiveError(`${where}: entry ${quoteValue(entry.path)} appears twice`);
        }
        if (entries.length + 1 > limits.maxEntries) throw new ArchiveError(`${where}: more than ${limits.maxEntries} entries`, true);
        unpacked += entry.size;
        if (unpacked > limits.maxUnpackedBytes) {
          throw new ArchiveError(`${where}: unpacks to more than ${limits.maxUnpackedBytes} bytes`, true);
        }
        if (unpacked > 1024 * 1024 && unpacked / Math.max(packed, 1) > limits.maxCompressionRatio) {
          throw new ArchiveError(`${where}: compression ratio over ${limits.maxCompressionRatio}:1, refused as a likely decompression bomb`, true);
        }
        seen.set(entry.path, entry);
        entries.push(entry);
        e.resume();
      },
    });
  } catch (err) {
    if (err instanceof ArchiveError) throw err;
    const message = (err as Error).message;
    // node-tar has its own inflation-ratio guard; its refusal is a limit, like ours.
    throw new ArchiveError(`${where}: not a readable tar.gz archive (${message})`, /decompression ratio/.test(message));
  }
  return entries;
}

/**
 * Extracts an archive that inspectArchive accepted into `dest` (which must be empty), with
 * setuid/setgid/sticky bits stripped and group/other write removed.
 */
export function extractArchive(file: string, dest: string, checked: ArchiveEntry[]): void {
  const allowed = new Set(checked.map((e) => e.path));
  fs.mkdirSync(dest, { recursive: true });
  tar.x({
    file, cwd: dest, sync: true, strict: true, preservePaths: false, preserveOwner: false,
    filter: (p) => allowed.has(checkEntryPath(p, file)),
    onReadEntry: (e) => {
      if (e.mode !== undefined) e.mode &= 0o755;
    },
  });
}
