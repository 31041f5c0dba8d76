// Turns the device policy's `vendors:` entry (or its absence: deny by default) into the container
// policy for one vendor.
import type { VendorId } from '../../packages/trust/vendor-id.js';
import type { DevicePolicy } from '../state/device-policy.js';
import { vendorDataRoot } from '../state/vendor-names.js';
import { defaultVendorPolicy, type VendorContainerPolicy } from './container-policy.js';

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

export function containerPolicyFor(vendor: VendorId, device: DevicePolicy, dataDir: string): VendorContainerPolicy {
  const entry = device.vendors[vendor] ?? {};
  const base = defaultVendorPolicy(vendorDataRoot(vendor, device, dataDir));
  const memory = entry.limits?.memory ? /^(\d+)(Ki|Mi|Gi)$/.exec(entry.limits.memory) : null;
  const imageStorage = entry.imageStorage ? /^(\d+)(Ki|Mi|Gi)$/.exec(entry.imageStorage) : null;
  const bytes = (text: string | undefined) => {
    const m = text ? /^(\d+)(Ki|Mi|Gi)$/.exec(text) : null;
    return m ? Number(m[1]) * UNITS[m[2]!]! : undefined;
  };
  return {
    ...base,
    ports: entry.ports ?? base.ports,
    addresses: entry.addresses ?? base.addresses,
    capAdd: entry.capAdd ?? base.capAdd,
    requireImageDigest: entry.requireImageDigest ?? base.requireImageDigest,
    images: entry.images ?? base.images,
    imageStorageBytes: imageStorage ? Number(imageStorage[1]) * UNITS[imageStorage[2]!]! : base.imageStorageBytes,
    totals: {
      memoryBytes: bytes(entry.totals?.memory) ?? base.totals.memoryBytes,
      nanoCpus: entry.totals?.cpus ? Math.round(entry.totals.cpus * 1e9) : base.totals.nanoCpus,
      pids: entry.totals?.pids ?? base.totals.pids,
      containers: entry.totals?.containers ?? base.totals.containers,
    },
    limits: {
      memoryBytes: memory ? Number(memory[1]) * UNITS[memory[2]!]! : base.limits.memoryBytes,
      nanoCpus: entry.limits?.cpus ? Math.round(entry.limits.cpus * 1e9) : base.limits.nanoCpus,
      pids: entry.limits?.pids ?? base.limits.pids,
    },
    runtime: {
      sysctls: entry.sysctls ?? base.runtime.sysctls,
      ulimits: entry.ulimits ?? base.runtime.ulimits,
      log: {
        maxSizeBytes: bytes(entry.logs?.maxSize) ?? base.runtime.log.maxSizeBytes,
        maxFiles: entry.logs?.maxFiles ?? base.runtime.log.maxFiles,
      },
      extraHostsProtected: entry.extraHostsProtected ?? base.runtime.extraHostsProtected,
    },
  };
}
