// One reading of "is this text an IP address, and which one": every textual and numeric form a
// resolver or URL parser would accept, turned into one canonical address, so a check can never see
// a different address than the socket later reaches. getaddrinfo (inet_aton) and the WHATWG URL
// parser both accept IPv4 shorthand: "2130706433", "0x7f.1", "0177.0.0.1" and "127.1" all mean
// 127.0.0.1. IPv6 is validated by node:net and expanded here; an IPv4-mapped address
// (::ffff:a.b.c.d) is the same endpoint as its IPv4 address and canonicalises to it. Other
// embeddings (IPv4-compatible, NAT64) are distinct IPv6 addresses; protected-addresses.ts looks
// inside them.
import net from 'node:net';

export interface IpAddress {
  family: 4 | 6;
  /** 4 or 16 bytes, network order. */
  bytes: Uint8Array;
  /** Canonical text: dotted quad, or RFC 5952 IPv6 (lower case, longest zero run compressed). */
  text: string;
  /** An IPv6 zone ("eth0" in fe80::1%eth0); not part of the address that is classified. */
  zone?: string;
}

/** One inet_aton / WHATWG IPv4 part: decimal, octal (leading 0) or hex (0x). */
function ipv4Part(part: string): number | undefined {
  if (/^0x[0-9a-f]*$/i.test(part)) return part.length === 2 ? 0 : parseInt(part.slice(2), 16);
  if (/^0[0-7]+$/.test(part)) return parseInt(part.slice(1), 8);
  if (/^(0|[1-9][0-9]*)$/.test(part)) return Number(part);
  return undefined;
}

/**
 * IPv4 in any form inet_aton or the WHATWG host parser accepts: one to four parts, the last one
 * filling the remaining bytes ("127.1" = 127.0.0.1, "2130706433" = 127.0.0.1), an optional
 * trailing dot. Liberal on purpose: anything a resolver might read as an address is one here.
 */
function parseIpv4(text: string): Uint8Array | undefined {
  const parts = text.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
  if (parts.length === 0 || parts.length > 4) return undefined;
  const values = parts.map(ipv4Part);
  if (values.some((v) => v === undefined || !Number.isSafeInteger(v))) return undefined;
  const nums = values as number[];
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return undefined;
  let value = last;
  nums.forEach((n, i) => { value += n * 256 ** (3 - i); });
  return Uint8Array.of(value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255);
}

function parseIpv6(text: string): Uint8Array | undefined {
  if (!net.isIPv6(text)) return undefined;
  let t = text;
  // An embedded dotted quad ("::ffff:127.0.0.1") becomes its two hex groups.
  const dotted = /:(\d+\.\d+\.\d+\.\d+)$/.exec(t);
  if (dotted) {
    if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(dotted[1]!)) return undefined;
    const v4 = parseIpv4(dotted[1]!);
    if (!v4) return undefined;
    t = `${t.slice(0, dotted.index + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, rest] = t.includes('::') ? t.split('::') as [string, string] : [t, undefined];
  const h = head ? head.split(':').map((g) => parseInt(g, 16)) : [];
  const r = rest ? rest.split(':').map((g) => parseInt(g, 16)) : [];
  const groups = rest === undefined ? h : [...h, ...Array(Math.max(0, 8 - h.length - r.length)).fill(0), ...r];
  if (groups.length !== 8 || groups.some((g) => !(g >= 0 && g <= 0xffff))) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => { bytes[2 * i] = g >> 8; bytes[2 * i + 1] = g & 255; });
  return bytes;
}

/** RFC 5952 text of 16 bytes: the first longest run of two or more zero groups becomes "::". */
export function ipv6Text(bytes: Uint8Array): string {
  const groups = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!);
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function ipv4Address(bytes: Uint8Array): IpAddress {
  return { family: 4, bytes, text: Array.from(bytes).join('.') };
}

/**
 * The address `text` denotes, in canonical form, or undefined when it is not an address (a host
 * name). Accepts brackets ("[::1]"), zones ("fe80::1%eth0"), every IPv4 shorthand and IPv6 with
 * an embedded dotted quad; IPv4-mapped IPv6 comes back as the IPv4 address it maps.
 */
export function parseIpAddress(text: string): IpAddress | undefined {
  let t = text.trim();
  if (t.startsWith('[') && t.endsWith(']')) t = t.slice(1, -1);
  let zone: string | undefined;
  const pct = t.indexOf('%');
  if (pct >= 0 && t.includes(':')) {
    zone = t.slice(pct + 1);
    t = t.slice(0, pct);
    if (!zone) return undefined;
  }
  if (!t.includes(':')) return zone === undefined && parseIpv4(t) ? ipv4Address(parseIpv4(t)!) : undefined;
  const bytes = parseIpv6(t);
  if (!bytes) return undefined;
  if (bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff) return ipv4Address(bytes.slice(12));
  return { family: 6, bytes, text: ipv6Text(bytes), ...(zone === undefined ? {} : { zone }) };
}

/** Canonical text of an address, or the lower-cased name (no trailing dot) when it is not one. */
export function canonicalHost(host: string): string {
  return parseIpAddress(host)?.text ?? host.trim().toLowerCase().replace(/\.$/, '');
}
