// What a schema cannot check: references between parts of the merged model. A service depending
// on one that does not exist (unless `required: false`), a dependency cycle, a mount, network,
// secret or config naming nothing declared, a bind mount without a source, a port or device
// reservation that is no such thing: each is a located problem at `check`, not a surprise at `up`.
import type { ComposeFile } from './compose-file.js';
import { parseMount } from './compose-mounts.js';
import { parsePorts } from './compose-ports.js';
import type { KeyPath } from './compose-problems.js';

const isObj = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

/** depends_on, short or long form, as { service: { condition, required, restart } }. */
export function dependencyMap(service: Record<string, unknown>): Record<string, { condition: string; required: boolean; restart: boolean }> {
  const d = service.depends_on;
  if (Array.isArray(d)) return Object.fromEntries(d.map((s) => [String(s), { condition: 'service_started', required: true, restart: false }]));
  if (!isObj(d)) return {};
  return Object.fromEntries(Object.entries(d).map(([k, v]) => {
    const o = isObj(v) ? v : {};
    return [k, { condition: typeof o.condition === 'string' ? o.condition : 'service_started', required: o.required !== false, restart: o.restart === true }];
  }));
}

/** A cycle in depends_on, as the services around it, or undefined. */
export function dependencyCycle(services: Record<string, Record<string, unknown>>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): string[] | undefined => {
    if (state.get(name) === 'done') return undefined;
    if (state.get(name) === 'visiting') return [...chain.slice(chain.indexOf(name)), name];
    state.set(name, 'visiting');
    for (const dep of Object.keys(dependencyMap(services[name] ?? {}))) {
      if (!services[dep]) continue;
      const cycle = visit(dep, [...chain, name]);
      if (cycle) return cycle;
    }
    state.set(name, 'done');
    return undefined;
  };
  for (const name of Object.keys(services).sort()) {
    const cycle = visit(name, []);
    if (cycle) return cycle;
  }
  return undefined;
}

function names(value: unknown): string[] {
  if (Array.isArray(value)) return value.map((v) => (isObj(v) ? String(v.source ?? '') : String(v)));
  return isObj(value) ? Object.keys(value) : [];
}

/** A dependency cycle among the services that run (after profiles), as a problem. */
export function cycleProblem(services: Record<string, unknown>): { path: KeyPath; message: string } | undefined {
  const cycle = dependencyCycle(Object.fromEntries(Object.entries(services).filter(([, s]) => isObj(s))) as Record<string, Record<string, unknown>>);
  return cycle ? { path: ['services', cycle[0]!, 'depends_on'], message: `dependency cycle: ${cycle.join(' -> ')}` } : undefined;
}

export function referenceProblems(file: ComposeFile, broken: ReadonlySet<string>): { path: KeyPath; message: string }[] {
  const out: { path: KeyPath; message: string }[] = [];
  const invalid = (path: KeyPath, message: string) => out.push({ path, message });
  const declared = (kind: 'volumes' | 'networks' | 'secrets' | 'configs') => new Set(isObj(file[kind]) ? Object.keys(file[kind] as object) : []);
  const volumes = declared('volumes');
  const networks = declared('networks');
  const services = file.services;
  for (const [name, svc] of Object.entries(services)) {
    if (broken.has(name) || !isObj(svc)) continue;
    for (const [dep, how] of Object.entries(dependencyMap(svc))) {
      if (dep === name) invalid(['services', name, 'depends_on', dep], 'a service cannot depend on itself');
      else if (!services[dep] && how.required) invalid(['services', name, 'depends_on', dep], `depends on ${JSON.stringify(dep)}, which is not a service of this file${Object.keys(services).length ? ` (services: ${Object.keys(services).join(', ')})` : ''}`);
    }
    (Array.isArray(svc.ports) ? svc.ports : []).forEach((spec, i) => {
      const r = parsePorts(spec);
      if (typeof r === 'string') invalid(['services', name, 'ports', i], r);
    });
    (Array.isArray(svc.volumes) ? svc.volumes : []).forEach((spec, i) => {
      // Mount types the bridge does not implement are reported as such (compose-support.ts).
      if (isObj(spec) && typeof spec.type === 'string' && !['bind', 'volume', 'tmpfs'].includes(spec.type)) return;
      const m = parseMount(spec, '/');
      if (typeof m === 'string') return invalid(['services', name, 'volumes', i], m);
      if (m.type === 'volume' && m.source !== undefined && !volumes.has(m.source)) {
        invalid(['services', name, 'volumes', i], `names the volume ${JSON.stringify(m.source)}, which the file does not declare; add it to the top-level volumes: (the bridge then creates it labelled for this deployment, and down -v removes it)`);
      }
    });
    for (const net of names(svc.networks)) {
      if (net !== 'default' && !networks.has(net)) invalid(['services', name, 'networks', net], `names the network ${JSON.stringify(net)}, which the top-level networks: does not declare`);
    }
    for (const kind of ['secrets', 'configs'] as const) {
      const known = declared(kind);
      names(svc[kind]).forEach((ref, i) => {
        if (!known.has(ref)) invalid(['services', name, kind, i], `names the ${kind.slice(0, -1)} ${JSON.stringify(ref)}, which the top-level ${kind}: does not declare`);
      });
    }
    const devices = (svc.deploy as { resources?: { reservations?: { devices?: unknown } } } | undefined)?.resources?.reservations?.devices;
    (Array.isArray(devices) ? devices : []).forEach((d, i) => {
      const at = ['services', name, 'deploy', 'resources', 'reservations', 'devices', i];
      if (!isObj(d)) return;
      if (!Array.isArray(d.capabilities) || d.capabilities.length === 0) invalid([...at, 'capabilities'], 'a device reservation needs at least one capability (e.g. [gpu])');
      if (d.count !== undefined && d.device_ids !== undefined) invalid(at, 'count and device_ids cannot both be set');
      if (d.count !== undefined && d.count !== 'all' && !(Number.isInteger(d.count) && (d.count as number) > 0)) invalid([...at, 'count'], `count ${JSON.stringify(d.count)} is not a positive integer or "all"`);
    });
  }
  const containerNames = new Map<string, string>();
  for (const [name, svc] of Object.entries(services)) {
    const cn = isObj(svc) ? svc.container_name : undefined;
    if (typeof cn !== 'string') continue;
    const other = containerNames.get(cn);
    if (other) invalid(['services', name, 'container_name'], `container_name ${JSON.stringify(cn)} is also ${other}'s; each must be unique`);
    else containerNames.set(cn, name);
  }
  return out;
}
