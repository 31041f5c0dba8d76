// Hostile installs (issues 12 and 9): a package file swapped while it installs, extra signatures
// nobody trusts, symlink chains, manifests built to hang the parser, and one vendor's package
// reusing another vendor's app id. Real CLI, real SQLite, real minisign and GNU tar.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { installPackage } from '../../packages/install/package-installer.js';
import { InstalledPackages } from '../../packages/install/installed-packages.js';
import { keyIdHex } from '../../packages/signing/minisign.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { planApp } from '../../runtime/apps/app-plan.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { craftTarGz, makeKey, makePackage, manifestYaml } from '../support/package-fixtures.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const cli = (dataDir: string, args: string[], cwd?: string) => runCli(['--data-dir', dataDir, ...args], { cwd });
const sha256 = (file: string) => `sha256:${createHash('sha256').update(fs.readFileSync(file)).digest('hex')}`;

async function trusted(dataDir: string, vendor: string) {
  const key = await makeKey();
  const r = await cli(dataDir, ['trust', 'add', key.publicFile, '--vendor', vendor]);
  assert.is(r.code, 0, r.stderr);
  return key;
}

async function signedPackage(spec: Parameters<typeof makePackage>[0], secretFile: string, into?: string) {
  const pkg = await makePackage(spec, into);
  const r = await runCli(['sign', pkg, '-k', secretFile]);
  assert.is(r.code, 0, r.stderr);
  return pkg;
}

/** A good package signed by a trusted key, and an evil one with the same id signed by nobody trusted. */
async function goodAndEvil(dataDir: string) {
  const key = await trusted(dataDir, 'Vendor A');
  const untrusted = await makeKey();
  const good = await signedPackage({ id: 'race-app' }, key.secretFile, tempDir());
  const evil = await signedPackage({ id: 'race-app', files: { 'resources/evil.txt': 'unsigned code' } }, untrusted.secretFile, tempDir());
  return { good, evil, goodDigest: sha256(good), evilDigest: sha256(evil) };
}

function assertOnlyGoodStored(dataDir: string, goodDigest: string) {
  const store = path.join(dataDir, 'packages');
  for (const name of fs.readdirSync(store)) {
    assert.is(name, goodDigest.replace(':', '-'), `only the signed package may reach the store (found ${name})`);
    assert.not.ok(fs.existsSync(path.join(store, name, 'resources/evil.txt')), 'no unsigned file in the store');
  }
}

test('a package swapped during install, again and again, never installs unsigned content (real race loop)', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const { good, evil, goodDigest } = await goodAndEvil(dataDir);
  const work = tempDir();
  const target = path.join(work, 'app.bhpkg');
  fs.copyFileSync(good, target);
  fs.copyFileSync(`${good}.minisig`, `${target}.minisig`);
  // Another process swaps package and signature (atomic renames) every millisecond, as a hostile
  // user with write access to the package's directory would, until the test kills it.
  const swapper = spawn(process.execPath, ['-e', `
    const fs = require('node:fs');
    const [target, good, evil] = process.argv.slice(1);
    const pause = new Int32Array(new SharedArrayBuffer(4));
    for (let i = 0; ; i++) {
      const src = i % 2 ? evil : good;
      fs.copyFileSync(src, target + '.tmp'); fs.renameSync(target + '.tmp', target);
      fs.copyFileSync(src + '.minisig', target + '.sig.tmp'); fs.renameSync(target + '.sig.tmp', target + '.minisig');
      Atomics.wait(pause, 0, 0, 1);
    }`, target, good, evil], { stdio: 'ignore' });
  let installed = 0;
  try {
    for (let i = 0; i < 12; i++) {
      const r = await cli(dataDir, ['install', target, '--allow-downgrade', '--json']);
      if (r.code === 0) {
        installed += 1;
        assert.is(JSON.parse(r.stdout).digest, goodDigest, 'what was installed is the signed package');
      } else {
        assert.match(r.stderr, /BH_ERR_SIG_(UNKNOWN_KEY|INVALID)/, r.stderr);
      }
      assertOnlyGoodStored(dataDir, goodDigest);
    }
  } finally {
    swapper.kill('SIGKILL');
  }
  assert.ok(installed > 0, 'at least one attempt read the good package (each has ~1/2 odds)');
});

test('deterministic: swapping the package and signature after the private copy changes nothing', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const { good, evil, goodDigest } = await goodAndEvil(dataDir);
  const db = openStateDb(dataDir);
  try {
    const installed = new InstalledPackages(db, dataDir);
    const trust = new TrustStore(db);
    const swap = (from: string) => {
      fs.copyFileSync(from, `${good}.tmp`); fs.renameSync(`${good}.tmp`, good);
      fs.copyFileSync(`${from}.minisig`, `${good}.tmp`); fs.renameSync(`${good}.tmp`, `${good}.minisig`);
    };
    const goodBytes = fs.readFileSync(good);
    const goodSig = fs.readFileSync(`${good}.minisig`);
    // Swap to the evil package at every stage after the copy: the signed copy is what installs.
    const r = await installPackage(good, {
      dataDir, installed, trust, signatureFiles: [`${good}.minisig`],
      onStage: () => swap(evil),
    });
    assert.is(r.installed.digest, goodDigest);
    assertOnlyGoodStored(dataDir, goodDigest);
    // The other way round: evil bytes were copied; making the file good afterwards does not help.
    fs.writeFileSync(`${evil}.good`, goodBytes);
    fs.writeFileSync(`${evil}.good.minisig`, goodSig);
    const attempt = installPackage(evil, {
      dataDir, installed, trust, signatureFiles: [`${evil}.minisig`], allowDowngrade: true,
      onStage: () => { fs.copyFileSync(`${evil}.good`, evil); fs.copyFileSync(`${evil}.good.minisig`, `${evil}.minisig`); },
    });
    await attempt.then(() => assert.unreachable('evil bytes were copied: must be refused'), (err: Error & { code?: string }) => assert.is(err.code, 'BH_ERR_SIG_UNKNOWN_KEY'));
    assert.is(installed.get('race-app')!.digest, goodDigest);
    assert.equal(fs.readdirSync(path.join(dataDir, 'staging')), [], 'staging is removed after success and failure');
  } finally {
    db.close();
  }
});

test('extra signatures by unknown or revoked keys are reported and ignored; only the policy decides', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const key = await trusted(dataDir, 'Vendor A');
  const pkg = await signedPackage({ id: 'extra-sigs' }, key.secretFile);
  // An extra signature beside the file, made by the real minisign with a key nobody trusts.
  const keys = tempDir();
  execFileSync('minisign', ['-G', '-W', '-p', path.join(keys, 'm.pub'), '-s', path.join(keys, 'm.key')]);
  execFileSync('minisign', ['-S', '-s', path.join(keys, 'm.key'), '-m', pkg, '-x', `${pkg}.someone.minisig`]);
  // And one by a key that was trusted and then revoked.
  const revoked = await trusted(dataDir, 'Vendor A');
  const revokedSign = await runCli(['sign', pkg, '-k', revoked.secretFile, '-o', `${pkg}.old.minisig`]);
  assert.is(revokedSign.code, 0, revokedSign.stderr);
  assert.is((await cli(dataDir, ['trust', 'revoke', keyIdHex(revoked.key.keyId), '--reason', 'leaked'])).code, 0);

  const r = await cli(dataDir, ['install', pkg, '--json']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.equal(report.ignoredSignatures.map((i: { code: string }) => i.code).sort(), ['BH_ERR_SIG_REVOKED_KEY', 'BH_ERR_SIG_UNKNOWN_KEY']);
  const text = await cli(dataDir, ['verify', pkg]);
  assert.is(text.code, 0, text.stderr);
  assert.match(text.stdout, /ignored signature: .*someone\.minisig: signed by key [0-9A-F]+, which is not in the trust store.*\[BH_ERR_SIG_UNKNOWN_KEY\]/);

  // With the trusted signature gone, the policy is not met, and the reason is the specific one.
  fs.rmSync(`${pkg}.minisig`);
  fs.rmSync(`${pkg}.old.minisig`);
  const alone = await cli(dataDir, ['verify', pkg]);
  assert.is(alone.code, 1);
  assert.match(alone.stderr, /BH_ERR_SIG_UNKNOWN_KEY: .*someone\.minisig: signed by key/);
});

test('a signed package with a symlink chain (a -> ., a/b -> .., b/x) is refused with BH_ERR_ARCHIVE_UNSAFE', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const key = await trusted(dataDir, 'Vendor A');
  const pkg = path.join(tempDir(), 'chain.bhpkg');
  craftTarGz(pkg, [
    { path: 'margo.yaml', data: manifestYaml({ id: 'chain' }) },
    { path: 'components/hello.wasm', data: fs.readFileSync(sample('hello-as/build/hello.wasm')) },
    { path: 'a', type: 'SymbolicLink', linkpath: '.' },
    { path: 'a/b', type: 'SymbolicLink', linkpath: '..' },
    { path: 'b/x', data: 'escaped' },
  ]);
  assert.is((await runCli(['sign', pkg, '-k', key.secretFile])).code, 0);
  const r = await cli(dataDir, ['install', pkg]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /BH_ERR_ARCHIVE_UNSAFE: chain\.bhpkg: entry "a\/b" lies beneath "a", which is a symlink/);
  assert.not.match(r.stderr, /TAR_SYMLINK_ERROR|internal error/);
  assert.not.ok(fs.existsSync(path.join(dataDir, 'x')) || fs.existsSync(path.join(dataDir, 'staging', 'x')), 'nothing written above the extraction root');
});

test('manifests built to hang the parser are refused before parsing, by install and by inspect', async () => {
  const dataDir = tempDir('bulkhead-data-');
  // Let the archive checks pass (a 50 MB scalar compresses 1000:1), so the manifest limit is what refuses.
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), 'archive: { maxCompressionRatio: 100000 }\n');
  const keys = tempDir();
  execFileSync('minisign', ['-G', '-W', '-p', path.join(keys, 'm.pub'), '-s', path.join(keys, 'm.key')]);
  assert.is((await cli(dataDir, ['trust', 'add', path.join(keys, 'm.pub'), '--vendor', 'Vendor A'])).code, 0);
  const wasm = fs.readFileSync(sample('hello-as/build/hello.wasm'));
  const cases = {
    // 60k short keys: ~600 KB of margo.yaml (the 287 KB package hung install and inspect).
    keys: `${manifestYaml({ id: 'keys' })}configuration:\n${Array.from({ length: 60_000 }, (_, i) => `  k${i}: ${i}`).join('\n')}\n`,
    scalar: `${manifestYaml({ id: 'scalar' })}configuration: { blob: "${'x'.repeat(50 * 1024 * 1024)}" }\n`,
  };
  for (const [name, text] of Object.entries(cases)) {
    const pkg = path.join(tempDir(), `${name}.bhpkg`);
    craftTarGz(pkg, [{ path: 'margo.yaml', data: text }, { path: 'components/hello.wasm', data: wasm }]);
    // Signed with the real minisign: bulkhead sign would refuse to read this manifest.
    execFileSync('minisign', ['-S', '-s', path.join(keys, 'm.key'), '-m', pkg]);
    const install = await cli(dataDir, ['install', pkg]);
    assert.is(install.code, 1, install.stderr);
    assert.match(install.stderr, /BH_ERR_MANIFEST_LIMIT: .*margo\.yaml is \d+ bytes, over the limit of 262144 \(manifest\.maxBytes in the device policy\); not parsed/);
    assert.is(install.stderr.trim().split('\n').length, 1, 'one line');
    const inspect = await cli(dataDir, ['inspect', pkg]);
    assert.is(inspect.code, 125, inspect.stderr);
    assert.match(inspect.stderr, /margo\.yaml: \d+ bytes, over the limit of 262144.*not parsed/);
    assert.is(inspect.stderr.trim().split('\n').length, 1, 'one line');
    // Generous: the old parser needed >120 s (keys) and >300 s (scalar); this is a CLI start-up.
    assert.ok(install.ms < 30_000 && inspect.ms < 30_000, `install ${install.ms} ms, inspect ${inspect.ms} ms`);
  }
  // Raising the limits in the device policy lets the 60k-key manifest through to the parser,
  // whose duplicate-key check is linear: it is then refused by the schema, not hung.
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), 'archive: { maxCompressionRatio: 100000 }\nmanifest: { maxBytes: 4194304, maxNodes: 1000000 }\n');
  const pkg = path.join(tempDir(), 'keys-raised.bhpkg');
  craftTarGz(pkg, [{ path: 'margo.yaml', data: cases.keys }, { path: 'components/hello.wasm', data: wasm }]);
  execFileSync('minisign', ['-S', '-s', path.join(keys, 'm.key'), '-m', pkg]);
  const raised = await cli(dataDir, ['install', pkg]);
  assert.is(raised.code, 1, raised.stderr);
  assert.match(raised.stderr, /BH_ERR_MANIFEST_INVALID/);
});

test('an app id belongs to the vendor that first installed it (issue 9): another vendor is refused unless transferred', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const victim = await trusted(dataDir, 'Victim Co');
  const rogue = await trusted(dataDir, 'Rogue Labs');
  const v1 = await signedPackage({ id: 'victim-svc', version: '1.0.0', vendor: 'Victim Co' }, victim.secretFile);
  assert.is((await cli(dataDir, ['install', v1])).code, 0);
  const evil = await signedPackage({ id: 'victim-svc', version: '9.0.0', vendor: 'Rogue Labs' }, rogue.secretFile);
  const r = await cli(dataDir, ['install', evil]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /BH_ERR_APP_OWNED: app id victim-svc belongs to "Victim Co" \(since .*\); this package is from "Rogue Labs"\. To hand the id over, the operator installs it with --transfer-from "Victim Co"/);
  const db = openStateDb(dataDir);
  try {
    const pkg = new InstalledPackages(db, dataDir).get('victim-svc')!;
    assert.is(pkg.version, '1.0.0');
    assert.is(pkg.vendor, 'Victim Co');
  } finally {
    db.close();
  }
  // A vendor name that only looks the same is not the owner: names compare exactly.
  const near = await cli(dataDir, ['install', evil, '--transfer-from', 'victim co']);
  assert.is(near.code, 1);
  assert.match(near.stderr, /BH_ERR_APP_OWNED: --transfer-from "victim co": victim-svc belongs to "Victim Co", not "victim co"; nothing was changed/);
  // The operator's explicit transfer.
  const moved = await cli(dataDir, ['install', evil, '--transfer-from', 'Victim Co', '--json']);
  assert.is(moved.code, 0, moved.stderr);
  assert.is(JSON.parse(moved.stdout).transferredFrom, 'Victim Co');
  // Now the id is Rogue Labs': the victim's own next version is refused the same way.
  const back = await cli(dataDir, ['install', await signedPackage({ id: 'victim-svc', version: '10.0.0', vendor: 'Victim Co' }, victim.secretFile)]);
  assert.match(back.stderr, /BH_ERR_APP_OWNED: app id victim-svc belongs to "Rogue Labs"/);
});

test('ownership is migrated from install history: the first installer owns ids installed before owners were recorded', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const db = openStateDb(dataDir);
  try {
    // A database as the previous version left it: history shows Victim Co first, Rogue Labs took over.
    db.exec(`CREATE TABLE installed_packages (app_id TEXT PRIMARY KEY, version TEXT NOT NULL, vendor TEXT NOT NULL, digest TEXT NOT NULL, path TEXT NOT NULL, installed_at TEXT NOT NULL);
      CREATE TABLE install_history (id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, version TEXT NOT NULL, vendor TEXT NOT NULL, digest TEXT NOT NULL, signers TEXT NOT NULL, installed_at TEXT NOT NULL);
      INSERT INTO install_history (app_id, version, vendor, digest, signers, installed_at) VALUES ('svc', '1.0.0', 'Victim Co', 'sha256:aa', 'K1', '2026-01-01'), ('svc', '9.0.0', 'Rogue Labs', 'sha256:bb', 'K2', '2026-02-01');
      INSERT INTO installed_packages VALUES ('svc', '9.0.0', 'Rogue Labs', 'sha256:bb', '/old/abs/data/packages/sha256-bb', '2026-02-01')`);
    const installed = new InstalledPackages(db, dataDir);
    assert.is(installed.owner('svc')!.vendor, 'Victim Co');
    assert.is(installed.get('svc')!.path, path.join(dataDir, 'packages/sha256-bb'), 'old absolute path rewritten relative to the data dir');
    assert.is((db.prepare('SELECT path FROM installed_packages').get() as { path: string }).path, 'packages/sha256-bb');
  } finally {
    db.close();
  }
});

test('a device installed through a relative --data-dir opens through its absolute path (issue 11)', async () => {
  const parent = tempDir();
  const dataDir = path.join(parent, 'k1');
  const key = await makeKey();
  assert.is((await cli('k1', ['trust', 'add', key.publicFile, '--vendor', 'Vendor A'], parent)).code, 0);
  const pkg = await signedPackage({ id: 'rel-app' }, key.secretFile);
  const r = await cli('k1', ['install', pkg], parent);
  assert.is(r.code, 0, r.stderr);
  const db = openStateDb(dataDir);
  try {
    assert.is((db.prepare("SELECT path FROM installed_packages WHERE app_id = 'rel-app'").get() as { path: string }).path, `packages/${sha256(pkg).replace(':', '-')}`);
    const pkgRow = new InstalledPackages(db, dataDir).get('rel-app')!;
    assert.ok(path.isAbsolute(pkgRow.path));
    // Planning the app reads margo.yaml from the store: the step that failed with ENOENT before.
    const plan = await planApp(pkgRow, loadDevicePolicy(dataDir), dataDir);
    assert.ok(plan);
  } finally {
    db.close();
  }
});

test.run();
