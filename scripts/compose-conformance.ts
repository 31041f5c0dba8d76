// Runs real Compose files through what `bulkhead compose check` runs (planCompose: every stage
// and the isolation policy) and counts the outcomes. Two sets, read from checkouts (or the bare
// git mirrors under /work/.mirror, exported to a temporary directory); neither is vendored:
//   - docker/awesome-compose: each compose file without `build:` must be accepted or refused only
//     by named isolation rules (BH_ERR_POLICY), never by an unimplemented key or as malformed;
//     files with `build:` are counted apart (images cannot be built on a device);
//   - compose-spec/compose-go's loader fixtures (loader/testdata): the valid ones without build
//     pass or are refused by a named rule; the invalid ones (cycles, empty, remote) are refused.
// Usage: npm run conformance:compose -- [--awesome PATH] [--compose-go PATH] [--json] [-v]
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { planCompose } from '../runtime/bridge/compose-project.js';
import { defaultVendorPolicy } from '../runtime/bridge/container-policy.js';
import { problemLine } from '../runtime/bridge/compose-problems.js';
import { vendorId } from '../packages/trust/vendor-id.js';

const args = process.argv.slice(2);
const flag = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const verbose = args.includes('-v');

/** A checkout, or a bare mirror exported into a temporary directory; undefined (with a message) when neither is there. */
function source(label: string, given: string | undefined, mirror: string): string | undefined {
  if (given) return given;
  if (!fs.existsSync(mirror)) {
    console.log(`${label}: skipped (no checkout given and no mirror at ${mirror}; fetch the repository or pass its path)`);
    return undefined;
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `conformance-${label}-`));
  execFileSync('sh', ['-c', `git --git-dir="${mirror}" archive HEAD | tar -x -C "${dir}"`]);
  return dir;
}

// A vendor allowed a full port range: what is left to refuse is isolation, not port numbers.
const policy = { ...defaultVendorPolicy(path.join(os.tmpdir(), 'conformance-vendor')), ports: { from: 1, to: 65535 } };
const vendor = vendorId('Conformance Vendor');

type Outcome = 'accepted' | 'refused-by-policy' | 'refused-invalid' | 'refused-unsupported';
interface Result { file: string; build: boolean; expectInvalid: boolean; outcome: Outcome; rules: string[]; problems: string[] }

function run(file: string, expectInvalid: boolean): Result {
  const text = fs.readFileSync(file, 'utf8');
  const plan = planCompose({ files: [file], vendor, policy });
  const codes = new Set(plan.problems.map((p) => p.code));
  const outcome: Outcome = codes.has('BH_ERR_COMPOSE_INVALID') ? 'refused-invalid' : codes.has('BH_ERR_COMPOSE_UNSUPPORTED') ? 'refused-unsupported'
    : codes.has('BH_ERR_POLICY') ? 'refused-by-policy' : 'accepted';
  return {
    // build: in the file or in one it includes or extends.
    file, build: /^\s+build:/m.test(text) || plan.problems.some((p) => /^services\.[^.]+\.build$/.test(p.path)), expectInvalid, outcome,
    rules: [...new Set(plan.problems.filter((p) => p.rule).map((p) => p.rule!))].sort(), problems: plan.problems.map(problemLine),
  };
}

const results: { set: string; result: Result }[] = [];
const awesome = source('awesome-compose', flag('--awesome'), '/work/.mirror/docker+awesome-compose/repo');
if (awesome) {
  for (const dir of fs.readdirSync(awesome).sort()) {
    for (const name of ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml']) {
      const file = path.join(awesome, dir, name);
      if (fs.existsSync(file)) results.push({ set: 'awesome-compose', result: run(file, false) });
    }
  }
}
const composeGo = source('compose-go', flag('--compose-go'), '/work/.mirror/compose-spec+compose-go/repo');
if (composeGo) {
  const testdata = path.join(composeGo, 'loader', 'testdata');
  const walk = (dir: string): string[] => fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : /\.ya?ml$/.test(e.name) ? [path.join(dir, e.name)] : []));
  // What is invalid as written: dependency cycles (compose-depends-on-profile-no-cycle.yaml holds the
  // same cycle as its sibling and no profiles, and no compose-go test loads it), an empty file, an
  // include cycle, references through compose-go's test-only "remote:" loader.
  const invalid = /depends-on-cycle\.yaml|depends-on-profile-no-cycle|depends-on-self|include-cycle|empty\.yaml|remote\/cycle\/|remote\/nested\/compose\.yaml/;
  for (const file of walk(testdata).sort()) results.push({ set: 'compose-go', result: run(file, invalid.test(path.relative(testdata, file))) });
}

function summary(set: string) {
  const rs = results.filter((r) => r.set === set).map((r) => r.result);
  const valid = rs.filter((r) => !r.expectInvalid && !r.build);
  return {
    files: rs.length,
    withBuild: rs.filter((r) => r.build && !r.expectInvalid).length,
    validWithoutBuild: valid.length,
    accepted: valid.filter((r) => r.outcome === 'accepted').length,
    refusedByNamedRule: valid.filter((r) => r.outcome === 'refused-by-policy').length,
    failing: valid.filter((r) => r.outcome === 'refused-invalid' || r.outcome === 'refused-unsupported').map((r) => r.file),
    invalid: rs.filter((r) => r.expectInvalid).length,
    invalidRefused: rs.filter((r) => r.expectInvalid && r.outcome !== 'accepted').length,
    rules: [...new Set(valid.flatMap((r) => r.rules))].sort(),
  };
}

const report = Object.fromEntries(['awesome-compose', 'compose-go'].filter((s) => results.some((r) => r.set === s)).map((s) => [s, summary(s)]));
if (args.includes('--json')) console.log(JSON.stringify({ report, results }, null, 2));
else {
  for (const { set, result: r } of results) {
    const base = r.file.slice(r.file.indexOf(set === 'compose-go' ? 'loader' : path.basename(path.dirname(r.file))));
    console.log(`${set.padEnd(16)} ${r.outcome.padEnd(20)} ${r.build ? 'build ' : '      '}${r.expectInvalid ? 'expected-invalid ' : ''}${base}${r.rules.length ? ` [${r.rules.join(', ')}]` : ''}`);
    if (verbose || ((r.outcome === 'refused-invalid' || r.outcome === 'refused-unsupported') && !r.expectInvalid && !r.build)) for (const p of r.problems) console.log(`    ${p}`);
  }
  for (const [set, s] of Object.entries(report)) {
    console.log(`\n${set}: ${s.files} files; ${s.withBuild} with build: (out of scope); of ${s.validWithoutBuild} valid without build: ${s.accepted} accepted, ${s.refusedByNamedRule} refused by a named isolation rule (${s.rules.join(', ') || 'none'}), ${s.failing.length} refused otherwise; ${s.invalidRefused}/${s.invalid} invalid files refused`);
  }
}
const failed = Object.values(report).some((s) => s.failing.length > 0 || s.invalidRefused < s.invalid);
process.exitCode = failed ? 1 : 0;
