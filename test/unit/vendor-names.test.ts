// Names derived from a vendor identity: readable, and distinct for names that slug alike.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { deploymentName, legacyVendorDirName, vendorDirName, vendorNetworkName } from '../../runtime/state/vendor-names.js';

test('a data root name is a readable slug plus 16 hex digits of the exact name', () => {
  assert.match(vendorDirName(vendorId('Müller Automation')), /^m-ller-automation-[0-9a-f]{16}$/);
  assert.match(vendorDirName(vendorId('日本')), /^vendor-[0-9a-f]{16}$/);
  assert.match(vendorNetworkName(vendorId('ACME Industrial')), /^bh-acme-industrial-[0-9a-f]{16}$/);
});

test('names that slug alike stay distinct: case, accents, punctuation, Unicode forms', () => {
  const names = ['Möller Automation', 'Müller Automation', 'MÜLLER AUTOMATION', 'Müller-Automation', 'Mu\u0308ller Automation', 'Müller Automation '];
  assert.is(new Set(names.filter((n) => !n.includes('\u0308')).map((n) => legacyVendorDirName(vendorId(n)))).size, 1, 'these collided before');
  assert.is(new Set(names.map((n) => vendorDirName(vendorId(n)))).size, names.length);
});

test('deployment names cover the exact (vendor, project) pair', () => {
  const a = deploymentName(vendorId('Heldout'), 'a-x');
  const b = deploymentName(vendorId('Heldout A'), 'x');
  assert.is.not(a, b);
  assert.match(a, /^heldout-a-x-[0-9a-f]{16}$/);
  assert.is(deploymentName(vendorId('Heldout'), 'a-x'), a, 'stable');
});

test('an empty vendor name is no identity', () => {
  assert.throws(() => vendorId(''), /cannot be empty/);
  assert.throws(() => vendorId('   '), /cannot be empty/);
});

test.run();
