// Output files are checked before any work: a missing directory is named, never "internal error".
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { writeReproducibleTarGz } from '../../packages/archive/package-archive.js';
import { CliError } from '../../runtime/cli/cli-error.js';
import { checkOutputFile, writeFailure } from '../../runtime/cli/output-file.js';
import { tempDir } from '../support/paths.js';

const usage = (pattern: RegExp) => (e: Error) => e instanceof CliError && e.exitCode === 125 && pattern.test(e.message);

test('a missing directory, a file as directory, a directory as file, an existing file', () => {
  const dir = tempDir();
  assert.throws(() => checkOutputFile('/nonexistent/dir/k.key'), usage(/^cannot write \/nonexistent\/dir\/k\.key: directory \/nonexistent\/dir does not exist \(create it first\)$/));
  fs.writeFileSync(path.join(dir, 'f'), '');
  assert.throws(() => checkOutputFile(path.join(dir, 'f', 'x')), usage(/is not a directory/));
  assert.throws(() => checkOutputFile(dir), usage(/it is a directory/));
  assert.throws(() => checkOutputFile(path.join(dir, 'f'), { force: false }), usage(/exists; pass --force/));
  checkOutputFile(path.join(dir, 'f'));
  checkOutputFile(path.join(dir, 'new'), { force: false });
});

test('a failed write becomes a clear error; other errors pass through', () => {
  const e = writeFailure('/x/y', Object.assign(new Error('ENOSPC: no space'), { code: 'ENOSPC' }));
  assert.ok(e instanceof CliError && e.message === 'cannot write /x/y: no space left on the device');
  const other = new TypeError('bug');
  assert.is(writeFailure('/x/y', other), other);
});

test('packing into a missing directory rejects (it used to crash with an unhandled rejection)', async () => {
  const src = tempDir();
  fs.writeFileSync(path.join(src, 'a.txt'), 'a'.repeat(200_000));
  try {
    await writeReproducibleTarGz(src, ['a.txt'], '/nonexistent/dir/p.bhpkg');
    assert.unreachable();
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, 'ENOENT');
  }
});

test.run();
