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
