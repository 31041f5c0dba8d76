// The operator's device policy file (<data-dir>/policy.yaml): signature requirements and archive
// limits. Absent means the defaults; present but invalid is an error, never silently ignored.
// Its published schema is device-policy.schema.json beside this file.
import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import YAML from 'yaml';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../../packages/archive/archive-limits.js';
import { jsonPointerToPath } from '../../packages/manifest/application-description.js';
import { DEFAULT_MANIFEST_LIMITS, type ManifestLimits } from '../../packages/manifest/manifest-limits.js';
import { DEFAULT_SIGNATURE_POLICY, type SignaturePolicy } from '../../packages/trust/signature-policy.js';
import schema from './device-policy.schema.json' with { type: 'json' };
import { FileMemo } from './file-memo.js';

export interface VendorPolicyEntry {
  dataRoot?: string;
  ports?: { from: number; to: number };
  addresses?: string[];
  capAdd?: string[];
  limits?: { memory?: string; cpus?: number; pids?: number };
  totals?: { memory?: string; cpus?: number; pids?: number; containers?: number };
  requireImageDigest?: boolean;
  images?: string[];
  imageStorage?: string;
  sysctls?: string[];
  ulimits?: Record<string, number>;
  logs?: { maxSize?: string; maxFiles?: number };
  extraHostsProtected?: boolean;
  wasm?: VendorWasmPolicy;
}

/** The `wasm:` part of a vendor's entry: what its WebAssembly apps may be granted, and limits. */
export interface VendorWasmPolicy {
  fsWritable?: boolean;
  netConnect?: string[];
  kvQuota?: string;
  publish?: string[];
  subscribe?: string[];
  env?: string[];
  memory?: string;
  memoryTotal?: string;
  cpu?: number;
  cpuWindow?: string;
  callTimeout?: string;
  tableElements?: number;
  maxInstances?: number;
  logRate?: number;
  hostMemory?: string;
  handles?: number;
  fds?: number;
  fdsTotal?: number;
  disk?: string;
  auditRate?: number;
  publishRate?: number;
  publishBytes?: string;
  subscriptions?: number;
  subscriptionsTotal?: number;
}

/** The `state:` part: what the device keeps for its own database (see stateLimits for defaults); rows are per vendor. */
export interface StatePolicy { reserve?: string; logRows?: number; auditRows?: number; maxAge?: string }

export interface DevicePolicy { signatures: SignaturePolicy; archive: ArchiveLimits; manifest: ManifestLimits; vendors: Record<string, VendorPolicyEntry>; state?: StatePolicy }

let compiled: ValidateFunction | undefined;
const validator = () => (compiled ??= new Ajv({ allErrors: true }).compile(schema));

export class PolicyError extends Error {}

/** One schema error as the operator needs it: where, and what (an unknown field by its name). */
function describeProblem(e: ErrorObject): string {
  const at = jsonPointerToPath(e.instancePath);
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'additionalProperties') return `${at}: unknown field "${String(p.additionalProperty)}"`;
  if (e.keyword === 'enum') return `${at}: ${e.message} (${(p.allowedValues as unknown[]).map(String).join(', ')})`;
  return `${at}: ${e.message}`;
}

/** Throws a PolicyError naming `where` and every problem unless `doc` is a valid policy document. */
export function checkPolicyDocument(doc: unknown, where: string): void {
  const validate = validator();
  if (!validate(doc)) {
    throw new PolicyError(`${where}: ${[...new Set((validate.errors ?? []).map(describeProblem))].join('; ')}`);
  }
}

export function loadDevicePolicy(dataDir: string): DevicePolicy {
  const file = path.join(dataDir, 'policy.yaml');
  if (!fs.existsSync(file)) return { signatures: DEFAULT_SIGNATURE_POLICY, archive: DEFAULT_ARCHIVE_LIMITS, manifest: DEFAULT_MANIFEST_LIMITS, vendors: {} };
  const d = parsedPolicies.get(file, (text) => {
    let doc: unknown;
    try {
      doc = YAML.parse(text.toString('utf8')) ?? {};
    } catch (err) {
      throw new PolicyError(`${file}: ${(err as Error).message.split('\n')[0]}`);
    }
    checkPolicyDocument(doc, file);
    return doc;
  });
  // Copies: what callers do with the policy never reaches the parsed document kept for next time.
  return structuredClone(policyOf(d));
}

/** Parsed and validated policy files, reused while unchanged (read on every app start). */
const parsedPolicies = new FileMemo<unknown>();

function policyOf(doc: unknown): DevicePolicy {
  const d = doc as Partial<{ signatures: Partial<SignaturePolicy>; archive: Partial<ArchiveLimits>; manifest: Partial<ManifestLimits>; vendors: Record<string, VendorPolicyEntry>; state: StatePolicy }>;
  return {
    signatures: { ...DEFAULT_SIGNATURE_POLICY, ...d.signatures },
    archive: { ...DEFAULT_ARCHIVE_LIMITS, ...d.archive },
    manifest: { ...DEFAULT_MANIFEST_LIMITS, ...d.manifest },
    vendors: d.vendors ?? {},
    state: d.state,
  };
}
