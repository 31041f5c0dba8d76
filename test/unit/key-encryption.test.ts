// Password-protected secret keys: libsodium's (opslimit, memlimit) -> scrypt (N, r, p) mapping,
// round trips, wrong passwords, and key files whose limits would exhaust the machine.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { deriveKeyStream, scryptParameters } from '../../packages/signing/key-encryption.js';
import { formatSecretKey, generateKeyPair, parseSecretKey, secretKeyIsEncrypted } from '../../packages/signing/minisign.js';

const SMALL = { opslimit: 524288, memlimit: 16777216 };

test("scryptParameters follows libsodium's pickparams in both branches", () => {
  // minisign -G (libsodium's "sensitive" limits): 1 GiB
  assert.equal(scryptParameters({ opslimit: 33554432, memlimit: 1073741824 }), { N: 2 ** 20, r: 8, p: 1 });
  // libsodium's "interactive" limits: 16 MiB
  assert.equal(scryptParameters(SMALL), { N: 2 ** 14, r: 8, p: 1 });
  // few operations for the memory: N follows the operations, p = 1 (and opslimit is raised to 32768)
  assert.equal(scryptParameters({ opslimit: 32768, memlimit: 1073741824 }), { N: 2 ** 10, r: 8, p: 1 });
  assert.equal(scryptParameters({ opslimit: 1, memlimit: 1073741824 }), { N: 2 ** 10, r: 8, p: 1 });
  // many operations for the memory: N fills the memory, p takes the rest
  assert.equal(scryptParameters({ opslimit: 2 ** 28, memlimit: 2 ** 24 }), { N: 2 ** 14, r: 8, p: 512 });
});

test('an encrypted key round-trips; a wrong or missing password is named', async () => {
  const key = await generateKeyPair();
  const text = await formatSecretKey(key, { password: 'correct horse', limits: SMALL });
  assert.ok(text.startsWith('untrusted comment: minisign encrypted secret key\n'));
  assert.ok(secretKeyIsEncrypted(text));
  const back = await parseSecretKey(text, 'correct horse');
  assert.ok(back.secretKey.equals(key.secretKey));
  assert.ok(back.keyId.equals(key.keyId));
  try {
    await parseSecretKey(text, 'wrong', 'v.key');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /^v\.key: wrong password/);
  }
  try {
    await parseSecretKey(text, undefined, 'v.key');
    assert.unreachable();
  } catch (err) {
    assert.match((err as Error).message, /v\.key: is password-protected and no password was given/);
  }
  assert.not.ok(secretKeyIsEncrypted(await formatSecretKey(key)));
});

test('a key file asking for absurd limits is refused before any memory is taken', async () => {
  const key = await generateKeyPair();
  const raw = Buffer.from((await formatSecretKey(key, { password: 'pw', limits: SMALL })).split('\n')[1]!, 'base64');
  const withLimits = (ops: bigint, mem: bigint) => {
    const copy = Buffer.from(raw);
    copy.writeBigUInt64LE(ops, 38);
    copy.writeBigUInt64LE(mem, 46);
    return `untrusted comment: hostile\n${copy.toString('base64')}\n`;
  };
  const t0 = performance.now();
  for (const [ops, mem, why] of [[2n ** 60n, 2n ** 24n, /limits out of range/], [2n ** 25n, 2n ** 60n, /limits out of range/], [2n ** 28n, 2n ** 24n, /limits out of range/]] as const) {
    try {
      await parseSecretKey(withLimits(ops, mem), 'pw', 'h.key');
      assert.unreachable(`${ops}/${mem}`);
    } catch (err) {
      assert.match((err as Error).message, why);
    }
  }
  assert.ok(performance.now() - t0 < 5000, 'refused without running the KDF');
  assert.is((await deriveKeyStream('pw', Buffer.alloc(32), SMALL, 104)).length, 104);
});

test.run();
