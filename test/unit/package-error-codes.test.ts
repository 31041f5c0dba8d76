// Every error code is documented (packages/README.md, runtime/README.md), every documented code exists,
// and every code the sources use is defined.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PackageErrorCode } from '../../packages/package-errors.js';
import { ApiErrorCode } from '../../runtime/api/api-errors.js';
import { BridgeErrorCode } from '../../runtime/bridge/bridge-errors.js';
import { FleetApplyErrorCode } from '../../runtime/fleet/apply-errors.js';
import { FleetErrorCode } from '../../runtime/fleet/fleet-errors.js';
import { repoRoot } from '../support/paths.js';

const codesIn = (readme: string) => [...fs.readFileSync(path.join(repoRoot, readme), 'utf8').matchAll(/^\| `(BH_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]!);
const documentedPackage = codesIn('packages/README.md');
const documentedBridge = codesIn('runtime/README.md');
const documented = [...documentedPackage, ...documentedBridge];
const defined: Record<string, string> = { ...PackageErrorCode, ...BridgeErrorCode, ...ApiErrorCode, ...FleetApplyErrorCode, ...FleetErrorCode };

test('every code is documented', () => {
  for (const code of Object.keys(PackageErrorCode)) assert.ok(documentedPackage.includes(code), `${code} missing from packages/README.md`);
  for (const code of Object.keys(BridgeErrorCode)) assert.ok(documentedBridge.includes(code), `${code} missing from runtime/README.md`);
  for (const code of Object.keys(ApiErrorCode)) assert.ok(documentedBridge.includes(code), `${code} missing from runtime/README.md`);
  for (const code of Object.keys(FleetApplyErrorCode)) assert.ok(documentedBridge.includes(code), `${code} missing from runtime/README.md`);
  for (const code of Object.keys(FleetErrorCode)) assert.ok(documentedBridge.includes(code), `${code} missing from runtime/README.md`);
});

test('every documented code exists', () => {
  for (const code of documented) assert.ok(code in defined, `${code} documented but not defined`);
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
  for (const code of used) assert.ok(code in defined, `${code} used but not defined`);
});

test.run();
