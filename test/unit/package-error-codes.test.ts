// Every package error code is documented in packages/README.md, and every documented code exists.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PackageErrorCode } from '../../packages/package-errors.js';
import { repoRoot } from '../support/paths.js';

const readme = fs.readFileSync(path.join(repoRoot, 'packages', 'README.md'), 'utf8');
const documented = [...readme.matchAll(/^\| `(BH_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);

test('every code is documented', () => {
  for (const code of Object.keys(PackageErrorCode)) assert.ok(documented.includes(code), `${code} missing from packages/README.md`);
});

test('every documented code exists', () => {
  for (const code of documented) assert.ok(code! in PackageErrorCode, `${code} documented but not defined`);
});

test('every code used in the sources is defined', () => {
  const used = new Set<string>();
  const walk = (dir: string) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(path.join(dir, e.name));
      else if (e.name.endsWith('.ts')) for (const m of fs.readFileSync(path.join(dir, e.name), 'utf8').matchAll(/'(BH_ERR_[A-Z_]+)'/g)) used.add(m[1]!);
    }
  };
  walk(path.join(repoRoot, 'packages'));
  walk(path.join(repoRoot, 'runtime'));
  for (const code of used) assert.ok(code in PackageErrorCode, `${code} used but not defined`);
});

test.run();
