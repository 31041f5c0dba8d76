import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonPointerToPath, ManifestError, parseApplicationDescription, referencedFiles, vendorOf } from '../../packages/manifest/application-description.js';
import { manifestYaml } from '../support/package-fixtures.js';

function problems(text: string): string[] {
  try {
    parseApplicationDescription(text);
  } catch (err) {
    assert.instance(err, ManifestError);
    return (err as ManifestError).problems;
  }
  throw new Error('expected a ManifestError');
}

test('a valid description parses, with its vendor and referenced files', () => {
  const app = parseApplicationDescription(manifestYaml({ vendor: 'ACME Industrial', files: {} }));
  assert.is(vendorOf(app), 'ACME Industrial');
  assert.equal(referencedFiles(app), ['components/hello.wasm']);
});

test('errors name the path in the document', () => {
  const p = problems(manifestYaml({ id: 'Bad_Id', version: 'one' }).replace('module: components/hello.wasm', 'module: ../../etc/passwd\n          isolation: vm'));
  assert.ok(p.some((x) => x.startsWith('metadata.id: "Bad_Id" does not match')), p.join('\n'));
  assert.ok(p.some((x) => x.startsWith('metadata.version: "one"')), p.join('\n'));
  assert.ok(p.includes('deploymentProfiles[0].components[0].properties.module: "../../etc/passwd" must be a relative path inside the package (no leading "/", no "..")'), p.join('\n'));
  assert.ok(p.some((x) => x.startsWith('deploymentProfiles[0].components[0].properties.isolation: must be one of')), p.join('\n'));
});

test('unknown keys and unknown profile types are errors, not silently dropped', () => {
  const p = problems(manifestYaml({}).replace('kind: ApplicationDescription', 'kind: ApplicationDescription\nextra: 1').replace('type: x-bulkhead-wasm', 'type: kubernetes'));
  assert.ok(p.includes('(document): unknown key "extra"'), p.join('\n'));
  assert.ok(p.some((x) => x.startsWith('deploymentProfiles[0].type: must be one of')), p.join('\n'));
});

test('organization is required (it is the vendor identity)', () => {
  const p = problems(manifestYaml({}).replace(/    organization:\n      - name: "Vendor A"\n/, '    author: [{name: x}]\n'));
  assert.ok(p.includes('metadata.catalog: missing required key "organization"'), p.join('\n'));
});

test('compose components need a source; parameters must target existing components', () => {
  const text = manifestYaml({}) + `  - type: compose
    components:
      - name: web
        properties: {}
parameters:
  level:
    value: 3
    targets: [{ pointer: LEVEL, components: [nope] }]
`;
  const p = problems(text);
  assert.ok(p.includes('deploymentProfiles[1].components[0].properties: needs one of: repository + revision, archive, or packageLocation'), p.join('\n'));
  const fixed = text.replace('properties: {}', 'properties: { archive: compose/web.tar.gz }');
  assert.equal(problems(fixed), ['parameters.level.targets[0].components[0]: no component named "nope"']);
});

test('YAML errors and duplicate keys are reported, not thrown raw', () => {
  assert.match(problems('apiVersion: [unclosed')[0]!, /^YAML: /);
  assert.match(problems('kind: a\nkind: b\n')[0]!, /^YAML: .*unique/i);
  assert.equal(problems('- just\n- a list\n'), ['(document): must be a mapping (key: value pairs)']);
});

test('json pointers become readable paths', () => {
  assert.is(jsonPointerToPath('/deploymentProfiles/1/components/0/properties'), 'deploymentProfiles[1].components[0].properties');
  assert.is(jsonPointerToPath(''), '(document)');
});

test.run();
