import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jsonPointerToPath, ManifestError, parseApplicationDescription, referencedFiles, vendorOf } from '../../packages/manifest/application-description.js';
import type { ManifestLimits } from '../../packages/manifest/manifest-limits.js';
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

function refusal(text: string, limits?: ManifestLimits): ManifestError {
  try {
    parseApplicationDescription(text, 'margo.yaml', limits);
  } catch (err) {
    assert.instance(err, ManifestError);
    return err as ManifestError;
  }
  throw new Error('expected a ManifestError');
}

const manyKeys = (n: number) => `${manifestYaml({})}configuration:\n${Array.from({ length: n }, (_, i) => `  k${i}: ${i}`).join('\n')}\n`;

test('a 60k-key manifest is refused before parsing, quickly (issue 12: it hung install and inspect)', () => {
  const t0 = performance.now();
  const e = refusal(manyKeys(60_000));
  assert.ok(e.limit, 'refused by a limit, not by the parser');
  assert.match(e.problems[0]!, /over the limit of 262144 \(manifest\.maxBytes in the device policy\); not parsed/);
  // Under the size limit but over the node limit: the lexer's count refuses it.
  const e2 = refusal(manyKeys(60_000), { maxBytes: 4 * 1024 * 1024, maxNodes: 10_000 });
  assert.ok(e2.limit);
  assert.match(e2.problems[0]!, /more than 10000 YAML nodes \(manifest\.maxNodes/);
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
});

test('a 50 MB manifest is refused by its size, before parsing', () => {
  const t0 = performance.now();
  const e = refusal(`${manifestYaml({})}description: "${'x'.repeat(50 * 1024 * 1024)}"\n`);
  assert.ok(e.limit);
  assert.match(e.problems[0]!, /^\d{8} bytes, over the limit of 262144/);
  assert.ok(performance.now() - t0 < 5000, `took ${performance.now() - t0} ms`);
});

test('node count: a small flow sequence with many items is refused', () => {
  const text = `${manifestYaml({})}configuration: { xs: [${Array.from({ length: 12_000 }, () => '1').join(',')}] }\n`;
  assert.ok(text.length < 256 * 1024);
  const e = refusal(text);
  assert.ok(e.limit);
  assert.match(e.problems[0]!, /more than 10000 YAML nodes/);
});

test('duplicate keys are found by one linear pass, however late (timing: bench/manifest-parse.bench.ts)', () => {
  const e = refusal(`${manyKeys(3_000)}  k17: again\n`);
  assert.not.ok(e.limit);
  assert.match(e.problems[0]!, /^YAML: map keys must be unique; "k17" appears twice \(line \d+\)/);
  assert.match(problems('a:\n  b: 1\n  c: { b: 2, b: 3 }\n')[0]!, /"b" appears twice \(line 3\)/);
});

test('thousands of schema errors are listed up to 20, not deduplicated pairwise', () => {
  const p = problems(manyKeys(4_000));
  assert.is(p.length, 21);
  assert.is(p[0], 'configuration: unknown key "k0"');
  assert.is(p[20], '... and 3980 more problems');
});

test('keys that become the same property are duplicates; collection keys, extra documents and alias bombs are refused', () => {
  assert.match(problems('1: a\n"1": b\n')[0]!, /"1" appears twice/);
  assert.match(problems('? [a]\n: b\n')[0]!, /keys must be plain values/);
  assert.match(problems('a: 1\n---\nb: 2\n')[0]!, /^YAML: .*multiple documents/);
  const bomb = `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`;
  assert.match(problems(bomb)[0]!, /^YAML: .*[Aa]lias/);
});

test('json pointers become readable paths', () => {
  assert.is(jsonPointerToPath('/deploymentProfiles/1/components/0/properties'), 'deploymentProfiles[1].components[0].properties');
  assert.is(jsonPointerToPath(''), '(document)');
});

test.run();
