// Which addresses a wildcard or name rule must never reach: the device itself and what only the
// device should talk to. Loopback, unspecified (0.0.0.0 and :: connect to the device itself),
// link-local (where cloud metadata services live), known metadata addresses outside link-local,
// multicast and broadcast, the device's own interface addresses (its LAN address reaches the
// same services as loopback when they listen on all interfaces), and the subnets of the container
// engine's networks (the device routes to every vendor's containers). An IPv6 address that embeds an
// IPv4 one (IPv4-compatible ::a.b.c.d, NAT64 64:ff9b::/96, SIIT ::ffff:0:a.b.c.d, 6to4
// 2002:AABB:CCDD::) is classified by the embedded address as well. Operators can add ranges
// of their own (the plant network of another vendor's PLCs).
import net from 'node:net';
import os from 'node:os';
import { parseIpAddress, type IpAddress } from './ip-address.js';

export type ProtectedKind = 'loopback' | 'unspecified' | 'link-local' | 'metadata' | 'multicast' | 'device' | 'container' | 'operator';

export interface AddressClass {
  /** The canonical address classified. */
  address: IpAddress;
  /** Why it is protected; undefined: an ordinary address. */
  kind?: ProtectedKind;
  /** The IPv4 address embedded in an IPv6 one, when that is what made it protected. */
  embedded?: { form: 'ipv4-compatible' | 'nat64' | 'siit' | '6to4'; address: string };
}

const RANGES: [ProtectedKind, string, number, 'ipv4' | 'ipv6'][] = [
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['loopback', '::1', 128, 'ipv6'],
  ['unspecified', '0.0.0.0', 8, 'ipv4'],
  ['unspecified', '::', 128, 'ipv6'],
  // Cloud metadata outside link-local: AWS IPv6 (fd00:ec2::254), Alibaba, Azure's wire server.
  ['metadata', 'fd00:ec2::254', 128, 'ipv6'],
  ['metadata', '100.100.100.200', 32, 'ipv4'],
  ['metadata', '168.63.129.16', 32, 'ipv4'],
  // 169.254.169.254 (AWS, GCP, Azure, OCI metadata) is in here.
  ['link-local', '169.254.0.0', 16, 'ipv4'],
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['multicast', '224.0.0.0', 3, 'ipv4'], // multicast, reserved and 255.255.255.255
  ['multicast', 'ff00::', 8, 'ipv6'],
];

const KIND_TEXT: Record<ProtectedKind, string> = {
  loopback: 'loopback', unspecified: 'unspecified, i.e. this device', 'link-local': 'link-local',
  metadata: 'a cloud metadata address', multicast: 'multicast or broadcast', device: "one of this device's own addresses",
  container: "in a container network on this device (another vendor's containers)",
  operator: 'in a range the operator protects',
};

/** The device's interface addresses now. */
export function deviceAddresses(): string[] {
  return Object.values(os.networkInterfaces()).flatMap((list) => list ?? [])
    .map((i) => parseIpAddress(i.address)?.text).filter((a): a is string => a !== undefined);
}

// Reading the interfaces costs about 0.3 ms here, more than the rest of a decision; addresses
// change only with the device's own configuration (DHCP, a new bridge), which no guest controls,
// so one reading serves the checks of the next second.
const DEVICE_ADDRESSES_TTL_MS = 1000;
let cached: { at: number; addresses: Set<string> } | undefined;

/** The device's interface addresses, read at most once a second. */
export function currentDeviceAddresses(): ReadonlySet<string> {
  const now = Date.now();
  if (!cached || now - cached.at >= DEVICE_ADDRESSES_TTL_MS) cached = { at: now, addresses: new Set(deviceAddresses()) };
  return cached.addresses;
}

/** The IPv4 address inside an IPv6 one, by the embedding forms that reach IPv4 endpoints. */
function embeddedIpv4(a: IpAddress): AddressClass['embedded'] | undefined {
  if (a.family !== 6) return undefined;
  const b = a.bytes;
  const v4 = (at: number) => Array.from(b.subarray(at, at + 4)).join('.');
  const zeros = (from: number, to: number) => b.subarray(from, to).every((x) => x === 0);
  if (zeros(0, 12)) return { form: 'ipv4-compatible', address: v4(12) };
  if (b[0] === 0x00 && b[1] === 0x64 && b[2] === 0xff && b[3] === 0x9b && zeros(4, 12)) return { form: 'nat64', address: v4(12) };
  if (zeros(0, 8) && b[8] === 0xff && b[9] === 0xff && zeros(10, 12)) return { form: 'siit', address: v4(12) };
  if (b[0] === 0x20 && b[1] === 0x02) return { form: '6to4', address: v4(2) };
  return undefined;
}

export class ProtectedAddresses {
  readonly #ranges: [ProtectedKind, net.BlockList][];

  #containers: { key: string; list: net.BlockList } = { key: '', list: new net.BlockList() };

  /**
   * `extraCidrs`: the operator's own protected ranges ("10.9.0.0/16"). `ownAddresses`: the
   * device's addresses (default: its interfaces, re-read every second). `containerNetworks`: the
   * subnets of the container engine's networks ("10.89.0.0/24"): the device routes to its
   * containers, so a wasm app under a wildcard rule would reach every vendor's unpublished
   * container ports by their addresses.
   */
  constructor(extraCidrs: readonly string[] = [], private readonly ownAddresses: () => Iterable<string> = currentDeviceAddresses,
    private readonly containerNetworks: () => readonly string[] = () => []) {
    const byKind = new Map<ProtectedKind, net.BlockList>();
    const add = (kind: ProtectedKind, address: string, bits: number, family: 'ipv4' | 'ipv6') => {
      if (!byKind.has(kind)) byKind.set(kind, new net.BlockList());
      byKind.get(kind)!.addSubnet(address, bits, family);
    };
    for (const [kind, address, bits, family] of RANGES) add(kind, address, bits, family);
    for (const cidr of extraCidrs) {
      const [address, bits] = cidr.split('/');
      const a = parseIpAddress(address ?? '');
      if (!a || bits === undefined || !/^\d+$/.test(bits) || Number(bits) > (a.family === 4 ? 32 : 128)) {
        throw new RangeError(`"${cidr}": expected ADDRESS/PREFIX, e.g. 10.9.0.0/16`);
      }
      add('operator', a.text, Number(bits), a.family === 4 ? 'ipv4' : 'ipv6');
    }
    this.#ranges = [...byKind];
  }

  #kindOf(a: IpAddress): ProtectedKind | undefined {
    const family = a.family === 4 ? 'ipv4' : 'ipv6';
    for (const [kind, list] of this.#ranges) if (list.check(a.text, family)) return kind;
    const own = this.ownAddresses();
    if (own instanceof Set ? own.has(a.text) : [...own].includes(a.text)) return 'device';
    if (this.#containerList().check(a.text, family)) return 'container';
    return undefined;
  }

  /** The container subnets as a BlockList, rebuilt only when the engine's answer changed. */
  #containerList(): net.BlockList {
    const cidrs = this.containerNetworks();
    const key = cidrs.join(',');
    if (key !== this.#containers.key) {
      const list = new net.BlockList();
      for (const cidr of cidrs) {
        const [address, bits] = cidr.split('/');
        const a = parseIpAddress(address ?? '');
        if (a && bits !== undefined && /^\d+$/.test(bits)) list.addSubnet(a.text, Number(bits), a.family === 4 ? 'ipv4' : 'ipv6');
      }
      this.#containers = { key, list };
    }
    return this.#containers.list;
  }

  /** Classifies `address` (any textual or numeric form); undefined when it is not an address. */
  classify(address: string | IpAddress): AddressClass | undefined {
    const a = typeof address === 'string' ? parseIpAddress(address) : address;
    if (!a) return undefined;
    const kind = this.#kindOf(a);
    if (kind) return { address: a, kind };
    const embedded = embeddedIpv4(a);
    const inner = embedded && this.#kindOf(parseIpAddress(embedded.address)!);
    return inner ? { address: a, kind: inner, embedded } : { address: a };
  }

  /** Human text for a protected class: "loopback", "link-local, as NAT64 of 169.254.169.254". */
  static describe(c: AddressClass): string {
    if (!c.kind) return 'not protected';
    return c.embedded ? `${KIND_TEXT[c.kind]}, as ${c.embedded.form} of ${c.embedded.address}` : KIND_TEXT[c.kind];
  }
}

/** Names that mean this device by definition (RFC 6761): they are protected like loopback. */
export function isLoopbackName(name: string): boolean {
  return name === 'localhost' || name.endsWith('.localhost');
}
