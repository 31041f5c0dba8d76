import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { nanosecondTimes, setFdTimes, setPathTimes } from '../../host-apis/native/fs-times.js';
import { tempDir } from '../support/paths.js';

test('the native helper is built (npm install builds it with node-gyp)', () => {
  assert.ok(nanosecondTimes, 'build/Release/fs_times.node is missing: run npm run build:native');
});

test('fd times are set to the exact nanosecond, and omitted ones are kept', () => {
  const file = path.join(tempDir(), 'f');
  fs.writeFileSync(file, 'x');
  const fd = fs.openSync(file, 'r+');
  const before = fs.fstatSync(fd, { bigint: true });
  const exact = 1795631089519752962n;
  setFdTimes(fd, { kind: 'omit' }, { kind: 'set', ns: exact });
  const after = fs.fstatSync(fd, { bigint: true });
  assert.is(after.mtimeNs, exact);
  assert.is(after.atimeNs, before.atimeNs);
  fs.closeSync(fd);
});

test('path times change a symlink itself unless following', () => {
  const dir = tempDir();
  fs.writeFileSync(path.join(dir, 'target'), 'x');
  fs.symlinkSync('target', path.join(dir, 'link'));
  const targetBefore = fs.statSync(path.join(dir, 'target'), { bigint: true }).mtimeNs;
  setPathTimes(path.join(dir, 'link'), { kind: 'omit' }, { kind: 'set', ns: 1_000_000_123n }, false);
  assert.is(fs.lstatSync(path.join(dir, 'link'), { bigint: true }).mtimeNs, 1_000_000_123n);
  assert.is(fs.statSync(path.join(dir, 'target'), { bigint: true }).mtimeNs, targetBefore);
  setPathTimes(path.join(dir, 'link'), { kind: 'omit' }, { kind: 'set', ns: 2_000_000_456n }, true);
  assert.is(fs.statSync(path.join(dir, 'target'), { bigint: true }).mtimeNs, 2_000_000_456n);
});

test('errors carry the errno name the WASI layer maps', () => {
  assert.throws(() => setPathTimes('/nonexistent/x', { kind: 'now' }, { kind: 'now' }, true), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
});

test.run();
