// Fuzzing the CLI's parsers with a fixed seed (issue 11: 75 of 303 fuzzed inputs gave multi-line
// errors). Hundreds of hostile inputs go through the real `main` in-process: flags of `run`,
// device policies, package manifests, and stray arguments. Every failure must be one line on
// stderr, never a stack trace or an internal error, and exit with a documented code.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { main } from '../../runtime/cli/main.js';
import { sample, tempDir } from '../support/paths.js';
import { seededRandom } from '../support/seeded-random.js';

const SEED = 0x5eed11;
const KNOWN_EXIT_CODES = new Set([0, 1, 125]);

const random = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;

const NASTY = ['', ' ', '\n', 'line one\nline two', '\t', '-', '--', '-1', '0', '1e400', 'NaN', 'Infinity', '0x10', '99999999999999999999GiB',
  '100000GiB', '4GiB', '64KiB', '1.5.5', '10q', '5 s', '1ms', '1h', '99999h', '../..', '/', '/proc/nope', '/dev/null', '::', ':ro', 'a::b::c',
  'X=', '=x', 'A=B=C', 'é', '💥', '%s%n', '${HOME}', '"', "'", '[', ']', '{', '}', ': :', '- -', 'a'.repeat(3000), '\u202e', 'null', 'true', '~'];
const nasty = () => (random() < 0.2 ? pick(NASTY) + pick(NASTY) : pick(NASTY));

interface Outcome { code: number; stdout: string; stderr: string }

async function runMain(args: string[]): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array) => { stdout += chunk.toString(); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array) => { stderr += chunk.toString(); return true; }) as typeof process.stderr.write;
  process.exitCode = undefined;
  // main() adds an EPIPE handler to stdout per call: one process runs it hundreds of times here.
  const listeners = process.stdout.listeners('error');
  try {
    await main(['node', 'bulkhead', ...args]);
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
    for (const l of process.stdout.listeners('error')) if (!listeners.includes(l)) process.stdout.off('error', l as () => void);
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return { code, stdout, stderr };
}

function check(args: string[], o: Outcome): void {
  const what = JSON.stringify(args).slice(0, 300);
  assert.ok(KNOWN_EXIT_CODES.has(o.code), `${what}: exit ${o.code}: ${o.stderr}`);
  assert.not.match(o.stderr, /internal error/, `${what}: ${o.stderr}`);
  assert.not.match(o.stderr, /\n\s+at /, `${what}: a stack trace`);
  if (o.code !== 0) {
    // One line per error: each line is a whole error, never a code frame or a continuation.
    const lines = o.stderr.split('\n').filter((l) => l !== '');
    assert.ok(lines.length >= 1, `${what}: no message`);
    for (const line of lines) assert.match(line, /^(bulkhead|error): /, `${what}: not an error line: ${JSON.stringify(line.slice(0, 200))}`);
    if (lines.length > 1) {
      const head = (l: string) => l.slice(0, l.indexOf(': ', 'bulkhead: '.length));
      assert.ok(lines.every((l) => head(l) === head(lines[0]!)), `${what}: unrelated lines: ${o.stderr.slice(0, 500)}`);
    }
    assert.ok(o.stderr.endsWith('\n'));
  }
}

const work = tempDir('bulkhead-fuzz-');
const notWasm = path.join(work, 'not.wasm');
fs.writeFileSync(notWasm, 'not wasm at all');

test('run: 120 fuzzed flag values', async () => {
  const flags = ['--max-memory', '--timeout', '--dir', '--dir-ro', '--env', '--isolation'];
  for (let i = 0; i < 120; i++) {
    const args = ['run', pick(flags), nasty(), ...(random() < 0.3 ? [pick(flags), nasty()] : []), random() < 0.8 ? notWasm : nasty()];
    check(args, await runMain(args));
  }
});

const VALID_POLICY = `vendors:
  ACME:
    dataRoot: /tmp/x
    ports: { from: 9000, to: 9010 }
    wasm: { fsWritable: true, memory: 32Mi, cpu: 0.5, cpuWindow: 1s, maxInstances: 3, publish: ["a/#"] }
signatures: { minSignatures: 1 }
`;

/** A mutation of a valid document: a line replaced, a token swapped, syntax broken. */
function mutate(doc: string): string {
  const lines = doc.split('\n');
  const i = Math.floor(random() * lines.length);
  switch (Math.floor(random() * 6)) {
    case 0: lines[i] = `${lines[i]} ${nasty()}`; break;
    case 1: lines.splice(i, 0, `${' '.repeat(Math.floor(random() * 6))}${nasty() || 'x'}: ${nasty()}`); break;
    case 2: lines[i] = lines[i]!.replace(/:\s*[^,{}]+/, `: ${nasty()}`); break;
    case 3: lines[i] = lines[i]!.replace(/[a-z]+/i, nasty()); break;
    case 4: lines[i] = `\t${lines[i]}`; break;
    default: lines.splice(i, 1, lines[i]!, lines[i]!); // duplicate key
  }
  return lines.join('\n');
}

test('policy.yaml: 100 mutated policies', async () => {
  for (let i = 0; i < 100; i++) {
    const dir = path.join(work, `policy-${i}`);
    fs.mkdirSync(dir);
    const doc = mutate(random() < 0.3 ? mutate(VALID_POLICY) : VALID_POLICY);
    fs.writeFileSync(path.join(dir, 'policy.yaml'), doc);
    const args = ['--data-dir', dir, 'audit'];
    check([...args, doc], await runMain(args));
  }
});

const VALID_MANIFEST = `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata:
  id: fuzz-app
  name: Fuzz App
  version: 1.0.0
  catalog:
    organization:
      - name: ACME
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - name: hello
        properties:
          module: components/hello.wasm
          limits: { memory: 4Mi }
`;

test('margo.yaml: 60 mutated manifests through pack', async () => {
  for (let i = 0; i < 60; i++) {
    const dir = path.join(work, `pkg-${i}`);
    fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
    fs.copyFileSync(sample('hello-as/build/hello.wasm'), path.join(dir, 'components', 'hello.wasm'));
    const doc = mutate(random() < 0.3 ? mutate(VALID_MANIFEST) : VALID_MANIFEST);
    fs.writeFileSync(path.join(dir, 'margo.yaml'), doc);
    const args = ['pack', dir, '-o', path.join(work, `pkg-${i}.bhpkg`)];
    check([...args, doc], await runMain(args));
  }
});

test('stray arguments and options: 60 fuzzed command lines', async () => {
  const dataDir = path.join(work, 'device');
  const verbs = [['status'], ['logs'], ['audit', '--tail'], ['audit', '--vendor'], ['trust', 'remove'], ['inspect'], ['verify'], ['status', '--bogus'], ['logs', 'x', '--tail']];
  for (let i = 0; i < 60; i++) {
    const args = ['--data-dir', dataDir, ...pick(verbs), nasty(), ...(random() < 0.3 ? [nasty()] : [])];
    check(args, await runMain(args));
  }
});

test.run();
