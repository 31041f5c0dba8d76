// Turns a vendor's `wasm:` policy entry (or its absence: nothing granted) into what the grant
// model and the sandbox need: the operator side of every grant, and the vendor's sandbox limits.
import type { OperatorGrantPolicy } from '../../host-apis/capabilities/grant.js';
import { DEFAULT_LOG_LIMITS, type LogLimits } from '../../host-apis/bulkhead/log.js';
import type { VendorId } from '../../packages/trust/vendor-id.js';
import { DEFAULT_AUDIT_LIMITS, type AuditLimits } from '../../host-apis/bulkhead/audit.js';
import { DEFAULT_PUBLISH_LIMITS, type PublishLimits } from '../../host-apis/bulkhead/messaging.js';
import { DEFAULT_SUBSCRIPTION_LIMITS, type SubscriptionLimits } from '../../host-apis/bulkhead/subscription-limits.js';
import { DEFAULT_RESOURCE_LIMITS, type ResourceLimits } from '../../host-apis/limits/resource-ledger.js';
import { stateLimits } from '../state/state-limits.js';
import { parseDuration, parseSize } from '../cli/parse-units.js';
import type { DevicePolicy } from '../state/device-policy.js';
import { vendorDataRoot } from '../state/vendor-names.js';
import type { CpuLimit } from '../sandbox/vendor-sandbox.js';

export interface VendorWasmLimits {
  memoryBytes: number;
  memoryTotalBytes: number;
  cpu: CpuLimit;
  /** Longest a service's start() or message handler may run (a call past it fails the app). */
  callTimeoutMs: number;
  /** Cap on each wasm table's elements per instance, as memory is capped (declared maximum rewritten). */
  tableElements: number;
  maxInstances: number;
  log: LogLimits;
  /** Host buffers, handles, descriptors, disk (resource-ledger.ts). */
  resources: ResourceLimits;
  audit: AuditLimits;
  publish: PublishLimits;
  subscriptions: SubscriptionLimits;
}

export interface VendorWasm { grantPolicy: OperatorGrantPolicy; limits: VendorWasmLimits }

const MiB = 1024 * 1024;
export const DEFAULT_CALL_TIMEOUT_MS = 10_000;
// V8 allows 10,000,000 elements; a module declaring that many at start exhausts a sandbox's heap
// in one allocation, which V8 answers by aborting the whole process (issue 11).
export const DEFAULT_TABLE_ELEMENTS = 100_000;

export function wasmPolicyFor(vendor: VendorId, device: DevicePolicy, dataDir: string): VendorWasm {
  const entry = device.vendors[vendor];
  const w = entry?.wasm ?? {};
  const logRate = w.logRate ?? DEFAULT_LOG_LIMITS.perSecond;
  return {
    grantPolicy: {
      dataRoot: vendorDataRoot(vendor, device, dataDir),
      fsWritable: w.fsWritable ?? false,
      netConnect: w.netConnect ?? [],
      netListen: entry?.ports ?? { from: 0, to: -1 },
      kvQuotaBytes: w.kvQuota ? parseSize(w.kvQuota) : 0,
      publish: w.publish ?? [],
      subscribe: w.subscribe ?? [],
      env: w.env ?? [],
    },
    limits: {
      memoryBytes: w.memory ? parseSize(w.memory) : 64 * MiB,
      memoryTotalBytes: w.memoryTotal ? parseSize(w.memoryTotal) : 256 * MiB,
      cpu: { share: w.cpu ?? 0.5, windowMs: w.cpuWindow ? parseDuration(w.cpuWindow) : 2000 },
      callTimeoutMs: w.callTimeout ? parseDuration(w.callTimeout) : DEFAULT_CALL_TIMEOUT_MS,
      tableElements: w.tableElements ?? DEFAULT_TABLE_ELEMENTS,
      maxInstances: w.maxInstances ?? 8,
      log: { ...DEFAULT_LOG_LIMITS, perSecond: logRate, burst: logRate * 2 },
      resources: {
        hostBytes: w.hostMemory ? parseSize(w.hostMemory) : DEFAULT_RESOURCE_LIMITS.hostBytes,
        handlesPerInstance: w.handles ?? DEFAULT_RESOURCE_LIMITS.handlesPerInstance,
        fdsPerInstance: w.fds ?? DEFAULT_RESOURCE_LIMITS.fdsPerInstance,
        fdsPerVendor: w.fdsTotal ?? DEFAULT_RESOURCE_LIMITS.fdsPerVendor,
        diskBytes: w.disk ? parseSize(w.disk) : DEFAULT_RESOURCE_LIMITS.diskBytes,
        diskReserveBytes: stateLimits(device).reserveBytes,
      },
      audit: w.auditRate ? { perSecond: w.auditRate, burst: w.auditRate * 5 } : DEFAULT_AUDIT_LIMITS,
      publish: {
        messagesPerSecond: w.publishRate ?? DEFAULT_PUBLISH_LIMITS.messagesPerSecond,
        bytesPerSecond: w.publishBytes ? parseSize(w.publishBytes) : DEFAULT_PUBLISH_LIMITS.bytesPerSecond,
      },
      subscriptions: {
        perInstance: w.subscriptions ?? DEFAULT_SUBSCRIPTION_LIMITS.perInstance,
        perVendor: w.subscriptionsTotal ?? DEFAULT_SUBSCRIPTION_LIMITS.perVendor,
      },
    },
  };
}
