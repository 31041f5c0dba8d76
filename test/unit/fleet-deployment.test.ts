// ApplicationDeployment validation and deviceConstraints, without a registry or engine: every
// refusal names the field, bounded parsing holds for hostile documents, and the constraint
// operators decide as documented in runtime/fleet/device-constraints.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { DEFAULT_MANIFEST_LIMITS } from '../../packages/manifest/manifest-limits.js';
import { FleetApplyError } from '../../runtime/fleet/apply-errors.js';
import { parseApplicationDeployment } from '../../runtime/fleet/application-deployment.js';
import { checkDeviceConstraints, unmetConstraints } from '../../runtime/fleet/device-constraints.js';
import { WASM_LABEL as WASM_RUNTIME_LABEL } from '../../runtime/fleet/device-capabilities.js';
import { machineFacts, quantityBytes, type DeviceFacts } from '../../runtime/fleet/device-facts.js';
import { deploymentKind, matchPackage } from '../../runtime/fleet/package-match.js';
import { deploymentDocument } from '../support/application-deployments.js';
import { tempDir } from '../support/paths.js';

const ID = 'a3e2f5dc-912e-494f-8395-52cf3769bc06';
const base = () => deploymentDocument({ id: ID, applicationId: 'acme-app', repository: 'oci://127.0.0.1:5000/acme/app', components: ['main'] });
const parse = (doc: unknown, id = ID) => parseApplicationDeployment(Buffer.from(typeof doc === 'string' ? doc : YAML.stringify(doc)), id, DEFAULT_MANIFEST_LIMITS);

function refusal(fn: () => unknown): FleetApplyError {
  try {
    fn();
  } catch (err) {
    assert.instance(err, FleetApplyError);
    return err as FleetApplyError;
  }
  throw new Error('expected a refusal');
}

test('a valid deployment parses; custom, x-bulkhead-wasm and compose are run, helm is refused by name', () => {
  const d = parse(base());
  assert.is(d.spec.applicationId, 'acme-app');
  assert.is(deploymentKind('custom'), 'wasm');
  assert.is(deploymentKind('x-bulkhead-wasm'), 'wasm');
  assert.is(deploymentKind('compose'), 'compose');
  const e = refusal(() => deploymentKind('helm'));
  assert.is(e.code, 'BH_ERR_FLEET_UNSUPPORTED');
  assert.match(e.message, /spec\.deploymentProfile\.type: "helm" is not run on this device/);
});

test('each invalid field is located by its path', () => {
  const cases: [string, (d: any) => void, RegExp][] = [
    ['revision', (d) => { d.spec.deploymentProfile.components[0].properties.revision = 'v1.0'; }, /spec\.deploymentProfile\.components\[0\]\.properties\.revision: "v1\.0" must be a SemVer 2\.0 version/],
    ['repository', (d) => { d.spec.deploymentProfile.components[0].properties.repository = 'https://x/y'; }, /components\[0\]\.properties\.repository: "https:\/\/x\/y" must be an OCI reference with the oci:\/\/ scheme/],
    ['unknown key', (d) => { d.spec.bogus = 1; }, /spec: unknown key "bogus"/],
    ['missing', (d) => { delete d.metadata.deviceId; }, /metadata: missing required key "deviceId"/],
    ['applicationId', (d) => { d.spec.applicationId = 'Bad_Id'; }, /spec\.applicationId: "Bad_Id" does not match/],
    ['timeout', (d) => { d.spec.deploymentProfile.components[0].properties.timeout = '90s'; }, /properties\.timeout: "90s" must be minutes and seconds/],
    ['operator', (d) => { d.spec.deploymentProfile.deviceConstraints = { eligibilityRules: [{ labelSelector: { matchExpressions: [{ key: 'a', operator: 'Equals' }] } }] }; }, /eligibilityRules\[0\]\.labelSelector\.matchExpressions\[0\]\.operator: must be one of/],
    ['In without values', (d) => { d.spec.deploymentProfile.deviceConstraints = { eligibilityRules: [{ labelSelector: { matchExpressions: [{ key: 'a', operator: 'In' }] } }] }; }, /matchExpressions\[0\]: missing required key "values"/],
    ['parameter target', (d) => { d.spec.parameters = { p: { value: '1', targets: [{ pointer: 'P', components: ['nope'] }] } }; }, /spec\.parameters\.p\.targets\[0\]\.components\[0\]: no component named "nope"/],
    ['served under another id', (d) => { d.metadata.annotations.id = 'someone-else'; }, /metadata\.annotations\.id: "someone-else" is not the deployment id it was served as/],
    ['duplicate component', (d) => { d.spec.deploymentProfile.components.push(d.spec.deploymentProfile.components[0]); }, /components\[1\]\.name: "main" appears twice/],
  ];
  for (const [what, change, expected] of cases) {
    const d = base();
    change(d);
    const e = refusal(() => parse(d));
    assert.is(e.code, 'BH_ERR_FLEET_INVALID', what);
    assert.match(e.message, expected, what);
    assert.not.match(e.message, /\n/, `${what}: one line`);
  }
});

test('hostile documents: duplicate keys, alias bombs, oversize, node floods and non-UTF-8 are refused before use', () => {
  const text = YAML.stringify(base());
  assert.match(refusal(() => parse(`${text}kind: ApplicationDeployment\n`)).message, /map keys must be unique; "kind" appears twice/);
  const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
  assert.match(refusal(() => parse(bomb)).message, /YAML: /);
  assert.match(refusal(() => parse(`${text}# ${'x'.repeat(DEFAULT_MANIFEST_LIMITS.maxBytes)}\n`)).message, /over the limit of 262144.*not parsed/);
  assert.match(refusal(() => parse(`x: [${'1,'.repeat(20_000)}1]\n`)).message, /more than 10000 YAML nodes/);
  const bad = parseApplicationDeployment.bind(null, Buffer.from([0x6b, 0x3a, 0x20, 0xff, 0xfe]), ID, DEFAULT_MANIFEST_LIMITS);
  assert.match(refusal(bad).message, /not UTF-8/);
  assert.match(refusal(() => parse('- a list\n')).message, /must be a mapping/);
});

const facts = (): DeviceFacts => ({
  properties: {
    id: 'test-device', vendor: 'Bulkhead Labs', modelNumber: 'BH-1', serialNumber: 'S1',
    cpus: [{ cores: 2, architecture: 'amd64' }], memory: '4096Mi', storage: '10240Mi', peripherals: [],
    interfaces: [{ type: 'ethernet' }], otelCollector: false, supportedRuntimes: ['oci', 'custom'], supportedDeploymentTypes: ['compose', 'custom'],
  },
  labels: { [WASM_RUNTIME_LABEL]: true, site: 'plant-7', zones: ['a', 'b'] },
});

test('capacity requirements: each unmet one is named with what the device has', () => {
  const unmet = unmetConstraints({ capacityRequirements: { cpu: { cores: 4, architectures: ['arm64'] }, memory: '8Gi', storage: '1Ti' } }, facts());
  assert.equal(unmet, [
    'spec.deploymentProfile.deviceConstraints.capacityRequirements.cpu.cores: needs 4, this device has 2',
    'spec.deploymentProfile.deviceConstraints.capacityRequirements.cpu.architectures: needs one of arm64, this device is amd64',
    'spec.deploymentProfile.deviceConstraints.capacityRequirements.memory: needs 8Gi, this device has 4096Mi',
    'spec.deploymentProfile.deviceConstraints.capacityRequirements.storage: needs 1Ti, this device has 10240Mi',
  ]);
  assert.equal(unmetConstraints({ capacityRequirements: { cpu: { cores: 1.5, architectures: ['amd64', 'arm64'] }, memory: '4Gi', storage: '10Gi' } }, facts()), []);
  const e = refusal(() => checkDeviceConstraints({ capacityRequirements: { memory: '5Gi' } }, facts()));
  assert.is(e.code, 'BH_ERR_FLEET_CONSTRAINT');
});

test('eligibility rules: properties by JSON Pointer, labels by exact key, every operator', () => {
  const rule = (propertySelector?: unknown, labelSelector?: unknown) => ({ eligibilityRules: [{ propertySelector, labelSelector }] as any });
  const expr = (key: string, operator: string, extra: object = {}) => ({ matchExpressions: [{ key, operator, ...extra }] });
  const holds: [string, unknown][] = [
    ['In property', rule(expr('/vendor', 'In', { values: ['Bulkhead Labs', 'Other'] }))],
    ['In boolean label as YAML text', rule(undefined, expr(WASM_RUNTIME_LABEL, 'In', { values: ['true'] }))],
    ['NotIn missing', rule(undefined, expr('absent', 'NotIn', { values: ['x'] }))],
    ['Exists', rule(undefined, expr('site', 'Exists'))],
    ['DoesNotExist', rule(expr('/nothing', 'DoesNotExist'))],
    ['Gt quantity', rule(expr('/memory', 'Gt', { values: ['2Gi'] }))],
    ['Lt number', rule(expr('/cpus/0/cores', 'Lt', { values: [3] }))],
    ['ContainsAny itemSelector', rule(expr('/interfaces', 'ContainsAny', { itemSelector: expr('/type', 'In', { values: ['ethernet'] }) }))],
    ['ContainsAll values', rule(undefined, expr('zones', 'ContainsAll', { values: ['a', 'b'] }))],
  ];
  for (const [what, c] of holds) assert.equal(unmetConstraints(c as any, facts()), [], what);
  const fails: [string, unknown, RegExp][] = [
    ['In', rule(expr('/vendor', 'In', { values: ['EdgeCircuit Systems'] })), /eligibilityRules\[0\]\.propertySelector\.matchExpressions\[0\] \("\/vendor" In\): "\/vendor" is "Bulkhead Labs", not one of "EdgeCircuit Systems"/],
    ['NotIn', rule(undefined, expr('site', 'NotIn', { values: ['plant-7'] })), /labelSelector.*"site" is "plant-7", which the rule excludes/],
    ['Exists', rule(undefined, expr('gpu', 'Exists')), /"gpu" is not reported by this device/],
    ['Gt', rule(expr('/memory', 'Gt', { values: ['8Gi'] })), /"\/memory" is "4096Mi", not greater than "8Gi"/],
    ['ContainsAll itemSelector', rule(expr('/interfaces', 'ContainsAny', { itemSelector: expr('/type', 'In', { values: ['wifi'] }) })), /no element of .* matches the itemSelector/],
    ['not a list', rule(undefined, expr('site', 'ContainsAny', { values: ['x'] })), /"site" is "plant-7", not a list/],
    ['pointer is not a key', rule(expr('vendor', 'Exists')), /"vendor" is not reported/],
  ];
  for (const [what, c, expected] of fails) {
    const unmet = unmetConstraints(c as any, facts());
    assert.is(unmet.length, 1, what);
    assert.match(unmet[0]!, expected, what);
  }
});

test('the facts checked are the capability report: this machine, the join\'s device id and labels, and the wasm label', () => {
  const f = machineFacts(tempDir(), 'dev-1', { site: 'x', [WASM_RUNTIME_LABEL]: 'no' });
  assert.is(f.properties.id, 'dev-1');
  assert.ok(f.properties.cpus[0]!.cores >= 1);
  assert.ok(quantityBytes(f.properties.memory)! > 0);
  assert.ok(quantityBytes(f.properties.storage)! > 0);
  assert.equal(f.properties.supportedDeploymentTypes, ['compose', 'custom']);
  assert.is(f.labels[WASM_RUNTIME_LABEL], true, 'our label wins over an operator label of the same key');
  assert.is(f.labels.site, 'x');
});

test('the package decides where parameters go: a target it does not declare is refused', () => {
  const manifest = {
    metadata: { id: 'acme-app', version: '1.0.0' },
    deploymentProfiles: [{ type: 'x-bulkhead-wasm', components: [{ name: 'main' }] }],
    parameters: { samples: { value: '12', targets: [{ pointer: 'samples', components: ['main'] }] } },
  } as any;
  const d = base() as any;
  d.spec.parameters = { samples: { value: 20, targets: [{ pointer: 'samples', components: ['main'] }] } };
  assert.equal(matchPackage(parse(d), manifest), { samples: '20' });
  d.spec.parameters.samples.targets[0].pointer = 'admin_password';
  const e = refusal(() => matchPackage(parse(d), manifest));
  assert.is(e.code, 'BH_ERR_FLEET_PACKAGE');
  assert.match(e.message, /spec\.parameters\.samples\.targets\[0\]\.components\[0\]: package acme-app does not put samples at "admin_password" of "main"/);
  d.spec.parameters = { other: { value: 1, targets: [] } };
  assert.match(refusal(() => matchPackage(parse(d), manifest)).message, /spec\.parameters\.other: package acme-app declares no parameter "other"/);
  d.spec.parameters = {};
  d.spec.applicationId = 'globex-app';
  d.metadata.annotations.applicationId = 'globex-app';
  assert.match(refusal(() => matchPackage(parse(d), manifest)).message, /spec\.applicationId: the deployment asks for "globex-app", the package is "acme-app"/);
});

test.run();
