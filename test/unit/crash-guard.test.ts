// Crash-loop bookkeeping on a real SQLite file: unfinished starts of a dead daemon run, the
// quarantine rule, and that a new `bulkhead start` (a new generation) clears it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { AppRecords } from '../../runtime/apps/app-records.js';
import { CRASH_LIMIT, CrashGuard } from '../../runtime/apps/crash-guard.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { tempDir } from '../support/paths.js';

const dataDir = tempDir('bulkhead-crashguard-');

test('a start left unfinished by a dead daemon quarantines that app at once; a new start clears it', () => {
  const db = openStateDb(dataDir);
  const records = new AppRecords(db);
  const firstRun = records.beginRun(11111);
  const first = new CrashGuard(db, firstRun);
  const generation = records.setDesired('bomb', 'running');
  first.beginStart('bomb', generation);
  first.beginStart('fine', generation);
  first.endStart('fine');
  // kill -9 here: the next daemon's run finds the attempt.
  const secondRun = new AppRecords(db).beginRun(22222);
  const second = new CrashGuard(db, secondRun);
  assert.equal(second.collectDeadStarts(), ['bomb']);
  assert.match(second.quarantine('bomb', generation) ?? '', /^quarantined: its start took the whole daemon down \(the daemon \(pid 11111\) died while starting it .*\); to try again: bulkhead start bomb$/);
  assert.is(second.quarantine('fine', generation), undefined, 'a start that settled is no crash');
  assert.equal(second.collectDeadStarts(), [], 'counted once');
  const next = records.setDesired('bomb', 'running');
  assert.is(second.quarantine('bomb', next), undefined, 'bulkhead start again clears the quarantine');
  db.close();
});

test(`an app that brings its sandbox down ${CRASH_LIMIT} times in the window is quarantined; backoff doubles`, () => {
  const db = openStateDb(dataDir);
  const records = new AppRecords(db);
  const guard = new CrashGuard(db, records.beginRun(33333));
  const generation = records.setDesired('flaky', 'running');
  assert.is(guard.backoffMs('flaky', generation), 1000);
  for (let i = 1; i < CRASH_LIMIT; i++) {
    guard.record('flaky', generation, 'sandbox', `the sandbox ran out of its JS heap (${i})`);
    assert.is(guard.quarantine('flaky', generation), undefined);
  }
  assert.is(guard.backoffMs('flaky', generation), 2000);
  guard.record('flaky', generation, 'sandbox', 'the sandbox ran out of its JS heap (last)');
  assert.match(guard.quarantine('flaky', generation) ?? '', /^quarantined: brought its sandbox down 3 times within 10 min \(last: the sandbox ran out of its JS heap \(last\)\); to try again: bulkhead start flaky$/);
  db.close();
});

test.run();
