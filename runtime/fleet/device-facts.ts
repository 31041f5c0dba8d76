// What this device is, as the deviceConstraints of a deployment are checked against it: exactly
// the properties and labels of the DeviceCapabilitiesManifest the link reports to the WFM
// (device-capabilities.ts makes that document; this module only reads it), so the WFM placing by
// the report and the device deciding by its own view never disagree.
import type Database from 'better-sqlite3';
import { detectDeviceFacts, deviceCapabilities } from './device-capabilities.js';
import { EnrollmentStore } from './fleet-enrollment.js';

export type CpuArchitecture = 'amd64' | 'arm64' | 'arm';
export type LabelValue = string | number | boolean | string[] | number[];

/** The `properties` of the capability report (Workload Management API 1.0.0-rc.3). */
export interface DeviceProperties {
  id: string;
  vendor: string;
  modelNumber: string;
  serialNumber: string;
  cpus: { cores: number; architecture?: CpuArchitecture }[];
  /** Binary units, e.g. "15953Mi". */
  memory: string;
  /** Binary units: the size of the file system holding the data dir. */
  storage: string;
  peripherals: { type: string; manufacturer?: string; model?: string }[];
  interfaces: { type: string }[];
  otelCollector: boolean;
  supportedRuntimes: string[];
  supportedDeploymentTypes: string[];
}

export interface DeviceFacts { properties: DeviceProperties; labels: Record<string, LabelValue> }

const UNIT_POWER: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** Bytes of a Margo quantity ("512Mi", "2Gi", also "64 Gi" as the spec's examples write it, or a plain number). */
export function quantityBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei)?\s*$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 1024 ** (m[2] ? UNIT_POWER[m[2]]! : 0);
}

/** The facts in a capability report document. */
export function factsOfReport(report: Record<string, unknown>): DeviceFacts {
  return { properties: report.properties as DeviceProperties, labels: (report.labels ?? {}) as Record<string, LabelValue> };
}

/** What the joined device reports now (its enrollment's device id, vendor, model, serial and labels). */
export function reportedFacts(db: Database.Database, dataDir: string): DeviceFacts {
  const e = new EnrollmentStore(db).get();
  if (!e) throw new Error('the device has not joined a fleet manager (bulkhead fleet join)');
  return factsOfReport(deviceCapabilities({ deviceId: e.deviceId, dataDir, device: e.device, labels: e.labels }));
}

/** The same report for a device id of the caller's choosing, without a join (tests, tools). */
export function machineFacts(dataDir: string, deviceId: string, labels: Record<string, string> = {}): DeviceFacts {
  return factsOfReport(deviceCapabilities({ deviceId, dataDir, device: detectDeviceFacts(), labels }));
}
