// Quoting user input in error messages: cut, escaped, one line, whatever the input.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { boundedMessage, oneLine, QUOTED_VALUE_MAX, quoteValue } from '../../packages/quote-value.js';
import { commanderErrorLine } from '../../runtime/cli/main.js';

test('short values are quoted as JSON strings, unchanged', () => {
  assert.is(quoteValue('Not_Valid'), '"Not_Valid"');
  assert.is(quoteValue(''), '""');
  assert.is(quoteValue({ a: 1 }), '"{\\"a\\":1}"');
  assert.is(quoteValue(42), '"42"');
});

test('a 10 MB value is cut to the limit and says how long it was', () => {
  const huge = 'x'.repeat(10_000_000);
  const q = quoteValue(huge);
  assert.ok(q.length < QUOTED_VALUE_MAX + 40, `${q.length} characters`);
  assert.ok(q.startsWith(`"${'x'.repeat(QUOTED_VALUE_MAX)}…"`));
  assert.ok(q.endsWith('(10000000 characters)'));
});

test('control characters cannot break the line or the terminal', () => {
  const q = quoteValue('a\nb\r\u001b[2Jc');
  assert.not.match(q, /[\n\r\u001b]/);
  assert.is(q, '"a\\nb\\r\\u001b[2Jc"');
});

test('a cut never splits a surrogate pair', () => {
  const q = quoteValue(`${'x'.repeat(QUOTED_VALUE_MAX - 1)}😀${'y'.repeat(100)}`);
  assert.not.match(q, /[\uD800-\uDBFF](?![\uDC00-\uDFFF])/);
  assert.ok(q.startsWith(`"${'x'.repeat(QUOTED_VALUE_MAX - 1)}…"`));
});

test('whole messages are bounded; oneLine joins lines', () => {
  assert.is(oneLine('a\n  b\r\nc'), 'a b c');
  assert.is(boundedMessage('a\nb'), 'a\nb');
  const long = boundedMessage('y'.repeat(50_000));
  assert.ok(long.length < 4100);
  assert.match(long, /message cut at 4000 of 50000 characters/);
});

test("commander's errors become our one-line, prefixed form", () => {
  assert.is(commanderErrorLine("error: unknown command 'bogus'\n(Did you mean logs?)\n"), "bulkhead: unknown command 'bogus' (did you mean logs?)");
  assert.is(commanderErrorLine("error: unknown option '-Q'\n"), "bulkhead: unknown option '-Q'");
});

test.run();
