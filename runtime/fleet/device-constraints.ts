// A deployment's deviceConstraints (Workload Management API 1.0.0-rc.3) against this device's facts,
// before anything is downloaded: capacityRequirements (cpu cores and architectures, memory, storage)
// and eligibilityRules (selectors over the reported properties, by JSON Pointer, and over labels,
// by exact key). Where the API leaves semantics open, the choice is stated here:
// - every rule must hold (rules are ANDed, as the expressions of one selector are);
// - In / NotIn compare a scalar with each value (as JSON, or as text, so YAML's "true" matches a
//   boolean label); NotIn and DoesNotExist hold for a missing key, as in Kubernetes selectors;
// - Gt / Lt compare numbers or binary quantities ("8Gi");
// - ContainsAny / ContainsAll need an array: with itemSelector, some / every element satisfies it
//   (element keys are JSON Pointers into the element); with values, the array holds some / all of them.
import { quoteValue } from '../../packages/quote-value.js';
import { FleetApplyError } from './apply-errors.js';
import type { DeviceConstraints, MatchExpression, Selector } from './application-deployment.js';
import { quantityBytes, type DeviceFacts } from './device-facts.js';

const BASE = 'spec.deploymentProfile.deviceConstraints';

/** RFC 6901 JSON Pointer lookup; undefined when the path does not exist. */
function resolvePointer(root: unknown, pointer: string): unknown {
  if (pointer === '') return root;
  if (!pointer.startsWith('/')) return undefined;
  let node = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node) && /^(0|[1-9]\d*)$/.test(key)) node = node[Number(key)];
    else if (node !== null && typeof node === 'object' && !Array.isArray(node) && Object.hasOwn(node, key)) node = (node as Record<string, unknown>)[key];
    else return undefined;
  }
  return node;
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b) || (isScalar(a) && isScalar(b) && String(a) === String(b));
const isScalar = (v: unknown) => typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
const list = (values: unknown[] | undefined) => (values ?? []).slice(0, 10).map((v) => quoteValue(v)).join(', ') || 'nothing';
const number = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' ? quantityBytes(v) : undefined);

/** Why the expression fails for `value` (undefined: it holds). */
function expressionProblem(e: MatchExpression, value: unknown): string | undefined {
  const present = value !== undefined;
  const shown = present ? quoteValue(value) : 'nothing';
  switch (e.operator) {
    case 'Exists': return present ? undefined : 'is not reported by this device';
    case 'DoesNotExist': return present ? `exists (${shown})` : undefined;
    case 'In':
      if (!present) return 'is not reported by this device';
      return isScalar(value) && (e.values ?? []).some((v) => same(v, value)) ? undefined : `is ${shown}, not one of ${list(e.values)}`;
    case 'NotIn':
      return present && (e.values ?? []).some((v) => same(v, value)) ? `is ${shown}, which the rule excludes` : undefined;
    case 'Gt':
    case 'Lt': {
      const have = number(value);
      const limit = number(e.values?.[0]);
      if (have === undefined || limit === undefined) return `is ${shown}; cannot compare it with ${quoteValue(e.values?.[0])} as numbers`;
      const ok = e.operator === 'Gt' ? have > limit : have < limit;
      return ok ? undefined : `is ${shown}, not ${e.operator === 'Gt' ? 'greater' : 'less'} than ${quoteValue(e.values?.[0])}`;
    }
    case 'ContainsAll':
    case 'ContainsAny': {
      if (!Array.isArray(value)) return `is ${shown}, not a list`;
      const all = e.operator === 'ContainsAll';
      if (e.itemSelector) {
        const matches = value.map((item) => selectorProblems(e.itemSelector!, (key) => resolvePointer(item, key), '').length === 0);
        const ok = all ? matches.length > 0 && matches.every(Boolean) : matches.some(Boolean);
        return ok ? undefined : `${all ? 'not every' : 'no'} element of ${shown} matches the itemSelector`;
      }
      const wanted = e.values ?? [];
      const ok = all ? wanted.every((w) => value.some((v) => same(v, w))) : wanted.some((w) => value.some((v) => same(v, w)));
      return ok ? undefined : `is ${shown}, which holds ${all ? 'not all' : 'none'} of ${list(wanted)}`;
    }
  }
}

function selectorProblems(selector: Selector, lookup: (key: string) => unknown, at: string): string[] {
  const out: string[] = [];
  selector.matchExpressions.forEach((e, i) => {
    const problem = expressionProblem(e, lookup(e.key));
    if (problem) out.push(`${at}.matchExpressions[${i}] (${quoteValue(e.key)} ${e.operator}): ${quoteValue(e.key)} ${problem}`);
  });
  return out;
}

/** Every unmet constraint, each naming its field and what the device has. */
export function unmetConstraints(constraints: DeviceConstraints | undefined, facts: DeviceFacts): string[] {
  if (!constraints) return [];
  const out: string[] = [];
  const p = facts.properties;
  const cap = constraints.capacityRequirements;
  if (cap?.cpu) {
    const cores = p.cpus.reduce((n, c) => n + c.cores, 0);
    if (cap.cpu.cores > cores) out.push(`${BASE}.capacityRequirements.cpu.cores: needs ${cap.cpu.cores}, this device has ${cores}`);
    const archs = cap.cpu.architectures;
    if (archs && archs.length > 0) {
      const have = p.cpus.map((c) => c.architecture ?? 'other');
      if (!have.some((a) => archs.includes(a))) out.push(`${BASE}.capacityRequirements.cpu.architectures: needs one of ${archs.join(', ')}, this device is ${have.join(', ')}`);
    }
  }
  for (const field of ['memory', 'storage'] as const) {
    const need = cap?.[field];
    if (need === undefined) continue;
    const have = quantityBytes(p[field]) ?? 0;
    if (quantityBytes(need)! > have) out.push(`${BASE}.capacityRequirements.${field}: needs ${need}, this device has ${p[field]}`);
  }
  (constraints.eligibilityRules ?? []).forEach((rule, i) => {
    if (rule.propertySelector) out.push(...selectorProblems(rule.propertySelector, (key) => resolvePointer(p, key), `${BASE}.eligibilityRules[${i}].propertySelector`));
    if (rule.labelSelector) {
      out.push(...selectorProblems(rule.labelSelector, (key) => (Object.hasOwn(facts.labels, key) ? facts.labels[key] : undefined), `${BASE}.eligibilityRules[${i}].labelSelector`));
    }
  });
  return out;
}

/** Throws BH_ERR_FLEET_CONSTRAINT naming every unmet constraint. */
export function checkDeviceConstraints(constraints: DeviceConstraints | undefined, facts: DeviceFacts): void {
  const unmet = unmetConstraints(constraints, facts);
  if (unmet.length) throw new FleetApplyError('BH_ERR_FLEET_CONSTRAINT', `this device does not meet the deployment's constraints: ${unmet.join('; ')}`);
}
