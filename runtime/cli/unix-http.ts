// One HTTP/1.1 request with `Connection: close` over the daemon's unix socket, read whole. The thin
// client uses it for its short JSON requests instead of node:http, whose first request in a process
// costs 35-45 ms here (its parser and agent machinery warming up) against 3-9 ms for this, and
// `bulkhead status` has about 1.5x the start of `node -e 0` in all (bench/results/api.md). Streams
// (log follows, uploads) and TLS still use node:http(s). The daemon is ours and answers with
// Content-Length or chunked bodies; anything else is a broken answer, reported as such.
import net from 'node:net';

export interface RawAnswer { status: number; headers: Record<string, string>; body: string }

/** Thrown when nothing reached the daemon (refused, absent socket) ... */
export class RawUnreachable extends Error {}
/** ... or when the connection broke off, or the answer is not HTTP we understand. */
export class RawBroken extends Error {}

function decodeChunked(buf: Buffer): Buffer {
  const parts: Buffer[] = [];
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) throw new RawBroken('a chunked answer ended early');
    const size = Number.parseInt(buf.subarray(i, eol).toString('latin1').split(';')[0]!.trim(), 16);
    if (!Number.isFinite(size) || size < 0) throw new RawBroken('a chunk size is not a number');
    if (size === 0) return Buffer.concat(parts);
    parts.push(buf.subarray(eol + 2, eol + 2 + size));
    i = eol + 2 + size + 2;
    if (i > buf.length) throw new RawBroken('a chunked answer ended early');
  }
}

export function parseAnswer(raw: Buffer): RawAnswer {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) throw new RawBroken('the answer has no complete head');
  const [statusLine, ...lines] = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!);
  if (!m) throw new RawBroken(`not an HTTP answer: ${JSON.stringify(statusLine!.slice(0, 40))}`);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = raw.subarray(end + 4);
  if (/\bchunked\b/i.test(headers['transfer-encoding'] ?? '')) body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    if (body.length < length) throw new RawBroken(`the answer ended after ${body.length} of ${length} bytes`);
    body = body.subarray(0, length);
  }
  return { status: Number(m[1]), headers, body: body.toString('utf8') };
}

export function unixRequest(socketPath: string, method: string, urlPath: string, json: unknown, timeoutMs: number): Promise<RawAnswer> {
  const body = json === undefined ? undefined : Buffer.from(JSON.stringify(json));
  const head = `${method} ${urlPath} HTTP/1.1\r\nHost: bulkhead\r\nAccept: application/json\r\nConnection: close\r\n`
    + (body ? `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n` : '') + '\r\n';
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let connected = false;
    const socket = net.connect(socketPath, () => {
      connected = true;
      socket.write(body ? Buffer.concat([Buffer.from(head, 'latin1'), body]) : head);
    });
    if (timeoutMs > 0) socket.setTimeout(timeoutMs, () => socket.destroy(new RawBroken(`no answer within ${timeoutMs / 1000} s`)));
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      reject(err instanceof RawBroken ? err : connected ? new RawBroken(err.code ?? err.message) : new RawUnreachable(err.code ?? err.message));
    });
    socket.on('end', () => {
      try {
        resolve(parseAnswer(Buffer.concat(chunks)));
      } catch (err) {
        reject(err);
      }
    });
  });
}
