// The vendored Compose Specification schema is the upstream file, unmodified; our patches are
// applied in code, and each one is checked to be needed (upstream alone fails) and to work.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv } from 'ajv';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { COMPOSE_SCHEMA_PATCHES, composeSchemaValidator, patchedComposeSchema } from '../../runtime/bridge/compose-schema.js';

const dir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'runtime', 'bridge', 'compose-spec');
const upstream = () => JSON.parse(fs.readFileSync(path.join(dir, 'compose-spec.json'), 'utf8')) as Record<string, unknown>;

test('the vendored schema is the upstream file named in its README (source, commit, digest, licence)', () => {
  const readme = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  const digest = createHash('sha256').update(fs.readFileSync(path.join(dir, 'compose-spec.json'))).digest('hex');
  assert.ok(readme.includes(digest), `README names sha256 ${digest}`);
  assert.match(readme, /github\.com\/compose-spec\/compose-spec at commit `[0-9a-f]{40}`/);
  assert.match(fs.readFileSync(path.join(dir, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
});

test('patch "drop $schema": upstream alone does not compile with Ajv; patched it does', () => {
  assert.throws(() => new Ajv({ strict: false }).compile(upstream()), /no schema with key or ref "https:\/\/json-schema\.org\/draft-07\/schema"/);
  assert.type(composeSchemaValidator(), 'function');
});

test('patch "name pattern": upstream takes any project name; patched, only what the specification allows', () => {
  const { $schema: _, ...body } = upstream();
  const loose = new Ajv({ strict: false }).compile(body);
  const strict = new Ajv({ strict: false }).compile(patchedComposeSchema());
  const doc = (name: string) => ({ name, services: { web: { image: 'busybox' } } });
  assert.ok(loose(doc('My App')));
  assert.not.ok(strict(doc('My App')));
  assert.ok(strict(doc('my-app_2')));
});

test('every patch is listed with a reason, and nothing else differs from upstream', () => {
  assert.equal(COMPOSE_SCHEMA_PATCHES.map((p) => p.what), ['drop "$schema"', 'name: pattern ^[a-z0-9][a-z0-9_-]*$']);
  for (const p of COMPOSE_SCHEMA_PATCHES) assert.ok(p.why.length > 20, p.what);
  const patched = patchedComposeSchema() as Record<string, unknown> & { properties: Record<string, unknown> };
  const original = upstream() as Record<string, unknown> & { properties: Record<string, unknown> };
  delete original.$schema;
  (original.properties.name as Record<string, unknown>).pattern = '^[a-z0-9][a-z0-9_-]*$';
  assert.equal(patched, original);
});

test.run();
