// Real HTTP to the management API in tests: undici over the unix socket or over mTLS.
import fs from 'node:fs';
import { Client, Pool } from 'undici';

export interface ApiAnswer { status: number; headers: Record<string, string | string[] | undefined>; text: string; json: any }

export function socketClient(socketPath: string): Client {
  return new Client('http://localhost', { socketPath });
}

/** Many connections at once (a Client is one connection, and a stream holds it). */
export function socketPool(socketPath: string, connections: number): Pool {
  return new Pool('http://localhost', { socketPath, connections });
}

export function tlsClient(port: number, files: { ca: string; cert?: string; key?: string }, extra: Record<string, unknown> = {}): Client {
  return new Client(`https://127.0.0.1:${port}`, {
    connect: {
      ca: fs.readFileSync(files.ca), cert: files.cert ? fs.readFileSync(files.cert) : undefined, key: files.key ? fs.readFileSync(files.key) : undefined,
      rejectUnauthorized: true, ...extra,
    },
  });
}

export async function call(client: Client, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<ApiAnswer> {
  const isJson = body !== undefined && !(typeof body === 'string') && !Buffer.isBuffer(body);
  const r = await client.request({
    method: method as never, path,
    headers: isJson ? { 'content-type': 'application/json', ...headers } : headers,
    body: isJson ? JSON.stringify(body) : (body as string | Buffer | undefined),
  });
  const text = await r.body.text();
  let json: unknown;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.statusCode, headers: r.headers, text, json };
}
