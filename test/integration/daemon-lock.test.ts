// The daemon is whoever holds the kernel lock on daemon.lock: a real second process takes it,
// is named by the kernel, and loses it the instant it is killed; the pid text in the file is
// never trusted.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fileLocksAvailable } from '../../host-apis/native/file-lock.js';
import { daemonPid, DaemonRunningError, holdDaemonLock } from '../../runtime/apps/daemon-lock.js';
import { repoRoot, tempDir } from '../support/paths.js';

test('the native lock helper is built (npm install builds it with node-gyp)', () => {
  assert.ok(fileLocksAvailable, 'build/Release/file_lock.node is missing: run npm run build:native');
});

test('another process holding the lock is the daemon, until it is killed', async () => {
  const dir = tempDir('bulkhead-lock-');
  const module = path.join(repoRoot, 'runtime', 'apps', 'daemon-lock.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e',
    `import { holdDaemonLock } from ${JSON.stringify(module)}; holdDaemonLock(${JSON.stringify(dir)}); console.log('locked'); setInterval(() => {}, 1000);`],
  { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  try {
    assert.is(daemonPid(dir), child.pid);
    assert.throws(() => holdDaemonLock(dir), (e: Error) => e instanceof DaemonRunningError && e.message.includes(`(pid ${child.pid})`));
    assert.is(daemonPid(dir), child.pid, 'asking did not take the lock away');
  } finally {
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  assert.is(daemonPid(dir), undefined, 'a killed daemon holds nothing');
  const release = holdDaemonLock(dir);
  assert.is(daemonPid(dir), process.pid);
  assert.throws(() => holdDaemonLock(dir), (e: Error) => e instanceof DaemonRunningError);
  release();
  assert.is(daemonPid(dir), undefined);
});

test('a lock file naming a live unrelated process (and a legacy daemon.pid) is not a daemon', () => {
  const dir = tempDir('bulkhead-lock-');
  fs.writeFileSync(path.join(dir, 'daemon.lock'), `${process.ppid}\n`);
  fs.writeFileSync(path.join(dir, 'daemon.pid'), `${process.ppid}\n`);
  assert.is(daemonPid(dir), undefined);
});

test.run();
