// The loader and the policy never fail with anything but located problems. Real Compose files are
// mutated — values swapped for other types, keys dropped or renamed, items duplicated, long-syntax
// mounts and ports stripped of required parts, text cut or spliced — and each mutant goes through
// every stage `compose check` runs (YAML, interpolation, types, schema, references, policy) and,
// when it passes, through the engine request builder. The issue this answers: a long-syntax bind
// volume without a source crashed with `internal error: The "paths[0]" argument must be of type
// string`. Deterministic: a fixed seed, so a failure names its case and reproduces.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import YAML from 'yaml';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { planComposeSources } from '../../runtime/bridge/compose-project.js';
import { defaultVendorPolicy } from '../../runtime/bridge/container-policy.js';
import { containerCreateOptions } from '../../runtime/bridge/container-spec.js';
import { seededRandom } from '../support/seeded-random.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'compose');
const seeds = fs.readdirSync(fixtures).filter((f) => f.endsWith('.yaml')).sort().map((f) => ({ name: f, text: fs.readFileSync(path.join(fixtures, f), 'utf8') }));
const CODES = new Set(['BH_ERR_COMPOSE_INVALID', 'BH_ERR_COMPOSE_UNSUPPORTED', 'BH_ERR_POLICY']);
const policy = { ...defaultVendorPolicy('/var/lib/bulkhead/vendors/fuzz'), ports: { from: 1, to: 65535 } };


const ODD_VALUES: unknown[] = [null, 0, -1, 65536, 1.5, true, false, '', ' ', '${UNSET}', '${A:-${B:-x}}', '${X:?needed}', '$', '${', '~/x',
  '/etc', '../..', 'a:b:c:d', '80-82:80', '0.0.0.0:1:2', [], {}, [null], [{}], { type: 'bind' }, { type: 'bind', target: '/x' },
  { type: 'volume', source: 42 }, { target: 'relative' }, { type: 'image', source: 'x', target: '/y' }, 'x'.repeat(300), '\u0000\u202e', { '': 1 }];

function nodesOf(value: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (Array.isArray(value)) value.forEach((v, i) => nodesOf(v, [...at, i], out));
  else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) nodesOf(v, [...at, k], out);
  return out;
}

function mutateValue(doc: unknown, rnd: () => number): unknown {
  const copy = structuredClone(doc);
  const paths = nodesOf(copy).filter((p) => p.length > 0);
  const target = paths[Math.floor(rnd() * paths.length)];
  if (!target) return copy;
  let parent: unknown = copy;
  for (const part of target.slice(0, -1)) parent = (parent as Record<string | number, unknown>)[part];
  const key = target[target.length - 1]!;
  const p = parent as Record<string | number, unknown> & unknown[];
  const choice = Math.floor(rnd() * 5);
  if (choice === 0 && !Array.isArray(p)) delete p[key];
  else if (choice === 1 && Array.isArray(p[key])) (p[key] as unknown[]).push(...(p[key] as unknown[]));
  else if (choice === 2 && !Array.isArray(p)) { p[`${String(key)}_x`] = p[key]; delete p[key]; }
  else p[key] = structuredClone(ODD_VALUES[Math.floor(rnd() * ODD_VALUES.length)]);
  return copy;
}

function mutateText(text: string, rnd: () => number): string {
  const lines = text.split('\n');
  const i = Math.floor(rnd() * lines.length);
  switch (Math.floor(rnd() * 5)) {
    case 0: return text.slice(0, Math.floor(rnd() * text.length));
    case 1: lines.splice(i, 1); break;
    case 2: lines.splice(i, 0, lines[Math.floor(rnd() * lines.length)]!); break;
    case 3: lines[i] = `${lines[i]}${[' {', ': :', ' !reset', ' &a', ' *nope', ' ${', '\t', ' !override', ' <<: *x'][Math.floor(rnd() * 9)]}`; break;
    default: lines[i] = `  ${lines[i]}`;
  }
  return lines.join('\n');
}

function checkOne(text: string, label: string): 'clean' | 'problems' {
  let plan;
  try {
    plan = planComposeSources([{ name: 'compose.yaml', text }], { vendor: vendorId('Fuzz Vendor'), policy, variables: { A: '1' } }, '/pkg');
  } catch (err) {
    assert.unreachable(`${label}: threw ${(err as Error).stack}`);
    throw err;
  }
  for (const p of plan.problems) {
    assert.ok(CODES.has(p.code), `${label}: code ${p.code}`);
    assert.type(p.path, 'string', label);
    assert.ok(p.file === 'compose.yaml', `${label}: problem without its file: ${JSON.stringify(p)}`);
    assert.ok(p.message.length > 0 && !/\n\s+at |TypeError|ReferenceError|Cannot read prop|undefined is not|must be of type/.test(p.message), `${label}: ${p.message}`);
  }
  if (plan.problems.length) return 'problems';
  for (const enforced of plan.services) {
    try {
      containerCreateOptions(plan.identity, 'c', plan.file.services[enforced.name]!, enforced, (v) => `vol-${v}`, []);
    } catch (err) {
      assert.unreachable(`${label}: the engine request for ${enforced.name} threw ${(err as Error).stack}`);
    }
  }
  return 'clean';
}

test('the issue\'s crash: a long-syntax bind volume without a source is a located problem', () => {
  const plan = planComposeSources([{ name: 'compose.yaml', text: 'services:\n  web:\n    image: busybox\n    volumes:\n      - type: bind\n        target: /data\n' }],
    { vendor: vendorId('Fuzz Vendor'), policy }, '/pkg');
  assert.equal(plan.problems.map((p) => [p.code, p.file, p.line, p.service, p.path]), [['BH_ERR_COMPOSE_INVALID', 'compose.yaml', 5, 'web', 'services.web.volumes[0]']]);
  assert.match(plan.problems[0]!.message, /a bind mount needs a source/);
});

test('every mutant of every real file: located problems or a clean plan, never a thrown error', () => {
  const rnd = seededRandom(0x15c0de);
  const counts = { clean: 0, problems: 0 };
  for (const seed of seeds) {
    const doc = YAML.parse(seed.text);
    counts[checkOne(seed.text, seed.name)]++;
    for (let i = 0; i < 80; i++) {
      const mutant = i % 3 === 2 ? mutateText(seed.text, rnd) : YAML.stringify(mutateValue(doc, rnd));
      counts[checkOne(mutant, `${seed.name} mutant ${i}`)]++;
    }
  }
  // Both outcomes happen: the mutations are neither all harmless nor all fatal.
  if (process.env.FUZZ_COUNTS) console.log(counts);
  assert.ok(counts.clean > 10 && counts.problems > 100, JSON.stringify(counts));
});

test.run();
