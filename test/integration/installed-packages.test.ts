// bulkhead list / uninstall through the real CLI, a real SQLite state dir, the real daemon, and a
// real registry for the labelled digests of pull. Uninstall is tried while the app runs, with the
// store directory swapped for a link, with a database row pointing outside the store, and after a
// crash between its commit and the removal.
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreRemovals } from '../../packages/install/store-removals.js';
import { makeKey, makePackage } from '../support/package-fixtures.js';
import { runCli, tempDir } from '../support/paths.js';
import { startRegistry } from '../support/registry.js';

const dataDir = tempDir('bulkhead-data-');
const cli = (...args: string[]) => runCli(['--data-dir', dataDir, ...args]);
let key: Awaited<ReturnType<typeof makeKey>>;

test.before(async () => {
  key = await makeKey();
  assert.is((await cli('trust', 'add', key.publicFile, '--vendor', 'Vendor A')).code, 0);
});
test.after(async () => {
  await cli('daemon', '--stop');
});

async function install(id: string, version = '1.0.0'): Promise<{ pkg: string; storeDir: string }> {
  const pkg = await makePackage({ id, version });
  assert.is((await runCli(['sign', pkg, '-s', key.secretFile])).code, 0);
  const r = await cli('install', pkg, '--json');
  assert.is(r.code, 0, r.stderr);
  return { pkg, storeDir: JSON.parse(r.stdout).path };
}

test('list shows id, version, vendor, package digest, signers and install time', async () => {
  assert.match((await cli('list')).stdout, /^no packages installed$/m);
  await install('listed-app', '1.2.3');
  const rows = JSON.parse((await cli('list', '--json')).stdout);
  const row = rows.find((r: { id: string }) => r.id === 'listed-app');
  assert.is(row.version, '1.2.3');
  assert.is(row.vendor, 'Vendor A');
  assert.match(row.digest, /^sha256:[0-9a-f]{64}$/);
  assert.equal(row.signers, [{ keyId: key.publicText.match(/public key ([0-9A-F]{16})/)![1], vendor: 'Vendor A', role: 'vendor', revoked: false }]);
  assert.ok(Date.parse(row.installedAt) > Date.now() - 600_000);
  const human = (await cli('list')).stdout;
  assert.match(human, /^listed-app 1\.2\.3 {2}Vendor A {2}installed \S+$/m);
  assert.match(human, /^ {2}package digest: sha256:[0-9a-f]{64}$/m);
});

test('uninstall is refused while the app is started, and works once it is stopped', async () => {
  const { storeDir } = await install('running-app');
  const started = await cli('start', 'running-app');
  assert.is(started.code, 0, started.stderr);
  const refused = await cli('uninstall', 'running-app');
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /^bulkhead: running-app cannot be uninstalled while it is (running|started \(desired state: running, actual: \w+\)); stop it first \(bulkhead stop running-app\)\n$/);
  assert.ok(fs.existsSync(path.join(storeDir, 'margo.yaml')), 'nothing was removed');
  assert.is((await cli('stop', 'running-app')).code, 0);
  const done = await cli('uninstall', 'running-app', '--json');
  assert.is(done.code, 0, done.stderr);
  assert.is(JSON.parse(done.stdout).storeRemoved, true);
  assert.not.ok(fs.existsSync(storeDir));
  assert.not.ok(JSON.parse((await cli('list', '--json')).stdout).some((r: { id: string }) => r.id === 'running-app'));
  assert.not.ok(JSON.parse((await cli('status', '--json')).stdout).apps.some((a: { appId: string }) => a.appId === 'running-app'));
  const again = await cli('uninstall', 'running-app');
  assert.is(again.code, 1);
  assert.match(again.stderr, /running-app is not installed \(installed: /);
  // and it cannot be started any more
  assert.is((await cli('start', 'running-app')).code, 1);
});

test('an app the daemon reports running (desired already stopped) is refused too', async () => {
  await install('actual-app');
  // The daemon's view written as the daemon writes it, into the real state database.
  const db = new Database(path.join(dataDir, 'state.db'));
  db.prepare(`INSERT INTO wasm_apps (app_id, desired, actual, updated_at) VALUES ('actual-app', 'stopped', 'running', ?)`).run(new Date().toISOString());
  db.close();
  const r = await cli('uninstall', 'actual-app');
  assert.is(r.code, 1);
  assert.match(r.stderr, /actual-app cannot be uninstalled while it is running/);
});

test('uninstall never follows links: a store dir swapped for a link, and a link inside it', async () => {
  const outside = tempDir('bulkhead-outside-');
  fs.writeFileSync(path.join(outside, 'canary'), 'keep me');
  const a = await install('link-inside');
  fs.symlinkSync(outside, path.join(a.storeDir, 'escape'));
  assert.is((await cli('uninstall', 'link-inside')).code, 0);
  assert.not.ok(fs.existsSync(a.storeDir));

  const b = await install('link-swapped');
  fs.rmSync(b.storeDir, { recursive: true });
  fs.symlinkSync(outside, b.storeDir);
  assert.is((await cli('uninstall', 'link-swapped')).code, 0);
  assert.not.ok(fs.existsSync(b.storeDir));
  assert.is(fs.readFileSync(path.join(outside, 'canary'), 'utf8'), 'keep me');
  assert.equal(fs.readdirSync(path.join(dataDir, 'staging')).filter((n) => n.startsWith('removing-')), []);
});

test('a package row naming a path outside the store removes nothing there', async () => {
  const outside = tempDir('bulkhead-outside-');
  fs.writeFileSync(path.join(outside, 'canary'), 'keep me');
  await install('odd-path');
  const db = new Database(path.join(dataDir, 'state.db'));
  db.prepare('UPDATE installed_packages SET path = ? WHERE app_id = ?').run(outside, 'odd-path');
  db.close();
  const r = await cli('uninstall', 'odd-path');
  assert.is(r.code, 0, r.stderr);
  // Package paths follow from the digest (stored relative to the data dir): opening the device
  // rewrites the odd row to its store directory, so only that is removed.
  assert.is(fs.readFileSync(path.join(outside, 'canary'), 'utf8'), 'keep me');
});

test('a crash between the uninstall commit and the removal is completed by the next uninstall', async () => {
  const crashed = await install('crashed-app');
  const other = await install('other-app');
  // The uninstall transaction committed (package forgotten, removal scheduled), then the process died.
  const db = new Database(path.join(dataDir, 'state.db'));
  db.transaction(() => {
    db.prepare('DELETE FROM installed_packages WHERE app_id = ?').run('crashed-app');
    new StoreRemovals(db, dataDir).schedule(crashed.storeDir);
  })();
  db.close();
  // ... and one that died after moving the directory out of the store, before deleting it
  const halfway = path.join(dataDir, 'staging', 'removing-deadbeef0000');
  fs.mkdirSync(path.join(halfway, 'components'), { recursive: true });
  fs.writeFileSync(path.join(halfway, 'components', 'x.wasm'), 'x');
  assert.ok(fs.existsSync(crashed.storeDir));
  assert.is((await cli('uninstall', 'other-app')).code, 0);
  assert.not.ok(fs.existsSync(crashed.storeDir));
  assert.not.ok(fs.existsSync(other.storeDir));
  assert.not.ok(fs.existsSync(halfway));
});

test('a removal scheduled for bytes installed again since is dropped, not carried out', async () => {
  const first = await install('reinstalled-app');
  const db = new Database(path.join(dataDir, 'state.db'));
  new StoreRemovals(db, dataDir).schedule(first.storeDir); // left over from an earlier uninstall
  db.close();
  await install('filler-app');
  assert.is((await cli('uninstall', 'filler-app')).code, 0);
  assert.ok(fs.existsSync(path.join(first.storeDir, 'margo.yaml')), 'the installed package kept its files');
});

test('pull shows the package digest and the manifest digest, labelled, as push does', async () => {
  const registry = await startRegistry();
  try {
    const { pkg } = await install('pulled-app', '3.0.0');
    const push = await runCli(['push', pkg, `${registry.address}/vendor-a/pulled-app`]);
    assert.is(push.code, 0, push.stderr);
    const pull = await runCli(['pull', `${registry.address}/vendor-a/pulled-app:3.0.0`, '-o', tempDir()]);
    assert.is(pull.code, 0, pull.stderr);
    const verify = await cli('verify', pkg, '--json');
    const packageDigest = JSON.parse(verify.stdout).packageDigest;
    for (const out of [push.stdout, pull.stdout]) {
      assert.match(out, new RegExp(`^ {2}package digest: ${packageDigest}$`, 'm'));
      assert.match(out, /^ {2}manifest digest: sha256:[0-9a-f]{64}$/m);
    }
    const json = JSON.parse((await runCli(['pull', `${registry.address}/vendor-a/pulled-app:3.0.0`, '-o', tempDir(), '--json'])).stdout);
    assert.is(json.packageDigest, packageDigest);
    assert.is(json.manifestDigest, json.digest);
    assert.is.not(json.manifestDigest, packageDigest);
  } finally {
    await registry.stop();
  }
});

test.run();
