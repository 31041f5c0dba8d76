// wasi:sockets (network, instance-network, ip-name-lookup, tcp, tcp-create-socket) for one
// component instance: TCP connections out, each decided by the supervisor against the grant's
// net.connect rules, and listening sockets on the ports its net.listen names (see net-broker.ts).
// UDP is not provided: it answers not-supported, so a guest learns at once instead of hanging.
import net from 'node:net';
import { parseIpAddress } from '../net/ip-address.js';
import type { NetBroker, SocketErrorCode } from '../net/net-broker.js';
import { GuestError } from './errors.js';
import type { Io } from './io.js';
import { ResourceLimitError, unlimitedResources, type InstanceResources } from '../limits/resource-ledger.js';

type Ipv4 = [number, number, number, number];
type Ipv6 = [number, number, number, number, number, number, number, number];
type IpAddress = { tag: 'ipv4'; val: Ipv4 } | { tag: 'ipv6'; val: Ipv6 };
type IpSocketAddress = { tag: 'ipv4'; val: { port: number; address: Ipv4 } } | { tag: 'ipv6'; val: { port: number; flowInfo: number; address: Ipv6; scopeId: number } };

const fail = (code: SocketErrorCode) => new GuestError(code);

export function addressText(a: IpAddress | IpSocketAddress['val']['address'], family?: 'ipv4' | 'ipv6'): string {
  const parts = 'tag' in a ? a.val : a;
  const fam = 'tag' in a ? a.tag : family;
  if (fam === 'ipv4') return (parts as number[]).join('.');
  return (parts as number[]).map((p) => p.toString(16)).join(':');
}

/** The WIT form of an address the supervisor answered (canonical text; host-apis/net/ip-address.ts). */
export function ipAddressOf(text: string): IpAddress {
  const a = parseIpAddress(text);
  if (!a) throw fail('invalid-argument');
  if (a.family === 4) return { tag: 'ipv4', val: Array.from(a.bytes) as Ipv4 };
  return { tag: 'ipv6', val: Array.from({ length: 8 }, (_, i) => (a.bytes[2 * i]! << 8) | a.bytes[2 * i + 1]!) as Ipv6 };
}

/**
 * `resources`: sockets and address streams are handles of the instance (resource-ledger.ts); the
 * real sockets, their descriptors and receive buffers are counted by the supervisor that holds them.
 */
export function createSockets(io: Io, broker: NetBroker, resources: InstanceResources = unlimitedResources()) {
  class Network {}
  const network = new Network();

  class ResolveAddressStream {
    #addresses: string[];
    #dropped = false;
    constructor(addresses: string[]) {
      resources.takeHandle('resolve-address-stream');
      this.#addresses = addresses;
    }
    [Symbol.dispose](): void {
      if (!this.#dropped) resources.freeHandle();
      this.#dropped = true;
    }
    resolveNextAddress(): IpAddress | undefined {
      const next = this.#addresses.shift();
      return next === undefined ? undefined : ipAddressOf(next);
    }
    subscribe() {
      return new io.Pollable();
    }
  }

  type State = { kind: 'unbound' }
    | { kind: 'connecting'; result: ReturnType<NetBroker['connect']>; remote: IpSocketAddress }
    | { kind: 'connected'; id: number; remote: IpSocketAddress }
    | { kind: 'binding'; result: ReturnType<NetBroker['listen']>; local: IpSocketAddress }
    | { kind: 'bound' | 'listening'; server: number; local: IpSocketAddress }
    | { kind: 'closed' };

  /** The two streams of a connected socket `id`. */
  function streamsOf(id: number) {
    const readiness = { ready: () => broker.readable(id, 0), wait: (ms: number) => broker.readable(id, ms) };
    const input = new io.InputStream({
      read: (max) => unwrap(broker.read(id, max, false)),
      blockingRead: (max) => unwrap(broker.read(id, max, true)),
      readiness,
    });
    const output = new io.OutputStream({ write: (bytes) => { unwrap(broker.write(id, bytes)); } });
    return [input, output] as const;
  }

  class TcpSocket {
    #state: State = { kind: 'unbound' };
    #dropped = false;
    constructor(readonly family: 'ipv4' | 'ipv6') {
      resources.takeHandle('tcp-socket');
    }

    static connected(family: 'ipv4' | 'ipv6', id: number, remote: IpSocketAddress): TcpSocket {
      const s = new TcpSocket(family);
      s.#state = { kind: 'connected', id, remote };
      return s;
    }

    startBind(_network: Network, local: IpSocketAddress): void {
      if (this.#state.kind !== 'unbound') throw fail('invalid-state');
      if (local.tag !== this.family) throw fail('invalid-argument');
      // Node binds and listens in one step, so the host does both here; the guest's listen is then
      // a formality. The supervisor checks the port against the grant.
      const result = broker.listen(addressText(local.val.address, local.tag), local.val.port);
      if ('error' in result) throw fail(result.error); // refused or taken: reported at once, as wasmtime does
      this.#state = { kind: 'binding', result, local };
    }
    finishBind(): void {
      const s = this.#state;
      if (s.kind !== 'binding') throw fail('not-in-progress');
      if ('error' in s.result) {
        this.#state = { kind: 'unbound' };
        throw fail(s.result.error);
      }
      this.#state = { kind: 'bound', server: s.result.ok, local: s.local };
    }
    startListen(): void {
      if (this.#state.kind !== 'bound') throw fail('invalid-state');
      this.#state = { ...this.#state, kind: 'listening' };
    }
    finishListen(): void {
      if (this.#state.kind !== 'listening') throw fail('not-in-progress');
    }
    accept() {
      const s = this.#state;
      if (s.kind !== 'listening') throw fail('invalid-state');
      const r = broker.accept(s.server);
      if ('error' in r) throw fail(r.error);
      if (r.ok === null) throw fail('would-block');
      const remote = net.isIPv4(r.ok.address)
        ? { tag: 'ipv4' as const, val: { port: r.ok.port, address: ipAddressOf(r.ok.address).val as Ipv4 } }
        : { tag: 'ipv6' as const, val: { port: r.ok.port, flowInfo: 0, address: ipAddressOf(r.ok.address).val as Ipv6, scopeId: 0 } };
      const [input, output] = streamsOf(r.ok.socket);
      return [TcpSocket.connected(this.family, r.ok.socket, remote), input, output] as const;
    }
    startConnect(_network: Network, remote: IpSocketAddress): void {
      if (this.#state.kind !== 'unbound') throw fail('invalid-state');
      if (remote.tag !== this.family) throw fail('invalid-argument');
      if (remote.val.port === 0) throw fail('invalid-argument');
      // The connect runs to completion here; finish-connect reports how it went.
      const result = broker.connect(addressText(remote.val.address, remote.tag), remote.val.port);
      this.#state = { kind: 'connecting', result, remote };
    }
    finishConnect() {
      const s = this.#state;
      if (s.kind !== 'connecting') throw fail('not-in-progress');
      if ('error' in s.result) {
        this.#state = { kind: 'closed' };
        throw fail(s.result.error);
      }
      const id = s.result.ok;
      this.#state = { kind: 'connected', id, remote: s.remote };
      return streamsOf(id);
    }
    localAddress(): IpSocketAddress {
      if (this.#state.kind === 'bound' || this.#state.kind === 'listening') return this.#state.local;
      throw fail('invalid-state');
    }
    remoteAddress(): IpSocketAddress {
      if (this.#state.kind !== 'connected') throw fail('invalid-state');
      return this.#state.remote;
    }
    isListening(): boolean {
      return this.#state.kind === 'listening';
    }
    addressFamily() {
      return this.family;
    }
    setListenBacklogSize(): void {}
    keepAliveEnabled() { return false; }
    setKeepAliveEnabled(): void {}
    keepAliveIdleTime() { return 7_200_000_000_000n; }
    setKeepAliveIdleTime(): void {}
    keepAliveInterval() { return 75_000_000_000n; }
    setKeepAliveInterval(): void {}
    keepAliveCount() { return 9; }
    setKeepAliveCount(): void {}
    hopLimit() { return 64; }
    setHopLimit(): void {}
    receiveBufferSize() { return 65536n; }
    setReceiveBufferSize(): void {}
    sendBufferSize() { return 65536n; }
    setSendBufferSize(): void {}
    subscribe() {
      const s = this.#state;
      if (s.kind !== 'listening') return new io.Pollable();
      return new io.Pollable(0n, { ready: () => broker.acceptable(s.server, 0), wait: (ms: number) => broker.acceptable(s.server, ms) });
    }
    shutdown(how: 'receive' | 'send' | 'both'): void {
      if (this.#state.kind !== 'connected') throw fail('invalid-state');
      broker.shutdown(this.#state.id, how);
    }
    [Symbol.dispose](): void {
      if (this.#state.kind === 'connected') broker.close(this.#state.id);
      if (this.#state.kind === 'bound' || this.#state.kind === 'listening') broker.close(this.#state.server);
      this.#state = { kind: 'closed' };
      if (!this.#dropped) resources.freeHandle();
      this.#dropped = true;
    }
  }

  function unwrap<T>(r: { ok: T } | { error: SocketErrorCode; reason?: string }): T {
    if ('error' in r) throw new Error(r.reason ?? r.error);
    return r.ok;
  }

  return {
    network: { Network },
    instanceNetwork: { instanceNetwork: () => network },
    tcpCreateSocket: {
      createTcpSocket: (family: 'ipv4' | 'ipv6') => {
        try {
          return new TcpSocket(family);
        } catch (err) {
          if (err instanceof ResourceLimitError) throw fail('new-socket-limit');
          throw err;
        }
      },
    },
    tcp: { TcpSocket },
    udpCreateSocket: { createUdpSocket: (): never => { throw fail('not-supported'); } },
    ipNameLookup: {
      ResolveAddressStream,
      resolveAddresses: (_network: Network, name: string) => {
        const r = broker.resolve(name);
        if ('error' in r) throw fail(r.error);
        return new ResolveAddressStream(r.ok);
      },
    },
  };
}
