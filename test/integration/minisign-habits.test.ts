// What a vendor used to minisign does, through the real CLI and the real `minisign` binary:
// password-protected keys both ways (minisign's own scrypt limits in one direction), minisign's flag
// spellings, checking a package against a public key without a trust store, and the errors a
// mistyped command gets (always `bulkhead: ...`, one line, exit 125).
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeKey, makePackage, makePackageDir } from '../support/package-fixtures.js';
import { bulkheadBin, runCli, tempDir } from '../support/paths.js';

/** minisign reads the password from standard input when it is not a terminal. */
const minisign = (args: string[], input = '') => execFileSync('minisign', args, { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });

function passwordFile(password: string): string {
  const file = path.join(tempDir(), 'password');
  fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
  return file;
}

/**
 * Runs bulkhead on a pseudo-terminal (util-linux `script`), typing `password` at each prompt once
 * it is shown. Returns everything the terminal displayed.
 */
function onTerminal(args: string[], password: string): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, bulkheadBin, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: 'pipe' });
  let screen = '';
  let answered = 0;
  child.stdout.on('data', (d) => {
    screen += d;
    const prompts = (screen.match(/Password[^:]*: /g) ?? []).length;
    for (; answered < prompts; answered++) child.stdin.write(`${password}\r`);
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, screen })));
}

test('a key made by `minisign -G` with a password (its own 1 GiB scrypt limits) signs with bulkhead', async () => {
  const dir = tempDir();
  minisign(['-G', '-p', path.join(dir, 'm.pub'), '-s', path.join(dir, 'm.key')], 'minisign pw\nminisign pw\n');
  assert.match(fs.readFileSync(path.join(dir, 'm.key'), 'utf8'), /^untrusted comment: minisign encrypted secret key\n/);
  const pkg = await makePackage();
  // minisign's spellings: -s secret key, -x signature file, -m the file
  const signed = await runCli(['sign', '-m', pkg, '-s', path.join(dir, 'm.key'), '-x', path.join(dir, 'app.sig'), '--password-file', passwordFile('minisign pw')]);
  assert.is(signed.code, 0, signed.stderr);
  assert.match(minisign(['-V', '-p', path.join(dir, 'm.pub'), '-m', pkg, '-x', path.join(dir, 'app.sig')]), /Signature and comment signature verified/);
  // no password source and no terminal: told how to give one, instead of hanging
  const none = await runCli(['sign', pkg, '-s', path.join(dir, 'm.key'), '-x', path.join(dir, 'none.sig')], { env: { BULKHEAD_KEY_PASSWORD: undefined } });
  assert.is(none.code, 125);
  assert.match(none.stderr, /is password-protected: give --password-file FILE \(- for standard input\) or set BULKHEAD_KEY_PASSWORD/);
});

test('a key made by `bulkhead keygen` with a password signs with `minisign -S` (which reads the limits from the file)', async () => {
  const dir = tempDir();
  const made = await runCli(['keygen', '-s', path.join(dir, 'v.key'), '-p', path.join(dir, 'v.pub'), '--password-file', passwordFile('vendor pw'), '--kdf-memory', '16MiB', '--json']);
  assert.is(made.code, 0, made.stderr);
  assert.is(JSON.parse(made.stdout).encrypted, true);
  assert.is(fs.statSync(path.join(dir, 'v.key')).mode & 0o777, 0o600);
  const file = path.join(dir, 'release.txt');
  fs.writeFileSync(file, 'release notes\n');
  minisign(['-S', '-s', path.join(dir, 'v.key'), '-m', file], 'vendor pw\n');
  assert.match(minisign(['-V', '-p', path.join(dir, 'v.pub'), '-m', file]), /Signature and comment signature verified/);
  assert.throws(() => minisign(['-S', '-s', path.join(dir, 'v.key'), '-m', file, '-x', path.join(dir, 'bad.sig')], 'wrong pw\n'), /Wrong password/);
  // and bulkhead signs with it: password from standard input, from the environment, a wrong one
  const pkg = await makePackage();
  const signed = await runCli(['sign', pkg, '-s', path.join(dir, 'v.key'), '--password-file', '-'], { input: 'vendor pw\n' });
  assert.is(signed.code, 0, signed.stderr);
  minisign(['-V', '-p', path.join(dir, 'v.pub'), '-m', pkg]);
  const viaEnv = await runCli(['sign', pkg, '-k', path.join(dir, 'v.key'), '-o', path.join(dir, 'env.sig')], { env: { BULKHEAD_KEY_PASSWORD: 'vendor pw' } });
  assert.is(viaEnv.code, 0, viaEnv.stderr);
  const wrong = await runCli(['sign', pkg, '-s', path.join(dir, 'v.key'), '-x', path.join(dir, 'wrong.sig')], { env: { BULKHEAD_KEY_PASSWORD: 'not it' } });
  assert.is(wrong.code, 125);
  assert.match(wrong.stderr, /^bulkhead: \S+v\.key: wrong password \(or a damaged key file\)\n$/);
  assert.not.ok(fs.existsSync(path.join(dir, 'wrong.sig')));
});

test('keygen on a terminal asks twice without echoing; a mismatch writes nothing', async () => {
  const dir = tempDir();
  const r = await onTerminal(['keygen', '-o', path.join(dir, 'tty'), '--kdf-memory', '16MiB'], 'typed secret');
  assert.is(r.code, 0, r.screen);
  assert.match(r.screen, /Password: [\s\S]*Password \(one more time\): /);
  assert.not.match(r.screen, /typed secret/, 'the password was echoed');
  minisign(['-S', '-s', path.join(dir, 'tty.key'), '-m', path.join(dir, 'tty.pub')], 'typed secret\n');
  // sign on a terminal asks once
  const pkg = await makePackage();
  const s = await onTerminal(['sign', pkg, '-s', path.join(dir, 'tty.key')], 'typed secret');
  assert.is(s.code, 0, s.screen);
  assert.match(s.screen, /Password for \S+tty\.key: /);
  assert.not.match(s.screen, /typed secret/);
  // `--password-file -` on a terminal is asked for too, never read as a visible line
  const dash = await onTerminal(['sign', pkg, '-s', path.join(dir, 'tty.key'), '--password-file', '-', '-x', path.join(dir, 'dash.minisig')], 'typed secret');
  assert.is(dash.code, 0, dash.screen);
  assert.not.match(dash.screen, /typed secret/);

  const child = spawn('script', ['-qfec', `'${process.execPath}' '${bulkheadBin}' keygen -o '${path.join(dir, 'mismatch')}'`, '/dev/null'], { stdio: 'pipe' });
  let screen = '';
  let n = 0;
  child.stdout.on('data', (d) => {
    screen += d;
    if ((screen.match(/Password[^:]*: /g) ?? []).length > n) child.stdin.write(n++ === 0 ? 'one\r' : 'two\r');
  });
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.is(code, 125, screen);
  assert.match(screen, /bulkhead: passwords don't match; nothing was written/);
  assert.not.ok(fs.existsSync(path.join(dir, 'mismatch.key')));
});

test('keygen: no password source off a terminal is an error naming -W; -W writes a key minisign uses without one', async () => {
  const dir = tempDir();
  const refused = await runCli(['keygen', '-o', path.join(dir, 'k')], { env: { BULKHEAD_KEY_PASSWORD: undefined } });
  assert.is(refused.code, 125);
  assert.match(refused.stderr, /^bulkhead: keygen encrypts the secret key: .* or pass -W for an unencrypted key\n$/);
  assert.equal(fs.readdirSync(dir), []);
  const empty = await runCli(['keygen', '-o', path.join(dir, 'k'), '--password-file', passwordFile('')]);
  assert.match(empty.stderr, /the password is empty; pass -W/);
  const plain = await runCli(['keygen', '-W', '-o', path.join(dir, 'k')]);
  assert.is(plain.code, 0, plain.stderr);
  assert.match(fs.readFileSync(path.join(dir, 'k.key'), 'utf8'), /unencrypted/);
  minisign(['-S', '-s', path.join(dir, 'k.key'), '-m', path.join(dir, 'k.pub')]);
  const again = await runCli(['keygen', '-W', '-s', path.join(dir, 'k.key')]);
  assert.is(again.code, 125);
  assert.match(again.stderr, /k\.key exists; pass --force to overwrite/);
});

test('keygen, sign and pack into a missing directory name the directory (it was "internal error: ENOENT", and a crash for pack)', async () => {
  const r = await runCli(['keygen', '-W', '-o', '/nonexistent/dir/k']);
  assert.is(r.code, 125);
  assert.is(r.stderr, 'bulkhead: cannot write /nonexistent/dir/k.key: directory /nonexistent/dir does not exist (create it first)\n');
  const key = await makeKey();
  const pkg = await makePackage();
  const sign = await runCli(['sign', pkg, '-s', key.secretFile, '-x', '/nonexistent/dir/app.minisig']);
  assert.is(sign.stderr, 'bulkhead: cannot write /nonexistent/dir/app.minisig: directory /nonexistent/dir does not exist (create it first)\n');
  const pack = await runCli(['pack', makePackageDir(), '-o', '/nonexistent/dir/app.bhpkg']);
  assert.is(pack.code, 125);
  assert.is(pack.stderr, 'bulkhead: cannot write /nonexistent/dir/app.bhpkg: directory /nonexistent/dir does not exist (create it first)\n');
  const file = path.join(tempDir(), 'a-file');
  fs.writeFileSync(file, '');
  const notDir = await runCli(['keygen', '-W', '-p', path.join(file, 'k.pub'), '-s', path.join(tempDir(), 'k.key')]);
  assert.is(notDir.code, 125);
  assert.match(notDir.stderr, /is not a directory/);
});

test('verify -p / -P: a package checked against one public key, without a trust store or data dir', async () => {
  const key = await makeKey();
  const other = await makeKey();
  const pkg = await makePackage();
  assert.is((await runCli(['sign', pkg, '-s', key.secretFile])).code, 0);
  assert.is((await runCli(['sign', pkg, '-s', other.secretFile, '-x', `${pkg}.integrator.minisig`])).code, 0);
  const dataDir = path.join(tempDir(), 'never-created');
  const ok = await runCli(['--data-dir', dataDir, 'verify', pkg, '-p', key.publicFile, '--json']);
  assert.is(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout);
  assert.is(report.trustStore, false);
  assert.match(report.packageDigest, /^sha256:[0-9a-f]{64}$/);
  assert.is(report.otherSignatures.length, 1, 'the other key\'s signature is reported, not checked');
  assert.not.ok(fs.existsSync(dataDir), 'no device state was touched');
  const inline = await runCli(['verify', '-m', pkg, '-P', key.publicText.split('\n')[1]!]);
  assert.is(inline.code, 0, inline.stderr);
  assert.match(inline.stdout, /package digest: sha256:[0-9a-f]{64}/);
  // a key that signed nothing here, a tampered package, a secret key where a signature belongs
  const stranger = await makeKey();
  const none = await runCli(['verify', pkg, '-p', stranger.publicFile]);
  assert.is(none.code, 1);
  assert.match(none.stderr, /BH_ERR_SIG_MISSING: .*no signature by key [0-9A-F]{16} \(found /);
  const tampered = path.join(tempDir(), 'tampered.bhpkg');
  const bytes = fs.readFileSync(pkg);
  bytes[bytes.length >> 1]! ^= 1;
  fs.writeFileSync(tampered, bytes);
  const bad = await runCli(['verify', tampered, '-x', `${pkg}.minisig`, '-p', key.publicFile]);
  assert.is(bad.code, 1);
  assert.match(bad.stderr, /BH_ERR_SIG_INVALID: .*does not match the content/);
  const secret = await runCli(['verify', pkg, '-s', key.secretFile]);
  assert.is(secret.code, 125);
  assert.match(secret.stderr, /is a secret key, not a signature: verify takes signatures with -x FILE and a public key with -p FILE/);
  const both = await runCli(['verify', pkg, '-p', key.publicFile, '-P', 'x']);
  assert.is(both.code, 125);
});

test('verify and install with the trust store: -x (minisign) and the earlier -s both name the signature; the digest is labelled', async () => {
  const dataDir = tempDir('bulkhead-data-');
  const key = await makeKey();
  assert.is((await runCli(['--data-dir', dataDir, 'trust', 'add', key.publicFile, '--vendor', 'Vendor A'])).code, 0);
  const pkg = await makePackage();
  const sig = path.join(tempDir(), 'elsewhere.minisig');
  assert.is((await runCli(['sign', pkg, '-k', key.secretFile, '-o', sig])).code, 0);
  for (const flag of ['-x', '-s', '--signature']) {
    const r = await runCli(['--data-dir', dataDir, 'verify', pkg, flag, sig]);
    assert.is(r.code, 0, `${flag}: ${r.stderr}`);
    assert.match(r.stdout, /^ {2}package digest: sha256:[0-9a-f]{64}$/m);
  }
  assert.equal(Object.keys(JSON.parse((await runCli(['--data-dir', dataDir, 'verify', pkg, '-x', sig, '--json'])).stdout)).filter((k) => k.endsWith('igest')), ['digest', 'packageDigest']);
  // install takes the same spellings; with no signature named, the one elsewhere is not found.
  assert.is.not((await runCli(['--data-dir', dataDir, 'install', pkg])).code, 0);
  const installed = await runCli(['--data-dir', dataDir, 'install', pkg, '-x', sig]);
  assert.is(installed.code, 0, installed.stderr);
  assert.is((await runCli(['--data-dir', dataDir, 'install', pkg, '-s', sig, '--allow-downgrade'])).code, 0);
});

test('mistakes on the command line: one prefixed line, exit 125, never commander\'s bare "error:"', async () => {
  const pkg = await makePackage();
  for (const args of [['bogus'], ['sign'], ['sign', pkg], ['verify', '-Q'], ['keygen', '--nope'], ['verify'], ['sign', pkg, '-s'], ['run', '--max-memory'], ['uninstall']]) {
    const r = await runCli(args);
    assert.is(r.code, 125, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^bulkhead: [^\n]+\n$/, `${args.join(' ')}: ${JSON.stringify(r.stderr)}`);
  }
  assert.match((await runCli(['bogus'])).stderr, /unknown command 'bogus' \(did you mean/);
  assert.is((await runCli(['sign', '--help'])).code, 0);
});

test('a 10 MB metadata.id (or key name) is quoted cut: a short error, not 10 MB on stderr', async () => {
  // 10 MB is refused by margo.yaml's size limit before parsing: short, and nothing echoed.
  const dir = makePackageDir({ id: 'x'.repeat(10_000_000) });
  const r = await runCli(['pack', dir, '-o', path.join(tempDir(), 'big.bhpkg')]);
  assert.is(r.code, 125);
  assert.ok(r.stderr.length < 1000, `${r.stderr.length} bytes on stderr`);
  assert.match(r.stderr, /^bulkhead: \S+margo\.yaml: \d+ bytes, over the limit of 262144 .*not parsed/);
  // Long values under that limit reach the validator and are quoted cut.
  const long = makePackageDir({ id: 'x'.repeat(200_000) });
  const l = await runCli(['pack', long, '-o', path.join(tempDir(), 'long.bhpkg')]);
  assert.is(l.code, 125);
  assert.ok(l.stderr.length < 1000, `${l.stderr.length} bytes on stderr`);
  assert.match(l.stderr, /^bulkhead: \S+margo\.yaml: metadata\.id: "x{80}…" \(200000 characters\) does not match /);
  const key = makePackageDir({ manifestExtra: `? ${'k'.repeat(200_000)}\n: 1\n` });
  const k = await runCli(['pack', key, '-o', path.join(tempDir(), 'key.bhpkg')]);
  assert.is(k.code, 125);
  assert.ok(k.stderr.length < 1000, `${k.stderr.length} bytes on stderr`);
  assert.match(k.stderr, /unknown key "k{80}…" \(200000 characters\)/);
});

test.run();
