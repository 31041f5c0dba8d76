// A removed file's bytes go back when its last link and its last guest descriptor are gone
// (redteam finding 4), on real files: hard links, two descriptors, a rename over an open file.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENTRY_BYTES } from '../../host-apis/limits/disk-usage.js';
import { OpenFiles } from '../../host-apis/limits/open-files.js';
import { tempDir } from '../support/paths.js';

test('two links and two descriptors: only the last of both refunds the size', () => {
  const dir = tempDir('bulkhead-open-files-');
  try {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    fs.writeFileSync(a, Buffer.alloc(10_000));
    fs.linkSync(a, b);
    const files = new OpenFiles();
    const fd1 = fs.openSync(a, 'r+');
    const fd2 = fs.openSync(b, 'r');
    files.opened(fd1);
    files.opened(fd2);
    assert.is(files.removalRefund(a), ENTRY_BYTES, 'another link is left');
    fs.unlinkSync(a);
    assert.is(files.removalRefund(b), ENTRY_BYTES, 'the last link, but open');
    fs.unlinkSync(b);
    fs.writeSync(fd1, Buffer.alloc(5_000), 0, 5_000, 10_000); // grows after the unlink
    assert.is(files.closing(fd2), 0, 'one descriptor is left');
    fs.closeSync(fd2);
    assert.is(files.closing(fd1), 15_000, 'the last close gives the size back');
    fs.closeSync(fd1);
    assert.is(files.size, 0);
    // Not open: the removal gives everything back at once; a directory is just its entry.
    fs.writeFileSync(a, Buffer.alloc(100));
    assert.is(files.removalRefund(a), ENTRY_BYTES + 100);
    assert.is(files.removalRefund(dir), ENTRY_BYTES);
    assert.is(files.removalRefund(path.join(dir, 'missing')), 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a descriptor of a file still linked refunds nothing at its close', () => {
  const dir = tempDir('bulkhead-open-files-');
  try {
    const a = path.join(dir, 'a');
    fs.writeFileSync(a, Buffer.alloc(100));
    const files = new OpenFiles();
    const fd = fs.openSync(a, 'r');
    files.opened(fd);
    assert.is(files.closing(fd), 0);
    fs.closeSync(fd);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
