// Packages through a real OCI registry (docker-registry on 127.0.0.1), read back by skopeo too.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { makeKey, makePackage } from '../support/package-fixtures.js';
import { runCli, tempDir } from '../support/paths.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let registry: TestRegistry;
let signer: Awaited<ReturnType<typeof makeKey>>;

test.before(async () => {
  registry = await startRegistry();
  signer = await makeKey();
});
test.after(async () => registry.stop());

async function signed(spec: Parameters<typeof makePackage>[0]) {
  const pkg = await makePackage(spec);
  const r = await runCli(['sign', pkg, '-k', signer.secretFile]);
  assert.is(r.code, 0, r.stderr);
  return pkg;
}

test('push then pull gives back the same bytes and signature, which then install', async () => {
  const pkg = await signed({ id: 'roundtrip', version: '1.4.0' });
  // A repository of this run's own: the shared registry keeps other runs' signatures (other keys)
  // on the same reproducible package, which a pull brings along as referrers.
  const repo = `vendor-a/roundtrip-${randomBytes(4).toString('hex')}`;
  const push = await runCli(['push', pkg, `${registry.address}/${repo}`, '--json']);
  assert.is(push.code, 0, push.stderr);
  const pushed = JSON.parse(push.stdout);
  assert.is(pushed.tag, '1.4.0');
  assert.is(pushed.signatures.length, 1);
  assert.is(pushed.referrersApi, false, 'distribution 2.8 has no referrers API: the tag-schema fallback is used');

  const out = tempDir();
  const pull = await runCli(['pull', `${registry.address}/${repo}:1.4.0`, '-o', out, '--json']);
  assert.is(pull.code, 0, pull.stderr);
  const pulled = JSON.parse(pull.stdout);
  assert.is(pulled.digest, pushed.digest);
  assert.ok(fs.readFileSync(pulled.packageFile).equals(fs.readFileSync(pkg)));
  assert.is(pulled.signatureFiles.length, 1);

  const dataDir = tempDir('bulkhead-data-');
  await runCli(['--data-dir', dataDir, 'trust', 'add', signer.publicFile, '--vendor', 'Vendor A']);
  const install = await runCli(['--data-dir', dataDir, 'install', pulled.packageFile]);
  assert.is(install.code, 0, install.stderr);
  assert.match(install.stdout, /installed roundtrip 1\.4\.0 from Vendor A/);
});

test('a standard client (skopeo) reads the Margo artifact we pushed', async () => {
  const pkg = await signed({ id: 'skopeo-check', version: '2.0.0' });
  assert.is((await runCli(['push', pkg, `${registry.address}/vendor-a/skopeo-check`])).code, 0);
  const raw = execFileSync('skopeo', ['inspect', '--tls-verify=false', '--raw', `docker://${registry.address}/vendor-a/skopeo-check:2.0.0`], { encoding: 'utf8' });
  const manifest = JSON.parse(raw);
  assert.is(manifest.artifactType, 'application/vnd.margo.app.v1+json');
  assert.is(manifest.config.mediaType, 'application/vnd.oci.empty.v1+json');
  assert.equal(manifest.layers[0].mediaType, 'application/vnd.margo.app.description.v1+yaml');
  assert.equal(manifest.layers[0].annotations['org.opencontainers.image.title'], 'margo.yaml');
  assert.ok(manifest.layers.some((l: { mediaType: string }) => l.mediaType === 'application/vnd.bulkhead.package.v1.tar+gzip'));
  const tags = JSON.parse(execFileSync('skopeo', ['list-tags', '--tls-verify=false', `docker://${registry.address}/vendor-a/skopeo-check`], { encoding: 'utf8' }));
  assert.ok(tags.Tags.includes('2.0.0'));
  assert.ok(tags.Tags.some((t: string) => /^sha256-[0-9a-f]{64}$/.test(t)), 'referrers fallback tag exists');
});

test('a tampered blob in the registry is refused on pull and nothing is left behind', async () => {
  const isolated = await startRegistry({ private: true });
  try {
    const pkg = await signed({ id: 'tamper', version: '1.0.0' });
    const push = JSON.parse((await runCli(['push', pkg, `${isolated.address}/vendor-a/tamper`, '--json'])).stdout);
    const { createHash } = await import('node:crypto');
    const pkgDigest = createHash('sha256').update(fs.readFileSync(pkg)).digest('hex');
    const blob = path.join(isolated.root, 'docker/registry/v2/blobs/sha256', pkgDigest.slice(0, 2), pkgDigest, 'data');
    const bytes = fs.readFileSync(blob);
    bytes[100]! ^= 0xff;
    fs.writeFileSync(blob, bytes);
    const out = tempDir();
    const pull = await runCli(['pull', `${isolated.address}/vendor-a/tamper@${push.digest}`, '-o', out]);
    assert.is(pull.code, 1);
    assert.match(pull.stderr, /BH_ERR_OCI: blob sha256:[0-9a-f]+: downloaded content has digest sha256:[0-9a-f]+ .*refused/);
    assert.equal(fs.readdirSync(out), []);
  } finally {
    await isolated.stop();
  }
});

test('bad references, tag/version mismatch, unreachable registry: clear errors', async () => {
  const pkg = await signed({ id: 'errors', version: '1.0.0' });
  const badRef = await runCli(['push', pkg, 'no-registry-here']);
  assert.is(badRef.code, 125);
  assert.match(badRef.stderr, /expected REGISTRY\/REPOSITORY/);
  const mismatch = await runCli(['push', pkg, `${registry.address}/vendor-a/errors:2.0.0`]);
  assert.match(mismatch.stderr, /tag "2\.0\.0" differs from metadata\.version 1\.0\.0/);
  const down = await runCli(['pull', '127.0.0.1:9/vendor-a/errors:1.0.0']);
  assert.is(down.code, 1);
  assert.match(down.stderr, /BH_ERR_OCI: registry 127\.0\.0\.1:9 unreachable/);
  const missing = await runCli(['pull', `${registry.address}/vendor-a/never-pushed:1.0.0`]);
  assert.match(missing.stderr, /not found|HTTP 404/);
});

test('credentials: refused without, accepted from --password-stdin and from an auth file', async () => {
  const secured = await startRegistry({ users: { vendor: 's3cret' } });
  try {
    const pkg = await signed({ id: 'private', version: '1.0.0' });
    const ref = `${secured.address}/vendor-a/private`;
    const anonymous = await runCli(['push', pkg, ref], { env: { REGISTRY_AUTH_FILE: '/nonexistent', DOCKER_CONFIG: tempDir() } });
    assert.is(anonymous.code, 1);
    assert.match(anonymous.stderr, /requires credentials/);
    const wrong = await runCli(['push', pkg, ref, '-u', 'vendor', '--password-stdin'], { input: 'nope\n' });
    assert.match(wrong.stderr, /HTTP 401.*check credentials/);
    const good = await runCli(['push', pkg, ref, '-u', 'vendor', '--password-stdin'], { input: 's3cret\n' });
    assert.is(good.code, 0, good.stderr);
    const authFile = path.join(tempDir(), 'auth.json');
    fs.writeFileSync(authFile, JSON.stringify({ auths: { [secured.address]: { auth: Buffer.from('vendor:s3cret').toString('base64') } } }));
    const pull = await runCli(['pull', `${ref}:1.0.0`, '-o', tempDir()], { env: { REGISTRY_AUTH_FILE: authFile } });
    assert.is(pull.code, 0, pull.stderr);
  } finally {
    await secured.stop();
  }
});

test('TLS: an unknown certificate is refused with a hint; --ca-file makes it work', async () => {
  const secure = await startRegistry({ tls: true });
  try {
    const pkg = await signed({ id: 'tls-app', version: '1.0.0' });
    const ref = `${secure.address}/vendor-a/tls-app`;
    // Without TLS options a loopback registry is spoken to in plain HTTP, which this one refuses.
    const plain = await runCli(['push', pkg, ref]);
    assert.is(plain.code, 1);
    // HTTPS with a CA bundle that does not contain the registry's self-signed certificate.
    const otherCa = path.join(tempDir(), 'other-ca.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', path.join(path.dirname(otherCa), 'k.pem'), '-out', otherCa, '-subj', '/CN=other'], { stdio: 'ignore' });
    const untrusted = await runCli(['push', pkg, ref, '--ca-file', otherCa]);
    assert.is(untrusted.code, 1);
    assert.match(untrusted.stderr, /TLS failed .*pass --ca-file/);
    const ok = await runCli(['push', pkg, ref, '--ca-file', secure.caFile!]);
    assert.is(ok.code, 0, ok.stderr);
    const insecure = await runCli(['pull', `${ref}:1.0.0`, '-o', tempDir(), '--insecure']);
    assert.is(insecure.code, 0, insecure.stderr);
  } finally {
    await secure.stop();
  }
});

test.run();
