// How the CLI reaches a daemon's management API: the target (`--host unix:PATH|https://HOST:PORT`,
// $BULKHEAD_HOST, else the data dir's own socket when a daemon answers on it) and one request
// function. It imports Node built-ins only, because the thin client (api-client.ts) loads it on the
// path `bulkhead status` must start fast on: short requests over the socket are written by hand
// (unix-http.ts, node:net), streams and TLS use node:http(s); never undici, whose loading alone
// costs more than that whole budget (bench/results/api.md).
import fs from 'node:fs';
import type { ClientRequest, IncomingMessage, RequestOptions } from 'node:http';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { RawBroken, RawUnreachable, unixRequest } from './unix-http.js';
import type { ComposeProblem } from '../bridge/compose-problems.js';

/** The daemon could not be reached at all (nothing was sent): offline work may take over. */
export class Unreachable extends Error {}

/** The daemon answered with a problem document, or the client could not build the request. */
export class ApiFailure extends Error {
  constructor(message: string, readonly status = 0, readonly code?: string, readonly problem?: ApiProblem, readonly brokeOff = false) {
    super(message);
  }
}

export interface ApiProblem {
  status: number; code: string; detail: string; field?: string; violations?: { service: string; rule: string; message: string }[];
  /** A refused Compose file's located problems (bridge/compose-problems.ts). */
  problems?: ComposeProblem[];
}

export interface Target {
  options: RequestOptions;
  https: boolean;
  /** Named by --host or $BULKHEAD_HOST: failing to reach it is an error, never a fallback. */
  explicit: boolean;
  /** For messages: the socket path or the URL. */
  name: string;
}

export interface TargetFlags { host?: string; tlsCert?: string; tlsKey?: string; ca?: string }

/** The explicit target (--host / $BULKHEAD_HOST), else the socket in `dataDir` if the file exists. */
export function targetOf(flags: TargetFlags, dataDir: string): Target | undefined {
  const host = flags.host ?? process.env.BULKHEAD_HOST;
  if (host === undefined || host === '') {
    const socketPath = path.join(dataDir, 'bulkhead.sock');
    return fs.existsSync(socketPath) ? { options: { socketPath }, https: false, explicit: false, name: socketPath } : undefined;
  }
  if (host.startsWith('unix:')) return { options: { socketPath: host.slice(5) }, https: false, explicit: true, name: host };
  let url: URL;
  try { url = new URL(host); } catch { url = new URL('invalid:'); }
  if (url.protocol !== 'https:') throw new ApiFailure(`--host ${host}: expected unix:PATH or https://HOST:PORT (the API has no plaintext TCP mode)`);
  const read = (flag: string, file: string | undefined) => {
    if (!file) throw new ApiFailure(`--host ${host} needs --tls-cert, --tls-key and --ca (the device requires a client certificate)`);
    try { return fs.readFileSync(file); } catch (err) { throw new ApiFailure(`${flag} ${file}: cannot read (${(err as NodeJS.ErrnoException).code})`); }
  };
  return {
    options: {
      host: url.hostname.replace(/^\[|\]$/g, ''), port: Number(url.port || 443),
      cert: read('--tls-cert', flags.tlsCert), key: read('--tls-key', flags.tlsKey), ca: read('--ca', flags.ca), minVersion: 'TLSv1.3',
    } as RequestOptions,
    https: true, explicit: true, name: host,
  };
}

export interface RequestSpec {
  method?: string;
  /** A JSON body ... */
  json?: unknown;
  /** ... or a stream (an upload) of `length` bytes. */
  stream?: Readable;
  length?: number;
  headers?: Record<string, string | string[]>;
  /** No answer within this is an error (0: none, for follows). */
  timeoutMs?: number;
}

/** Sends one request; resolves once the answer's head has arrived. */
export async function open(target: Target, urlPath: string, spec: RequestSpec = {}): Promise<{ res: IncomingMessage; req: ClientRequest }> {
  const mod = target.https ? await import('node:https') : await import('node:http');
  const body = spec.json === undefined ? undefined : Buffer.from(JSON.stringify(spec.json));
  // Over TLS the Host header must stay the real host: Node derives the name it checks the device's
  // certificate against from it. Over a unix socket there is no host; any name will do.
  const headers: Record<string, string | string[] | number> = { accept: 'application/json', ...(target.https ? {} : { host: 'bulkhead' }), ...spec.headers };
  if (body) Object.assign(headers, { 'content-type': 'application/json', 'content-length': body.length });
  if (spec.stream && spec.length !== undefined) headers['content-length'] = spec.length;
  return new Promise((resolve, reject) => {
    let sent = false;
    // agent: false, one connection per request: nothing is kept alive to hold the process open, and
    // "not sent yet" below is about this request's own connection.
    const req = mod.request({ ...target.options, agent: false, path: urlPath, method: spec.method ?? 'GET', headers }, (res) => resolve({ res, req }));
    const timeoutMs = spec.timeoutMs ?? 10_000;
    if (timeoutMs > 0) req.setTimeout(timeoutMs, () => req.destroy(new ApiFailure(`the daemon at ${target.name} did not answer within ${timeoutMs / 1000} s`, 0, undefined, undefined, true)));
    req.on('socket', (socket) => socket.once('connect', () => { sent = true; }).once('secureConnect', () => { sent = true; }));
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof ApiFailure) reject(err);
      // Refused or absent before anything was sent: the daemon is not there. After: it broke off.
      else if (!sent) reject(new Unreachable(err.code ?? err.message));
      else reject(new ApiFailure(`the connection to the daemon at ${target.name} broke off (${err.code ?? err.message})`, 0, undefined, undefined, true));
    });
    if (spec.stream) {
      spec.stream.on('error', (err) => req.destroy(err));
      spec.stream.pipe(req);
    } else {
      req.end(body);
    }
  });
}

export async function readBody(res: IncomingMessage): Promise<string> {
  let text = '';
  res.setEncoding('utf8');
  for await (const chunk of res) text += chunk;
  return text;
}

/** The problem a failed answer carries, as an ApiFailure. */
export async function failureOf(res: IncomingMessage): Promise<ApiFailure> {
  return failureOfText(res.statusCode ?? 500, await readBody(res));
}

function failureOfText(status: number, text: string): ApiFailure {
  let p: Partial<ApiProblem> = {};
  try { p = JSON.parse(text) as Partial<ApiProblem>; } catch { /* not a problem document */ }
  const detail = p.detail ?? `the daemon answered ${status}`;
  return new ApiFailure(detail, status, p.code, { status, code: p.code ?? '', detail, field: p.field, violations: p.violations, problems: p.problems });
}

/** One request whose answer is JSON; a problem answer throws an ApiFailure. */
export async function requestJson<T>(target: Target, urlPath: string, spec: RequestSpec = {}): Promise<T> {
  let status: number;
  let text: string;
  if (!target.https && !spec.stream && !spec.headers) {
    // Short requests over the socket skip node:http (see unix-http.ts for the measured why).
    try {
      ({ status, body: text } = await unixRequest(target.options.socketPath!, spec.method ?? 'GET', urlPath, spec.json, spec.timeoutMs ?? 10_000));
    } catch (err) {
      if (err instanceof RawUnreachable) throw new Unreachable(err.message);
      if (err instanceof RawBroken) throw new ApiFailure(`the connection to the daemon at ${target.name} broke off (${err.message})`, 0, undefined, undefined, true);
      throw err;
    }
    if (status >= 400) throw failureOfText(status, text);
  } else {
    const { res } = await open(target, urlPath, spec);
    if ((res.statusCode ?? 500) >= 400) throw await failureOf(res);
    status = res.statusCode ?? 0;
    text = await readBody(res);
  }
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiFailure(`the daemon at ${target.name} answered ${status} with something other than JSON`, 0, undefined, undefined, true);
  }
}
