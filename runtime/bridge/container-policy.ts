// The isolation policy for a vendor's containers: deny by default, operator-configurable. Refuses
// what would weaken confinement (naming the service and the rule) and computes what is enforced on
// every container: all capabilities dropped but the allowed ones, no-new-privileges, memory / CPU /
// pids limits (defaulted when absent, capped when above), ports only from the vendor's range and
// addresses, bind mounts only under the vendor's own data root.
import path from 'node:path';
import type { ComposeFile } from './compose-file.js';
import { quoteValue } from '../../packages/quote-value.js';

export interface VendorContainerPolicy {
  /** Bind mounts must resolve inside this directory. */
  dataRoot: string;
  /** Host ports the vendor may publish: inclusive range. Empty range = none. */
  ports: { from: number; to: number };
  /** Host addresses published ports may bind to; the first is used when a port names none. */
  addresses: string[];
  /** Capabilities the vendor may add back after ALL are dropped (e.g. NET_BIND_SERVICE). */
  capAdd: string[];
  limits: { memoryBytes: number; nanoCpus: number; pids: number };
  requireImageDigest: boolean;
  /** Operator-provided engine images the vendor may run besides its own loaded ones (vendor-images.ts). */
  images: string[];
  /** Engine storage the vendor's loaded images may take. */
  imageStorageBytes: number;
}

export function defaultVendorPolicy(dataRoot: string): VendorContainerPolicy {
  return {
    dataRoot, ports: { from: 0, to: -1 }, addresses: ['127.0.0.1'], capAdd: [],
    limits: { memoryBytes: 256 * 1024 * 1024, nanoCpus: 1e9, pids: 256 }, requireImageDigest: false,
    images: [], imageStorageBytes: 1024 ** 3,
  };
}

export interface Violation { service: string; rule: string; message: string }

export interface PublishedPort { hostIp: string; published: number; target: number; protocol: 'tcp' | 'udp' }
export interface Mount { type: 'bind' | 'volume' | 'tmpfs'; source?: string; target: string; readOnly: boolean }

export interface EnforcedService {
  name: string;
  image: string;
  capAdd: string[];
  capDrop: ['ALL'];
  securityOpt: string[];
  memoryBytes: number;
  nanoCpus: number;
  pids: number;
  ports: PublishedPort[];
  mounts: Mount[];
  /** Adjustments the policy made (a limit capped or defaulted), reported, not refused. */
  adjustments: string[];
}

const ENGINE_SOCKETS = /(^|\/)(docker|podman|containerd)\.sock$|^\/run\/(docker|podman|containerd)(\/|$)|^\/var\/run\/(docker|podman|containerd)(\/|$)/;

const normCap = (c: string) => c.toUpperCase().replace(/^CAP_/, '');

/** "512m", "1g", 1048576 -> bytes (Compose byte values). */
export function parseComposeBytes(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return value;
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(String(value).trim());
  if (!m) return NaN;
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  return Math.floor(Number(m[1]) * unit);
}

/** Short ("127.0.0.1:8080:80/tcp", "8080:80", "80") and long port syntax. */
export function parsePort(spec: unknown): { hostIp?: string; published?: number; target: number; protocol: 'tcp' | 'udp' } | undefined {
  if (typeof spec === 'object' && spec !== null) {
    const p = spec as { target?: number; published?: string | number; host_ip?: string; protocol?: string };
    if (p.target === undefined) return undefined;
    return { target: Number(p.target), published: p.published === undefined ? undefined : Number(p.published), hostIp: p.host_ip, protocol: p.protocol === 'udp' ? 'udp' : 'tcp' };
  }
  const text = String(spec);
  const m = /^(?:(?:\[([^\]]+)\]|([^:]+)):)?(?:(\d+):)?(\d+)(?:\/(tcp|udp))?$/.exec(text);
  if (!m) return undefined;
  const [, v6, v4OrPublished, published, target, protocol] = m;
  // "8080:80" parses with v4OrPublished="8080": disambiguate (an address has dots or colons).
  if (v4OrPublished && !published && /^\d+$/.test(v4OrPublished)) {
    return { published: Number(v4OrPublished), target: Number(target), protocol: protocol === 'udp' ? 'udp' : 'tcp' };
  }
  return { hostIp: v6 ?? v4OrPublished, published: published ? Number(published) : undefined, target: Number(target), protocol: protocol === 'udp' ? 'udp' : 'tcp' };
}

/** Short ("./data:/data:ro", "named:/data") and long volume syntax; paths relative to `baseDir`. */
export function parseMount(spec: unknown, baseDir: string): Mount | undefined {
  if (typeof spec === 'object' && spec !== null) {
    const v = spec as { type?: string; source?: string; target?: string; read_only?: boolean };
    if (!v.target || !['bind', 'volume', 'tmpfs'].includes(v.type ?? '')) return undefined;
    const source = v.type === 'bind' && v.source ? path.resolve(baseDir, v.source) : v.source;
    return { type: v.type as Mount['type'], source, target: v.target, readOnly: Boolean(v.read_only) };
  }
  const parts = String(spec).split(':');
  if (parts.length === 1) return { type: 'volume', target: parts[0]!, readOnly: false };
  const [source, target, mode] = parts;
  if (!source || !target) return undefined;
  const isPath = /^[./~]/.test(source);
  return {
    type: isPath ? 'bind' : 'volume', source: isPath ? path.resolve(baseDir, source) : source, target,
    readOnly: (mode ?? '').split(',').includes('ro'),
  };
}

function isInside(root: string, candidate: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(candidate));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/**
 * Judges every service of a Compose file for one vendor. Returns every violation (so `compose
 * check` can list them all) and, when there are none, the enforced container settings.
 */
export function applyContainerPolicy(compose: ComposeFile, policy: VendorContainerPolicy, baseDir: string): { violations: Violation[]; services: EnforcedService[] } {
  const violations: Violation[] = [];
  const services: EnforcedService[] = [];
  for (const [name, svc] of Object.entries(compose.services)) {
    const s = svc as Record<string, unknown>;
    const refuse = (rule: string, message: string) => violations.push({ service: name, rule, message: `services.${name}: ${message}` });
    if (s.privileged === true) refuse('privileged', 'privileged containers are not allowed');
    const networkMode = s.network_mode as string | undefined;
    if (networkMode !== undefined && networkMode !== 'none') {
      refuse('network_mode', `network_mode ${quoteValue(networkMode)} is not allowed; containers join their vendor's network${networkMode === 'host' ? ' (host networking would bypass it)' : ''}`);
    }
    for (const ns of ['pid', 'ipc', 'userns_mode'] as const) {
      if (s[ns] !== undefined) refuse(ns, `${ns} ${quoteValue(String(s[ns]))} is not allowed (sharing a host namespace breaks isolation)`);
    }
    if (Array.isArray(s.devices) && s.devices.length > 0) refuse('devices', `host devices are not allowed (${(s.devices as unknown[]).map(String).join(', ')})`);
    const image = s.image as string | undefined;
    if (!image) refuse('image', 'an image is required');
    else if (policy.requireImageDigest && !/@sha256:[0-9a-f]{64}$/.test(image)) refuse('image-digest', `image ${quoteValue(image)} must be pinned by digest (name@sha256:...)`);

    const capAdd = ((s.cap_add as string[] | undefined) ?? []).map(normCap);
    const allowed = new Set(policy.capAdd.map(normCap));
    for (const cap of capAdd) {
      if (!allowed.has(cap)) refuse('cap_add', `cap_add ${cap} is not in this vendor's allow-list (${[...allowed].join(', ') || 'empty'})`);
    }
    for (const opt of (s.security_opt as string[] | undefined) ?? []) {
      const o = opt.replace(/\s+/g, '').toLowerCase();
      if (/^(seccomp|apparmor|systempaths)[=:]unconfined$/.test(o) || /^label[=:]disable$/.test(o) || /^no-new-privileges[=:]false$/.test(o)) {
        refuse('security_opt', `security_opt ${quoteValue(opt)} weakens confinement`);
      }
    }

    const ports: PublishedPort[] = [];
    (s.ports as unknown[] | undefined)?.forEach((spec, i) => {
      const p = parsePort(spec);
      if (!p) return refuse('ports', `ports[${i}] ${quoteValue(spec)} is not a port mapping`);
      const range = policy.ports.to < policy.ports.from ? 'this vendor has no port range assigned' : `this vendor's range is ${policy.ports.from}-${policy.ports.to}`;
      if (p.published === undefined) return refuse('ports', `ports[${i}] publishes container port ${p.target} on a random host port; ${range}`);
      if (p.published < policy.ports.from || p.published > policy.ports.to) {
        return refuse('ports', `ports[${i}] host port ${p.published} is not allowed: ${range}`);
      }
      const hostIp = p.hostIp ?? policy.addresses[0]!;
      if (!policy.addresses.includes(hostIp)) return refuse('ports', `ports[${i}] binds ${hostIp}; allowed addresses: ${policy.addresses.join(', ')}`);
      ports.push({ hostIp, published: p.published, target: p.target, protocol: p.protocol });
    });

    const mounts: Mount[] = [];
    (s.volumes as unknown[] | undefined)?.forEach((spec, i) => {
      const m = parseMount(spec, baseDir);
      if (!m) return refuse('volumes', `volumes[${i}] ${quoteValue(spec)} is not a volume`);
      if (m.type === 'bind') {
        if (ENGINE_SOCKETS.test(m.source!)) return refuse('engine-socket', `volumes[${i}] mounts the container engine's socket (${m.source})`);
        if (!isInside(policy.dataRoot, m.source!)) return refuse('bind-mount', `volumes[${i}] bind-mounts ${m.source}, outside this vendor's data root ${policy.dataRoot}`);
      }
      mounts.push(m);
    });

    const adjustments: string[] = [];
    const limits = ((s.deploy as { resources?: { limits?: Record<string, unknown> } } | undefined)?.resources?.limits) ?? {};
    const declaredMemory = parseComposeBytes(limits.memory ?? s.mem_limit);
    if (declaredMemory !== undefined && Number.isNaN(declaredMemory)) refuse('memory', `memory limit ${quoteValue(String(limits.memory ?? s.mem_limit))} is not a size`);
    const declaredCpus = limits.cpus ?? s.cpus;
    const cpus = declaredCpus === undefined ? undefined : Number(declaredCpus);
    const declaredPids = (limits.pids ?? s.pids_limit) as number | undefined;
    const pick = (what: string, declared: number | undefined, max: number): number => {
      if (declared === undefined || Number.isNaN(declared) || declared <= 0) {
        adjustments.push(`${what} defaulted to the policy's ${max}`);
        return max;
      }
      if (declared > max) {
        adjustments.push(`${what} ${declared} capped to the policy's ${max}`);
        return max;
      }
      return declared;
    };
    const memoryBytes = pick('memory', declaredMemory, policy.limits.memoryBytes);
    const nanoCpus = pick('cpus (nano)', cpus === undefined ? undefined : Math.round(cpus * 1e9), policy.limits.nanoCpus);
    const pids = pick('pids', declaredPids, policy.limits.pids);

    services.push({
      name, image: image ?? '', capAdd: capAdd.filter((c) => allowed.has(c)), capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'], memoryBytes, nanoCpus, pids, ports, mounts, adjustments,
    });
  }
  return { violations, services: violations.length ? [] : services };
}
