// Reading untrusted tar.gz archives: list and check every entry before a byte is extracted, then
// extract only what was checked. Refuses absolute paths, "..", links leading outside (resolved
// through the archive's own symlink chains, not by string), entries beneath a link, device files,
// duplicates, and archives over the size/entry limits or with a bomb-like compression ratio.
// We do not rely on node-tar's own guards: they are a second line, not the check.
import fs from 'node:fs';
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

function checkLinkEntry(entry: ArchiveEntry, seen: Map<string, ArchiveEntry>, where: string): void {
  const target = entry.linkTarget ?? '';
  if (target === '') throw new ArchiveError(`${where}: link ${quoteValue(entry.path)} has an empty target`);
  if (target.startsWith('/')) throw new ArchiveError(`${where}: link ${quoteValue(entry.path)} points to absolute path ${quoteValue(target)}`);
  if (entry.type === 'hardlink') {
    const normal = checkEntryPath(target, where);
    // Only to a file: a hard link to a symlink is a second symlink whose relative target now
    // counts from another directory.
    if (seen.get(normal)?.type !== 'file') throw new ArchiveError(`${where}: hard link ${quoteValue(entry.path)} points to ${quoteValue(target)}, which is not an earlier entry of a regular file`);
  }
}

// Linux's limit on symlinks followed in one resolution (MAXSYMLINKS).
const MAX_LINK_HOPS = 40;

/**
 * Resolves `target` from directory `from` (both inside the archive) the way the kernel would once
 * everything is extracted: component by component, following the archive's own symlinks. Returns
 * where it leads, or a reason it leaves the archive. Needed because each link of a chain can look
 * harmless alone (`a -> .`, then `a/b -> ..`, then `b/x` writes above the root).
 */
function resolveInArchive(from: string[], target: string, links: Map<string, string>): { at: string[] } | { escape: string; loop?: boolean } {
  const stack = [...from];
  const queue = target.split('/');
  let hops = 0;
  while (queue.length > 0) {
    const part = queue.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (stack.length === 0) return { escape: 'climbs above the archive root' };
      stack.pop();
      continue;
    }
    stack.push(part);
    const link = links.get(stack.join('/'));
    if (link === undefined) continue;
    if (++hops > MAX_LINK_HOPS) return { escape: `goes through more than ${MAX_LINK_HOPS} symlinks (a loop)`, loop: true };
    stack.pop();
    queue.unshift(...link.split('/'));
  }
  return { at: stack };
}

/**
 * Checks the archive as a whole once every entry is known (a link may point at one that comes
 * later): no entry lies beneath a symlink or a file (extraction would write through it), and every
 * symlink, followed through the archive's other symlinks, stays inside.
 */
function checkLinksTogether(entries: ArchiveEntry[], seen: Map<string, ArchiveEntry>, where: string): void {
  const links = new Map<string, string>();
  for (const e of entries) if (e.type === 'symlink') links.set(e.path, e.linkTarget ?? '');
  if (links.size === 0) return;
  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const prefix = parts.slice(0, i).join('/');
      const above = seen.get(prefix);
      if (above && above.type !== 'directory') {
        throw new ArchiveError(`${where}: entry ${quoteValue(e.path)} lies beneath ${quoteValue(prefix)}, which is a ${above.type}; extracting it would go through that ${above.type}`);
      }
    }
  }
  for (const [at, target] of links) {
    const result = resolveInArchive(at.split('/').slice(0, -1), target, links);
    if ('escape' in result) {
      throw new ArchiveError(result.loop ? `${where}: symlink ${quoteValue(at)} -> ${quoteValue(target)} ${result.escape}`
        : `${where}: symlink ${quoteValue(at)} -> ${quoteValue(target)} points outside the archive (followed through the archive's links, it ${result.escape})`);
    }
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
          checkLinkEntry(entry, seen, where);
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
  checkLinksTogether(entries, seen, where);
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
