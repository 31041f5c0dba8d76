// Runs the uvu test groups and ends with the line CI reads: "N passed, N failed[, N skipped]".
// Usage: run-tests.ts unit|integration|all
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const groups = { unit: ['test/unit'], integration: ['test/integration'], all: ['test/unit', 'test/integration'] };
const which = (process.argv[2] ?? 'all') as keyof typeof groups;
if (!(which in groups)) {
  console.error(`usage: run-tests.ts ${Object.keys(groups).join('|')}`);
  process.exit(2);
}

let passed = 0;
let failed = 0;
let skipped = 0;
for (const dir of groups[which]) {
  console.log(`\n== ${dir}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', path.join(root, 'node_modules/uvu/bin.js'), dir, '\\.test\\.ts$'], {
    cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, FORCE_COLOR: '0' },
  });
  process.stdout.write(run.stdout);
  const plain = run.stdout.replace(/\u001b\[[0-9;]*m/g, '');
  const count = (label: string) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 0);
  const total = count('Total');
  const ok = count('Passed');
  const skip = count('Skipped');
  passed += ok;
  skipped += skip;
  let bad = total - ok - skip;
  // A file that fails to load makes uvu exit non-zero without counting it: count that as a failure.
  if (run.status !== 0 && bad === 0) bad = 1;
  failed += bad;
}
console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exitCode = failed > 0 ? 1 : 0;
