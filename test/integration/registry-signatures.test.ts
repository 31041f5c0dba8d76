// Signatures through a real registry (issue 12): anyone with write access can attach a referrer, so
// a signature by an unknown key must not block a valid package; re-pushing must not pile up
// identical referrers; and a pull whose signature blob was tampered with leaves nothing behind.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BULKHEAD_SIGNATURE_ARTIFACT } from '../../packages/oci/media-types.js';
import { makeKey, makePackage } from '../support/package-fixtures.js';
import { runCli, tempDir } from '../support/paths.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';

let registry: TestRegistry;
test.before(async () => { registry = await startRegistry(); });
test.after(async () => registry.stop());

/** Signature referrers of `digest`, read from the tag-schema index (distribution 2.8 has no referrers API). */
async function signatureReferrers(address: string, repo: string, digest: string): Promise<number> {
  const res = await fetch(`http://${address}/v2/${repo}/manifests/${digest.replace(':', '-')}`, { headers: { accept: 'application/vnd.oci.image.index.v1+json' } });
  if (res.status === 404) return 0;
  const index = await res.json() as { manifests: { artifactType?: string }[] };
  return index.manifests.filter((m) => m.artifactType === BULKHEAD_SIGNATURE_ARTIFACT).length;
}

test('re-pushing does not duplicate signatures; an unknown key\'s extra referrer is ignored at install', async () => {
  const repo = `vendor-a/extra-${randomBytes(4).toString('hex')}`;
  const key = await makeKey();
  const pkg = await makePackage({ id: 'extra-ref', version: '1.0.0' });
  assert.is((await runCli(['sign', pkg, '-k', key.secretFile])).code, 0);
  const first = JSON.parse((await runCli(['push', pkg, `${registry.address}/${repo}`, '--json'])).stdout);
  const second = await runCli(['push', pkg, `${registry.address}/${repo}`, '--json']);
  assert.is(second.code, 0, second.stderr);
  assert.is(JSON.parse(second.stdout).digest, first.digest);
  assert.is(await signatureReferrers(registry.address, repo, first.digest), 1, 'two pushes, one signature referrer');

  // Someone with write access attaches a signature of their own (the real minisign, untrusted key).
  const keys = tempDir();
  execFileSync('minisign', ['-G', '-W', '-p', path.join(keys, 'm.pub'), '-s', path.join(keys, 'm.key')]);
  execFileSync('minisign', ['-S', '-s', path.join(keys, 'm.key'), '-m', pkg, '-x', `${pkg}.intruder.minisig`]);
  assert.is((await runCli(['push', pkg, `${registry.address}/${repo}`])).code, 0);
  assert.is((await runCli(['push', pkg, `${registry.address}/${repo}`])).code, 0);
  assert.is(await signatureReferrers(registry.address, repo, first.digest), 2, 'one referrer per distinct signature');

  const out = tempDir();
  const pull = await runCli(['pull', `${registry.address}/${repo}:1.0.0`, '-o', out, '--json']);
  assert.is(pull.code, 0, pull.stderr);
  const pulled = JSON.parse(pull.stdout);
  assert.is(pulled.signatureFiles.length, 2);
  const dataDir = tempDir('bulkhead-data-');
  assert.is((await runCli(['--data-dir', dataDir, 'trust', 'add', key.publicFile, '--vendor', 'Vendor A'])).code, 0);
  const install = await runCli(['--data-dir', dataDir, 'install', pulled.packageFile]);
  assert.is(install.code, 0, install.stderr);
  assert.match(install.stdout, /installed extra-ref 1\.0\.0 from Vendor A\n  ignored signature: .*not in the trust store.*\[BH_ERR_SIG_UNKNOWN_KEY\]/);
});

test('a pull whose signature blob was tampered with fails and leaves nothing behind', async () => {
  const isolated = await startRegistry({ private: true });
  try {
    const key = await makeKey();
    const pkg = await makePackage({ id: 'sig-tamper', version: '1.0.0' });
    assert.is((await runCli(['sign', pkg, '-k', key.secretFile])).code, 0);
    const push = await runCli(['push', pkg, `${isolated.address}/vendor-a/sig-tamper`, '--json']);
    assert.is(push.code, 0, push.stderr);
    const sigDigest = createHash('sha256').update(fs.readFileSync(`${pkg}.minisig`)).digest('hex');
    const blob = path.join(isolated.root, 'docker/registry/v2/blobs/sha256', sigDigest.slice(0, 2), sigDigest, 'data');
    const bytes = fs.readFileSync(blob);
    bytes[bytes.length - 5]! ^= 0x01;
    fs.writeFileSync(blob, bytes);
    const out = tempDir();
    fs.writeFileSync(path.join(out, 'unrelated.txt'), 'kept');
    const pull = await runCli(['pull', `${isolated.address}/vendor-a/sig-tamper:1.0.0`, '-o', out]);
    assert.is(pull.code, 1);
    assert.match(pull.stderr, /BH_ERR_OCI: blob sha256:[0-9a-f]+: downloaded content has digest/);
    assert.equal(fs.readdirSync(out), ['unrelated.txt'], 'neither the package nor a partial file is left');
  } finally {
    await isolated.stop();
  }
});

test.run();
