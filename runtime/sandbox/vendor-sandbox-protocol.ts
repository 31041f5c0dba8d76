// Messages between a vendor sandbox thread and its supervisor. Everything crosses postMessage.
import type { EffectiveGrant } from '../../host-apis/capabilities/grant.js';
import type { DenialReport } from '../../host-apis/bulkhead/audit.js';
import type { LogLevel, LogLimits } from '../../host-apis/bulkhead/log.js';
import type { AuditLimits } from '../../host-apis/bulkhead/audit.js';
import type { PublishLimits } from '../../host-apis/bulkhead/messaging.js';
import type { SubscriptionLimits } from '../../host-apis/bulkhead/subscription-limits.js';
import type { LedgerBuffers, ResourceLimits } from '../../host-apis/limits/resource-ledger.js';
import type { QueueLimits } from '../apps/message-bus.js';

export interface InstanceSpec {
  instanceId: string;
  app: string;
  component: string;
  /** A transpiled component directory (component.mjs + core wasm) or a preview1 module file. */
  kind: 'component' | 'module';
  path: string;
  grant: EffectiveGrant;
  args: string[];
  parameters: Record<string, string>;
  memoryCapBytes: number;
  /** Cap on each wasm table's elements (default: DEFAULT_TABLE_ELEMENTS). */
  tableElements?: number;
  /** The supervisor's number for the instance, for the call clock (see call-clock.ts); set by VendorSandbox. */
  slot?: number;
  logLimits: LogLimits;
  /** The instance's shared resource counters (InstanceResources.shared), set by the supervisor. */
  resourceCells?: SharedArrayBuffer;
  /** Its queue of messages waiting for delivery (default: DEFAULT_QUEUE_LIMITS). */
  queue?: QueueLimits;
  /** `log` (apps): std streams become log records; `inherit` (bulkhead run): the process's own. */
  stdio?: 'log' | 'inherit';
}

export interface SandboxInit {
  vendor: string;
  databasePath: string;
  cpu: SharedArrayBuffer;
  /** The call clock: which instance runs guest code, since when. */
  calls: SharedArrayBuffer;
  /** Synchronous calls to the supervisor (network): the port and its wake-up counter. */
  callPort: import('node:worker_threads').MessagePort;
  callSignal: SharedArrayBuffer;
  /** 1 while the vendor may take message deliveries (CPU headroom), kept by the supervisor. */
  headroom: SharedArrayBuffer;
  /** What the vendor's guests may make the host hold; absent: no limits (bulkhead run). */
  resources?: SandboxResources;
}

/** The vendor's resource ledger (shared counters), its limits and data root, and its rates. */
export interface SandboxResources {
  ledger: LedgerBuffers;
  limits: ResourceLimits;
  /** Scanned at start: what the vendor already has on disk counts against its quota. */
  dataRoot: string;
  audit: AuditLimits;
  publish: PublishLimits;
  subscriptions: SubscriptionLimits;
}

/** A network call from an instance, answered by the supervisor (see host-apis/net/net-broker.ts). */
export interface NetCall { instanceId: string; method: string; args: unknown[] }

export type ToSandbox =
  | { type: 'start'; spec: InstanceSpec }
  /** A message from the supervisor's side of the bus, for this sandbox's subscribers. */
  | { type: 'inbound'; topic: string; payload: Uint8Array }
  /** A direct link to another vendor's sandbox (sandbox-routes.ts): the port and what waits each way. */
  | { type: 'link'; peer: string; port: import('node:worker_threads').MessagePort; out: SharedArrayBuffer; in: SharedArrayBuffer }
  /** The supervisor's own subscribers (device-bus.ts), whose messages the sandbox forwards. */
  | { type: 'host-subscribed'; instanceId: string; pattern: string }
  | { type: 'host-unsubscribed'; instanceId: string }
  | { type: 'stop'; instanceId: string }
  | { type: 'stats'; collect: boolean };

export type InstanceEnd =
  /** A job (wasi:cli/run) is running until it exits; a service (bulkhead:host/app) until stopped. */
  | { state: 'running'; role: 'job' | 'service' }
  | { state: 'exited'; code: number }
  | { state: 'failed'; reason: string }
  | { state: 'stopped' };

export type FromSandbox =
  | ({ type: 'state'; instanceId: string; at: number } & InstanceEnd)
  /** Log records of the sandbox's instances, in order (batched: see vendor-sandbox-worker.ts). */
  | { type: 'logs'; records: LogEntry[] }
  | { type: 'audit'; instanceId: string; denial: DenialReport; at: number }
  /** A message for the supervisor's own subscribers (other sandboxes get theirs over routes). */
  | { type: 'publish'; instanceId: string; topic: string; payload: Uint8Array }
  /** An instance holds one more subscription pattern (counted for status; it is queued for here). */
  | { type: 'subscribed'; instanceId: string }
  /** Messages lost to full queues or routes since the last report. */
  | { type: 'drops'; subscribers: [string, number, QueueLimits][]; publishers: [string, number][] }
  | { type: 'stats'; stats: SandboxStats };

export interface LogEntry { instanceId: string; level: LogLevel; message: string; fields: Record<string, string>; at: number }

/** Memory of one sandbox thread's isolate (wasm memories are external ArrayBuffers). */
export interface SandboxStats {
  heapUsed: number;
  external: number;
  instances: number;
  /** Calls into each host interface since the thread started. */
  hostCalls?: Record<string, number>;
}
