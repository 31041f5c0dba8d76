// wasi:filesystem as a component sees it, on real directories: what a preopen reaches, and the
// escapes it must not (`..`, absolute paths, symlinks, writes through a read-only grant).
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createFilesystem } from '../../host-apis/wasi-p2/filesystem.js';
import { createIo } from '../../host-apis/wasi-p2/io.js';
import { guestErrorPayload } from '../support/guest-errors.js';
import { tempDir } from '../support/paths.js';

const io = createIo({ beforeBlock() {}, afterBlock() {} });

function setup(readOnly = false) {
  const root = tempDir();
  const granted = path.join(root, 'granted');
  const other = path.join(root, 'other-vendor');
  fs.mkdirSync(granted);
  fs.mkdirSync(other);
  fs.writeFileSync(path.join(granted, 'mine.txt'), 'mine\n');
  fs.writeFileSync(path.join(other, 'secret.txt'), 'secret\n');
  fs.symlinkSync('../other-vendor', path.join(granted, 'up-link'));
  fs.symlinkSync(other, path.join(granted, 'abs-link'));
  const denials: string[] = [];
  const fsys = createFilesystem(io, [{ guestPath: '/data', hostPath: granted, readOnly }], (attempted) => denials.push(attempted));
  const [[dir, name]] = fsys.preopens.getDirectories() as [InstanceType<typeof fsys.types.Descriptor>, string][] as [[InstanceType<typeof fsys.types.Descriptor>, string]];
  return { root, granted, fsys, dir, name, denials };
}

const code = guestErrorPayload;

const READ = { read: true };
const WRITE = { write: true };

test('reads and writes inside the preopen', () => {
  const { dir, name, granted, fsys } = setup();
  assert.is(name, '/data');
  const file = dir.openAt({}, 'mine.txt', {}, READ);
  const [data, eof] = file.read(100n, 0n);
  assert.is(Buffer.from(data).toString(), 'mine\n');
  assert.ok(eof);
  const out = dir.openAt({}, 'new.txt', { create: true }, WRITE);
  out.writeViaStream(0n).blockingWriteAndFlush(new TextEncoder().encode('written'));
  assert.is(fs.readFileSync(path.join(granted, 'new.txt'), 'utf8'), 'written');
  dir.createDirectoryAt('sub');
  assert.equal(dir.statAt({}, 'sub').type, 'directory');
  fsys.closeAll();
});

test('hostile: `..`, absolute paths and symlinks out of the preopen are refused', () => {
  const { dir, denials } = setup();
  assert.is(code(() => dir.openAt({}, '../other-vendor/secret.txt', {}, READ)), 'not-permitted');
  assert.is(code(() => dir.openAt({}, 'sub/../../other-vendor/secret.txt', {}, READ)), 'no-entry', 'a missing component is reported before the escape');
  assert.is(code(() => dir.openAt({}, '/etc/passwd', {}, READ)), 'not-permitted');
  assert.is(code(() => dir.openAt({ symlinkFollow: true }, 'up-link/secret.txt', {}, READ)), 'not-permitted');
  assert.is(code(() => dir.openAt({ symlinkFollow: true }, 'abs-link/secret.txt', {}, READ)), 'not-permitted');
  assert.is(code(() => dir.statAt({ symlinkFollow: true }, 'abs-link')), 'not-permitted');
  assert.is(code(() => dir.symlinkAt('/etc', 'made-link')), 'not-permitted', 'no absolute links are created');
  assert.is(code(() => dir.renameAt('mine.txt', dir, '../stolen.txt')), 'not-permitted');
  assert.equal(denials, ['../other-vendor/secret.txt', '/etc/passwd', 'up-link/secret.txt', 'abs-link/secret.txt', 'abs-link', 'symlink made-link -> /etc', '../stolen.txt'], 'each escape is reported for the audit log');
});

test('hostile: a read-only grant refuses every write, whatever the flags say', () => {
  const { dir, granted, denials } = setup(true);
  assert.is(code(() => dir.openAt({}, 'mine.txt', {}, WRITE)), 'read-only');
  assert.is(code(() => dir.openAt({}, 'x', { create: true }, READ)), 'read-only');
  assert.is(code(() => dir.openAt({}, 'mine.txt', { truncate: true }, READ)), 'read-only');
  assert.is(code(() => dir.createDirectoryAt('d')), 'read-only');
  assert.is(code(() => dir.unlinkFileAt('mine.txt')), 'read-only');
  const file = dir.openAt({}, 'mine.txt', {}, READ);
  assert.is(code(() => file.writeViaStream(0n)), 'bad-descriptor');
  assert.is(fs.readFileSync(path.join(granted, 'mine.txt'), 'utf8'), 'mine\n');
  assert.is(denials.length, 5);
});

test('preopen handles can be dropped and fetched again (the adapter does); other descriptors close on drop', () => {
  const { dir, fsys } = setup();
  dir[Symbol.dispose]();
  const [[again]] = fsys.preopens.getDirectories() as [[InstanceType<typeof fsys.types.Descriptor>, string]];
  assert.equal(again.getType(), 'directory');
  const file = again.openAt({}, 'mine.txt', {}, READ);
  const fd = file.hostFd;
  file[Symbol.dispose]();
  assert.throws(() => fs.fstatSync(fd), /EBADF/);
  fsys.closeAll();
});

test.run();
