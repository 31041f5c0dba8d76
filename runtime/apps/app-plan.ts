// What starting an installed wasm app means, worked out before any thread starts: each
// component's binary, its effective grant (manifest request ∩ the vendor's policy, every denial
// named), its memory cap and its parameters. Nothing here runs guest code.
import fs from 'node:fs';
import path from 'node:path';
import { effectiveGrant, type Denial, type EffectiveGrant } from '../../host-apis/capabilities/grant.js';
import type { InstalledPackage } from '../../packages/install/installed-packages.js';
import {
  parseApplicationDescription, vendorOf, WASM_PROFILE_TYPE, type ApplicationDescription, type WasmComponentProperties,
} from '../../packages/manifest/application-description.js';
import { parseSize } from '../cli/parse-units.js';
import type { DevicePolicy } from '../state/device-policy.js';
import { binaryKind } from '../sandbox/wasm-binary.js';
import { vendorId, type VendorId } from '../../packages/trust/vendor-id.js';
import { prepareComponent } from './component-cache.js';
import { closeGrantDirectories, openGrantDirectories } from './grant-directories.js';
import { wasmPolicyFor, type VendorWasm } from './wasm-policy.js';
import { quoteValue } from '../../packages/quote-value.js';
import { DEFAULT_QUEUE_LIMITS, type QueueLimits } from './message-bus.js';
import { FileMemo } from '../state/file-memo.js';

export class PlanError extends Error {}

export interface ComponentPlan {
  name: string;
  kind: 'component' | 'module';
  /** Transpiled component directory, or the module file. */
  path: string;
  grant: EffectiveGrant;
  denials: Denial[];
  args: string[];
  parameters: Record<string, string>;
  memoryCapBytes: number;
  /** Its queue of messages waiting for delivery (manifest `capabilities.messaging.queue`). */
  queue: QueueLimits;
}

export interface AppPlan { appId: string; version: string; vendor: VendorId; components: ComponentPlan[]; vendorWasm: VendorWasm }

export function wasmProfile(manifest: ApplicationDescription) {
  return manifest.deploymentProfiles.find((p) => p.type === WASM_PROFILE_TYPE);
}

/** Parameter values for one component: by their pointer name, operator overrides first. */
function parametersFor(manifest: ApplicationDescription, component: string, overrides: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, p] of Object.entries(manifest.parameters ?? {})) {
    const value = overrides[name] ?? (p.value === undefined ? undefined : typeof p.value === 'string' ? p.value : JSON.stringify(p.value));
    if (value === undefined) continue;
    for (const t of p.targets ?? []) if (t.components.includes(component)) out[t.pointer] = value;
  }
  return out;
}

function queueLimits(props: WasmComponentProperties): QueueLimits {
  const q = props.capabilities?.messaging?.queue ?? {};
  return {
    messages: q.messages ?? DEFAULT_QUEUE_LIMITS.messages,
    bytes: q.bytes ? parseSize(q.bytes) : DEFAULT_QUEUE_LIMITS.bytes,
    overflow: q.overflow ?? DEFAULT_QUEUE_LIMITS.overflow,
  };
}

/** Parsed margo.yaml files with the limits they were parsed under, reused while unchanged. */
const manifests = new FileMemo<{ limits: string; manifest: ReturnType<typeof parseApplicationDescription> }>();

function manifestOf(pkg: InstalledPackage, device: DevicePolicy) {
  const file = path.join(pkg.path, 'margo.yaml');
  const limits = JSON.stringify(device.manifest);
  const parse = (text: Buffer) => parseApplicationDescription(text.toString('utf8'), `${pkg.appId}/margo.yaml`, device.manifest);
  const memo = manifests.get(file, (text) => ({ limits, manifest: parse(text) }));
  // A copy: planning never changes the kept one. Other limits than last time: parsed under these.
  return memo.limits === limits ? structuredClone(memo.manifest) : parse(fs.readFileSync(file));
}

export async function planApp(pkg: InstalledPackage, device: DevicePolicy, dataDir: string, overrides: Record<string, string> = {}): Promise<AppPlan> {
  const manifest = manifestOf(pkg, device);
  const profile = wasmProfile(manifest);
  if (!profile) {
    throw new PlanError(`${pkg.appId} has no ${WASM_PROFILE_TYPE} deployment profile; a compose app runs with: bulkhead compose up --app ${pkg.appId}`);
  }
  const known = new Set(Object.keys(manifest.parameters ?? {}));
  for (const name of Object.keys(overrides)) {
    if (!known.has(name)) throw new PlanError(`${pkg.appId} has no parameter ${quoteValue(name)} (it has: ${[...known].join(', ') || 'none'})`);
  }
  const vendor = vendorId(vendorOf(manifest));
  const vendorWasm = wasmPolicyFor(vendor, device, dataDir);
  const components: ComponentPlan[] = [];
  try {
    for (const c of profile.components) components.push(await planComponent(c, pkg, vendor, vendorWasm, dataDir, manifest, overrides));
  } catch (err) {
    // A plan that fails half-way holds no directory handles.
    for (const c of components) closeGrantDirectories(c.grant);
    throw err;
  }
  return { appId: pkg.appId, version: pkg.version, vendor, components, vendorWasm };
}

/** Releases what a plan holds (its grants' directory handles) when its app will not run. */
export function releasePlan(plan: AppPlan): void {
  for (const c of plan.components) closeGrantDirectories(c.grant);
}

type ProfileComponent = NonNullable<ReturnType<typeof wasmProfile>>['components'][number];

async function planComponent(
  c: ProfileComponent, pkg: InstalledPackage, vendor: VendorId, vendorWasm: VendorWasm, dataDir: string,
  manifest: ApplicationDescription, overrides: Record<string, string>,
): Promise<ComponentPlan> {
  const props = c.properties as unknown as WasmComponentProperties;
  const file = path.join(pkg.path, props.module);
  const bytes = fs.readFileSync(file);
  const kind = binaryKind(bytes);
  if (props.kind && props.kind !== kind) throw new PlanError(`${pkg.appId}/${c.name}: margo.yaml says kind ${props.kind}, but ${props.module} is a ${kind}`);
  const { grant, denials } = effectiveGrant(vendor, pkg.appId, props.capabilities ?? {}, vendorWasm.grantPolicy);
  const wanted = props.limits?.memory ? parseSize(props.limits.memory) : vendorWasm.limits.memoryBytes;
  if (wanted > vendorWasm.limits.memoryBytes) {
    denials.push({ capability: 'memory', requested: props.limits!.memory!, reason: `above ${vendor}'s per-instance cap of ${vendorWasm.limits.memoryBytes} bytes; capped` });
  }
  // Normally transpiled at install; a package installed before this was possible is done now.
  const binary = kind === 'component' ? (await prepareComponent(bytes, dataDir, `${pkg.appId}/${props.module}`)).dir : file;
  // Last, so nothing after it can fail and leave the handles open.
  openGrantDirectories(grant, denials, vendorWasm.grantPolicy.dataRoot);
  return {
    name: c.name, kind, path: binary, grant, denials, args: props.args ?? [],
    parameters: parametersFor(manifest, c.name, overrides),
    memoryCapBytes: Math.min(wanted, vendorWasm.limits.memoryBytes),
    queue: queueLimits(props),
  };
}
