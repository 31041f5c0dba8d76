// The DeviceCapabilitiesManifest this device reports (rc.3 schema: `properties`, `labels`,
// `x-<name>-extensions`, nothing else at the top level). Resources are the device's own; memory
// and storage in binary units. Storage is the size of the data dir's file system (not its free
// space, which moves with every write and would make the capabilities "change" all the time).
// Bulkhead's WebAssembly apps are Margo `type: custom` deployments, so the device says it runs them
// in a label and describes the runtime in `x-bulkhead-extensions`.
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import { PROVIDED_INTERFACES } from '../../host-apis/components/component-imports.js';
import { VERSION } from '../cli/version.js';
import type { DeviceFacts } from './fleet-enrollment.js';

export const WASM_LABEL = 'bulkhead.dev/wasm-apps';

export interface CapabilitiesInput {
  deviceId: string;
  dataDir: string;
  device: DeviceFacts;
  labels: Record<string, string>;
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm' };

function interfaceTypes(): Array<{ type: string }> {
  const types = new Set<string>();
  for (const name of Object.keys(os.networkInterfaces())) {
    if (/^(en|eth)/.test(name)) types.add('ethernet');
    else if (/^wl/.test(name)) types.add('wifi');
    else if (/^(ww|rmnet)/.test(name)) types.add('cellular');
    else if (/^(v?can)/.test(name)) types.add('canbus');
    else if (/^usb/.test(name)) types.add('usb');
  }
  return [...types].sort().map((type) => ({ type }));
}

function storageMi(dir: string): number {
  try {
    const s = fs.statfsSync(dir);
    return Math.floor((s.blocks * s.bsize) / (1024 * 1024));
  } catch {
    return 0;
  }
}

export function deviceCapabilities(input: CapabilitiesInput): Record<string, unknown> {
  const architecture = ARCH[os.arch()];
  return {
    properties: {
      id: input.deviceId,
      vendor: input.device.vendor,
      modelNumber: input.device.modelNumber,
      serialNumber: input.device.serialNumber,
      cpus: [{ cores: os.availableParallelism(), ...(architecture ? { architecture } : {}) }],
      memory: `${Math.floor(os.totalmem() / (1024 * 1024))}Mi`,
      storage: `${storageMi(input.dataDir)}Mi`,
      peripherals: [],
      interfaces: interfaceTypes(),
      // No OpenTelemetry collector ships with Bulkhead (metrics are served as Prometheus text).
      otelCollector: false,
      supportedRuntimes: ['oci', 'custom'],
      supportedDeploymentTypes: ['compose', 'custom'],
    },
    labels: {
      ...input.labels,
      'bulkhead.dev/runtime': 'bulkhead',
      'bulkhead.dev/version': VERSION,
      [WASM_LABEL]: true,
    },
    'x-bulkhead-extensions': {
      customDeploymentType: 'x-bulkhead-wasm',
      wasm: {
        interfaces: ['wasi_snapshot_preview1', ...PROVIDED_INTERFACES],
        isolationLevels: ['worker', 'container'],
        defaultLimits: { memory: '64Mi', memoryTotal: '256Mi', cpuShare: 0.5, maxInstancesPerVendor: 8 },
      },
    },
  };
}

/** A stable fingerprint: the capabilities are sent again only when it changes. */
export function capabilitiesFingerprint(doc: Record<string, unknown>): string {
  return crypto.createHash('sha256').update(JSON.stringify(doc)).digest('hex');
}

/** Vendor and model from DMI where the kernel exposes them to everyone; the serial needs root. */
export function detectDeviceFacts(): DeviceFacts {
  const read = (f: string) => {
    try {
      return fs.readFileSync(`/sys/class/dmi/id/${f}`, 'utf8').trim() || undefined;
    } catch {
      return undefined;
    }
  };
  return { vendor: read('sys_vendor') ?? 'unknown', modelNumber: read('product_name') ?? 'unknown', serialNumber: read('product_serial') ?? os.hostname() };
}
