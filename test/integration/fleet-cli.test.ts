// `bulkhead fleet join|status|leave` as an operator runs them, against our own test WFM over mTLS:
// the join is stored and reported, status shows it, bad input is one line with its code and exit
// 125, leave removes the credentials and tells the WFM.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli, tempDir } from '../support/paths.js';
import { DEVICE_SPIFFE_ID, makeSpiffePki, spiffeBundleJson, WFM_SPIFFE_ID } from '../support/spiffe-pki.js';
import { TestWfm } from '../support/test-wfm.js';

const pki = makeSpiffePki();
let wfm: TestWfm;
test.before(async () => { wfm = await TestWfm.start({ server: pki.wfm, clientCa: pki.ca, wfmSpiffeId: WFM_SPIFFE_ID }); });
test.after(async () => { await wfm.close(); });

test('join, status --json, leave', async () => {
  const dataDir = tempDir('bh-fleet-cli-');
  const bundle = path.join(dataDir, '..', `${path.basename(dataDir)}-bundle.json`);
  fs.writeFileSync(bundle, spiffeBundleJson([pki.ca], 3, 600));
  const join = await runCli(['--data-dir', dataDir, 'fleet', 'join', '--wfm', wfm.url, '--device-id', 'press-7', '--cert', pki.device.cert, '--key', pki.device.key,
    '--trust-bundle', bundle, '--label', 'site=plant-7']);
  assert.is(join.code, 0, join.stderr);
  assert.match(join.stdout, `joined ${wfm.url} as press-7 (${DEVICE_SPIFFE_ID})`);
  assert.match(join.stdout, 'capabilities reported');
  const put = wfm.requests.find((r) => r.method === 'PUT' && r.url === '/api/v1/capabilities/press-7');
  assert.is((put?.body as { labels: Record<string, unknown> }).labels.site, 'plant-7');

  const status = await runCli(['--data-dir', dataDir, 'fleet', 'status', '--json']);
  assert.is(status.code, 0, status.stderr);
  const s = JSON.parse(status.stdout);
  assert.is(s.joined, true);
  assert.is(s.wfmSpiffeId, WFM_SPIFFE_ID);
  assert.equal(s.trustBundle, { anchors: 1, sequence: '3', source: bundle });
  assert.is(s.adopted, null);

  const again = await runCli(['--data-dir', dataDir, 'fleet', 'join', '--wfm', wfm.url, '--device-id', 'press-7', '--cert', pki.device.cert, '--key', pki.device.key, '--trust-bundle', bundle]);
  assert.is(again.code, 125);
  assert.match(again.stderr, /^bulkhead: BH_ERR_FLEET_JOIN: this device already follows/);

  const leave = await runCli(['--data-dir', dataDir, 'fleet', 'leave']);
  assert.is(leave.code, 0, leave.stderr);
  assert.match(leave.stdout, 'the fleet manager was told');
  assert.ok(wfm.requests.some((r) => r.method === 'DELETE' && r.url === '/api/v1/capabilities/press-7'));
  assert.not.ok(fs.existsSync(path.join(dataDir, 'fleet')));
  const after = await runCli(['--data-dir', dataDir, 'fleet', 'status']);
  assert.match(after.stdout, 'not joined');
});

test('bad join input is one line naming the problem, exit 125, nothing stored', async () => {
  const dataDir = tempDir('bh-fleet-cli-bad-');
  const r = await runCli(['--data-dir', dataDir, 'fleet', 'join', '--wfm', wfm.url, '--device-id', 'press-7', '--cert', pki.deviceUntrusted.cert, '--key', pki.deviceUntrusted.key, '--trust-bundle', pki.ca]);
  assert.is(r.code, 125);
  const lines = r.stderr.trim().split('\n');
  assert.is(lines.length, 1, r.stderr);
  assert.match(lines[0]!, /^bulkhead: BH_ERR_FLEET_JOIN: .*does not chain to an anchor of the trust bundle/);
  const status = await runCli(['--data-dir', dataDir, 'fleet', 'status', '--json']);
  assert.equal(JSON.parse(status.stdout), { joined: false });
});

test.run();
