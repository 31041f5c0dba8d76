// Isolation between vendors' container networks, owned by Bulkhead rather than left to netavark.
//
// netavark's `isolate` option (Podman 4.3 / netavark 1.4, Debian 12) is three pieces: a jump
// `FORWARD -j NETAVARK_ISOLATION_1` shared by all isolated networks, and two chains of per-bridge
// rules behind it. netavark deletes that one shared jump whenever the last container of ANY
// isolated network stops; from then until some isolated network is set up again, every isolated
// network forwards to every other (measured here: after one vendor's `compose down`, 79 of 97
// probes from vendor B reached vendor A's containers; under churn about half). No lock of ours
// can prevent it: container exits happen whenever they happen.
//
// So the bridge installs its own nftables table, which netavark never touches, before any
// container of a deployment is created: for each of Bulkhead's bridges, forwarding between it and
// any OTHER engine bridge is dropped (other vendors, and the engine's default network too, which
// `isolate` never covered). Traffic within one bridge and out to the world is untouched. A drop in
// any table is final, whatever netavark's chains accept. The table is replaced whole in one nft
// transaction, so there is no moment without rules. When it cannot be installed, `up` fails closed.
import { spawnSync } from 'node:child_process';
import type Docker from 'dockerode';
import { LABEL } from './container-spec.js';

export const ISOLATION_TABLE = 'bulkhead_isolation';

/** The rules cannot be installed (no nftables, not root): no container may start without them. */
export class NetworkIsolationError extends Error {}

interface EngineBridge {
  name: string;
  bridge: string;
  ours: boolean;
}

/** Linux interface names: what the engine reports is checked before it goes into a rule. */
const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

function dial<T>(docker: Docker, path: string): Promise<T> {
  return new Promise((resolve, reject) => {
    docker.modem.dial({ path, method: 'GET', statusCodes: { 200: true, 404: 'not found', 500: 'server error' } }, (err: unknown, data: unknown) => {
      if (err) reject(err);
      else resolve(data as T);
    });
  });
}

/** Every bridge network of the engine with its Linux bridge interface. */
export async function engineBridges(docker: Docker): Promise<EngineBridge[]> {
  try {
    // Podman's own API names the interface; its Docker-compatible one does not.
    const nets = await dial<Array<{ name: string; driver?: string; network_interface?: string; labels?: Record<string, string> }>>(docker, '/v4.0.0/libpod/networks/json');
    return nets.filter((n) => n.driver === 'bridge' && n.network_interface)
      .map((n) => ({ name: n.name, bridge: n.network_interface!, ours: n.labels?.[LABEL.managed] === 'true' }));
  } catch {
    // Docker Engine: bridges are `br-<first 12 of the id>` unless the network names one.
    const nets = await docker.listNetworks();
    return nets.filter((n) => n.Driver === 'bridge').map((n) => ({
      name: n.Name,
      bridge: n.Options?.['com.docker.network.bridge.name'] ?? (n.Name === 'bridge' ? 'docker0' : `br-${n.Id.slice(0, 12)}`),
      ours: n.Labels?.[LABEL.managed] === 'true',
    }));
  }
}

/** The nft script that replaces the table whole (create, delete, create: one transaction). */
export function isolationRuleset(bridges: readonly EngineBridge[]): string {
  for (const b of bridges) {
    if (!IFNAME.test(b.bridge)) throw new NetworkIsolationError(`engine network ${JSON.stringify(b.name)} reports an unusable bridge interface name ${JSON.stringify(b.bridge)}`);
  }
  const all = [...new Set(bridges.map((b) => b.bridge))];
  const ours = [...new Set(bridges.filter((b) => b.ours).map((b) => b.bridge))];
  const q = (s: string) => `"${s}"`;
  const lines = [
    `table inet ${ISOLATION_TABLE}`,
    `delete table inet ${ISOLATION_TABLE}`,
    `table inet ${ISOLATION_TABLE} {`,
  ];
  if (all.length) lines.push(`  set engine_bridges { type ifname; elements = { ${all.map(q).join(', ')} } }`);
  // Ahead of netavark's chains (priority filter): what we drop never reaches them.
  lines.push('  chain forward {', '    type filter hook forward priority filter - 5; policy accept;');
  if (all.length) {
    for (const b of ours) {
      lines.push(`    iifname ${q(b)} oifname != ${q(b)} oifname @engine_bridges drop`);
      lines.push(`    oifname ${q(b)} iifname != ${q(b)} iifname @engine_bridges drop`);
    }
  }
  lines.push('  }', '}');
  return `${lines.join('\n')}\n`;
}

/**
 * Installs (replaces) the isolation table for the engine's current bridges. Called by every `up`
 * after the vendor's network exists and before any container is created.
 */
export async function enforceNetworkIsolation(docker: Docker): Promise<void> {
  const script = isolationRuleset(await engineBridges(docker));
  const r = spawnSync('nft', ['-f', '-'], { input: script, encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || `nft exited ${r.status}`).trim().split('\n')[0];
    throw new NetworkIsolationError(`cannot install the rules that keep vendors' container networks apart (${why}); containers are not started without them: run the daemon as root with nftables installed (apt install nftables)`);
  }
}
