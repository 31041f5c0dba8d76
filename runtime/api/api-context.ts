// What the API's routes share: the device's stores (on the daemon's own database connection), the
// feed of new logs and states, metrics, the upload installer, and the limits in force.
import type Database from 'better-sqlite3';
import type { InstalledPackages } from '../../packages/install/installed-packages.js';
import type { TrustStore } from '../../packages/trust/trust-store.js';
import type { AppRecords } from '../apps/app-records.js';
import type { ResourceRecords } from '../apps/resource-records.js';
import type { ApiPolicy, ApiRole } from './api-access.js';
import type { DeviceMetrics } from './device-metrics.js';
import type { PackageUploads } from './package-upload.js';
import type { StateFeed } from './state-feed.js';

export interface ApiLimits {
  /** Largest JSON body any route takes. */
  jsonBodyBytes: number;
  /** A client must have sent its whole request head within this (slow-loris bound). */
  headersTimeoutMs: number;
  /** ... and its whole request, body included (uploads too). */
  requestTimeoutMs: number;
  /** A connection with no traffic either way is closed after this. */
  idleTimeoutMs: number;
  /** Followers get a heartbeat this often, so idle streams outlive the idle timeout. */
  heartbeatMs: number;
  /** A follower whose unsent output passes this is dropped. */
  maxFollowerBacklogBytes: number;
  /** Open connections per listener. */
  maxConnections: number;
}

export const DEFAULT_API_LIMITS: ApiLimits = {
  jsonBodyBytes: 256 * 1024,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 300_000,
  idleTimeoutMs: 60_000,
  heartbeatMs: 15_000,
  maxFollowerBacklogBytes: 1024 * 1024,
  maxConnections: 2048,
};

export interface ApiContext {
  dataDir: string;
  db: Database.Database;
  records: AppRecords;
  resources: ResourceRecords;
  installed: InstalledPackages;
  trust: TrustStore;
  feed: StateFeed;
  metrics: DeviceMetrics;
  uploads: PackageUploads;
  limits: ApiLimits;
  policy: () => ApiPolicy;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A POST that changes nothing (compose check, ps, logs): readers may call it too. */
    reader?: boolean;
    /** A write a `vendor` client may make for its own vendor (the route checks whose it is). */
    vendorScoped?: boolean;
  }
  interface FastifyRequest {
    /** The caller's role: admin for the unix socket, from the client certificate over mTLS. */
    role: ApiRole;
    /** With role vendor: the one vendor the client acts for. */
    vendor?: string;
    /** The caller, for rate limits and logs: "local" or the certificate's URI SAN / CN. */
    client: string;
  }
}
