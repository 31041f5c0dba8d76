// wasi:http (types, outgoing-handler) for one component instance: outgoing requests only. The
// request is sent by the supervisor, which checks the authority against the grant (the name, then
// every address it resolves to) and pins the connection to the addresses it checked. Bodies are
// buffered, up to MAX_BODY each way, which suits the small API calls of edge apps.
import type { HttpErrorCode, HttpResponseSpec, NetBroker } from '../net/net-broker.js';
import { GuestError } from './errors.js';
import type { Io } from './io.js';
import { unlimitedResources, type InstanceResources } from '../limits/resource-ledger.js';

export const MAX_BODY = 8 * 1024 * 1024;

type Method = { tag: 'get' | 'head' | 'post' | 'put' | 'delete' | 'connect' | 'options' | 'trace' | 'patch' } | { tag: 'other'; val: string };
type Scheme = { tag: 'HTTP' | 'HTTPS' } | { tag: 'other'; val: string };
type Result<T, E> = { tag: 'ok'; val: T } | { tag: 'err'; val: E };

const headerError = (tag: 'invalid-syntax' | 'forbidden' | 'immutable') => new GuestError({ tag });
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Framing and hop-by-hop headers are the host's business (as in wasmtime).
const FORBIDDEN = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'host', 'http2-settings', 'content-length']);

/**
 * `resources`: request and response bodies held here are host memory charged to the vendor, and
 * every resource is a handle charged to the instance (resource-ledger.ts). A body write past the
 * vendor's budget fails as a stream error; the bytes go back when the request is sent or dropped.
 */
export function createHttp(io: Io, broker: NetBroker, resources: InstanceResources = unlimitedResources()) {
  /** Counts a resource as a handle of the instance until the guest drops it (once). */
  class Handle {
    #dropped = false;
    constructor(what: string) {
      resources.takeHandle(what);
    }
    [Symbol.dispose](): void {
      if (this.#dropped) return;
      this.#dropped = true;
      resources.freeHandle();
      this.dropped();
    }
    /** What else goes when the guest drops it. */
    dropped(): void {}
  }

  /** Body bytes held in the host, charged once and freed once, by whoever holds them last. */
  class BodyHold {
    #bytes = 0;
    add(n: number, what: string): void {
      resources.takeBytes(n, what);
      this.#bytes += n;
    }
    free(): void {
      resources.freeBytes(this.#bytes);
      this.#bytes = 0;
    }
  }

  class Fields extends Handle {
    #entries: [string, Uint8Array][] = [];
    #immutable = false;
    constructor() {
      super('fields');
    }
    static fromList(list: [string, Uint8Array][]): Fields {
      const f = new Fields();
      for (const [name, value] of list) f.append(name, value);
      return f;
    }
    freeze(): this {
      this.#immutable = true;
      return this;
    }
    #mutable(name: string): string {
      if (this.#immutable) throw headerError('immutable');
      if (!TOKEN.test(name)) throw headerError('invalid-syntax');
      if (FORBIDDEN.has(name.toLowerCase())) throw headerError('forbidden');
      return name.toLowerCase();
    }
    get(name: string): Uint8Array[] {
      const n = name.toLowerCase();
      return this.#entries.filter(([k]) => k === n).map(([, v]) => v);
    }
    has(name: string): boolean {
      return this.get(name).length > 0;
    }
    set(name: string, values: Uint8Array[]): void {
      const n = this.#mutable(name);
      this.#entries = this.#entries.filter(([k]) => k !== n).concat(values.map((v) => [n, v] as [string, Uint8Array]));
    }
    delete(name: string): void {
      const n = this.#mutable(name);
      this.#entries = this.#entries.filter(([k]) => k !== n);
    }
    append(name: string, value: Uint8Array): void {
      this.#entries.push([this.#mutable(name), value]);
    }
    entries(): [string, Uint8Array][] {
      return this.#entries.map(([k, v]) => [k, v]);
    }
    clone(): Fields {
      const f = new Fields();
      f.#entries = this.entries();
      return f;
    }
  }

  class RequestOptions extends Handle {
    constructor() {
      super('request-options');
    }
    connect?: bigint;
    firstByte?: bigint;
    between?: bigint;
    connectTimeout() { return this.connect; }
    setConnectTimeout(d?: bigint) { this.connect = d; }
    firstByteTimeout() { return this.firstByte; }
    setFirstByteTimeout(d?: bigint) { this.firstByte = d; }
    betweenBytesTimeout() { return this.between; }
    setBetweenBytesTimeout(d?: bigint) { this.between = d; }
  }

  class OutgoingBody extends Handle {
    chunks: Uint8Array[] = [];
    size = 0;
    finished = false;
    readonly hold = new BodyHold();
    #streamTaken = false;
    constructor() {
      super('outgoing-body');
    }
    write() {
      if (this.#streamTaken) throw new GuestError(undefined);
      this.#streamTaken = true;
      return new io.OutputStream({
        write: (bytes) => {
          if (this.finished) throw new Error('body already finished');
          if (this.size + bytes.length > MAX_BODY) throw new Error(`request body over ${MAX_BODY} bytes`);
          this.hold.add(bytes.length, 'an HTTP request body');
          this.size += bytes.length;
          this.chunks.push(bytes.slice());
        },
      });
    }
    /** Sent or dropped: the buffered bytes go back to the vendor's budget. */
    release(): void {
      this.chunks = [];
      this.hold.free();
    }
    override dropped(): void {
      if (!this.finished) this.release();
    }
    static finish(body: OutgoingBody): void {
      body.finished = true;
    }
  }

  class OutgoingRequest extends Handle {
    #method: Method = { tag: 'get' };
    #path: string | undefined;
    #scheme: Scheme | undefined;
    #authority: string | undefined;
    #body: OutgoingBody | undefined;
    constructor(readonly headersField: Fields) {
      super('outgoing-request');
    }
    /** The request owns its headers and body: they go with it. */
    override dropped(): void {
      this.headersField[Symbol.dispose]();
      this.#body?.release();
      this.#body?.[Symbol.dispose]();
    }
    body(): OutgoingBody {
      if (this.#body) throw new GuestError(undefined);
      return (this.#body = new OutgoingBody());
    }
    get sentBody(): OutgoingBody | undefined { return this.#body; }
    method() { return this.#method; }
    setMethod(m: Method) {
      if (m.tag === 'other' && !TOKEN.test(m.val)) throw new GuestError(undefined);
      this.#method = m;
    }
    pathWithQuery() { return this.#path; }
    setPathWithQuery(p?: string) {
      if (p !== undefined && !/^\/[\x21-\x7e]*$/.test(p)) throw new GuestError(undefined);
      this.#path = p;
    }
    scheme() { return this.#scheme; }
    setScheme(s?: Scheme) {
      if (s?.tag === 'other') throw new GuestError(undefined); // only http and https are spoken here
      this.#scheme = s;
    }
    authority() { return this.#authority; }
    setAuthority(a?: string) {
      if (a !== undefined && !/^[A-Za-z0-9.\-[\]:]+$/.test(a)) throw new GuestError(undefined);
      this.#authority = a;
    }
    headers() { return this.headersField; }
  }

  class IncomingBody extends Handle {
    #body: Uint8Array | undefined;
    #hold: BodyHold | undefined;
    constructor(body: Uint8Array, hold: BodyHold) {
      super('incoming-body');
      this.#body = body;
      this.#hold = hold;
    }
    stream() {
      let body = this.#body;
      const hold = this.#hold!;
      if (!body) throw new GuestError(undefined);
      this.#body = undefined;
      this.#hold = undefined;
      let offset = 0;
      return new io.InputStream({
        read: (max) => {
          if (!body || offset >= body.length) {
            body = undefined;
            hold.free();
            return null;
          }
          const chunk = body.subarray(offset, offset + max);
          offset += chunk.length;
          return chunk;
        },
        dispose: () => {
          body = undefined;
          hold.free();
        },
      });
    }
    override dropped(): void {
      this.#body = undefined;
      this.#hold?.free();
    }
    static finish(_body: IncomingBody) {
      return new FutureTrailers();
    }
  }

  class FutureTrailers extends Handle {
    constructor() {
      super('future-trailers');
    }
    subscribe() { return new io.Pollable(); }
    get(): Result<Result<undefined, HttpErrorCode>, void> | undefined {
      return { tag: 'ok', val: { tag: 'ok', val: undefined } };
    }
  }

  class IncomingResponse extends Handle {
    #consumed = false;
    constructor(readonly response: HttpResponseSpec, readonly hold: BodyHold) {
      super('incoming-response');
    }
    override dropped(): void {
      if (!this.#consumed) this.hold.free();
    }
    status() { return this.response.status; }
    headers() {
      return Fields.fromList(this.response.headers.filter(([k]) => TOKEN.test(k) && !FORBIDDEN.has(k)).map(([k, v]) => [k, new TextEncoder().encode(v)])).freeze();
    }
    consume() {
      if (this.#consumed) throw new GuestError(undefined);
      this.#consumed = true;
      return new IncomingBody(this.response.body, this.hold);
    }
  }

  class FutureIncomingResponse extends Handle {
    #result: Result<IncomingResponse, HttpErrorCode> | undefined;
    #taken = false;
    constructor(readonly request: OutgoingRequest, readonly options?: RequestOptions) {
      super('future-incoming-response');
    }
    override dropped(): void {
      this.request[Symbol.dispose]();
      this.options?.[Symbol.dispose]();
    }
    // The request goes out when the guest first waits for the answer: by then its body is written.
    #send(): void {
      if (this.#result) return;
      const r = this.request;
      const body = r.sentBody;
      const out = broker.http({
        method: r.method().tag === 'other' ? (r.method() as { val: string }).val : r.method().tag.toUpperCase(),
        scheme: r.scheme()?.tag === 'HTTPS' ? 'https' : 'http',
        authority: r.authority() ?? '',
        pathWithQuery: r.pathWithQuery() ?? '/',
        headers: r.headersField.entries().map(([k, v]) => [k, new TextDecoder().decode(v)]),
        body: body ? Buffer.concat(body.chunks) : null,
        connectTimeoutMs: this.options?.connect === undefined ? undefined : Number(this.options.connect / 1_000_000n),
        firstByteTimeoutMs: this.options?.firstByte === undefined ? undefined : Number(this.options.firstByte / 1_000_000n),
      });
      body?.release();
      if ('error' in out) {
        this.#result = { tag: 'err', val: out.error };
        return;
      }
      // The response body now sits in this thread until the guest reads it: the vendor's memory.
      const hold = new BodyHold();
      try {
        hold.add(out.ok.body.length, 'an HTTP response body');
      } catch (err) {
        this.#result = { tag: 'err', val: { tag: 'internal-error', val: (err as Error).message } };
        return;
      }
      this.#result = { tag: 'ok', val: new IncomingResponse(out.ok, hold) };
    }
    subscribe() {
      return new io.Pollable(0n, { ready: () => (this.#send(), true), wait: () => (this.#send(), true) });
    }
    get(): Result<Result<IncomingResponse, HttpErrorCode>, void> | undefined {
      if (this.#taken) return { tag: 'err', val: undefined };
      this.#send();
      this.#taken = true;
      return { tag: 'ok', val: this.#result! };
    }
  }

  const unsupported = (): never => { throw new GuestError({ tag: 'internal-error', val: 'incoming HTTP is not provided' }); };
  class IncomingRequest { constructor() { unsupported(); } }
  class OutgoingResponse { constructor() { unsupported(); } }
  class ResponseOutparam { static set = unsupported; }

  return {
    types: {
      Fields, RequestOptions, OutgoingBody, OutgoingRequest, IncomingBody, FutureTrailers, IncomingResponse,
      FutureIncomingResponse, IncomingRequest, OutgoingResponse, ResponseOutparam,
      httpErrorCode: () => undefined,
    },
    outgoingHandler: {
      handle(request: OutgoingRequest, options?: RequestOptions) {
        if (!request.authority()) throw new GuestError({ tag: 'HTTP-request-URI-invalid' });
        return new FutureIncomingResponse(request, options);
      },
    },
  };
}
