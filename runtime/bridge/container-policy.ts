// The isolation policy for a vendor's containers: deny by default, operator-configurable. Refuses
// what would weaken confinement (naming the service and the rule) and computes what is enforced on
// every container: all capabilities dropped but the allowed ones, no-new-privileges, memory / CPU /
// pids limits (defaulted when absent, capped when above), ports only from the vendor's range and
// addresses, bind mounts only under the vendor's own data root.
import path from 'node:path';
import type { ComposeFile } from './compose-file.js';
import { parseMount as parseMountItem, type Mount } from './compose-mounts.js';
import { parsePorts, type PortMapping } from './compose-ports.js';
import { DEFAULT_RUNTIME_POLICY, judgeRuntimeOptions, type RuntimeOptions, type RuntimePolicy } from './container-runtime-policy.js';
import { serviceNetworks, type ServiceNetwork } from './compose-networks.js';
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
  /** extra_hosts, logging, ulimits, sysctls (container-runtime-policy.ts). */
  runtime: RuntimePolicy;
  /** Caps on the sum over all the vendor's containers (vendor-totals.ts). */
  totals: { memoryBytes: number; nanoCpus: number; pids: number; containers: number };
}

export function defaultVendorPolicy(dataRoot: string): VendorContainerPolicy {
  return {
    dataRoot, ports: { from: 0, to: -1 }, addresses: ['127.0.0.1'], capAdd: [],
    limits: { memoryBytes: 256 * 1024 * 1024, nanoCpus: 1e9, pids: 256 }, requireImageDigest: false, runtime: DEFAULT_RUNTIME_POLICY,
    images: [], imageStorageBytes: 1024 ** 3,
    totals: { memoryBytes: 2 * 1024 ** 3, nanoCpus: 4e9, pids: 4096, containers: 32 },
  };
}

export interface Violation { service: string; rule: string; message: string; /** The key judged, when not the rule's own (RULE_KEYS). */ key?: string }

/** The key each rule judges, for locating a violation in the file. */
export const RULE_KEYS: Record<string, string> = {
  'engine-socket': 'volumes', 'bind-mount': 'volumes', 'image-digest': 'image', memory: 'deploy.resources.limits.memory',
};

export interface PublishedPort { hostIp: string; published: number; target: number; protocol: 'tcp' | 'udp' }
export type { Mount } from './compose-mounts.js';

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
  /** extra_hosts, log config, ulimits, sysctls, platform as the engine gets them. */
  runtime: RuntimeOptions;
  /** The networks the service joins (by their names in the file) with its DNS names on each. */
  networks: ServiceNetwork[];
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

/** The first mapping of a `ports` item (kept for callers that read one); see compose-ports.ts. */
export function parsePort(spec: unknown): PortMapping | undefined {
  const r = parsePorts(spec);
  return typeof r === 'string' ? undefined : r[0];
}

/** A `volumes` item, or undefined when it is none; see compose-mounts.ts. */
export function parseMount(spec: unknown, baseDir: string): Mount | undefined {
  const r = parseMountItem(spec, baseDir);
  return typeof r === 'string' ? undefined : r;
}

/** "256 MiB", "1.5 GiB", "512 B": sizes for people. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1 && value % 1 === 0) { value /= 1024; unit++; }
  return `${Number.isInteger(value) ? value : value.toFixed(1)} ${units[unit]}`;
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
    const refuse = (rule: string, message: string, key?: string) => violations.push({ service: name, rule, message: `services.${name}: ${message}`, ...(key ? { key } : {}) });
    if (s.privileged === true) refuse('privileged', 'privileged containers are not allowed');
    const networkMode = s.network_mode as string | undefined;
    if (networkMode !== undefined && networkMode !== 'none') {
      refuse('network_mode', `network_mode ${quoteValue(networkMode)} is not allowed; containers join their vendor's network${networkMode === 'host' ? ' (host networking would bypass it)' : ''}`);
    }
    for (const ns of ['pid', 'ipc', 'userns_mode'] as const) {
      if (s[ns] !== undefined) refuse(ns, `${ns} ${quoteValue(String(s[ns]))} is not allowed (sharing a host namespace breaks isolation)`);
    }
    if (Array.isArray(s.devices) && s.devices.length > 0) refuse('devices', `host devices are not allowed (${(s.devices as unknown[]).map((d) => (typeof d === 'string' ? d : quoteValue(d))).join(', ')})`);
    const reserved = (s.deploy as { resources?: { reservations?: { devices?: unknown } } } | undefined)?.resources?.reservations?.devices;
    if (Array.isArray(reserved) && reserved.length > 0) {
      refuse('devices', `deploy.resources.reservations.devices reserves host devices (${reserved.map((d) => quoteValue((d as { capabilities?: unknown }).capabilities ?? d)).join(', ')}), which are not allowed`, 'deploy.resources.reservations.devices');
    }
    const image = typeof s.image === 'string' ? s.image : undefined;
    if (!image) refuse('image', 'an image is required');
    else if (policy.requireImageDigest && !/@sha256:[0-9a-f]{64}$/.test(image)) refuse('image-digest', `image ${quoteValue(image)} must be pinned by digest (name@sha256:...)`);

    const capAdd = (Array.isArray(s.cap_add) ? s.cap_add : []).map((c) => normCap(String(c)));
    const allowed = new Set(policy.capAdd.map(normCap));
    for (const cap of capAdd) {
      if (!allowed.has(cap)) refuse('cap_add', `cap_add ${cap} is not in this vendor's allow-list (${[...allowed].join(', ') || 'empty'})`);
    }
    for (const opt of (Array.isArray(s.security_opt) ? s.security_opt : []).map(String)) {
      const o = opt.replace(/\s+/g, '').toLowerCase();
      if (/^(seccomp|apparmor|systempaths)[=:]unconfined$/.test(o) || /^label[=:]disable$/.test(o) || /^no-new-privileges[=:]false$/.test(o)) {
        refuse('security_opt', `security_opt ${quoteValue(opt)} weakens confinement`);
      }
    }

    const ports: PublishedPort[] = [];
    (Array.isArray(s.ports) ? s.ports : []).forEach((spec, i) => {
      const mappings = parsePorts(spec);
      // Malformed items are the loader's to report (compose-references.ts); 'syntax' marks them here.
      if (typeof mappings === 'string') return refuse('syntax', `ports[${i}] ${quoteValue(spec)}: ${mappings}`);
      const range = policy.ports.to < policy.ports.from ? 'this vendor has no port range assigned' : `this vendor's range is ${policy.ports.from}-${policy.ports.to}`;
      for (const p of mappings) {
        if (p.published === undefined) return refuse('ports', `ports[${i}] publishes container port ${p.target} on a random host port; ${range}`);
        if (p.published < policy.ports.from || p.published > policy.ports.to) {
          return refuse('ports', `ports[${i}] host port ${p.published} is not allowed: ${range}`);
        }
        const hostIp = p.hostIp ?? policy.addresses[0]!;
        if (!policy.addresses.includes(hostIp)) return refuse('ports', `ports[${i}] binds ${hostIp}; allowed addresses: ${policy.addresses.join(', ')}`);
        ports.push({ hostIp, published: p.published, target: p.target, protocol: p.protocol });
      }
    });

    const mounts: Mount[] = [];
    (Array.isArray(s.volumes) ? s.volumes : []).forEach((spec, i) => {
      const m = parseMountItem(spec, baseDir);
      if (typeof m === 'string') return refuse('syntax', `volumes[${i}] ${quoteValue(spec)}: ${m}`);
      if (m.type === 'bind') {
        if (m.home) return refuse('bind-mount', `volumes[${i}] bind-mounts ${m.source}, the device user's home, outside this vendor's data root ${policy.dataRoot}`);
        if (ENGINE_SOCKETS.test(m.source!)) return refuse('engine-socket', `volumes[${i}] mounts the container engine's socket (${m.source})`);
        if (!isInside(policy.dataRoot, m.source!)) return refuse('bind-mount', `volumes[${i}] bind-mounts ${m.source}, outside this vendor's data root ${policy.dataRoot}`);
      }
      mounts.push(m);
    });

    const adjustments: string[] = [];
    const runtime = judgeRuntimeOptions(s, policy.runtime ?? DEFAULT_RUNTIME_POLICY, refuse, (m) => adjustments.push(m));
    // A network outside the deployment (external: true) would be shared with whoever else joins it.
    const fileNetworks = (compose.networks ?? {}) as Record<string, { external?: unknown } | null>;
    const networks = serviceNetworks(s);
    const serviceNets = (s.networks && typeof s.networks === 'object' && !Array.isArray(s.networks) ? s.networks : {}) as Record<string, { ipv4_address?: unknown; ipv6_address?: unknown } | null>;
    for (const n of networks) {
      // A vendor-chosen subnet can overlap the plant network the device routes to, or another vendor's network.
      if ((fileNetworks[n.name] as { ipam?: unknown } | null | undefined)?.ipam) refuse('network-subnet', `networks.${n.name} fixes its own subnet (ipam), which could overlap the plant network or another vendor's; let the engine choose it`, 'networks');
      const addr = serviceNets[n.name];
      if (addr?.ipv4_address !== undefined || addr?.ipv6_address !== undefined) refuse('network-subnet', `a fixed address on networks.${n.name} needs a fixed subnet; reach the service by its name instead`, 'networks');
      if (fileNetworks[n.name]?.external) refuse('external-network', `networks.${n.name} is external: a network outside this deployment could be shared with other vendors' containers; declare it in the file instead`, 'networks');
    }
    // container_name: the engine's name is the vendor's (derived, never shared); the written name is the service's DNS name.
    if (typeof s.container_name === 'string') {
      for (const n of networks) if (!n.aliases.includes(s.container_name)) n.aliases.push(s.container_name);
      adjustments.push(`container_name ${s.container_name} is its DNS name on the deployment's networks; the engine name stays the deployment's own`);
    }
    const limits = ((s.deploy as { resources?: { limits?: Record<string, unknown> } } | undefined)?.resources?.limits) ?? {};
    const declaredMemory = parseComposeBytes(limits.memory ?? s.mem_limit);
    if (declaredMemory !== undefined && Number.isNaN(declaredMemory)) refuse('memory', `memory limit ${quoteValue(String(limits.memory ?? s.mem_limit))} is not a size`);
    const declaredCpus = limits.cpus ?? s.cpus;
    const cpus = declaredCpus === undefined ? undefined : Number(declaredCpus);
    const pidsValue = limits.pids ?? s.pids_limit;
    const declaredPids = typeof pidsValue === 'number' ? pidsValue : undefined;
    const pick = (what: string, declared: number | undefined, max: number, show: (n: number) => string): number => {
      if (declared === undefined || Number.isNaN(declared) || declared <= 0) {
        adjustments.push(`${what} defaulted to the policy's ${show(max)}`);
        return max;
      }
      if (declared > max) {
        adjustments.push(`${what} ${show(declared)} capped to the policy's ${show(max)}`);
        return max;
      }
      return declared;
    };
    const memoryBytes = pick('memory', declaredMemory, policy.limits.memoryBytes, formatBytes);
    const nanoCpus = pick('cpus', cpus === undefined ? undefined : Math.round(cpus * 1e9), policy.limits.nanoCpus, (n) => String(n / 1e9));
    const pids = pick('pids', declaredPids, policy.limits.pids, String);

    services.push({
      name, image: image ?? '', capAdd: capAdd.filter((c) => allowed.has(c)), capDrop: ['ALL'],
      securityOpt: ['no-new-privileges'], memoryBytes, nanoCpus, pids, ports, mounts, adjustments, runtime, networks,
    });
  }
  return { violations, services: violations.length ? [] : services };
}
