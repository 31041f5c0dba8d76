// Opening a grant directory beneath a root fd: created where missing, never through a symlink,
// and a handle whose fd number no longer names the checked directory is refused.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { handleOf, openDirectoryBeneath, OutsideRootError, reopenHandle } from '../../host-apis/capabilities/directory-handle.js';
import { tempDir } from '../support/paths.js';

function scene() {
  const outside = tempDir('bulkhead-dh-outside-');
  const root = tempDir('bulkhead-dh-root-');
  const rootFd = fs.openSync(root, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
  return { outside, root, rootFd };
}

test('missing components are created beneath the root; the fd is the directory at that path', () => {
  const { root, rootFd } = scene();
  const fd = openDirectoryBeneath(rootFd, 'a/b/c', { create: true });
  try {
    assert.ok(fs.statSync(path.join(root, 'a', 'b', 'c')).isDirectory());
    assert.is(fs.readlinkSync(`/proc/self/fd/${fd}`), path.join(fs.realpathSync(root), 'a', 'b', 'c'));
  } finally {
    fs.closeSync(fd);
    fs.closeSync(rootFd);
  }
});

test('a symlink at any position is refused and nothing is created through it', () => {
  const { outside, root, rootFd } = scene();
  fs.mkdirSync(path.join(root, 'a'));
  fs.symlinkSync(outside, path.join(root, 'a', 'abs'));
  fs.symlinkSync(path.relative(path.join(root, 'a'), outside), path.join(root, 'a', 'rel'));
  fs.symlinkSync('.', path.join(root, 'self'));
  try {
    for (const rel of ['a/abs/made', 'a/rel/made', 'a/rel', 'self/a']) {
      assert.throws(() => openDirectoryBeneath(rootFd, rel, { create: true }), (e: unknown) => e instanceof OutsideRootError && /symbolic link/.test((e as Error).message), rel);
    }
    assert.equal(fs.readdirSync(outside), [], 'nothing was made outside');
    assert.throws(() => openDirectoryBeneath(rootFd, '../x', { create: true }), (e: unknown) => e instanceof OutsideRootError);
    fs.writeFileSync(path.join(root, 'file'), '');
    assert.throws(() => openDirectoryBeneath(rootFd, 'file/x', { create: true }), /"file" is not a directory/);
  } finally {
    fs.closeSync(rootFd);
  }
});

test('without create, a missing directory is an error and nothing is made', () => {
  const { root, rootFd } = scene();
  try {
    assert.throws(() => openDirectoryBeneath(rootFd, 'nope', { create: false }), /ENOENT/);
    assert.equal(fs.readdirSync(root), []);
  } finally {
    fs.closeSync(rootFd);
  }
});

test('a handle is reopened as the very directory that was checked, wherever it moved; a reused fd number is refused', () => {
  const { root, rootFd } = scene();
  const fd = openDirectoryBeneath(rootFd, 'granted', { create: true });
  const handle = handleOf(fd);
  fs.renameSync(path.join(root, 'granted'), path.join(root, 'moved'));
  fs.mkdirSync(path.join(root, 'granted'));
  const mine = reopenHandle(handle);
  assert.is(fs.readlinkSync(`/proc/self/fd/${mine}`), path.join(fs.realpathSync(root), 'moved'));
  fs.closeSync(mine);
  fs.closeSync(fd);
  // The number now names something else (or nothing): never silently used.
  const other = fs.openSync(path.join(root, 'granted'), fs.constants.O_RDONLY);
  try {
    assert.throws(() => reopenHandle({ ...handle, fd: other }), /no longer refers to the directory that was checked/);
  } finally {
    fs.closeSync(other);
    fs.closeSync(rootFd);
  }
});

test.run();
