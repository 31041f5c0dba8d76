// Runs a checkout of the official WebAssembly wasi-testsuite (branch prod/testsuite-all, which
// carries prebuilt wasm32-wasip1 tests) against `bulkhead run`, and prints pass/fail per test and
// per suite. Usage: npm run conformance -- PATH_TO_WASI_TESTSUITE [--filter TEXT] [--json]
// The suite is never vendored into this repository; bring your own checkout.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const bulkhead = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'bin', 'bulkhead.js');
const TEST_TIMEOUT_MS = 10_000;

interface TestConfig {
  args?: string[];
  env?: Record<string, string>;
  dirs?: string[];
  exit_code?: number;
  stdout?: string;
  stderr?: string;
  operations?: unknown[];
}

interface TestResult { suite: string; test: string; passed: boolean; skipped?: string; failure?: string }

function cleanup(dir: string): void {
  if (!fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.name.endsWith('.cleanup')) fs.rmSync(full, { recursive: true, force: true });
    else if (entry.isDirectory() && !entry.isSymbolicLink()) cleanup(full);
  }
}

function runOne(wasm: string, config: TestConfig): Promise<{ code: number | null; stdout: string; stderr: string; timedOut: boolean }> {
  const cwd = path.dirname(wasm);
  const argv = [bulkhead, 'run'];
  for (const [k, v] of Object.entries(config.env ?? {})) argv.push('--env', `${k}=${v}`);
  for (const d of config.dirs ?? []) argv.push('--dir', `${path.join(cwd, d)}::${d}`);
  argv.push(wasm, ...(config.args ?? []));
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdin.end();
    const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL'); }, TEST_TIMEOUT_MS);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr, timedOut }); });
  });
}

async function runSuite(dir: string, filter: string | undefined, report: (r: TestResult) => void): Promise<TestResult[]> {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as { name: string };
  const results: TestResult[] = [];
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort()) {
    const test = file.replace(/\.wasm$/, '');
    if (filter && !test.includes(filter)) continue;
    const configPath = path.join(dir, `${test}.json`);
    const config: TestConfig = fs.existsSync(configPath) ? JSON.parse(fs.readFileSync(configPath, 'utf8')) : {};
    let result: TestResult;
    if (config.operations) {
      result = { suite: manifest.name, test, passed: false, skipped: 'uses scripted operations (sockets/http), not supported by this runner' };
    } else {
      for (const d of config.dirs ?? []) cleanup(path.join(dir, d));
      const run = await runOne(path.join(dir, file), config);
      const problems: string[] = [];
      if (run.timedOut) problems.push(`timed out after ${TEST_TIMEOUT_MS} ms`);
      else if (run.code !== (config.exit_code ?? 0)) problems.push(`exit code ${run.code}, expected ${config.exit_code ?? 0}`);
      if (config.stdout !== undefined && !run.stdout.startsWith(config.stdout)) problems.push(`stdout ${JSON.stringify(run.stdout.slice(0, 200))}, expected ${JSON.stringify(config.stdout)}`);
      if (config.stderr !== undefined && !run.stderr.startsWith(config.stderr)) problems.push(`stderr ${JSON.stringify(run.stderr.slice(0, 200))}, expected ${JSON.stringify(config.stderr)}`);
      if (problems.length > 0 && run.stderr) problems.push(`stderr: ${run.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`);
      result = { suite: manifest.name, test, passed: problems.length === 0, failure: problems.join('; ') || undefined };
      for (const d of config.dirs ?? []) cleanup(path.join(dir, d));
    }
    results.push(result);
    report(result);
  }
  return results;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const json = argv.includes('--json');
  const filterAt = argv.indexOf('--filter');
  const filter = filterAt >= 0 ? argv[filterAt + 1] : undefined;
  const suitePath = argv.find((a, i) => !a.startsWith('--') && argv[i - 1] !== '--filter');
  if (!suitePath || !fs.existsSync(path.join(suitePath, 'tests'))) {
    console.error('usage: npm run conformance -- PATH_TO_WASI_TESTSUITE [--filter TEXT] [--json]\n' +
      '  PATH is a checkout of the wasi-testsuite branch prod/testsuite-all (it has tests/*/testsuite/wasm32-wasip1)');
    process.exit(2);
  }
  const suites = fs.readdirSync(path.join(suitePath, 'tests'))
    .map((lang) => path.join(suitePath, 'tests', lang, 'testsuite', 'wasm32-wasip1'))
    .filter((d) => fs.existsSync(path.join(d, 'manifest.json')));
  const all: TestResult[] = [];
  for (const dir of suites) {
    all.push(...await runSuite(dir, filter, (r) => {
      if (json) return;
      const status = r.skipped ? 'SKIP' : r.passed ? 'PASS' : 'FAIL';
      console.log(`${status} ${r.suite} :: ${r.test}${r.failure ? `\n     ${r.failure}` : ''}${r.skipped ? ` (${r.skipped})` : ''}`);
    }));
  }
  const bySuite = new Map<string, { passed: number; failed: number; skipped: number }>();
  for (const r of all) {
    const s = bySuite.get(r.suite) ?? { passed: 0, failed: 0, skipped: 0 };
    if (r.skipped) s.skipped++; else if (r.passed) s.passed++; else s.failed++;
    bySuite.set(r.suite, s);
  }
  if (json) {
    console.log(JSON.stringify({ suites: Object.fromEntries(bySuite), tests: all }, null, 2));
  } else {
    console.log('\nsuite summary:');
    for (const [suite, s] of bySuite) console.log(`  ${suite}: ${s.passed} passed, ${s.failed} failed, ${s.skipped} skipped`);
    const total = [...bySuite.values()].reduce((a, s) => ({ p: a.p + s.passed, f: a.f + s.failed }), { p: 0, f: 0 });
    console.log(`total: ${total.p} passed, ${total.f} failed`);
  }
  process.exitCode = all.some((r) => !r.passed && !r.skipped) ? 1 : 0;
}

await main();
