// Issue 9: every refusal is an audit event. Over-long and empty kv keys and invalid topics were
// refused without a record; they are audited now, and a guest-chosen string lands in the audit
// log cut short, so a refused megabyte key costs the log a few dozen bytes.
import Database from 'better-sqlite3';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DenialReport } from '../../host-apis/bulkhead/audit.js';
import { createKv } from '../../host-apis/bulkhead/kv.js';
import { KvStore } from '../../host-apis/bulkhead/kv-store.js';
import { createMessaging } from '../../host-apis/bulkhead/messaging.js';
import { guestErrorPayload } from '../support/guest-errors.js';
import { tempDir } from '../support/paths.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const tagOf = (fn: () => unknown) => (guestErrorPayload(fn) as { tag: string }).tag;

test('hostile: over-long and empty kv keys are refused and audited, the key cut short in the record', () => {
  const audit: DenialReport[] = [];
  const kv = createKv(new KvStore(new Database(`${tempDir()}/state.db`)), { namespace: 'R/probe', quotaBytes: 1 << 20 }, (d) => audit.push(d));
  const huge = 'k'.repeat(1 << 20);
  assert.is(tagOf(() => kv.set(huge, bytes('v'))), 'invalid');
  assert.is(tagOf(() => kv.get('k'.repeat(257))), 'invalid');
  assert.is(tagOf(() => kv.delete('')), 'invalid');
  assert.equal(audit.map((a) => a.capability), ['kv', 'kv', 'kv']);
  assert.match(audit[0]!.attempted, /^set "k{80}"\.\.\. \(1048576 bytes\)$/);
  assert.match(audit[0]!.reason, /a key must be 1 to 256 bytes, this one is 1048576/);
  assert.match(audit[1]!.attempted, /^get "k{80}"\.\.\. \(257 bytes\)$/);
  assert.is(audit[2]!.attempted, 'delete ""');
  assert.ok(audit.every((a) => a.attempted.length < 200), 'bounded records');
});

test('hostile: invalid topics and oversized payloads are refused and audited', () => {
  const audit: DenialReport[] = [];
  const m = createMessaging({ publish: ['#'], subscribe: ['#'] }, { publish: () => {}, subscribe: () => {} }, (d) => audit.push(d));
  for (const t of ['plant/+/x', 'plant/#', '', 'a\0b', 't'.repeat(100_000)]) assert.is(tagOf(() => m.publish(t, bytes(''))), 'invalid', t.slice(0, 20));
  assert.is(tagOf(() => m.subscribe('plant/#/x')), 'invalid');
  assert.is(tagOf(() => m.subscribe('pl+nt')), 'invalid');
  assert.is(tagOf(() => m.publish('a', new Uint8Array(64 * 1024 + 1))), 'invalid');
  assert.equal(audit.map((a) => a.capability), [
    'messaging.publish', 'messaging.publish', 'messaging.publish', 'messaging.publish', 'messaging.publish',
    'messaging.subscribe', 'messaging.subscribe', 'messaging.publish']);
  assert.equal(audit.slice(0, 4).map((a) => a.attempted), ['"plant/+/x"', '"plant/#"', '""', '"a\\u0000b"']);
  assert.match(audit[4]!.attempted, /^"t{80}"\.\.\. \(100000 bytes\)$/);
  assert.match(audit[5]!.reason, /not a topic pattern/);
  assert.is(audit[7]!.attempted, 'a (65537 bytes)');
  assert.match(audit[7]!.reason, /payload over 65536 bytes/);
});

test.run();
