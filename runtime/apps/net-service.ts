// The supervisor's side of the network host APIs: it owns every real socket of every instance and
// decides each name lookup, connect and HTTP request against that instance's net.connect rules
// (net-rules.ts). Every decision is on the canonical address (any numeric or embedded form is
// parsed first, host-apis/net/ip-address.ts) and the socket is connected to exactly that address:
// names are resolved once, by this host, and a connect through a name is decided by the names
// this host resolved to that address for the instance, never by resolving again. HTTP connections
// are pinned to the addresses checked. Every refusal is an audit event.
import dns from 'node:dns';
import net from 'node:net';
import { Agent, request } from 'undici';
import { checkConnect, decideAddress, DEFAULT_PROTECTED, normalizeHost, ruleAllows, type NetRule } from '../../host-apis/capabilities/net-rules.js';
import { parseIpAddress } from '../../host-apis/net/ip-address.js';
import type { ProtectedAddresses } from '../../host-apis/net/protected-addresses.js';
import type { DenialReport } from '../../host-apis/bulkhead/audit.js';
import { refusedNetCall, type HttpRequestSpec, type SocketErrorCode } from '../../host-apis/net/net-broker.js';
import { MAX_BODY } from '../../host-apis/wasi-p2/http.js';
import { unlimitedResources, type InstanceResources } from '../../host-apis/limits/resource-ledger.js';
import type { NetCall } from '../sandbox/vendor-sandbox-protocol.js';

const CONNECT_TIMEOUT_MS = 5000;
/** Lookups remembered per instance (address -> the names it answered), for connects through names. */
const MAX_RESOLVED_ADDRESSES = 1024;
const MAX_NAMES_PER_ADDRESS = 16;
const BUFFER_LIMIT = 1 << 20;

/** Callbacks of guests' calls waiting for something to happen on a socket or listener. */
type Waiters = Set<() => void>;

function wakeAll(waiters: Waiters): void {
  for (const w of waiters) w();
  waiters.clear();
}

/** Resolves at the next wakeAll, or after `ms` (Infinity: no time limit). */
function nextWake(waiters: Waiters, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = ms === Infinity ? undefined : setTimeout(() => { waiters.delete(done); resolve(); }, ms);
    const done = () => { clearTimeout(timer); resolve(); };
    waiters.add(done);
  });
}

interface Conn { socket: net.Socket; chunks: Buffer[]; size: number; ended: boolean; error?: SocketErrorCode; wake: Waiters; closed?: boolean }
interface Listener { server: net.Server; pending: net.Socket[]; wake: Waiters }
/** `resources`: every socket is a descriptor, and what it has received a host buffer, of the instance's vendor. */
interface InstanceNet { rules: NetRule[]; listenPorts: number[]; resolvedFrom: Map<string, Set<string>>; sockets: Map<number, Conn>; servers: Map<number, Listener>; resources: InstanceResources }

// IPv4 first: most plant equipment and test servers listen on IPv4 only.
const resolveAll = async (host: string) => (await dns.promises.lookup(host, { all: true }))
  .sort((a, b) => a.family - b.family).map((a) => a.address);
const socketError = (code: string | undefined): SocketErrorCode =>
  code === 'ECONNREFUSED' ? 'connection-refused' : code === 'ECONNRESET' ? 'connection-reset' : code === 'ETIMEDOUT' ? 'timeout'
    : code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'remote-unreachable' : 'unknown';

export class NetService {
  readonly #instances = new Map<string, InstanceNet>();
  #nextSocket = 1;

  /**
   * `beforeDecide`: brings what `protect` knows up to date (the container engine's networks)
   * before each lookup, connect or request is decided.
   */
  constructor(private readonly audit: (instanceId: string, denial: DenialReport) => void, private readonly resolve = resolveAll,
    private readonly protect: ProtectedAddresses = DEFAULT_PROTECTED, private readonly beforeDecide: () => Promise<void> = async () => {}) {}

  register(instanceId: string, rules: NetRule[], listenPorts: number[] = [], resources: InstanceResources = unlimitedResources()): void {
    this.#instances.set(instanceId, { rules, listenPorts, resolvedFrom: new Map(), sockets: new Map(), servers: new Map(), resources });
  }

  unregister(instanceId: string): void {
    const inst = this.#instances.get(instanceId);
    if (!inst) return;
    for (const c of inst.sockets.values()) this.#closeConn(inst, c);
    for (const l of inst.servers.values()) this.#closeListener(inst, l);
    this.#instances.delete(instanceId);
  }

  #closeListener(inst: InstanceNet, l: Listener): void {
    l.server.close();
    for (const s of l.pending) s.destroy();
    l.pending = [];
    wakeAll(l.wake);
    inst.resources.freeFd();
  }

  #closeConn(inst: InstanceNet, c: Conn): void {
    if (c.closed) return;
    c.closed = true;
    c.socket.destroy();
    inst.resources.freeBytes(c.size);
    c.chunks = [];
    c.size = 0;
    inst.resources.freeFd();
  }

  /** A socket descriptor charged to the instance, or why not (its cap, its vendor's, the device's). */
  #takeSocket(inst: InstanceNet, what: string): string | undefined {
    try {
      inst.resources.takeFd(what);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  }

  async handle(call: NetCall): Promise<unknown> {
    const inst = this.#instances.get(call.instanceId);
    const a = call.args as never[];
    if (!inst) return refusedNetCall(call.method);
    switch (call.method) {
      case 'resolve': return this.#resolve(call.instanceId, inst, a[0]);
      case 'connect': return this.#connect(call.instanceId, inst, a[0], a[1]);
      case 'read': return this.#read(inst, a[0], a[1], a[2]);
      case 'write': return this.#write(inst, a[0], a[1]);
      case 'readable': return this.#readable(inst, a[0], a[1]);
      case 'listen': return this.#listen(call.instanceId, inst, a[0], a[1]);
      case 'accept': return this.#accept(inst, a[0]);
      case 'acceptable': return this.#acceptable(inst, a[0], a[1]);
      case 'shutdown': inst.sockets.get(a[0])?.socket.end(); return null;
      case 'close': {
        const c = inst.sockets.get(a[0]);
        if (c) this.#closeConn(inst, c);
        inst.sockets.delete(a[0]);
        const l = inst.servers.get(a[0]);
        if (l) this.#closeListener(inst, l);
        inst.servers.delete(a[0]);
        return null;
      }
      case 'http': return this.#http(call.instanceId, inst, a[0]);
      default: return { error: 'not-supported' };
    }
  }

  #deny(instanceId: string, attempted: string, reason: string, capability = 'net.connect'): void {
    this.audit(instanceId, { capability, attempted, reason });
  }

  async #resolve(id: string, inst: InstanceNet, name: string) {
    const literal = parseIpAddress(name);
    const host = literal?.text ?? normalizeHost(name);
    if (!literal && !/^(?=.{1,253}$)[a-z0-9_-]+(\.[a-z0-9_-]+)*$/.test(host)) {
      this.#deny(id, `resolve ${JSON.stringify(name.slice(0, 80))}`, 'not a host name', 'net.resolve');
      return { error: 'invalid-argument' };
    }
    // Only names some rule mentions are looked up: resolving is itself a way to send data out.
    if (!ruleAllows(inst.rules, host, '*')) {
      this.#deny(id, `resolve ${host}`, 'no net.connect rule names this host', 'net.resolve');
      return { error: 'access-denied' };
    }
    await this.beforeDecide();
    let resolved: string[];
    try {
      // An address in any form is its own answer; it never goes to the resolver.
      resolved = literal ? [literal.text] : await this.resolve(host);
    } catch {
      return { error: 'name-unresolvable' };
    }
    // The answer holds only addresses this instance could connect to on some port through this
    // name; a protected one its grant cannot reach is left out (and audited).
    const answer: string[] = [];
    const refused: string[] = [];
    for (const r of resolved) {
      const d = decideAddress(inst.rules, r, '*', literal ? [] : [host], this.protect);
      if (d.allowed) answer.push(d.address);
      else refused.push(d.reason);
    }
    if (refused.length) this.#deny(id, `resolve ${host}`, refused.join('; '), 'net.resolve');
    if (answer.length === 0 && refused.length) return { error: 'access-denied' };
    if (!literal) {
      for (const addr of answer) {
        const names = inst.resolvedFrom.get(addr) ?? new Set<string>();
        // Newest last; the oldest record goes once the cap is reached (a connect through it then
        // needs a fresh lookup), so a guest resolving name after name cannot grow host memory.
        inst.resolvedFrom.delete(addr);
        inst.resolvedFrom.set(addr, names.add(host));
        if (names.size > MAX_NAMES_PER_ADDRESS) names.delete(names.values().next().value!);
        if (inst.resolvedFrom.size > MAX_RESOLVED_ADDRESSES) inst.resolvedFrom.delete(inst.resolvedFrom.keys().next().value!);
      }
    }
    return answer.length ? { ok: answer } : { error: 'name-unresolvable' };
  }

  async #connect(id: string, inst: InstanceNet, address: string, port: number) {
    // Decided on the canonical address, directly or through a name this host resolved to it for
    // this instance; the socket then connects to that same canonical address.
    await this.beforeDecide();
    const d = decideAddress(inst.rules, address, port, inst.resolvedFrom.get(normalizeHost(address)) ?? [], this.protect);
    if (!d.allowed) {
      this.#deny(id, `${d.address.includes(':') ? `[${d.address}]` : d.address}:${port}`, d.reason);
      return { error: 'access-denied', reason: d.reason };
    }
    const addr = d.address;
    const limited = this.#takeSocket(inst, `connect to ${addr}:${port}`);
    if (limited) return { error: 'new-socket-limit', reason: limited };
    return new Promise((resolve) => {
      const socket = net.connect({ host: addr, port, timeout: CONNECT_TIMEOUT_MS });
      const conn = this.#track(inst, socket);
      socket.once('connect', () => {
        socket.setTimeout(0);
        const sid = this.#nextSocket++;
        inst.sockets.set(sid, conn);
        resolve({ ok: sid });
      });
      socket.once('timeout', () => { this.#closeConn(inst, conn); resolve({ error: 'timeout' }); });
      socket.once('error', (err: NodeJS.ErrnoException) => {
        // Failed before it connected: the guest never got it, so its descriptor goes back now.
        if (socket.connecting || !socket.remoteAddress) this.#closeConn(inst, conn);
        resolve({ error: socketError(err.code), reason: err.message });
      });
    });
  }

  /**
   * Buffers what a socket receives (up to BUFFER_LIMIT, or until the vendor's host-buffer budget
   * is spent, then pauses it) for the guest's reads; the bytes are the vendor's until read.
   */
  #track(inst: InstanceNet, socket: net.Socket): Conn {
    const conn: Conn = { socket, chunks: [], size: 0, ended: false, wake: new Set() };
    const wake = () => wakeAll(conn.wake);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      conn.error = socketError(err.code);
      wake();
    });
    socket.on('data', (chunk: Buffer) => {
      if (conn.closed) return;
      conn.chunks.push(chunk);
      conn.size += chunk.length;
      // Already received, so kept; but nothing more is read while the vendor is over its budget.
      const withinBudget = inst.resources.forceBytes(chunk.length);
      if (conn.size > BUFFER_LIMIT || !withinBudget) socket.pause();
      wake();
    });
    socket.on('end', () => { conn.ended = true; wake(); });
    socket.on('close', () => { conn.ended = true; wake(); });
    return conn;
  }

  async #listen(id: string, inst: InstanceNet, address: string, port: number) {
    const addr = normalizeHost(address);
    if (!inst.listenPorts.includes(port)) {
      const reason = inst.listenPorts.length ? `port ${port} is not in the grant's net.listen (${inst.listenPorts.join(', ')})` : 'the app has no net.listen grant';
      this.#deny(id, `listen ${addr}:${port}`, reason, 'net.listen');
      return { error: 'access-denied', reason };
    }
    const limited = this.#takeSocket(inst, `listen on ${addr}:${port}`);
    if (limited) return { error: 'new-socket-limit', reason: limited };
    return new Promise((resolve) => {
      const listener: Listener = { server: net.createServer(), pending: [], wake: new Set() };
      listener.server.on('connection', (socket) => {
        listener.pending.push(socket);
        wakeAll(listener.wake);
      });
      listener.server.once('error', (err: NodeJS.ErrnoException) => {
        inst.resources.freeFd();
        resolve({
          error: err.code === 'EADDRINUSE' ? 'address-in-use' : err.code === 'EADDRNOTAVAIL' ? 'address-not-bindable' : 'unknown', reason: err.message,
        });
      });
      listener.server.listen(port, addr, () => {
        const sid = this.#nextSocket++;
        inst.servers.set(sid, listener);
        resolve({ ok: sid });
      });
    });
  }

  #accept(inst: InstanceNet, sid: number) {
    const l = inst.servers.get(sid);
    if (!l) return { error: 'invalid-state' };
    if (l.pending.length === 0) return { ok: null };
    const limited = this.#takeSocket(inst, 'accept a connection');
    if (limited) return { error: 'new-socket-limit', reason: limited };
    const socket = l.pending.shift()!;
    const conn = this.#track(inst, socket);
    const id = this.#nextSocket++;
    inst.sockets.set(id, conn);
    return { ok: { socket: id, address: normalizeHost(socket.remoteAddress ?? ''), port: socket.remotePort ?? 0 } };
  }

  async #acceptable(inst: InstanceNet, sid: number, ms: number) {
    const l = inst.servers.get(sid);
    if (!l) return true;
    if (l.pending.length === 0) await nextWake(l.wake, ms);
    return l.pending.length > 0 || !l.server.listening;
  }

  #wait(conn: Conn, ms: number): Promise<void> {
    if (conn.chunks.length || conn.ended || conn.error) return Promise.resolve();
    return nextWake(conn.wake, ms);
  }

  async #read(inst: InstanceNet, sid: number, max: number, wait: boolean) {
    const conn = inst.sockets.get(sid);
    if (!conn) return { error: 'invalid-state' };
    this.#resumeIfRoom(inst, conn);
    if (wait) await this.#wait(conn, Infinity);
    if (conn.chunks.length === 0) {
      if (conn.error) return { error: conn.error };
      return { ok: conn.ended ? null : new Uint8Array(0) };
    }
    const all = Buffer.concat(conn.chunks);
    const out = all.subarray(0, max);
    const rest = all.subarray(out.length);
    conn.chunks = rest.length ? [rest] : [];
    conn.size = rest.length;
    inst.resources.freeBytes(out.length);
    this.#resumeIfRoom(inst, conn);
    return { ok: new Uint8Array(out) };
  }

  /** A paused socket reads again once its buffer and its vendor's budget have room. */
  #resumeIfRoom(inst: InstanceNet, conn: Conn): void {
    if (conn.size <= BUFFER_LIMIT && conn.socket.isPaused() && inst.resources.ledger.usage().hostBytes < inst.resources.limits.hostBytes) conn.socket.resume();
  }

  async #write(inst: InstanceNet, sid: number, bytes: Uint8Array) {
    const conn = inst.sockets.get(sid);
    if (!conn || conn.socket.destroyed) return { error: conn?.error ?? 'invalid-state' };
    return new Promise((resolve) => conn.socket.write(bytes, (err) => resolve(err ? { error: socketError((err as NodeJS.ErrnoException).code) } : { ok: bytes.length })));
  }

  async #readable(inst: InstanceNet, sid: number, ms: number) {
    const conn = inst.sockets.get(sid);
    if (!conn) return true;
    this.#resumeIfRoom(inst, conn);
    await this.#wait(conn, ms);
    return conn.chunks.length > 0 || conn.ended || conn.error !== undefined;
  }

  async #http(id: string, inst: InstanceNet, spec: HttpRequestSpec) {
    let url: URL;
    try {
      url = new URL(`${spec.scheme}://${spec.authority}${spec.pathWithQuery}`);
    } catch {
      return { error: { tag: 'HTTP-request-URI-invalid' } };
    }
    const host = normalizeHost(url.hostname.replace(/^\[|\]$/g, ''));
    const port = url.port ? Number(url.port) : spec.scheme === 'https' ? 443 : 80;
    await this.beforeDecide();
    const d = await checkConnect(inst.rules, host, port, this.resolve, this.protect).catch(() => undefined);
    if (!d) return { error: { tag: 'DNS-error', val: { rcode: undefined, infoCode: undefined } } };
    if (!d.allowed) {
      this.#deny(id, `${spec.method} ${spec.scheme}://${spec.authority}${spec.pathWithQuery}`, d.reason);
      return { error: { tag: d.addresses.length ? 'destination-IP-prohibited' : 'HTTP-request-denied' } };
    }
    // Pin the connection to the addresses just checked: a literal host is connected to as its
    // canonical form (WHATWG already canonicalised it; this covers IPv4-mapped IPv6 too), a name
    // through a lookup that answers only the checked addresses.
    const addresses = d.addresses;
    if (parseIpAddress(host)) url.hostname = net.isIPv6(addresses[0]!) ? `[${addresses[0]}]` : addresses[0]!;
    const agent = new Agent({
      connect: {
        timeout: spec.connectTimeoutMs ?? CONNECT_TIMEOUT_MS,
        lookup: (_h: string, opts: { all?: boolean }, cb: (err: Error | null, a: string | { address: string; family: number }[], f?: number) => void) => {
          const list = addresses.map((address) => ({ address, family: net.isIPv6(address) ? 6 : 4 }));
          if (opts?.all) cb(null, list);
          else cb(null, list[0]!.address, list[0]!.family);
        },
      },
    });
    try {
      const res = await request(url, {
        method: spec.method as never, headers: spec.headers.flat(), body: spec.body ?? undefined, dispatcher: agent,
        headersTimeout: spec.firstByteTimeoutMs ?? 10_000, bodyTimeout: 10_000,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of res.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_BODY) {
          res.body.destroy();
          return { error: { tag: 'HTTP-response-body-size', val: BigInt(size) } };
        }
        chunks.push(chunk as Buffer);
      }
      const headers: [string, string][] = [];
      for (const [k, v] of Object.entries(res.headers)) for (const one of Array.isArray(v) ? v : [v]) if (one !== undefined) headers.push([k, String(one)]);
      return { ok: { status: res.statusCode, headers, body: new Uint8Array(Buffer.concat(chunks)) } };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      if (code === 'ECONNREFUSED') return { error: { tag: 'connection-refused' } };
      if (code.includes('TIMEOUT')) return { error: { tag: 'connection-timeout' } };
      return { error: { tag: 'internal-error', val: (err as Error).message } };
    } finally {
      void agent.close();
    }
  }
}
