// A hostile vendor's compose package reaching another vendor's files through a chain of links
// (the archive checker resolving chains is issue 12's; this is the cross-vendor path end to end).
// Each link of the chain normalises to a path inside the archive, so it passed the per-link check;
// extracted, the chain leads out of the daemon's unpack dir up to the data dir. A compose secret
// `file: f/vendors/<victim>/store/secret.txt` was then copied by the daemon (following the links)
// into the rogue vendor's container. Real signed package, real CLI install.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { vendorDirName } from '../../runtime/state/vendor-names.js';
import { craftTarGz, makeKey, makePackage } from '../support/package-fixtures.js';
import { runCli, tempDir } from '../support/paths.js';

const ROGUE = 'Rogue Labs';
const VICTIM = 'Victim Corp';

test('a compose archive whose links climb to the data dir together is refused at install; the victim\'s secret never leaves', async () => {
  const dataDir = tempDir('bulkhead-compose-links-');
  const victimStore = path.join(dataDir, 'vendors', vendorDirName(vendorId(VICTIM)), 'store');
  fs.mkdirSync(victimStore, { recursive: true });
  fs.writeFileSync(path.join(victimStore, 'secret.txt'), 'VICTIM-SECRET\n');
  // Unpacked at <data>/compose-packages/<rogue>/<app>-<component>: sub/deeper is that dir, d its
  // parent, e compose-packages/, f the data dir itself.
  const compose = `services:
  app:
    image: docker.io/library/busybox:latest
    command: ["cat", "/run/secrets/loot"]
    secrets: [loot]
secrets:
  loot:
    file: f/vendors/${vendorDirName(vendorId(VICTIM))}/store/secret.txt
`;
  const archive = fs.readFileSync(craftTarGz(path.join(tempDir(), 'rogue.tar.gz'), [
    { path: 'rogue/', type: 'Directory' }, { path: 'rogue/sub/', type: 'Directory' },
    { path: 'rogue/sub/deeper', type: 'SymbolicLink', linkpath: '../..' },
    { path: 'rogue/d', type: 'SymbolicLink', linkpath: 'sub/deeper/..' },
    { path: 'rogue/e', type: 'SymbolicLink', linkpath: 'd/..' },
    { path: 'rogue/f', type: 'SymbolicLink', linkpath: 'e/..' },
    { path: 'rogue/compose.yaml', data: compose },
  ]));
  const pkg = await makePackage({
    id: 'rogue-compose', version: '1.0.0', vendor: ROGUE, files: { 'compose/rogue.tar.gz': archive },
    manifestExtra: `  - type: compose
    components:
      - name: rogue
        properties:
          archive: compose/rogue.tar.gz
`,
  });
  const key = await makeKey();
  assert.is((await runCli(['sign', pkg, '-k', key.secretFile])).code, 0);
  assert.is((await runCli(['--data-dir', dataDir, 'trust', 'add', key.publicFile, '--vendor', ROGUE])).code, 0);
  const install = await runCli(['--data-dir', dataDir, 'install', pkg]);
  assert.is.not(install.code, 0, `installed: ${install.stdout}`);
  assert.match(install.stderr, /symlink "rogue\/d" -> "sub\/deeper\/\.\." points outside the archive/);
  assert.not.match(install.stderr, /\n\s+at /, 'one clear line, no stack trace');
  // Nothing of the package was unpacked anywhere, and the victim's file is untouched.
  assert.not.ok(fs.existsSync(path.join(dataDir, 'compose-packages')), 'nothing unpacked for compose');
  assert.is(fs.readFileSync(path.join(victimStore, 'secret.txt'), 'utf8'), 'VICTIM-SECRET\n');
  const listed = execFileSync('find', [dataDir, '-name', 'secret.txt'], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(listed, [path.join(victimStore, 'secret.txt')], 'no copy of the secret exists');
});

test.run();
