// keygen/sign/verify flags: minisign's spellings next to ours, and the conflicts refused by name.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair, formatSecretKey } from '../../packages/signing/minisign.js';
import { CliError } from '../../runtime/cli/cli-error.js';
import { keygenPlan, refuseSecretKeyAsSignature, signPlan, verifyPlan } from '../../runtime/cli/minisign-flags.js';

const usage = (pattern: RegExp) => (e: Error) => e instanceof CliError && e.exitCode === 125 && pattern.test(e.message);

test('keygen: -o PREFIX, minisign -s/-p, one of them alone, the default', () => {
  assert.equal(keygenPlan({}).secretKey, 'bulkhead.key');
  assert.equal(keygenPlan({}).publicKey, 'bulkhead.pub');
  assert.equal(keygenPlan({ output: 'keys/v' }), { secretKey: 'keys/v.key', publicKey: 'keys/v.pub', encrypted: true, kdfLimits: { opslimit: 33554432, memlimit: 1073741824 } });
  const both = keygenPlan({ secretKey: 'a/s.key', publicKey: 'b/p.pub' });
  assert.is(both.secretKey, 'a/s.key');
  assert.is(both.publicKey, 'b/p.pub');
  assert.is(keygenPlan({ secretKey: 'a/s.key' }).publicKey, 'a/s.pub');
  assert.is(keygenPlan({ publicKey: 'minisign.pub' }).secretKey, 'minisign.key');
  assert.is(keygenPlan({ output: 'x', secretKey: 'y.key' }).publicKey, 'x.pub');
});

test('keygen: encrypted unless -W; --kdf-memory within 16MiB..1GiB keeps one op per 32 bytes', () => {
  assert.is(keygenPlan({ unencrypted: true }).encrypted, false);
  assert.equal(keygenPlan({ kdfMemory: '16MiB' }).kdfLimits, { opslimit: 524288, memlimit: 16777216 });
  assert.throws(() => keygenPlan({ kdfMemory: '1MiB' }), usage(/--kdf-memory "1MiB": expected 16MiB to 1GiB/));
  assert.throws(() => keygenPlan({ kdfMemory: '2GiB' }), usage(/expected 16MiB to 1GiB/));
  assert.throws(() => keygenPlan({ kdfMemory: 'lots' }), usage(/--kdf-memory: "lots" is not a size/));
  assert.throws(() => keygenPlan({ kdfMemory: '16MiB', unencrypted: true }), usage(/-W writes no password/));
});

test('sign: -s or -k, -x or -o, -m or the argument; two different values for one option are refused', () => {
  assert.equal(signPlan('p.bhpkg', { secretKey: 'k' }), { pkg: 'p.bhpkg', secretKey: 'k', signatureFile: 'p.bhpkg.minisig' });
  assert.equal(signPlan(undefined, { message: 'p.bhpkg', key: 'k', signatureFile: 's.minisig' }), { pkg: 'p.bhpkg', secretKey: 'k', signatureFile: 's.minisig' });
  assert.equal(signPlan('p', { key: 'k', output: 'o' }).signatureFile, 'o');
  assert.is(signPlan('p', { key: 'k', secretKey: 'k' }).secretKey, 'k');
  assert.throws(() => signPlan('p', { key: 'a', secretKey: 'b' }), usage(/-s and -k are the same option/));
  assert.throws(() => signPlan('p', { key: 'k', output: 'a', signatureFile: 'b' }), usage(/-x and -o are the same option/));
  assert.throws(() => signPlan('p', { key: 'k', message: 'q' }), usage(/the package argument and -m are the same option/));
  assert.throws(() => signPlan(undefined, { key: 'k' }), usage(/which package\?/));
  assert.throws(() => signPlan('p', {}), usage(/which secret key\? give it with -s FILE/));
});

test('verify: -x and the older -s both name signatures; -p and -P exclude each other', () => {
  assert.equal(verifyPlan('p', { signature: ['a'], legacySignature: ['b'] }), { pkg: 'p', signatureFiles: ['a', 'b'], publicKey: undefined });
  assert.equal(verifyPlan(undefined, { signature: [], legacySignature: [], message: 'p', publicKey: 'k.pub' }).publicKey, { file: 'k.pub', base64: undefined });
  assert.equal(verifyPlan('p', { signature: [], legacySignature: [], publicKeyBase64: 'RW...' }).publicKey, { file: undefined, base64: 'RW...' });
  assert.throws(() => verifyPlan('p', { signature: [], legacySignature: [], publicKey: 'a', publicKeyBase64: 'b' }), usage(/either as a file \(-p\) or inline \(-P\)/));
});

test('a secret key passed where verify expects a signature is refused with a hint; anything else is left to the signature check', async () => {
  const key = await generateKeyPair();
  for (const text of [await formatSecretKey(key), await formatSecretKey(key, { password: 'pw', limits: { opslimit: 524288, memlimit: 16777216 } })]) {
    assert.throws(() => refuseSecretKeyAsSignature('my.key', text), usage(/my\.key is a secret key, not a signature: .*-x FILE .*-p FILE/));
  }
  refuseSecretKeyAsSignature('x.minisig', 'untrusted comment: signature\nRUQ...\n');
  refuseSecretKeyAsSignature('x.minisig', '');
});

test.run();
