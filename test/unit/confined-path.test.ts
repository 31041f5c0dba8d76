import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Errno } from '../../host-apis/wasi-p1/constants.js';
import { resolveConfined } from '../../host-apis/wasi-p1/confined-path.js';
import { WasiError } from '../../host-apis/wasi-p1/errors.js';
import { tempDir } from '../support/paths.js';

const outside = tempDir('bulkhead-outside-');
fs.writeFileSync(path.join(outside, 'secret'), 'OUTSIDE');
const root = tempDir();
fs.mkdirSync(path.join(root, 'a/b'), { recursive: true });
fs.writeFileSync(path.join(root, 'a/b/file'), 'inside');
fs.symlinkSync('b/file', path.join(root, 'a/rel-ok'));
fs.symlinkSync('../../..' + outside + '/secret', path.join(root, 'a/rel-escape'));
fs.symlinkSync(path.join(outside, 'secret'), path.join(root, 'abs-link'));
fs.symlinkSync(outside, path.join(root, 'dir-link'));
fs.symlinkSync('loop2', path.join(root, 'loop1'));
fs.symlinkSync('loop1', path.join(root, 'loop2'));
const rootFd = fs.openSync(root, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);

function errnoOf(fn: () => unknown): number | undefined {
  try { fn(); } catch (err) { return err instanceof WasiError ? err.errno : -1; }
  return undefined;
}

function read(rel: string, follow = true): string {
  const r = resolveConfined(rootFd, rel, follow);
  try { return fs.readFileSync(r.hostPath, 'utf8'); } finally { r.release(); }
}

test('paths inside resolve, including .. that stays inside and relative symlinks', () => {
  assert.is(read('a/b/file'), 'inside');
  assert.is(read('a/b/../b/./file'), 'inside');
  assert.is(read('a/rel-ok'), 'inside');
});

test('absolute paths and .. above the directory are refused with NOTCAPABLE', () => {
  assert.is(errnoOf(() => read('/etc/passwd')), Errno.NOTCAPABLE);
  assert.is(errnoOf(() => read('../secret')), Errno.NOTCAPABLE);
  assert.is(errnoOf(() => read('a/../../secret')), Errno.NOTCAPABLE);
});

test('symlinks cannot lead out: absolute targets, relative escapes, directory components', () => {
  assert.is(errnoOf(() => read('abs-link')), Errno.NOTCAPABLE);
  assert.is(errnoOf(() => read('a/rel-escape')), Errno.NOTCAPABLE);
  assert.is(errnoOf(() => read('dir-link/secret')), Errno.NOTCAPABLE);
});

test('symlink loops end with LOOP', () => {
  assert.is(errnoOf(() => read('loop1')), Errno.LOOP);
});

test('without follow, the final symlink itself is named, not its target', () => {
  const r = resolveConfined(rootFd, 'abs-link', false);
  try {
    assert.ok(fs.lstatSync(r.hostPath).isSymbolicLink());
    // Opening it the way path_open does (O_NOFOLLOW) must fail rather than reach the target.
    assert.throws(() => fs.openSync(r.hostPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW), /ELOOP/);
  } finally { r.release(); }
});

test('bad path text', () => {
  assert.is(errnoOf(() => read('')), Errno.NOENT);
  assert.is(errnoOf(() => read('a\0b')), Errno.INVAL);
  assert.is(errnoOf(() => read('a/b/file/x')), Errno.NOTDIR);
});

test.run();
