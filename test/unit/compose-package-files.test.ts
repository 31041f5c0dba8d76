// The files a Compose file names — env_file, extends.file, include — come from its package only:
// relative to the file that names them, never by an absolute path, never above the package root,
// never through a symbolic link (read beneath the root one component at a time). Real files.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vendorId } from '../../packages/trust/vendor-id.js';
import { planCompose } from '../../runtime/bridge/compose-project.js';
import { defaultVendorPolicy } from '../../runtime/bridge/container-policy.js';
import { packageFilesAt, PackageFileError } from '../../runtime/bridge/package-files.js';

function pkg(files: Record<string, string>, links: Record<string, string> = {}): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bh-compose-pkg-'));
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
  for (const [name, target] of Object.entries(links)) fs.symlinkSync(target, path.join(root, name));
  return root;
}

const policy = { ...defaultVendorPolicy('/var/lib/bulkhead/vendors/acme'), ports: { from: 20000, to: 20010 } };
const plan = (root: string, files = ['compose.yaml']) => planCompose({ files: files.map((f) => path.join(root, f)), vendor: vendorId('ACME Industrial'), policy });
const problemsOf = (p: ReturnType<typeof plan>) => p.problems.map((x) => `${path.basename(x.file ?? '')}:${x.line ?? ''} ${x.path}: ${x.message}`);

test('env_file: read from the package into the environment, under what environment: sets; optional files may be missing', () => {
  const root = pkg({
    'compose.yaml': 'services:\n  web:\n    image: busybox\n    env_file: [./app.env, { path: ./local.env, required: false }]\n    environment: { MODE: explicit }\n',
    'app.env': 'MODE=from-file\nHOME_DIR=/srv\nURL=http://${HOST:-plc}:502\n',
  });
  const p = plan(root);
  assert.equal(problemsOf(p), []);
  assert.equal(p.file.services.web!.environment, { MODE: 'explicit', HOME_DIR: '/srv', URL: 'http://plc:502' });
  assert.is(p.file.services.web!.env_file, undefined);
});

test('hostile: env_file outside the package, absolute, or through a symlink is refused, located, nothing read', () => {
  const outside = pkg({ 'secret.env': 'STOLEN=1\n' });
  const root = pkg({
    'compose.yaml': `services:
  a:
    image: busybox
    env_file: ../${path.basename(outside)}/secret.env
  b:
    image: busybox
    env_file: ${path.join(outside, 'secret.env')}
  c:
    image: busybox
    env_file: ./link.env
  d:
    image: busybox
    env_file: ./linkdir/secret.env
  e:
    image: busybox
    env_file: ./missing.env
`,
  }, { 'link.env': path.join(outside, 'secret.env'), linkdir: outside });
  const p = plan(root);
  assert.equal(problemsOf(p), [
    'compose.yaml:4 services.a.env_file: "../' + path.basename(outside) + '/secret.env" leads outside the package',
    `compose.yaml:7 services.b.env_file: "${path.join(outside, 'secret.env')}" is an absolute path; name a file inside the package, relative to the Compose file`,
    'compose.yaml:10 services.c.env_file: "link.env" is a symbolic link; nothing is read through one',
    'compose.yaml:13 services.d.env_file: "linkdir" is a symbolic link; nothing is opened or created through one',
    'compose.yaml:16 services.e.env_file: "./missing.env" does not exist in the package',
  ]);
  assert.equal(p.problems.map((x) => x.rule ?? x.code), ['package-path', 'package-path', 'package-path', 'package-path', 'BH_ERR_COMPOSE_INVALID'],
    'leaving the package is refused by the isolation rule package-path; a missing file is bad input');
  assert.not.match(JSON.stringify(p.file), /STOLEN/);
});

test('extends: a service of another file of the package, its relative paths rebased; !reset drops what it inherits', () => {
  const root = pkg({
    'compose.yaml': `services:
  web:
    extends: { file: common/base.yaml, service: base }
    command: !reset
    environment: { EXTRA: "1" }
  worker:
    extends: web
    read_only: true
`,
    'common/base.yaml': 'services:\n  base:\n    image: busybox\n    command: ["sleep", "1"]\n    env_file: ./base.env\n    volumes: ["./data:/data"]\n',
    'common/base.env': 'FROM_BASE=yes\n',
  });
  const p = plan(root);
  assert.equal(problemsOf(p), []);
  const web = p.file.services.web!;
  assert.equal([web.image, web.command, web.environment, web.volumes], ['busybox', undefined, { FROM_BASE: 'yes', EXTRA: '1' }, ['./common/data:/data']]);
  assert.equal([p.file.services.worker!.image, p.file.services.worker!.read_only], ['busybox', true]);
});

test('extends and include: cycles, missing services, names defined twice and paths outside the package are located problems', () => {
  const outside = pkg({ 'evil.yaml': 'services:\n  x:\n    image: busybox\n' });
  const root = pkg({
    'compose.yaml': `include:
  - other.yaml
  - ../${path.basename(outside)}/evil.yaml
services:
  a:
    extends: b
  b:
    extends: a
  c:
    extends: { service: nowhere }
  dup:
    image: busybox
`,
    'other.yaml': 'include: [compose.yaml]\nservices:\n  dup:\n    image: busybox\n  extra:\n    image: busybox\n',
  });
  const p = plan(root);
  const lines = problemsOf(p).join('\n');
  assert.match(lines, /compose\.yaml:3 include\[1\]: "\.\.\/[^"]+\/evil\.yaml" leads outside the package/);
  assert.match(lines, /other\.yaml:1 include\[0\]: include cycle: compose\.yaml -> other\.yaml -> compose\.yaml/);
  assert.match(lines, /compose\.yaml:\d+ services\.[ab]\.extends: extends cycle/);
  assert.match(lines, /compose\.yaml:\d+ services\.c\.extends: extends the service "nowhere", which this file does not define/);
  assert.match(lines, /compose\.yaml:\d+ services\.dup: service "dup" is defined both here and in the included other\.yaml; rename one/);
  assert.ok(p.file.services.extra, 'what other.yaml defines alone is taken in');
});

test('hostile: a secret or config file that is a symlink is refused when read for the engine', () => {
  const outside = pkg({ 'shadow': 'root:x:0\n' });
  const root = pkg({ 'ok.txt': 'fine' }, { 'token.txt': path.join(outside, 'shadow') });
  assert.is(packageFilesAt(root).bytes('ok.txt', '.').toString(), 'fine');
  assert.throws(() => packageFilesAt(root).bytes('./token.txt', '.'), (e: Error) => e instanceof PackageFileError && /is a symbolic link/.test(e.message));
});

test.run();
