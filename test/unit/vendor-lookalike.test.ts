// Issue 9 (red team): two trust-store vendors whose names print alike ("Müller" composed and
// decomposed, "ACME" and "Acme") are distinct, isolated identities, but an operator could grant
// one believing it is the other. The trust store refuses a new name that cannot be told apart
// from one it already trusts, or that hides characters.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatPublicKey, generateKeyPair } from '../../packages/signing/minisign.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { vendorNameProblem } from '../../packages/trust/vendor-id.js';

async function publicKeyText(): Promise<string> {
  return formatPublicKey(await generateKeyPair());
}

test('names people cannot tell apart, or with hidden characters, are named as the problem', () => {
  const composed = 'M\u00fcller Automation';
  const decomposed = 'Mu\u0308ller Automation';
  assert.match(vendorNameProblem(decomposed, [])!, /NFC/);
  assert.match(vendorNameProblem('ACME\u200b', [])!, /invisible/);
  assert.match(vendorNameProblem(' ACME', [])!, /blanks/);
  assert.match(vendorNameProblem('Acme', ['ACME'])!, /looks like the trusted vendor "ACME"/);
  assert.match(vendorNameProblem('\uff21CME', ['ACME'])!, /looks like/); // fullwidth A
  assert.match(vendorNameProblem('Vendor \u0410', ['Vendor A'])!, /looks like the trusted vendor "Vendor A"/); // Cyrillic А
  assert.match(vendorNameProblem('\u0430cme', ['Acme'])!, /looks like/); // Cyrillic а
  assert.match(vendorNameProblem('ACME lnc', ['ACME Inc'])!, /looks like/); // l for I
  assert.match(vendorNameProblem('ACME Inc', ['ACME lnc'])!, /looks like/);
  assert.match(vendorNameProblem('\u03a1lant Co', ['Plant Co'])!, /looks like/); // Greek Ρ
  assert.is(vendorNameProblem(composed, ['M\u00f6ller Automation']), undefined); // ö and ü differ
  assert.is(vendorNameProblem('Heldout A', ['Heldout']), undefined);
});

test('trust add refuses a look-alike of a trusted vendor; the exact name still gets more keys', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bulkhead-lookalike-'));
  const db = new Database(path.join(dir, 'state.db'));
  try {
    const trust = new TrustStore(db);
    trust.add(await publicKeyText(), 'ACME Industrial');
    const other = await publicKeyText();
    assert.throws(() => trust.add(other, 'Acme Industrial'), /looks like the trusted vendor "ACME Industrial"/);
    assert.throws(() => trust.add(other, 'ACME Industria\u0307l'), /NFC|looks like/);
    trust.add(await publicKeyText(), 'ACME Industrial');
    assert.is(trust.list().length, 2);
    assert.ok(trust.list().every((k) => k.vendor === 'ACME Industrial'));
  } finally {
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
