// `compose up|down|ps|logs` against the engine. Every object carries our labels; `up` is
// idempotent (unchanged services are left running, changed ones recreated, removed ones removed,
// in dependency order); `down` removes exactly what this deployment owns.
import fs from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import { BindMountError, pinServiceBinds, releasePins } from './bind-mounts.js';
import { anonymousVolumeKeys } from './engine-volumes.js';
import { enforceNetworkIsolation, NetworkIsolationError } from './network-isolation.js';
import type { ComposeFile } from './compose-file.js';
import type { EnforcedService } from './container-policy.js';
import { containerCreateOptions, containerName, healthCheckOf, LABEL, ownedBy, type DeploymentIdentity, type HealthCheck } from './container-spec.js';
import { quoteValue } from '../../packages/quote-value.js';
import { dependencyMap } from './compose-references.js';
import { packageFilesAt, PackageFileError } from './package-files.js';

export class DeployError extends Error {
  constructor(message: string, readonly service?: string) {
    super(service ? `services.${service}: ${message}` : message);
  }
}

export type ServiceAction = 'created' | 'recreated' | 'unchanged' | 'started' | 'restarted' | 'removed';
export interface UpResult { actions: { service: string; action: ServiceAction }[]; orphans?: string[] }

/** depends_on, short or long form, as {service: condition}; optional dependencies that are absent are left out. */
function dependencies(service: Record<string, unknown>, services?: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(dependencyMap(service))
    .filter(([name, d]) => d.required || !services || services[name] !== undefined)
    .map(([name, d]) => [name, d.condition]));
}

/** Services in an order where each comes after what it depends on; cycles and unknown names are errors. */
export function startOrder(services: Record<string, Record<string, unknown>>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]) => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new DeployError(`depends_on cycle: ${[...chain, name].join(' -> ')}`);
    const svc = services[name];
    if (!svc) throw new DeployError(`depends_on names ${quoteValue(name)}, which is not a service`, chain[chain.length - 1]);
    state.set(name, 'visiting');
    for (const dep of Object.keys(dependencies(svc, services))) visit(dep, [...chain, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const name of Object.keys(services).sort()) visit(name, []);
  return order;
}

async function exec(container: Docker.Container, cmd: string[], timeoutMs: number): Promise<number> {
  const e = await container.exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  const stream = await e.start({});
  stream.resume();
  await Promise.race([
    new Promise((r) => stream.on('end', r)),
    new Promise((r) => setTimeout(r, timeoutMs)),
  ]);
  stream.destroy();
  return (await e.inspect()).ExitCode ?? 1;
}

/**
 * Waits until the container is healthy. Uses the engine's own health status when it keeps one;
 * where it does not (Podman without systemd never runs healthchecks), runs the check itself
 * through exec, with the service's interval, timeout and retries after its start period.
 */
export async function waitHealthy(container: Docker.Container, hc: HealthCheck, budgetMs: number): Promise<void> {
  const started = Date.now();
  const deadline = started + budgetMs;
  let lastExit = -1;
  while (Date.now() < deadline) {
    const info = await container.inspect();
    if (!info.State.Running) throw new Error(`exited with code ${info.State.ExitCode} before becoming healthy`);
    if (info.State.Health?.Status === 'healthy') return;
    lastExit = await exec(container, hc.test, hc.timeoutMs);
    if (lastExit === 0) return;
    // Within the start period checks come every start_interval, as the engine runs them.
    const inStartPeriod = Date.now() - started < hc.startPeriodMs;
    await new Promise((r) => setTimeout(r, inStartPeriod ? hc.startIntervalMs : hc.intervalMs));
  }
  throw new Error(`not healthy after ${Math.round(budgetMs / 1000)} s (last check exited ${lastExit})`);
}

export interface DeployContext {
  docker: Docker;
  identity: DeploymentIdentity;
  compose: ComposeFile;
  enforced: EnforcedService[];
  /** Where relative binds resolve (under the vendor data root). */
  projectDir: string;
  /** The vendor's data root: bind-mount directories are created beneath it, never through a link. */
  vendorRoot: string;
  /** The data dir: bind sources are handed to the engine as pins in its bind-pins/ (bind-mounts.ts). */
  dataDir: string;
  /** Where file secrets/configs are copied: the daemon's own, out of every vendor's reach. */
  secretsDir: string;
  /** Directory the compose file came from: file-based secrets/configs are read relative to it. */
  sourceDir: string;
  onEvent?: (msg: string) => void;
  healthBudgetMs?: number;
  /**
   * Containers of this deployment for services the file no longer names: removed (the default: a
   * deployment converges on its file), or, when false, left running and reported as orphans, as
   * `docker compose up` does without --remove-orphans.
   */
  removeOrphans?: boolean;
}

const ISOLATED_LABEL = 'org.bulkhead.isolated';

async function ensureNetwork(docker: Docker, id: DeploymentIdentity): Promise<void> {
  const existing = (await docker.listNetworks({ filters: { name: [id.network] } })).find((n) => n.Name === id.network);
  if (existing) {
    // The compat API does not echo network options back, so we recognise our isolated networks by
    // the label we give them at creation; a same-named network we did not create is refused.
    if (existing.Labels?.[ISOLATED_LABEL] !== 'true') {
      throw new DeployError(`engine network ${id.network} exists but is not isolated from other networks; remove it (podman network rm ${id.network}) and run up again`);
    }
    // The name is derived; the exact vendor label decides whose network it is.
    if (existing.Labels?.[LABEL.vendor] !== id.vendor) {
      throw new DeployError(`engine network ${id.network} belongs to ${JSON.stringify(existing.Labels?.[LABEL.vendor] ?? 'nobody')}, not ${JSON.stringify(id.vendor)}; refusing to join it`);
    }
    return;
  }
  // isolate=true: netavark then drops traffic between this network and every other isolated one,
  // while its shared jump rule exists; our own table (network-isolation.ts) holds when it does not.
  // Without either, Podman routes between bridge networks and one vendor could reach another's containers.
  await docker.createNetwork({ Name: id.network, Options: { isolate: 'true' }, Labels: { [LABEL.managed]: 'true', [LABEL.vendor]: id.vendor, [ISOLATED_LABEL]: 'true' } });
}

/** File-based secrets and configs, copied read-only (0400, never world-readable) into the project dir. */
function fileMounts(ctx: DeployContext, service: Record<string, unknown>): string[] {
  const binds: string[] = [];
  for (const kind of ['secrets', 'configs'] as const) {
    for (const ref of (service[kind] as (string | { source: string; target?: string })[] | undefined) ?? []) {
      const source = typeof ref === 'string' ? ref : ref.source;
      const decl = ctx.compose[kind]?.[source];
      if (!decl?.file) throw new DeployError(`${kind} ${quoteValue(source)} must be declared with a file shipped in the package`);
      // Read from the package through no link (a symlink to /etc/shadow in a package is refused, not copied).
      let bytes: Buffer;
      try {
        bytes = packageFilesAt(ctx.sourceDir, 2 * 1024 * 1024).bytes(decl.file, '.');
      } catch (err) {
        if (err instanceof PackageFileError) throw new DeployError(`${kind} ${quoteValue(source)}: ${err.message}`);
        throw err;
      }
      const copy = path.join(ctx.secretsDir, kind, source);
      fs.mkdirSync(path.dirname(copy), { recursive: true, mode: 0o700 });
      fs.rmSync(copy, { force: true });
      fs.writeFileSync(copy, bytes, { mode: 0o400, flag: 'wx' });
      const target = typeof ref === 'object' && ref.target ? ref.target : kind === 'secrets' ? `/run/secrets/${source}` : `/${source}`;
      binds.push(`${copy}:${target.startsWith('/') ? target : `/run/secrets/${target}`}:ro`);
    }
  }
  return binds;
}

export async function composeUp(ctx: DeployContext): Promise<UpResult> {
  const { docker, identity, compose } = ctx;
  const say = ctx.onEvent ?? (() => undefined);
  const order = startOrder(compose.services);
  await ensureNetwork(docker, identity);
  // netavark's own isolation comes and goes with other networks' containers: ours must be in place
  // before anything of this deployment starts (network-isolation.ts).
  try {
    await enforceNetworkIsolation(docker);
  } catch (err) {
    if (err instanceof NetworkIsolationError) throw new DeployError(err.message);
    throw err;
  }
  const volumeName = (v: string) => `bh-${identity.deployment}-${v}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
  // Declared and anonymous volumes alike are made here, labelled, so that down removes them (engine-volumes.ts).
  for (const v of [...Object.keys(compose.volumes ?? {}), ...anonymousVolumeKeys(ctx.enforced)]) {
    const name = volumeName(v);
    const list = await docker.listVolumes({ filters: { name: [name] } });
    const found = list.Volumes?.find((x) => x.Name === name);
    if (found && !ownedBy(identity, found.Labels ?? undefined)) {
      throw new DeployError(`engine volume ${name} exists but does not belong to ${identity.vendor}'s deployment ${identity.project}; refusing to mount it`);
    }
    if (!found) {
      await docker.createVolume({ Name: name, Labels: { [LABEL.managed]: 'true', [LABEL.vendor]: identity.vendor, [LABEL.deployment]: identity.deployment, [LABEL.projectName]: identity.project } });
    }
  }
  const existing = await ownedContainers(docker, identity);
  const byName = new Map(existing.map((c) => [c.Names[0]!.replace(/^\//, ''), c]));
  const actions: UpResult['actions'] = [];
  const pins = new Set<string>();

  for (const name of order) {
    const service = compose.services[name]!;
    const enforced = ctx.enforced.find((e) => e.name === name)!;
    for (const [dep, condition] of Object.entries(dependencies(service, compose.services))) {
      const depContainer = docker.getContainer(containerName(identity.deployment, dep));
      if (condition === 'service_healthy') {
        const hc = healthCheckOf(compose.services[dep]!);
        if (!hc) throw new DeployError(`depends on ${dep} being healthy, but ${dep} has no healthcheck`, name);
        say(`waiting for ${dep} to be healthy`);
        try {
          await waitHealthy(depContainer, hc, ctx.healthBudgetMs ?? 60_000);
        } catch (err) {
          throw new DeployError((err as Error).message, dep);
        }
      } else if (condition === 'service_completed_successfully') {
        const r = (await depContainer.wait()) as { StatusCode: number };
        if (r.StatusCode !== 0) throw new DeployError(`exited with code ${r.StatusCode}; ${name} needs it to complete successfully`, dep);
      }
    }
    let withPins: EnforcedService;
    let freshPin: boolean;
    try {
      ({ enforced: withPins, fresh: freshPin } = pinServiceBinds(ctx, enforced, pins));
    } catch (err) {
      if (err instanceof BindMountError) throw new DeployError(`bind mount: ${err.message}`, name);
      throw err;
    }
    const cname = containerName(identity.deployment, name);
    const options = containerCreateOptions(identity, cname, service, withPins, volumeName, fileMounts(ctx, service));
    const current = byName.get(cname);
    byName.delete(cname);
    if (current && current.Labels[LABEL.specHash] === options.Labels![LABEL.specHash]) {
      if (current.State === 'running' && !freshPin) {
        // depends_on.<dep>.restart: a dependency recreated in this run restarts its dependent.
        const restartFor = Object.entries(dependencyMap(service)).filter(([dep, d]) => d.restart && actions.some((a) => a.service === dep && a.action === 'recreated'));
        if (restartFor.length) {
          say(`restarting ${name} (${restartFor.map(([d]) => d).join(', ')} recreated)`);
          await docker.getContainer(current.Id).restart();
          actions.push({ service: name, action: 'restarted' });
          continue;
        }
        actions.push({ service: name, action: 'unchanged' });
        continue;
      }
      // A pin made again (after a host reboot emptied it) reaches a running container only by a restart.
      if (current.State === 'running') await docker.getContainer(current.Id).stop({ t: 10 });
      await startContainer(docker.getContainer(current.Id), name);
      actions.push({ service: name, action: 'started' });
      continue;
    }
    if (current) {
      say(`recreating ${name}`);
      await docker.getContainer(current.Id).remove({ force: true });
    } else {
      say(`creating ${name}`);
    }
    let container: Docker.Container;
    try {
      container = await docker.createContainer(options);
    } catch (err) {
      throw new DeployError(describeEngineError(err, enforced.image), name);
    }
    await startContainer(container, name);
    actions.push({ service: name, action: current ? 'recreated' : 'created' });
  }
  // What this deployment still owns but the file no longer names: removed, dependents first.
  const orphans: string[] = [];
  for (const [cname, c] of [...byName.entries()].reverse()) {
    const service = c.Labels[LABEL.service] ?? cname;
    if (ctx.removeOrphans === false) {
      orphans.push(service);
      continue;
    }
    say(`removing ${service}`);
    await docker.getContainer(c.Id).remove({ force: true });
    actions.push({ service, action: 'removed' });
  }
  releasePins(ctx.dataDir, identity.deployment, pins);
  return orphans.length ? { actions, orphans } : { actions };
}

async function startContainer(container: Docker.Container, service: string): Promise<void> {
  try {
    await container.start();
  } catch (err) {
    // Created but not started: left in place with its labels, so `ps` shows it and `down` removes it.
    throw new DeployError(`failed to start: ${describeEngineError(err)}`, service);
  }
}

function describeEngineError(err: unknown, image?: string): string {
  const e = err as { statusCode?: number; json?: { message?: string }; message: string };
  const message = e.json?.message ?? e.message;
  if (e.statusCode === 404 && image) return `image ${image} is not on this device; ship it as an image archive in the package or pull it first (${message})`;
  if (/address already in use|port is already allocated/i.test(message)) return `port already taken: ${message}`;
  return message;
}

/**
 * The containers this deployment owns: the engine filters by the derived deployment label, then
 * only those whose exact vendor and project labels match are kept.
 */
async function ownedContainers(docker: Docker, id: DeploymentIdentity): Promise<Docker.ContainerInfo[]> {
  const candidates = await docker.listContainers({ all: true, filters: { label: [`${LABEL.deployment}=${id.deployment}`] } });
  return candidates.filter((c) => ownedBy(id, c.Labels));
}

export interface DownOptions {
  /** Remove the deployment's volumes too (the default, for callers that tear a deployment down for good); `down` without -v keeps them. */
  volumes?: boolean;
  /** Filled with the names of the volumes removed. */
  removedVolumes?: string[];
}

export async function composeDown(docker: Docker, identity: DeploymentIdentity, compose?: ComposeFile, options: DownOptions = {}): Promise<string[]> {
  const owned = await ownedContainers(docker, identity);
  // Dependents first: the reverse of the start order; services the file no longer names go first.
  const order = compose ? startOrder(compose.services) : [];
  const rank = (c: Docker.ContainerInfo) => {
    const i = order.indexOf(c.Labels[LABEL.service] ?? '');
    return i === -1 ? Number.MAX_SAFE_INTEGER : i;
  };
  owned.sort((a, b) => rank(b) - rank(a));
  const removed: string[] = [];
  for (const c of owned) {
    await docker.getContainer(c.Id).remove({ force: true });
    removed.push(c.Labels[LABEL.service] ?? c.Names[0]!);
  }
  // The deployment's own networks go with its containers (the vendor's network stays for its other deployments).
  const networks = await docker.listNetworks({ filters: { label: [`${LABEL.deployment}=${identity.deployment}`] } });
  for (const n of networks) {
    if (ownedBy(identity, n.Labels)) await docker.getNetwork(n.Id).remove().catch(() => undefined);
  }
  if (options.volumes === false) return removed;
  const volumes = await docker.listVolumes({ filters: { label: [`${LABEL.deployment}=${identity.deployment}`] } });
  for (const v of volumes.Volumes ?? []) {
    if (!ownedBy(identity, v.Labels ?? undefined)) continue;
    const gone = await docker.getVolume(v.Name).remove().then(() => true, () => false);
    if (gone) options.removedVolumes?.push(v.Name);
  }
  return removed;
}

export interface ServiceStatus {
  service: string; container: string; image: string; state: string; health: string | null; exitCode: number | null; restarting: boolean;
  /** "running (healthy)", "exited (1)", "restarting". */
  status: string;
  /** Published ports as "127.0.0.1:20001->8080/tcp", unpublished ones as "8080/tcp". */
  ports: string[];
}

function portsOf(info: Docker.ContainerInspectInfo): string[] {
  const bindings = (info.HostConfig?.PortBindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[] | null>;
  const exposed = Object.keys(info.Config?.ExposedPorts ?? {});
  const out: string[] = [];
  for (const key of [...new Set([...Object.keys(bindings), ...exposed])].sort()) {
    const list = bindings[key] ?? [];
    if (!list.length) out.push(key);
    for (const b of list) out.push(`${b.HostIp ? (b.HostIp.includes(':') ? `[${b.HostIp}]` : b.HostIp) : '0.0.0.0'}:${b.HostPort}->${key}`);
  }
  return out;
}

export async function composePs(docker: Docker, identity: DeploymentIdentity, compose?: ComposeFile): Promise<ServiceStatus[]> {
  const owned = await ownedContainers(docker, identity);
  const out: ServiceStatus[] = [];
  for (const c of owned) {
    const info = await docker.getContainer(c.Id).inspect();
    const service = c.Labels[LABEL.service] ?? '';
    let health: string | null = info.State.Health?.Status || null;
    const hc = compose?.services[service] ? healthCheckOf(compose.services[service]!) : undefined;
    if (hc && info.State.Running && health !== 'healthy') {
      health = (await exec(docker.getContainer(c.Id), hc.test, hc.timeoutMs)) === 0 ? 'healthy' : 'unhealthy';
    }
    const exitCode = info.State.Running ? null : info.State.ExitCode;
    const status = info.State.Restarting ? 'restarting' : `${info.State.Status}${health ? ` (${health})` : exitCode !== null ? ` (${exitCode})` : ''}`;
    out.push({
      service, container: c.Names[0]!.replace(/^\//, ''), image: c.Image, state: info.State.Status, health,
      exitCode, restarting: info.State.Restarting, status, ports: portsOf(info),
    });
  }
  return out.sort((a, b) => a.service.localeCompare(b.service));
}

export async function composeLogs(docker: Docker, identity: DeploymentIdentity, service: string | undefined, tail: number): Promise<string> {
  const owned = await ownedContainers(docker, identity);
  const chunks: string[] = [];
  for (const c of owned.filter((x) => !service || x.Labels[LABEL.service] === service)) {
    const raw = (await docker.getContainer(c.Id).logs({ stdout: true, stderr: true, tail, follow: false })) as unknown as Buffer;
    const name = c.Labels[LABEL.service];
    chunks.push(...demux(raw).split('\n').filter(Boolean).map((l) => `${name} | ${l}`));
  }
  return chunks.join('\n');
}

/** The engine multiplexes stdout/stderr in 8-byte-framed records when there is no TTY. */
function demux(buf: Buffer): string {
  let out = '';
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2) && buf[i + 1] === 0) {
    const len = buf.readUInt32BE(i + 4);
    out += buf.subarray(i + 8, i + 8 + len).toString('utf8');
    i += 8 + len;
  }
  return i === 0 ? buf.toString('utf8') : out;
}
