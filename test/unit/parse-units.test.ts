import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDuration, parseSize, UnitError } from '../../runtime/cli/parse-units.js';

test('sizes accept binary and decimal units', () => {
  assert.is(parseSize('65536'), 65536);
  assert.is(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.is(parseSize('64M'), 64 * 1024 * 1024);
  assert.is(parseSize('1g'), 1024 ** 3);
  assert.is(parseSize('2MB'), 2_000_000);
  assert.is(parseSize('512 KiB'), 512 * 1024);
});

test('bad sizes say what is wrong', () => {
  assert.throws(() => parseSize('12XB'), (e: Error) => e instanceof UnitError && /not a size/.test(e.message));
  assert.throws(() => parseSize('-5M'), (e: Error) => e instanceof UnitError);
  assert.throws(() => parseSize('0'), /greater than zero/);
});

test('durations', () => {
  assert.is(parseDuration('250ms'), 250);
  assert.is(parseDuration('2s'), 2000);
  assert.is(parseDuration('3'), 3000);
  assert.is(parseDuration('1.5m'), 90_000);
  assert.throws(() => parseDuration('soon'), /not a duration/);
  assert.throws(() => parseDuration('0s'), /greater than zero/);
});

test.run();
