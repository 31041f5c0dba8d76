// What this device is, in the shape of the properties and labels of Margo's
// DeviceCapabilitiesManifest (Workload Management API 1.0.0-rc.3): the link side reports it to the
// WFM (PUT /api/v1/capabilities/{deviceId}), and the apply side checks each deployment's
// deviceConstraints against exactly the same facts, so a WFM placing by the report and the device
// deciding by its own view never disagree.
import fs from 'node:fs';
import os from 'node:os';

export type CpuArchitecture = 'amd64' | 'arm64' | 'arm';
export type LabelValue = string | number | boolean | string[] | number[];

export interface DeviceProperties {
  id: string;
  vendor: string;
  modelNumber: string;
  serialNumber: string;
  cpus: { cores: number; architecture?: CpuArchitecture }[];
  /** Binary units, e.g. "15953Mi": memory the device has for apps. */
  memory: string;
  /**
   * Binary units: the size of the file system holding the data dir (where packages and app data
   * go). Its size, not its free space: that moves with every write, and the report (which the WFM
   * places by) would change all the time.
   */
  storage: string;
  peripherals: { type: 'gpu' | 'display' | 'camera' | 'microphone' | 'speaker'; manufacturer?: string; model?: string }[];
  interfaces: { type: 'ethernet' | 'wifi' | 'cellular' | 'bluetooth' | 'usb' | 'canbus' | 'rs232' }[];
  otelCollector: boolean;
  supportedRuntimes: ('oci' | 'custom')[];
  supportedDeploymentTypes: ('helm' | 'compose' | 'custom')[];
}

export interface DeviceFacts { properties: DeviceProperties; labels: Record<string, LabelValue> }

/** The label by which a WFM (or an eligibility rule) knows the device runs Bulkhead's WebAssembly apps. */
export const WASM_RUNTIME_LABEL = 'bulkhead.dev/wasm-apps';

export interface DeviceFactsOptions {
  /** The device id the device was joined with (Margo DeviceId). */
  deviceId: string;
  dataDir: string;
  /** Whether a container engine serves compose deployments here (adds runtime oci and type compose). */
  containerEngine: boolean;
  vendor?: string;
  modelNumber?: string;
  serialNumber?: string;
  /** Operator-chosen labels, added to ours (ours win: they state what the device runs). */
  labels?: Record<string, LabelValue>;
}

const MI = 1024 * 1024;
const UNIT_POWER: Record<string, number> = { Ki: 1, Mi: 2, Gi: 3, Ti: 4, Pi: 5, Ei: 6 };

/** Bytes of a Margo quantity ("512Mi", "2Gi", also "64 Gi" as the spec's examples write it, or a plain number). */
export function quantityBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(Ki|Mi|Gi|Ti|Pi|Ei)?\s*$/.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 1024 ** (m[2] ? UNIT_POWER[m[2]]! : 0);
}

function architecture(): CpuArchitecture | undefined {
  return ({ x64: 'amd64', arm64: 'arm64', arm: 'arm' } as Record<string, CpuArchitecture>)[os.arch()];
}

/** A line of /sys/class/dmi/id (often root-only), or undefined. */
function dmi(name: string): string | undefined {
  try {
    const v = fs.readFileSync(`/sys/class/dmi/id/${name}`, 'utf8').trim();
    return v || undefined;
  } catch {
    return undefined;
  }
}

const VIRTUAL_INTERFACE = /^(lo|veth|podman|docker|cni|br-|virbr|tap|tun|bh-)/;

function interfaces(): DeviceProperties['interfaces'] {
  const out: DeviceProperties['interfaces'] = [];
  for (const [name, addrs] of Object.entries(os.networkInterfaces())) {
    if (VIRTUAL_INTERFACE.test(name) || (addrs ?? []).every((a) => a.internal)) continue;
    out.push({ type: /^wl/.test(name) ? 'wifi' : /^ww/.test(name) ? 'cellular' : 'ethernet' });
  }
  return out;
}

function storageBytes(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return s.blocks * s.bsize;
  } catch {
    return 0;
  }
}

export function gatherDeviceFacts(options: DeviceFactsOptions): DeviceFacts {
  const arch = architecture();
  return {
    properties: {
      id: options.deviceId,
      vendor: options.vendor ?? dmi('sys_vendor') ?? 'unknown',
      modelNumber: options.modelNumber ?? dmi('product_name') ?? 'unknown',
      serialNumber: options.serialNumber ?? dmi('product_serial') ?? 'unknown',
      cpus: [{ cores: os.availableParallelism(), ...(arch ? { architecture: arch } : {}) }],
      memory: `${Math.floor(os.totalmem() / MI)}Mi`,
      storage: `${Math.floor(storageBytes(options.dataDir) / MI)}Mi`,
      peripherals: [],
      interfaces: interfaces(),
      otelCollector: false,
      supportedRuntimes: options.containerEngine ? ['oci', 'custom'] : ['custom'],
      supportedDeploymentTypes: options.containerEngine ? ['compose', 'custom'] : ['custom'],
    },
    labels: { ...options.labels, [WASM_RUNTIME_LABEL]: true },
  };
}
