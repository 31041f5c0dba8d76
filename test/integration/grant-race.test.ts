// Issue 9, items 1 and 2: grant directories must be resolved once, beneath the vendor's root, and
// used only through that handle. Real components (samples/vendors/rogue-swap.c) in real sandbox
// threads, a real SQLite file: app A of vendor Rogue swaps a directory for a symlink to the victim
// vendor's store while app B, granted that directory, starts; a planted symlink tries to make the
// daemon create a directory in the victim's root. Neither may read or write the victim's files.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { AppHost } from '../../runtime/apps/app-host.js';
import { loadDevicePolicy } from '../../runtime/state/device-policy.js';
import { openStateDb } from '../../runtime/state/state-db.js';
import { vendorDirName } from '../../runtime/state/vendor-names.js';
import { runCli, sample, tempDir } from '../support/paths.js';

const ROGUE = 'Rogue Swap Labs';
const VICTIM = 'Victim Works';
const dataDir = tempDir('bulkhead-grant-race-');
fs.writeFileSync(path.join(dataDir, 'policy.yaml'), `vendors:
  ${ROGUE}:
    wasm: { fsWritable: true, maxInstances: 8, cpu: 1 }
  ${VICTIM}:
    wasm: { fsWritable: true }
`);
const rogueRoot = path.join(dataDir, 'vendors', vendorDirName(vendorId(ROGUE)));
const victimRoot = path.join(dataDir, 'vendors', vendorDirName(vendorId(VICTIM)));
const victimStore = path.join(victimRoot, 'store');
/** From a directory directly inside the rogue's root: up to vendors/, into the victim's store. */
const toVictim = `../../${vendorDirName(vendorId(VICTIM))}/store`;

const lines = new Map<string, string[]>();
const db = openStateDb(dataDir);
let afterPlan: ((appId: string) => void) | undefined;
const host = new AppHost({
  dataDir, db, policy: () => loadDevicePolicy(dataDir),
  onEvent: (e) => { if (e.kind === 'log') lines.set(e.row.appId, [...(lines.get(e.row.appId) ?? []), e.row.message]); },
  afterPlan: (plan) => afterPlan?.(plan.appId),
});

function app(appId: string, args: string[], fsGrant: string) {
  const dir = path.join(dataDir, 'src', appId);
  fs.mkdirSync(path.join(dir, 'components'), { recursive: true });
  fs.copyFileSync(sample('vendors/build/rogue-swap.wasm'), path.join(dir, 'components', 'rogue-swap.wasm'));
  fs.writeFileSync(path.join(dir, 'margo.yaml'), `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata: { id: ${appId}, name: ${appId}, version: 1.0.0, catalog: { organization: [{ name: ${ROGUE} }] } }
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - name: main
        properties:
          module: components/rogue-swap.wasm
          args: ${JSON.stringify(args)}
          capabilities: { fs: [{ guest: /data, path: ${fsGrant}, mode: rw }] }
`);
  return { appId, version: '1.0.0', vendor: ROGUE, digest: '', path: dir, installedAt: '' };
}

async function run(pkg: ReturnType<typeof app>): Promise<string[]> {
  lines.delete(pkg.appId);
  await host.start(pkg);
  await host.ended(pkg.appId);
  host.flushLogs();
  return lines.get(pkg.appId) ?? [];
}

/** The victim's store is exactly as the test made it: its secret, nothing else. */
function assertVictimUntouched(): void {
  assert.equal(fs.readdirSync(victimStore), ['secret.txt'], 'nothing was created in the victim vendor\'s store');
  assert.is(fs.readFileSync(path.join(victimStore, 'secret.txt'), 'utf8'), 'VICTIM-SECRET\n');
}

/** rt-swap/inner as a fresh real directory holding the rogue's own decoy secret. */
function resetSwapScene(): void {
  const base = path.join(rogueRoot, 'rt-swap');
  fs.rmSync(base, { recursive: true, force: true });
  fs.mkdirSync(path.join(base, 'inner'), { recursive: true });
  fs.writeFileSync(path.join(base, 'inner', 'secret.txt'), 'ROGUE-OWN\n');
}

const openFds = () => fs.readdirSync('/proc/self/fd').length;

test.before(() => {
  fs.mkdirSync(victimStore, { recursive: true });
  fs.writeFileSync(path.join(victimStore, 'secret.txt'), 'VICTIM-SECRET\n');
});

test.after(async () => {
  await host.close();
  db.close();
});

test('deterministic: inner swapped for a symlink to the victim between plan and open; B still gets the directory that was checked', async () => {
  resetSwapScene();
  const reader = app('swap-reader', ['read'], 'rt-swap/inner');
  const base = path.join(rogueRoot, 'rt-swap');
  // Exactly what app A does, at the worst moment: after the daemon checked and before the sandbox opens.
  afterPlan = (appId) => {
    if (appId !== 'swap-reader') return;
    fs.renameSync(path.join(base, 'inner'), path.join(base, 'inner.away'));
    fs.symlinkSync(toVictim, path.join(base, 'inner'));
  };
  try {
    const out = await run(reader);
    assert.ok(out.includes('read: ROGUE-OWN'), `B read through its handle: ${out.join(' | ')}`);
    assert.not.ok(out.some((l) => l.includes('VICTIM-SECRET')), out.join(' | '));
    assert.ok(fs.existsSync(path.join(base, 'inner.away', 'written-by-b.txt')), 'B wrote into the directory it was granted (now renamed)');
    assertVictimUntouched();
  } finally {
    afterPlan = undefined;
  }
});

test('race: app A swaps inner for a symlink to the victim again and again while app B is planned and started', async () => {
  const swapper = app('swapper', ['swap', 'inner', toVictim, '100'], 'rt-swap');
  const reader = app('race-reader', ['read'], 'rt-swap/inner');
  const fdsBefore = openFds();
  // Bounded: a few seconds, or fewer once the window has been hit a few times.
  const deadline = Date.now() + 8000;
  let rounds = 0;
  let throughHandle = 0;
  while (Date.now() < deadline && rounds < 60 && !(throughHandle >= 3 && rounds >= 8)) {
    resetSwapScene();
    // A's job holds the vendor's thread while it swaps; B is planned (grants resolved) meanwhile,
    // and its instance runs after A has left the symlink in place.
    await host.start(swapper);
    const [out] = await Promise.all([run(reader), host.ended('swapper')]);
    assert.not.ok(out.some((l) => l.includes('VICTIM-SECRET')), `round ${rounds}: ${out.join(' | ')}`);
    assertVictimUntouched();
    // B's plan saw a real directory and A swapped it afterwards: the window that leaked before.
    if (out.includes('read: ROGUE-OWN') && fs.lstatSync(path.join(rogueRoot, 'rt-swap', 'inner')).isSymbolicLink()) throughHandle++;
    rounds++;
  }
  assert.ok(rounds >= 5, `${rounds} rounds`);
  assert.ok(throughHandle > 0, `the race window was hit (${throughHandle} of ${rounds} rounds) and B still read only its own directory`);
  assert.is(host.directoryHandles(ROGUE), 0, 'every grant handle was released when its instance ended');
  assert.ok(openFds() <= fdsBefore + 2, `open fds: ${fdsBefore} before, ${openFds()} after ${rounds} rounds`);
});

test('a planted symlink: a grant through /data/v -> victim creates nothing in the victim\'s root, is refused and audited', async () => {
  const base = path.join(rogueRoot, 'rt-plant');
  fs.mkdirSync(base, { recursive: true });
  fs.symlinkSync(toVictim, path.join(base, "v"));
  const pkg = app('planted', ['read'], 'rt-plant/v/made-by-daemon');
  const out = await run(pkg);
  assert.not.ok(fs.existsSync(path.join(victimStore, 'made-by-daemon')), 'the daemon created nothing through the link');
  assertVictimUntouched();
  assert.ok(out.some((l) => l.startsWith('read: refused')), `B got no /data: ${out.join(' | ')} ${JSON.stringify(host.records.app('planted'))}`);
  const audit = host.records.audit({ appId: 'planted' });
  const denial = audit.find((e) => e.capability === 'fs');
  assert.ok(denial, `audited: ${JSON.stringify(audit)}`);
  assert.match(denial!.attempted, /\/data -> rt-plant\/v\/made-by-daemon/);
  assert.match(denial!.reason, /"rt-plant\/v" is a symbolic link; nothing is opened or created through one; grant refused/);
});

test('compose up does not create a deployment directory through a link the vendor planted in its root', async () => {
  fs.symlinkSync(`../${vendorDirName(vendorId(VICTIM))}`, path.join(rogueRoot, 'deployments'));
  const dir = tempDir('bulkhead-planted-compose-');
  fs.writeFileSync(path.join(dir, 'compose.yaml'), 'name: proj\nservices:\n  app:\n    image: busybox\n    volumes: ["./data:/data"]\n');
  // Refused before the engine is contacted, so no engine is needed here.
  const r = await runCli(['--data-dir', dataDir, 'compose', 'up', '-f', path.join(dir, 'compose.yaml'), '--vendor', ROGUE, '--host', 'unix:///nonexistent.sock']);
  assert.is(r.code, 1, r.stderr);
  assert.match(r.stderr, /BH_ERR_DEPLOY: "deployments" is a symbolic link; nothing is opened or created through one/);
  assert.not.ok(fs.existsSync(path.join(victimRoot, 'proj')), 'nothing was created in the victim\'s root');
});

test.run();
