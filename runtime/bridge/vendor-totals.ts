// Caps on the sum over all of a vendor's containers. The per-container limits alone let a vendor
// multiply its share by its number of services (red-team finding 08: 12 services, 12x memory/CPU/
// pids), so before `up` creates anything the bridge adds what the vendor's other deployments hold
// (their containers' own limits, as the engine reports them) to what this file asks for, and
// refuses the deployment when a total or the container count would pass the vendor's `totals`.
import type Docker from 'dockerode';
import type { VendorId } from '../../packages/trust/vendor-id.js';
import type { EnforcedService, VendorContainerPolicy, Violation } from './container-policy.js';
import { LABEL, type DeploymentIdentity } from './container-spec.js';

interface Usage { memoryBytes: number; nanoCpus: number; pids: number; containers: number }

/** What the vendor's containers outside `deployment` hold (this deployment's are replaced by its file). */
async function otherDeploymentsUsage(docker: Docker, vendor: VendorId, deployment: string): Promise<Usage> {
  const listed = await docker.listContainers({ all: true, filters: { label: [`${LABEL.vendor}=${vendor}`] } });
  const usage: Usage = { memoryBytes: 0, nanoCpus: 0, pids: 0, containers: 0 };
  for (const c of listed) {
    if (c.Labels[LABEL.vendor] !== vendor || c.Labels[LABEL.deployment] === deployment) continue;
    const host = (await docker.getContainer(c.Id).inspect().catch(() => undefined))?.HostConfig;
    if (!host) continue; // removed meanwhile
    usage.memoryBytes += host.Memory ?? 0;
    usage.nanoCpus += host.NanoCpus ?? 0;
    usage.pids += host.PidsLimit ?? 0;
    usage.containers += 1;
  }
  return usage;
}

const mib = (bytes: number) => Math.round(bytes / 1024 / 1024);

/** Violations (rule `vendor-total`) when this deployment would take the vendor past a total. */
export async function vendorTotalViolations(docker: Docker, identity: DeploymentIdentity, policy: VendorContainerPolicy, services: EnforcedService[]): Promise<Violation[]> {
  const other = await otherDeploymentsUsage(docker, identity.vendor, identity.deployment);
  const sum = (pick: (s: EnforcedService) => number) => services.reduce((a, s) => a + pick(s), 0);
  const wanted: Usage = {
    memoryBytes: other.memoryBytes + sum((s) => s.memoryBytes), nanoCpus: other.nanoCpus + sum((s) => s.nanoCpus),
    pids: other.pids + sum((s) => s.pids), containers: other.containers + services.length,
  };
  const t = policy.totals;
  const over: string[] = [];
  if (wanted.containers > t.containers) over.push(`${wanted.containers} containers (cap ${t.containers})`);
  if (wanted.memoryBytes > t.memoryBytes) over.push(`${mib(wanted.memoryBytes)} MiB of memory (cap ${mib(t.memoryBytes)} MiB)`);
  if (wanted.nanoCpus > t.nanoCpus) over.push(`${wanted.nanoCpus / 1e9} cpus (cap ${t.nanoCpus / 1e9})`);
  if (wanted.pids > t.pids) over.push(`${wanted.pids} pids (cap ${t.pids})`);
  if (!over.length) return [];
  return [{
    service: '', rule: 'vendor-total',
    message: `${identity.vendor}'s containers would hold ${over.join(', ')} with this deployment (${other.containers} in its other deployments); lower the services' limits, remove a deployment, or raise vendors.${identity.vendor}.totals in policy.yaml`,
  }];
}
