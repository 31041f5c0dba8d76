// Signed packages end to end through the real CLI, a real SQLite state dir and the real `minisign`.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeKey, makePackage, makePackageDir } from '../support/package-fixtures.js';
import { runCli, tempDir } from '../support/paths.js';

const cli = (dataDir: string, args: string[]) => runCli(['--data-dir', dataDir, ...args]);

async function trustedSetup(vendor = 'Vendor A') {
  const dataDir = tempDir('bulkhead-data-');
  const key = await makeKey();
  const added = await cli(dataDir, ['trust', 'add', key.publicFile, '--vendor', vendor]);
  assert.is(added.code, 0, added.stderr);
  return { dataDir, key };
}

async function signedPackage(spec: Parameters<typeof makePackage>[0], secretFile: string) {
  const pkg = await makePackage(spec);
  const signed = await runCli(['sign', pkg, '-k', secretFile]);
  assert.is(signed.code, 0, signed.stderr);
  return pkg;
}

test('pack is reproducible: same input, same bytes', async () => {
  const dir = makePackageDir({ files: { 'resources/notes.md': 'hi' } });
  const out = tempDir();
  const a = await runCli(['pack', dir, '-o', path.join(out, 'a.bhpkg')]);
  fs.chmodSync(path.join(dir, 'resources/notes.md'), 0o600);
  fs.utimesSync(path.join(dir, 'margo.yaml'), new Date(2001, 1, 1), new Date(2001, 1, 1));
  const b = await runCli(['pack', dir, '-o', path.join(out, 'b.bhpkg')]);
  assert.is(a.code, 0, a.stderr);
  assert.is(b.code, 0, b.stderr);
  assert.ok(fs.readFileSync(path.join(out, 'a.bhpkg')).equals(fs.readFileSync(path.join(out, 'b.bhpkg'))));
});

test('pack refuses an invalid manifest with its path, and a missing component file', async () => {
  const dir = makePackageDir({ id: 'Not_Valid' });
  const r = await runCli(['pack', dir, '-o', path.join(tempDir(), 'x.bhpkg')]);
  assert.is(r.code, 125);
  assert.match(r.stderr, /metadata\.id: "Not_Valid" does not match/);
  const dir2 = makePackageDir();
  fs.rmSync(path.join(dir2, 'components/hello.wasm'));
  const r2 = await runCli(['pack', dir2, '-o', path.join(tempDir(), 'y.bhpkg')]);
  assert.is(r2.code, 125);
  assert.match(r2.stderr, /refers to "components\/hello\.wasm", which is not in/);
});

test('a bulkhead signature verifies with `minisign -V`, binding id, version and digest', async () => {
  const { key } = await trustedSetup();
  const pkg = await signedPackage({}, key.secretFile);
  const out = execFileSync('minisign', ['-V', '-p', key.publicFile, '-m', pkg], { encoding: 'utf8' });
  assert.match(out, /Signature and comment signature verified/);
  assert.match(out, /Trusted comment: bulkhead-package id=test-app version=1\.0\.0 vendor=Vendor%20A digest=blake2b512:[0-9a-f]{128}/);
});

test('a package signed with `minisign -S` (minisign-made key) verifies in bulkhead', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const keys = tempDir();
  execFileSync('minisign', ['-G', '-W', '-p', path.join(keys, 'm.pub'), '-s', path.join(keys, 'm.key')]);
  await cli(dataDir, ['trust', 'add', path.join(keys, 'm.pub'), '--vendor', 'Vendor A']);
  const pkg = await makePackage();
  execFileSync('minisign', ['-S', '-s', path.join(keys, 'm.key'), '-m', pkg, '-t', 'release 1.0.0']);
  const r = await cli(dataDir, ['verify', pkg, '--json']);
  assert.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout);
  assert.is(report.ok, true);
  assert.is(report.signers[0].vendor, 'Vendor A');
});

test('bulkhead can sign with a key made by `minisign -G`', async () => {
  const keys = tempDir();
  execFileSync('minisign', ['-G', '-W', '-p', path.join(keys, 'm.pub'), '-s', path.join(keys, 'm.key')]);
  const pkg = await makePackage();
  const r = await runCli(['sign', pkg, '-k', path.join(keys, 'm.key')]);
  assert.is(r.code, 0, r.stderr);
  execFileSync('minisign', ['-V', '-p', path.join(keys, 'm.pub'), '-m', pkg]);
});

test('a flipped byte anywhere in the package is refused', async () => {
  const { dataDir, key } = await trustedSetup();
  const pkg = await signedPackage({}, key.secretFile);
  const bytes = fs.readFileSync(pkg);
  for (const at of [0, Math.floor(bytes.length / 2), bytes.length - 1]) {
    const copy = Buffer.from(bytes);
    copy[at]! ^= 0x01;
    const tampered = path.join(tempDir(), 'tampered.bhpkg');
    fs.writeFileSync(tampered, copy);
    const r = await cli(dataDir, ['verify', tampered, '--signature', `${pkg}.minisig`]);
    assert.is(r.code, 1, `byte ${at}`);
    assert.match(r.stderr, /BH_ERR_SIG_INVALID: .*signature does not match the content/);
  }
});

test('an edited trusted comment is refused', async () => {
  const { dataDir, key } = await trustedSetup();
  const pkg = await signedPackage({}, key.secretFile);
  const sig = fs.readFileSync(`${pkg}.minisig`, 'utf8').replace('version=1.0.0', 'version=9.9.9');
  fs.writeFileSync(`${pkg}.minisig`, sig);
  const r = await cli(dataDir, ['verify', pkg]);
  assert.match(r.stderr, /BH_ERR_SIG_INVALID: .*trusted comment was altered/);
});

test('unknown key, revoked key, missing signature', async () => {
  const { dataDir, key } = await trustedSetup();
  const stranger = await makeKey();
  const pkg = await signedPackage({}, stranger.secretFile);
  const unknown = await cli(dataDir, ['verify', pkg]);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /BH_ERR_SIG_UNKNOWN_KEY: .*not in the trust store/);

  const pkg2 = await signedPackage({}, key.secretFile);
  const keyId = JSON.parse((await cli(dataDir, ['trust', 'list', '--json'])).stdout)[0].keyId;
  await cli(dataDir, ['trust', 'revoke', keyId, '--reason', 'key leaked']);
  const revoked = await cli(dataDir, ['verify', pkg2]);
  assert.match(revoked.stderr, /BH_ERR_SIG_REVOKED_KEY: .*revoked on .* \(key leaked\)/);
  const readd = await cli(dataDir, ['trust', 'add', key.publicFile, '--vendor', 'Vendor A']);
  assert.is(readd.code, 1);
  assert.match(readd.stderr, /was revoked/);

  const unsigned = await makePackage();
  const none = await cli(dataDir, ['verify', unsigned]);
  assert.match(none.stderr, /BH_ERR_SIG_MISSING/);
});

test("a signature by another vendor than the manifest's is refused", async () => {
  const { dataDir } = await trustedSetup('Vendor A');
  const other = await makeKey();
  await cli(dataDir, ['trust', 'add', other.publicFile, '--vendor', 'Vendor B']);
  // Vendor B signs a package claiming to be Vendor A's.
  const pkg = await makePackage({ vendor: 'Vendor A' });
  const { signPackageFile } = await import('../../packages/signing/package-signature.js');
  await signPackageFile(pkg, other.key, { id: 'test-app', version: '1.0.0', vendor: 'Vendor A' }, `${pkg}.minisig`);
  const r = await cli(dataDir, ['install', pkg]);
  assert.is(r.code, 1);
  assert.match(r.stderr, /BH_ERR_SIG_WRONG_VENDOR: package claims vendor "Vendor A" but is signed by Vendor B/);
});

test('a signature moved to a different package of the same vendor is refused by its binding', async () => {
  const { dataDir, key } = await trustedSetup();
  const v1 = await signedPackage({ version: '1.0.0' }, key.secretFile);
  const v2 = await makePackage({ version: '2.0.0' });
  const r = await cli(dataDir, ['verify', v2, '--signature', `${v1}.minisig`]);
  assert.match(r.stderr, /BH_ERR_SIG_INVALID/);
});

test('device policy can require an integrator signature as well', async () => {
  const { dataDir, key } = await trustedSetup();
  const integrator = await makeKey();
  await cli(dataDir, ['trust', 'add', integrator.publicFile, '--vendor', 'Systems Integrator Ltd', '--role', 'integrator']);
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), 'signatures:\n  requiredRoles: [vendor, integrator]\n  minimumSignatures: 2\n');
  const pkg = await signedPackage({}, key.secretFile);
  const one = await cli(dataDir, ['install', pkg]);
  assert.match(one.stderr, /BH_ERR_SIG_POLICY: device policy requires a signature in role "integrator"/);
  const second = await runCli(['sign', pkg, '-k', integrator.secretFile, '-o', `${pkg}.integrator.minisig`]);
  assert.is(second.code, 0, second.stderr);
  const two = await cli(dataDir, ['install', pkg, '--json']);
  assert.is(two.code, 0, two.stderr);
  assert.is(JSON.parse(two.stdout).version, '1.0.0');
});

test('an invalid policy file is an error, not ignored', async () => {
  const { dataDir, key } = await trustedSetup();
  fs.writeFileSync(path.join(dataDir, 'policy.yaml'), 'signatures:\n  minimumSignatures: zero\n');
  const r = await cli(dataDir, ['install', await signedPackage({}, key.secretFile)]);
  assert.is(r.code, 125);
  assert.match(r.stderr, /policy\.yaml: signatures\.minimumSignatures: must be integer/);
});

test('rollback protection, and a failed install leaves the previous version intact', async () => {
  const { dataDir, key } = await trustedSetup();
  const v1 = await signedPackage({ version: '1.2.0' }, key.secretFile);
  assert.is((await cli(dataDir, ['install', v1])).code, 0);
  const old = await signedPackage({ version: '1.1.9' }, key.secretFile);
  const rollback = await cli(dataDir, ['install', old]);
  assert.match(rollback.stderr, /BH_ERR_ROLLBACK: test-app 1\.1\.9 is not newer than the installed 1\.2\.0/);
  const same = await cli(dataDir, ['install', v1]);
  assert.match(same.stderr, /BH_ERR_ROLLBACK/);
  const storeBefore = fs.readdirSync(path.join(dataDir, 'packages'));

  // v2 with a flipped byte: refused; v1 stays installed; nothing half-written anywhere.
  const v2 = await signedPackage({ version: '2.0.0' }, key.secretFile);
  const bytes = fs.readFileSync(v2);
  bytes[bytes.length - 10]! ^= 0xff;
  fs.writeFileSync(v2, bytes);
  const failed = await cli(dataDir, ['install', v2]);
  assert.is(failed.code, 1);
  assert.equal(fs.readdirSync(path.join(dataDir, 'packages')), storeBefore);
  assert.equal(fs.readdirSync(path.join(dataDir, 'staging')), []);
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(path.join(dataDir, 'state.db'), { readonly: true });
  assert.equal(db.prepare('SELECT version FROM installed_packages WHERE app_id = ?').get('test-app'), { version: '1.2.0' });
  db.close();

  const down = await cli(dataDir, ['install', old, '--allow-downgrade']);
  assert.is(down.code, 0, down.stderr);
});

test('unsafe archives are refused at install, after the signature check', async () => {
  const { dataDir, key } = await trustedSetup();
  const { craftTarGz, manifestYaml } = await import('../support/package-fixtures.js');
  const { signPackageFile } = await import('../../packages/signing/package-signature.js');
  const cases: [string, Parameters<typeof craftTarGz>[1], RegExp][] = [
    ['abs', [{ path: 'margo.yaml', data: manifestYaml({}) }, { path: '/etc/evil', data: 'x' }], /BH_ERR_ARCHIVE_UNSAFE: .*absolute path/],
    ['dotdot', [{ path: 'margo.yaml', data: manifestYaml({}) }, { path: 'components/../../evil', data: 'x' }], /BH_ERR_ARCHIVE_UNSAFE: .*"\.\."/],
    ['link', [{ path: 'margo.yaml', data: manifestYaml({}) }, { path: 'components/hello.wasm', type: 'SymbolicLink', linkpath: '../../../../etc/shadow' }], /BH_ERR_ARCHIVE_UNSAFE: .*points outside/],
    ['dev', [{ path: 'margo.yaml', data: manifestYaml({}) }, { path: 'tty', type: 'CharacterDevice' }], /BH_ERR_ARCHIVE_UNSAFE: .*CharacterDevice/],
    ['dup', [{ path: 'margo.yaml', data: manifestYaml({}) }, { path: 'margo.yaml', data: manifestYaml({ id: 'other' }) }], /BH_ERR_ARCHIVE_UNSAFE: .*appears twice/],
    ['bomb', [{ path: 'margo.yaml', data: manifestYaml({}) }, { path: 'zeros', data: Buffer.alloc(40 * 1024 * 1024) }], /BH_ERR_ARCHIVE_LIMIT: .*decompression bomb/],
    ['nomanifest', [{ path: 'readme', data: 'x' }], /BH_ERR_MANIFEST_INVALID: .*no margo\.yaml/],
    ['nowasm', [{ path: 'margo.yaml', data: manifestYaml({}) }], /BH_ERR_MANIFEST_FILE_MISSING: .*components\/hello\.wasm/],
  ];
  for (const [name, entries, expected] of cases) {
    const pkg = craftTarGz(path.join(tempDir(), `${name}.bhpkg`), entries);
    // Signed through the API: these archives are hostile on purpose, and a validly signed one shows
    // the checks after the signature still hold (a vendor key can be stolen).
    await signPackageFile(pkg, key.key, { id: 'test-app', version: '1.0.0', vendor: 'Vendor A' }, `${pkg}.minisig`);
    const r = await cli(dataDir, ['install', pkg]);
    assert.is(r.code, 1, `${name}: ${r.stderr}`);
    assert.match(r.stderr, expected, name);
    assert.not.ok(fs.existsSync('/etc/evil'));
  }
  assert.equal(fs.readdirSync(path.join(dataDir, 'staging')), []);
});

test("Compose archives must follow Margo's layout: one folder named after the component, with compose.yaml", async () => {
  const { dataDir, key } = await trustedSetup();
  const { craftTarGz } = await import('../support/package-fixtures.js');
  const composeProfile = `  - type: compose
    components:
      - name: web
        properties:
          archive: compose/web.tar.gz
`;
  const archive = (entries: Parameters<typeof craftTarGz>[1]) => fs.readFileSync(craftTarGz(path.join(tempDir(), 'web.tar.gz'), entries));
  const good = archive([{ path: 'web/', type: 'Directory' }, { path: 'web/compose.yaml', data: 'services: {}\n' }]);
  const wrongFolder = archive([{ path: 'website/compose.yaml', data: 'services: {}\n' }]);
  const noCompose = archive([{ path: 'web/readme.txt', data: 'x' }]);
  const escaping = archive([{ path: 'web/compose.yaml', data: 'x' }, { path: 'web/data', type: 'SymbolicLink', linkpath: '../../../etc' }]);
  const install = async (bytes: Buffer, version: string) => {
    const pkg = await signedPackage({ version, manifestExtra: composeProfile, files: { 'compose/web.tar.gz': bytes } }, key.secretFile);
    return cli(dataDir, ['install', pkg]);
  };
  assert.match((await install(wrongFolder, '1.0.1')).stderr, /BH_ERR_COMPOSE_ARCHIVE: .*exactly one top-level folder named "web" \(found: website\)/);
  assert.match((await install(noCompose, '1.0.2')).stderr, /BH_ERR_COMPOSE_ARCHIVE: .*no web\/compose\.yaml/);
  assert.match((await install(escaping, '1.0.3')).stderr, /BH_ERR_COMPOSE_ARCHIVE: .*points outside/);
  const ok = await install(good, '1.1.0');
  assert.is(ok.code, 0, ok.stderr);
});

test('inspect shows contents and signatures, marked unverified; --json is parseable', async () => {
  const { key } = await trustedSetup();
  const pkg = await signedPackage({}, key.secretFile);
  const human = await runCli(['inspect', pkg]);
  assert.match(human.stdout, /Test App \(test-app\) 1\.0\.0, vendor Vendor A\s+\[not verified/);
  const json = JSON.parse((await runCli(['inspect', pkg, '--json'])).stdout);
  assert.is(json.verified, false);
  assert.is(json.signatures.length, 1);
  assert.equal(json.profiles, [{ type: 'x-bulkhead-wasm', id: null, components: ['hello'] }]);
});

test('keygen refuses to overwrite keys', async () => {
  const dir = tempDir();
  assert.is((await runCli(['keygen', '-W', '-o', path.join(dir, 'k')])).code, 0);
  assert.is(fs.statSync(path.join(dir, 'k.key')).mode & 0o777, 0o600);
  const again = await runCli(['keygen', '-W', '-o', path.join(dir, 'k')]);
  assert.is(again.code, 125);
  assert.match(again.stderr, /exists; pass --force/);
});

test.run();
