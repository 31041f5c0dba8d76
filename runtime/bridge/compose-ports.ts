// Published ports in both Compose syntaxes. Short: [[HOST_IP:]HOST_PORT[-END]:]CONTAINER_PORT[-END][/PROTOCOL]
// with IPv6 host addresses in brackets; long: { target, published, host_ip, protocol, name,
// app_protocol, mode }. A range maps port by port ("8080-8082:80-82" is three mappings).

export interface PortMapping { hostIp?: string; published?: number; target: number; protocol: 'tcp' | 'udp' }

type Range = [number, number];

function range(text: string | undefined): Range | undefined | 'bad' {
  if (text === undefined || text === '') return undefined;
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(text);
  if (!m) return 'bad';
  const from = Number(m[1]);
  const to = m[2] === undefined ? from : Number(m[2]);
  if (from < 1 || to > 65535 || to < from) return 'bad';
  return [from, to];
}

function expand(hostIp: string | undefined, published: Range | undefined, target: Range, protocol: string): PortMapping[] | string {
  if (protocol !== 'tcp' && protocol !== 'udp') return `protocol ${JSON.stringify(protocol)} is not tcp or udp`;
  const count = target[1] - target[0] + 1;
  if (published && published[1] - published[0] + 1 !== count) {
    return published[0] !== published[1] && count === 1
      ? 'a host port range for one container port lets the engine pick any port of the range; name one host port'
      : `host ports ${published[0]}-${published[1]} and container ports ${target[0]}-${target[1]} are ranges of different lengths`;
  }
  if (count > 1024) return `a range of ${count} ports is more than 1024`;
  const out: PortMapping[] = [];
  for (let i = 0; i < count; i++) {
    out.push({ ...(hostIp === undefined ? {} : { hostIp }), ...(published ? { published: published[0] + i } : {}), target: target[0] + i, protocol: protocol as 'tcp' | 'udp' });
  }
  return out;
}

/** Every host mapping a `ports` item stands for, or a message saying why it is not one. */
export function parsePorts(spec: unknown): PortMapping[] | string {
  if (typeof spec === 'number') return Number.isInteger(spec) && spec >= 1 && spec <= 65535 ? [{ target: spec, protocol: 'tcp' }] : 'not a port number';
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const p = spec as { target?: unknown; published?: unknown; host_ip?: unknown; protocol?: unknown };
    const target = range(p.target === undefined ? undefined : String(p.target));
    if (target === undefined || target === 'bad') return p.target === undefined ? 'the long syntax needs a target (the container port)' : `target ${JSON.stringify(p.target)} is not a port`;
    const published = range(p.published === undefined || p.published === null ? undefined : String(p.published));
    if (published === 'bad') return `published ${JSON.stringify(p.published)} is not a port or a port range`;
    if (p.host_ip !== undefined && typeof p.host_ip !== 'string') return 'host_ip must be an address';
    return expand(p.host_ip as string | undefined, published, target, typeof p.protocol === 'string' ? p.protocol.toLowerCase() : 'tcp');
  }
  if (typeof spec !== 'string') return 'not a port mapping';
  const m = /^(?:(?:\[([^\]]+)\]|([^:[\]]*)):)??(?:([\d-]*):)?([\d-]+)(?:\/([a-zA-Z]+))?$/.exec(spec.trim());
  if (!m) return 'not a port mapping ([HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL])';
  const v6 = m[1];
  let ip: string | undefined = m[2];
  let published: string | undefined = m[3];
  const target = m[4]!;
  const protocol = (m[5] ?? 'tcp').toLowerCase();
  // "8080:80" is published:target, not ip:target; "127.0.0.1::80" names an address and no host port.
  if (ip !== undefined && published === undefined && /^[\d-]*$/.test(ip)) { published = ip; ip = undefined; }
  const t = range(target);
  if (t === undefined || t === 'bad') return `${JSON.stringify(target)} is not a container port or range`;
  const pub = range(published);
  if (pub === 'bad') return `${JSON.stringify(published)} is not a host port or range`;
  const hostIp = v6 ?? (ip === '' ? undefined : ip);
  return expand(hostIp, pub, t, protocol);
}
