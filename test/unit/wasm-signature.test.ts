import fs from 'node:fs';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PackageError } from '../../packages/package-errors.js';
import { generateKeyPair } from '../../packages/signing/minisign.js';
import { parseSignatureData, signWasm, verifyWasm } from '../../packages/signing/wasm-signature.js';
import { customSection, splitSections } from '../../packages/signing/wasm-sections.js';
import { sample } from '../support/paths.js';

const module = fs.readFileSync(sample('hello-as/build/hello.wasm'));
const vendor = await generateKeyPair();
const integrator = await generateKeyPair();
const stranger = await generateKeyPair();
const ids = (keys: { keyId: Buffer }[]) => keys.map((k) => k.keyId.toString('hex')).sort();

test('an embedded signature verifies and is the first section; the module still compiles', async () => {
  const { module: signed } = await signWasm(module, vendor);
  const { sections } = splitSections(signed);
  assert.is(sections[0]!.name, 'signature');
  const r = await verifyWasm(signed, [vendor, stranger]);
  assert.equal(ids(r.valid), ids([vendor]));
  await WebAssembly.compile(signed as Uint8Array<ArrayBuffer>);
});

test('a changed byte, reordered sections or an appended section without delimiter fail', async () => {
  const { module: signed } = await signWasm(module, vendor);
  const flipped = Buffer.from(signed);
  flipped[flipped.length - 20]! ^= 1;
  assert.equal((await verifyWasm(flipped, [vendor])).valid, []);

  const { header, sections } = splitSections(signed);
  const [sig, a, b, ...rest] = sections;
  const reordered = Buffer.concat([header, sig!.bytes, b!.bytes, a!.bytes, ...rest.map((s) => s.bytes)]);
  assert.equal((await verifyWasm(reordered, [vendor])).valid, []);

  const extended = Buffer.concat([signed, customSection('injected', Buffer.from('evil'))]);
  const r = await verifyWasm(extended, [vendor]);
  assert.equal(r.valid, []);
  assert.equal(r.partial, [], 'without a delimiter, nothing of the signature survives an extension');
});

test('several signatures: vendor and integrator over the same content', async () => {
  const once = await signWasm(module, vendor);
  const twice = await signWasm(once.module, integrator);
  const data = parseSignatureData(splitSections(twice.module).sections[0]!.payload!);
  assert.is(data.signedHashes.length, 1);
  assert.is(data.signedHashes[0]!.signatures.length, 2);
  assert.equal(ids((await verifyWasm(twice.module, [vendor, integrator])).valid), ids([vendor, integrator]));
});

test('delimiters: sections appended after a delimiter keep the first signature as partial', async () => {
  const base = await signWasm(module, vendor, { delimit: true });
  const extended = Buffer.concat([base.module, customSection('integrator-config', Buffer.from('x'))]);
  const signedAgain = await signWasm(extended, integrator, { delimit: true });
  const r = await verifyWasm(signedAgain.module, [vendor, integrator]);
  assert.equal(ids(r.valid), ids([integrator]));
  assert.equal(ids(r.partial), ids([vendor]));
});

test('detached form: module unchanged, signature separate, equivalent to the embedded payload', async () => {
  const detached = await signWasm(module, vendor, { detached: true });
  assert.ok(Buffer.from(detached.module).equals(module));
  assert.equal(ids((await verifyWasm(module, [vendor], detached.signature)).valid), ids([vendor]));
  const embedded = await signWasm(module, vendor);
  assert.ok(Buffer.from(splitSections(embedded.module).sections[0]!.payload!).equals(Buffer.from(detached.signature)));
});

test('unsigned modules and malformed signature data are clear errors', async () => {
  const failure = async (bytes: Buffer) => verifyWasm(bytes, [vendor]).then(() => undefined, (e: Error) => e);
  const unsigned = await failure(module);
  assert.instance(unsigned, PackageError);
  assert.match(unsigned!.message, /no signature section/);
  const bad = Buffer.concat([module.subarray(0, 8), customSection('signature', Buffer.from([1, 1, 1, 5])), module.subarray(8)]);
  assert.match((await failure(bad))!.message, /truncated/);
});

test.run();
