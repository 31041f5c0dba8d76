// The daemon's keeper of the network-isolation table: containers can run without a `compose up`
// (the engine restarts them after a reboot, when no nftables table survives), so the table must come
// back by itself. Real Podman and real nftables: a Bulkhead network exists, the table is deleted as a
// reboot or an operator's flush would, and one check of the keeper puts it back naming that bridge.
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { keepNetworkIsolation } from '../../runtime/apps/network-isolation-keeper.js';
import { connectEngine } from '../../runtime/bridge/engine-connection.js';
import { ISOLATION_TABLE } from '../../runtime/bridge/network-isolation.js';
import { podmanAvailable } from '../../samples/containers/busybox-image.js';

const NET = `bh-keeper-test-${process.pid}`;

test('a deleted isolation table is reinstalled by the daemon\'s check, naming every Bulkhead bridge', async () => {
  const problem = podmanAvailable();
  if (problem) throw new Error(`this test needs a real Podman engine (.ci/run installs and starts it): ${problem}`);
  execFileSync('podman', ['network', 'create', '--label', 'org.bulkhead.managed=true', '--opt', 'isolate=true', NET], { stdio: 'ignore' });
  try {
    const bridge = JSON.parse(execFileSync('podman', ['network', 'inspect', NET], { encoding: 'utf8' }))[0].network_interface as string;
    spawnSync('nft', ['delete', 'table', 'inet', ISOLATION_TABLE]);
    const said: string[] = [];
    const docker = await connectEngine();
    await keepNetworkIsolation(docker, (l) => said.push(l));
    const table = execFileSync('nft', ['list', 'table', 'inet', ISOLATION_TABLE], { encoding: 'utf8' });
    assert.ok(table.includes(`iifname "${bridge}"`) && table.includes('drop'), table);
    assert.ok(said.some((l) => /reinstalled/.test(l)), said.join('\n'));
    // In place and complete: the next check changes nothing and says nothing.
    said.length = 0;
    await keepNetworkIsolation(docker, (l) => said.push(l));
    assert.equal(said, []);
  } finally {
    spawnSync('podman', ['network', 'rm', NET], { stdio: 'ignore' });
  }
});

test.run();
