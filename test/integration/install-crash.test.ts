// kill -9 during install (issue 11), at injected points: whatever the state DB records points at
// complete files, the previous version stays installed, and the staging debris of the killed
// install is removed by the next install and by the next daemon start.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { cleanStaleStaging, createStagingDir } from '../../packages/install/staging-area.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { makeKey, makePackage } from '../support/package-fixtures.js';
import { bulkheadBin, runCli, tempDir } from '../support/paths.js';

const cli = (dataDir: string, args: string[], env?: NodeJS.ProcessEnv) => runCli(['--data-dir', dataDir, ...args], { env });

async function device() {
  const dataDir = tempDir('bulkhead-data-');
  const key = await makeKey();
  assert.is((await cli(dataDir, ['trust', 'add', key.publicFile, '--vendor', 'Vendor A'])).code, 0);
  const sign = async (version: string) => {
    const pkg = await makePackage({ id: 'crash-app', version, files: { 'resources/data.bin': Buffer.alloc(256 * 1024, version) } });
    assert.is((await runCli(['sign', pkg, '-k', key.secretFile])).code, 0);
    return pkg;
  };
  const v1 = await sign('1.0.0');
  assert.is((await cli(dataDir, ['install', v1])).code, 0);
  return { dataDir, sign };
}

/** Every recorded package is a complete directory: margo.yaml and its module are there. */
function assertRecordsPointAtFiles(dataDir: string, expectedVersion: string) {
  const db = openStateDb(dataDir);
  try {
    const all = new InstalledPackages(db, dataDir).list();
    for (const p of all) {
      assert.ok(fs.existsSync(path.join(p.path, 'margo.yaml')), `${p.appId}: ${p.path}/margo.yaml exists`);
      assert.is(fs.statSync(path.join(p.path, 'components/hello.wasm')).size > 0, true);
    }
    assert.is(all.find((p) => p.appId === 'crash-app')!.version, expectedVersion);
  } finally {
    db.close();
  }
}

const staged = (dataDir: string) => fs.readdirSync(path.join(dataDir, 'staging'));

for (const point of ['after-copy', 'before-rename', 'after-rename']) {
  test(`kill -9 at ${point}: nothing recorded points at missing files; the next install cleans up and succeeds`, async () => {
    const { dataDir, sign } = await device();
    const v2 = await sign('1.1.0');
    const killed = await cli(dataDir, ['install', v2], { BULKHEAD_TEST_CRASH_AT: point });
    assert.is(killed.code, null, `killed by a signal, not exited (${killed.stderr})`);
    if (point !== 'after-rename') assert.is(staged(dataDir).length, 1, 'the killed install left its staging dir');
    assertRecordsPointAtFiles(dataDir, '1.0.0');
    const again = await cli(dataDir, ['install', v2]);
    assert.is(again.code, 0, again.stderr);
    assert.equal(staged(dataDir), [], 'the stale staging dir is gone');
    assertRecordsPointAtFiles(dataDir, '1.1.0');
  });
}

test('the next daemon start removes a killed install\'s staging dir', async () => {
  const { dataDir, sign } = await device();
  const killed = await cli(dataDir, ['install', await sign('2.0.0')], { BULKHEAD_TEST_CRASH_AT: 'before-rename' });
  assert.is(killed.code, null);
  assert.is(staged(dataDir).length, 1);
  const daemon = spawn(process.execPath, [bulkheadBin, '--data-dir', dataDir, 'daemon'], { stdio: 'ignore' });
  try {
    const deadline = Date.now() + 20_000;
    while (staged(dataDir).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.equal(staged(dataDir), []);
  } finally {
    const exited = new Promise((r) => daemon.once('exit', r));
    daemon.kill('SIGTERM');
    await exited;
  }
});

test('cleaning never touches a live install\'s staging dir, only dead ones (pid and start time)', () => {
  const dataDir = tempDir('bulkhead-data-');
  const mine = createStagingDir(dataDir);
  fs.writeFileSync(path.join(mine, 'package.bhpkg'), 'in progress');
  // A dead owner (pid 999999999 cannot exist), and a live pid whose start time does not match (reused).
  const dead = path.join(dataDir, 'staging', 'install-999999999-1-abcdef');
  const reused = path.join(dataDir, 'staging', `install-${process.pid}-1-abcdef`);
  for (const d of [dead, reused]) fs.mkdirSync(d);
  fs.symlinkSync('/etc', path.join(dead, 'link-out'));
  assert.equal(cleanStaleStaging(dataDir).sort(), [path.basename(dead), path.basename(reused)].sort());
  assert.ok(fs.existsSync(path.join(mine, 'package.bhpkg')));
  assert.ok(fs.existsSync('/etc/hostname') || fs.existsSync('/etc/passwd'), 'a link inside debris is removed, never followed');
});

test.run();
