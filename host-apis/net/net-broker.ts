// What the network host APIs (wasi:sockets, wasi:http) need from the host, synchronously: a guest
// call blocks until the answer is there. The sandbox implements it by asking its supervisor, which
// owns every real socket and decides each connect against the instance's grant (net-rules.ts), so
// a compromised sandbox thread still cannot reach an address its grant does not allow.
export type SocketErrorCode = 'unknown' | 'access-denied' | 'not-supported' | 'invalid-argument' | 'out-of-memory' | 'timeout'
  | 'concurrency-conflict' | 'not-in-progress' | 'would-block' | 'invalid-state' | 'new-socket-limit' | 'address-not-bindable'
  | 'address-in-use' | 'remote-unreachable' | 'connection-refused' | 'connection-reset' | 'connection-aborted'
  | 'datagram-too-large' | 'name-unresolvable' | 'temporary-resolver-failure' | 'permanent-resolver-failure';

export interface HttpRequestSpec {
  method: string;
  scheme: 'http' | 'https';
  authority: string;
  pathWithQuery: string;
  headers: [string, string][];
  body: Uint8Array | null;
  /** ms; undefined: the host's defaults */
  connectTimeoutMs?: number;
  firstByteTimeoutMs?: number;
}

export interface HttpResponseSpec { status: number; headers: [string, string][]; body: Uint8Array }

/** A wasi:http error-code case, e.g. { tag: 'destination-IP-prohibited' }. */
export interface HttpErrorCode { tag: string; val?: unknown }

export type BrokerResult<T> = { ok: T } | { error: SocketErrorCode; reason?: string };

export interface NetBroker {
  /** Addresses of `name`; only names some net.connect rule mentions may be resolved. */
  resolve(name: string): BrokerResult<string[]>;
  connect(address: string, port: number): BrokerResult<number>;
  /** Binds and listens (one step in the host); only ports the grant's net.listen names. */
  listen(address: string, port: number): BrokerResult<number>;
  /** A pending connection of a listening socket, or null when none is waiting. */
  accept(server: number): BrokerResult<{ socket: number; address: string; port: number } | null>;
  /** Waits up to `timeoutMs` for a pending connection; answers whether accept would not block. */
  acceptable(server: number, timeoutMs: number): boolean;
  /** Up to `max` bytes; empty: nothing yet (and `wait` was false); null: the peer closed. */
  read(socket: number, max: number, wait: boolean): BrokerResult<Uint8Array | null>;
  write(socket: number, bytes: Uint8Array): BrokerResult<number>;
  /** Waits up to `timeoutMs` for data or the end; answers whether a read would not block. */
  readable(socket: number, timeoutMs: number): boolean;
  shutdown(socket: number, how: 'receive' | 'send' | 'both'): void;
  close(socket: number): void;
  http(request: HttpRequestSpec): { ok: HttpResponseSpec } | { error: HttpErrorCode };
}

/** The answers for an instance with no network at all (`bulkhead run`, an unknown instance). */
const noNetwork: NetBroker = {
  resolve: () => ({ error: 'access-denied', reason: 'no network grant' }),
  connect: () => ({ error: 'access-denied', reason: 'no network grant' }),
  listen: () => ({ error: 'access-denied', reason: 'no network grant' }),
  accept: () => ({ error: 'invalid-state' }),
  acceptable: () => true,
  read: () => ({ error: 'invalid-state' }),
  write: () => ({ error: 'invalid-state' }),
  readable: () => true,
  shutdown: () => {},
  close: () => {},
  http: () => ({ error: { tag: 'HTTP-request-denied' } }),
};

/** What a broker call `method` answers when the instance has no network grant. */
export function refusedNetCall(method: string): unknown {
  const answer = (noNetwork as unknown as Record<string, (() => unknown) | undefined>)[method];
  return answer ? answer() : { error: 'not-supported' };
}
