// From a Compose service plus what the policy enforces to the engine's container-create body,
// labelled so the bridge can find, compare and remove exactly what it owns.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { VendorId } from '../../packages/trust/vendor-id.js';
import type { EnforcedService } from './container-policy.js';
import { shellWords } from './shell-words.js';
import { engineNetworkName } from './compose-networks.js';

export const LABEL = {
  managed: 'org.bulkhead.managed',
  vendor: 'org.bulkhead.vendor',
  app: 'org.bulkhead.app',
  deployment: 'org.bulkhead.deployment',
  /** The exact project name; with the exact vendor, what ownership is decided by. (com.docker.compose.project
   * carries it too, for tools that know Compose; two vendors' projects may share it, so it decides nothing.) */
  projectName: 'org.bulkhead.project',
  service: 'org.bulkhead.service',
  specHash: 'org.bulkhead.spec-hash',
  project: 'com.docker.compose.project',
  composeService: 'com.docker.compose.service',
} as const;

/**
 * Whose deployment this is: the exact vendor and project, plus the engine names derived from them
 * (runtime/state/vendor-names.ts). Names only select candidates; `ownedBy` decides.
 */
export interface DeploymentIdentity { vendor: VendorId; project: string; app: string; deployment: string; network: string }

/** Whether an engine object's labels say it belongs to exactly this vendor's deployment. */
export function ownedBy(id: DeploymentIdentity, labels: Record<string, string> | undefined): boolean {
  return labels?.[LABEL.managed] === 'true' && labels[LABEL.vendor] === id.vendor
    && labels[LABEL.projectName] === id.project && labels[LABEL.deployment] === id.deployment;
}

export function containerName(deployment: string, service: string): string {
  return `bh-${deployment}-${service}`.replace(/[^a-zA-Z0-9_.-]/g, '-');
}

function nanos(duration: unknown): number | undefined {
  if (duration === undefined) return undefined;
  const m = /^(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)s)?(?:(\d+)ms)?$/.exec(String(duration));
  if (!m) return undefined;
  const [, h, min, s, ms] = m;
  return Math.round(((Number(h ?? 0) * 3600 + Number(min ?? 0) * 60 + Number(s ?? 0)) * 1000 + Number(ms ?? 0)) * 1e6);
}

export interface HealthCheck { test: string[]; intervalMs: number; timeoutMs: number; retries: number; startPeriodMs: number; startIntervalMs: number }

/** The service's healthcheck as a command to exec, or undefined when it has none (or disables it). */
export function healthCheckOf(service: Record<string, unknown>): HealthCheck | undefined {
  const hc = service.healthcheck as { test?: string | string[]; interval?: string; timeout?: string; retries?: number; start_period?: string; start_interval?: string; disable?: boolean } | undefined;
  if (!hc || hc.disable || hc.test === undefined) return undefined;
  let test: string[];
  if (typeof hc.test === 'string') test = ['sh', '-c', hc.test];
  else if (hc.test[0] === 'NONE') return undefined;
  else if (hc.test[0] === 'CMD-SHELL') test = ['sh', '-c', hc.test.slice(1).join(' ')];
  else if (hc.test[0] === 'CMD') test = hc.test.slice(1);
  else test = hc.test;
  const ms = (v: string | undefined, d: number) => (v === undefined ? d : (nanos(v) ?? d * 1e6) / 1e6);
  const intervalMs = ms(hc.interval, 1000);
  return { test, intervalMs, timeoutMs: ms(hc.timeout, 5000), retries: hc.retries ?? 3, startPeriodMs: ms(hc.start_period, 0), startIntervalMs: ms(hc.start_interval, Math.min(intervalMs, 5000)) };
}

function envList(environment: unknown): string[] {
  if (!environment) return [];
  if (Array.isArray(environment)) return environment.map(String);
  return Object.entries(environment as Record<string, unknown>).map(([k, v]) => (v === null || v === undefined ? k : `${k}=${String(v)}`));
}

function restartPolicy(restart: unknown): { Name: string; MaximumRetryCount?: number } {
  const r = String(restart ?? 'no');
  if (r.startsWith('on-failure')) return { Name: 'on-failure', MaximumRetryCount: Number(r.split(':')[1] ?? 0) };
  return { Name: r === 'no' ? '' : r };
}

export function containerCreateOptions(
  id: DeploymentIdentity, name: string, service: Record<string, unknown>, enforced: EnforcedService,
  volumeName: (volume: string) => string, extraBinds: string[],
): Docker.ContainerCreateOptions {
  const userLabels = Object.fromEntries(Object.entries(
    Array.isArray(service.labels) ? Object.fromEntries((service.labels as string[]).map((l) => l.split('=', 2) as [string, string])) : (service.labels as Record<string, string> | undefined) ?? {},
  ).filter(([k]) => !k.startsWith('org.bulkhead.') && !k.startsWith('com.docker.compose.')));
  const exposed: Record<string, object> = {};
  const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
  for (const p of enforced.ports) {
    const key = `${p.target}/${p.protocol}`;
    exposed[key] = {};
    (bindings[key] ??= []).push({ HostIp: p.hostIp, HostPort: String(p.published) });
  }
  for (const e of (service.expose as (string | number)[] | undefined) ?? []) exposed[String(e).includes('/') ? String(e) : `${e}/tcp`] = {};
  const binds: string[] = [...extraBinds];
  const tmpfs: Record<string, string> = {};
  for (const m of enforced.mounts) {
    const options = [...(m.readOnly ? ['ro'] : []), ...(m.selinux ? [m.selinux] : [])];
    const suffix = options.length ? `:${options.join(',')}` : '';
    if (m.type === 'tmpfs') {
      tmpfs[m.target] = [...(m.readOnly ? ['ro'] : []), ...(m.tmpfs?.size !== undefined ? [`size=${m.tmpfs.size}`] : []), ...(m.tmpfs?.mode !== undefined ? [`mode=${m.tmpfs.mode.toString(8)}`] : [])].join(',');
    } else if (m.type === 'bind') binds.push(`${m.source}:${m.target}${suffix}`);
    else binds.push(`${volumeName(m.source ?? `anon-${m.target}`)}:${m.target}${suffix}`);
  }
  for (const t of (Array.isArray(service.tmpfs) ? service.tmpfs : service.tmpfs ? [service.tmpfs] : []) as string[]) tmpfs[t] = '';
  const hc = service.healthcheck as { test?: string | string[]; interval?: string; timeout?: string; retries?: number; start_period?: string; start_interval?: string; disable?: boolean } | undefined;
  const words = (v: unknown) => (v === undefined ? undefined : Array.isArray(v) ? v.map(String) : shellWords(String(v)));
  const rt = enforced.runtime ?? { extraHosts: [], ulimits: [], sysctls: {} };
  // Each network the service joins, under the engine name derived for it, with the service's DNS names there.
  // Several file networks can be one engine network (compose-networks.ts): their names are merged.
  const byEngine = new Map<string, string[]>();
  for (const n of enforced.networks?.length ? enforced.networks : [{ name: 'default', aliases: [] }]) {
    const engineName = engineNetworkName(id.vendor, id.project, id.network, n.name);
    const aliases = byEngine.get(engineName) ?? [enforced.name];
    for (const a of n.aliases) if (!aliases.includes(a)) aliases.push(a);
    byEngine.set(engineName, aliases);
  }
  const endpoints: [string, { Aliases: string[] }][] = [...byEngine].map(([n, aliases]) => [n, { Aliases: aliases }]);
  const body: Docker.ContainerCreateOptions = {
    name,
    Image: enforced.image,
    Cmd: words(service.command),
    Entrypoint: words(service.entrypoint),
    Env: envList(service.environment),
    User: service.user as string | undefined,
    WorkingDir: service.working_dir as string | undefined,
    Hostname: (service.hostname as string | undefined) ?? enforced.name,
    StopSignal: service.stop_signal as string | undefined,
    Tty: service.tty === true ? true : undefined,
    OpenStdin: service.stdin_open === true ? true : undefined,
    StopTimeout: service.stop_grace_period ? Math.ceil((nanos(service.stop_grace_period) ?? 10e9) / 1e9) : undefined,
    ExposedPorts: exposed,
    Healthcheck: hc?.disable ? { Test: ['NONE'] } : hc?.test ? {
      Test: typeof hc.test === 'string' ? ['CMD-SHELL', hc.test] : hc.test,
      Interval: nanos(hc.interval), Timeout: nanos(hc.timeout), Retries: hc.retries, StartPeriod: nanos(hc.start_period),
      // Docker Engine 25+ (API 1.44) honours it; the bridge's own checks use it too (waitHealthy).
      ...(hc.start_interval ? { StartInterval: nanos(hc.start_interval) } : {}),
    } as Docker.HealthConfig : undefined,
    Labels: {
      ...userLabels,
      [LABEL.managed]: 'true', [LABEL.vendor]: id.vendor, [LABEL.app]: id.app, [LABEL.deployment]: id.deployment, [LABEL.projectName]: id.project,
      [LABEL.service]: enforced.name, [LABEL.project]: id.project, [LABEL.composeService]: enforced.name,
    },
    HostConfig: {
      CapDrop: ['ALL'],
      CapAdd: enforced.capAdd,
      SecurityOpt: enforced.securityOpt,
      Memory: enforced.memoryBytes,
      MemorySwap: enforced.memoryBytes,
      NanoCpus: enforced.nanoCpus,
      PidsLimit: enforced.pids,
      ReadonlyRootfs: service.read_only === true,
      Init: service.init === true ? true : undefined,
      PortBindings: bindings,
      Binds: binds,
      Tmpfs: Object.keys(tmpfs).length ? tmpfs : undefined,
      RestartPolicy: restartPolicy(service.restart),
      NetworkMode: service.network_mode === 'none' ? 'none' : endpoints[0]![0],
      // Only what the file sets, so a deployment written before these keys keeps its spec hash.
      ...(rt.extraHosts.length ? { ExtraHosts: rt.extraHosts } : {}),
      ...(rt.logConfig ? { LogConfig: rt.logConfig } : {}),
      ...(rt.ulimits.length ? { Ulimits: rt.ulimits } : {}),
      ...(Object.keys(rt.sysctls).length ? { Sysctls: rt.sysctls } : {}),
    },
    NetworkingConfig: service.network_mode === 'none' ? undefined : { EndpointsConfig: Object.fromEntries(endpoints) },
    ...(rt.platform ? { platform: rt.platform } : {}),
  };
  const hash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32);
  body.Labels![LABEL.specHash] = hash;
  return body;
}
