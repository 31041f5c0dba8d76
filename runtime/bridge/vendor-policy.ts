// Turns the device policy's `vendors:` entry (or its absence: deny by default) into the container
// policy for one vendor.
import path from 'node:path';
import type { DevicePolicy } from '../state/device-policy.js';
import { defaultVendorPolicy, type VendorContainerPolicy } from './container-policy.js';

export function vendorSlug(vendor: string): string {
  return vendor.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '') || 'vendor';
}

const UNITS: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

export function containerPolicyFor(vendor: string, device: DevicePolicy, dataDir: string): VendorContainerPolicy {
  const entry = device.vendors[vendor] ?? {};
  const base = defaultVendorPolicy(entry.dataRoot ?? path.join(dataDir, 'vendors', vendorSlug(vendor)));
  const memory = entry.limits?.memory ? /^(\d+)(Ki|Mi|Gi)$/.exec(entry.limits.memory) : null;
  return {
    ...base,
    ports: entry.ports ?? base.ports,
    addresses: entry.addresses ?? base.addresses,
    capAdd: entry.capAdd ?? base.capAdd,
    requireImageDigest: entry.requireImageDigest ?? base.requireImageDigest,
    limits: {
      memoryBytes: memory ? Number(memory[1]) * UNITS[memory[2]!]! : base.limits.memoryBytes,
      nanoCpus: entry.limits?.cpus ? Math.round(entry.limits.cpus * 1e9) : base.limits.nanoCpus,
      pids: entry.limits?.pids ?? base.limits.pids,
    },
  };
}
