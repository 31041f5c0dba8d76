import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ArchiveError, DEFAULT_ARCHIVE_LIMITS } from '../../packages/archive/archive-limits.js';
import { extractArchive, inspectArchive } from '../../packages/archive/safe-archive.js';
import { craftTarGz, type CraftedEntry } from '../support/package-fixtures.js';
import { tempDir } from '../support/paths.js';

const dir = tempDir();
let n = 0;
function rejected(entries: CraftedEntry[], pattern: RegExp, limits = DEFAULT_ARCHIVE_LIMITS): void {
  const file = craftTarGz(path.join(dir, `a${n++}.tar.gz`), entries);
  assert.throws(() => inspectArchive(file, limits), (e: Error) => e instanceof ArchiveError && pattern.test(e.message));
}

test('a plain archive lists and extracts, with special mode bits stripped', () => {
  const file = craftTarGz(path.join(dir, 'ok.tar.gz'), [
    { path: 'margo.yaml', data: 'x' }, { path: 'bin/', type: 'Directory', mode: 0o755 },
    { path: 'bin/tool', data: '#!/bin/sh', mode: 0o4777 }, { path: 'bin/alias', type: 'SymbolicLink', linkpath: 'tool' },
  ]);
  const entries = inspectArchive(file);
  assert.equal(entries.map((e) => `${e.type}:${e.path}`), ['file:margo.yaml', 'directory:bin', 'file:bin/tool', 'symlink:bin/alias']);
  const out = tempDir();
  extractArchive(file, out, entries);
  assert.is(fs.statSync(path.join(out, 'bin/tool')).mode & 0o7777, 0o755, 'setuid and world-write are gone');
  assert.is(fs.readlinkSync(path.join(out, 'bin/alias')), 'tool');
});

test('absolute paths, .. and backslashes are refused', () => {
  rejected([{ path: '/etc/cron.d/evil', data: 'x' }], /absolute path/);
  rejected([{ path: 'a/../../evil', data: 'x' }], /contains "\.\."/);
  rejected([{ path: '..\\evil', data: 'x' }], /backslash/);
});

test('links leading outside are refused; links inside are fine', () => {
  rejected([{ path: 'up', type: 'SymbolicLink', linkpath: '../../etc/passwd' }], /points outside/);
  rejected([{ path: 'abs', type: 'SymbolicLink', linkpath: '/etc/passwd' }], /absolute path/);
  rejected([{ path: 'hard', type: 'Link', linkpath: 'not-in-archive' }], /not an earlier entry/);
});

test('symlink chains are resolved by our checker, not left to node-tar (issue 12)', () => {
  // Each link looks harmless alone; together `b` is the parent of the extraction root.
  rejected([
    { path: 'a', type: 'SymbolicLink', linkpath: '.' },
    { path: 'a/b', type: 'SymbolicLink', linkpath: '..' },
    { path: 'b/x', data: 'written above the root' },
  ], /"a\/b" lies beneath "a", which is a symlink/);
  // Without entries beneath links: a target that climbs through another link.
  rejected([{ path: 'x', type: 'SymbolicLink', linkpath: '.' }, { path: 'y', type: 'SymbolicLink', linkpath: 'x/..' }], /symlink "y" -> "x\/\.\." points outside the archive/);
  // The link it goes through may come later in the archive.
  rejected([{ path: 'd/y', type: 'SymbolicLink', linkpath: '../x/../..' }, { path: 'x', type: 'SymbolicLink', linkpath: 'd' }], /points outside the archive/);
  rejected([{ path: 'l1', type: 'SymbolicLink', linkpath: 'l2' }, { path: 'l2', type: 'SymbolicLink', linkpath: 'l1' }], /more than 40 symlinks/);
  // A file whose parent is written later as a link, and a hard link to a link.
  rejected([{ path: 'b/x', data: 'x' }, { path: 'b', type: 'SymbolicLink', linkpath: '.' }], /lies beneath "b"/);
  rejected([{ path: 'd/l', type: 'SymbolicLink', linkpath: '../f' }, { path: 'f', data: 'x' }, { path: 'h', type: 'Link', linkpath: 'd/l' }], /not an earlier entry of a regular file/);
  // Chains that stay inside are fine.
  const ok = craftTarGz(path.join(dir, 'chain-ok.tar.gz'), [
    { path: 'd/', type: 'Directory' }, { path: 'd/f', data: 'x' }, { path: 'l1', type: 'SymbolicLink', linkpath: 'd' },
    { path: 'd/l2', type: 'SymbolicLink', linkpath: '../l1/f' }, { path: 'up', type: 'SymbolicLink', linkpath: 'd/..' },
  ]);
  assert.is(inspectArchive(ok).length, 5);
});

test('an unsafe chain made by GNU tar from a real tree is refused too', () => {
  // GNU tar archives real files; its --transform renames members as they are appended, which
  // gives the hostile names (`a -> .`, `a/b -> ..`, `b/x`) from an ordinary tree.
  const src = tempDir();
  fs.symlinkSync('.', path.join(src, 'a'));
  fs.mkdirSync(path.join(src, 'real'));
  fs.symlinkSync('..', path.join(src, 'real', 'b'));
  fs.writeFileSync(path.join(src, 'x'), 'payload');
  const file = path.join(dir, 'gnu.tar');
  execFileSync('tar', ['-cf', file, '-C', src, 'a']);
  execFileSync('tar', ['-rf', file, '-C', src, '--transform', 's,^real/b$,a/b,', 'real/b']);
  execFileSync('tar', ['-rf', file, '-C', src, '--transform', 's,^x$,b/x,', 'x']);
  execFileSync('gzip', ['-f', file]);
  const listed = execFileSync('tar', ['-tvzf', `${file}.gz`], { encoding: 'utf8' });
  assert.match(listed, /a\/b -> \.\./);
  assert.throws(() => inspectArchive(`${file}.gz`), (e: Error) => e instanceof ArchiveError && !e.limit && /lies beneath "a"/.test(e.message));
});

test('device files and FIFOs are refused', () => {
  rejected([{ path: 'null', type: 'CharacterDevice' }], /CharacterDevice/);
  rejected([{ path: 'pipe', type: 'FIFO' }], /FIFO/);
});

test('duplicates are refused (a later entry could replace a checked one)', () => {
  rejected([{ path: 'margo.yaml', data: 'a' }, { path: './margo.yaml', data: 'b' }], /appears twice/);
});

test('limits: entries, unpacked size, and compression ratio (bomb)', () => {
  rejected([{ path: 'a', data: 'x' }, { path: 'b', data: 'y' }, { path: 'c', data: 'z' }], /more than 2 entries/, { ...DEFAULT_ARCHIVE_LIMITS, maxEntries: 2 });
  rejected([{ path: 'big', data: Buffer.alloc(4096) }], /unpacks to more than 1000 bytes/, { ...DEFAULT_ARCHIVE_LIMITS, maxUnpackedBytes: 1000 });
  rejected([{ path: 'zeros', data: Buffer.alloc(32 * 1024 * 1024) }], /decompression bomb/);
});

test('garbage is a clear error', () => {
  const file = path.join(dir, 'garbage.tar.gz');
  fs.writeFileSync(file, zlib.gzipSync(Buffer.from('this is not a tar file at all, just text'.repeat(20))));
  assert.throws(() => inspectArchive(file), (e: Error) => e instanceof ArchiveError && /not a readable tar\.gz/.test(e.message));
});

test.run();
