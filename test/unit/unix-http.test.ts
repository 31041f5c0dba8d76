// The thin client's hand-written HTTP/1.1 answer reader (runtime/cli/unix-http.ts): whole bodies by
// Content-Length or chunked, and answers cut short or not HTTP are errors, never half a document.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseAnswer, RawBroken } from '../../runtime/cli/unix-http.js';

const answer = (head: string, body: string | Buffer) => Buffer.concat([Buffer.from(`${head}\r\n\r\n`, 'latin1'), Buffer.from(body)]);

test('a Content-Length body, headers case-folded, UTF-8 kept', () => {
  const body = '{"v":"Müller"}';
  const r = parseAnswer(answer(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}`, `${body}trailing`));
  assert.is(r.status, 200);
  assert.is(r.headers['content-type'], 'application/json');
  assert.equal(JSON.parse(r.body), { v: 'Müller' });
});

test('a chunked body is reassembled', () => {
  const r = parseAnswer(answer('HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked', '5\r\n{"a":\r\n3;ext=1\r\n12}\r\n0\r\n\r\n'));
  assert.is(r.status, 404);
  assert.is(r.body, '{"a":12}');
});

test('cut short or not HTTP: RawBroken', () => {
  for (const raw of [
    answer('HTTP/1.1 200 OK\r\nContent-Length: 50', '{"short":'),
    answer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked', '5\r\n{"a":'),
    answer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked', 'zz\r\nxx\r\n'),
    Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n'),
    answer('SSH-2.0-OpenSSH', ''),
  ]) assert.throws(() => parseAnswer(raw), (err: unknown) => err instanceof RawBroken);
});

test.run();
