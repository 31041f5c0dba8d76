// Networks of a Compose deployment. `default` is the vendor's one isolated engine network (shared
// by its deployments). A custom network (`networks: { backend: {} }`) is created per deployment,
// isolated like the vendor's (netavark `isolate`: no route to any other isolated network, so to no
// other vendor), named from the exact vendor, project and network (runtime/state/vendor-names.ts),
// labelled with them, and joined only by the services that list it, under their service name,
// their container_name and their aliases (the engine's DNS answers those names on that network
// only). Two vendors both writing `backend` get two unrelated networks.
import type { VendorId } from '../../packages/trust/vendor-id.js';
import { deploymentNetworkName } from '../state/vendor-names.js';

const isObj = (v: unknown): v is Record<string, unknown> => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

export interface ServiceNetwork {
  /** The network's name in the file. */
  name: string;
  /** Extra DNS names of the service on that network. */
  aliases: string[];
}

/** The networks a service joins, in the order written: `default` when it names none. */
export function serviceNetworks(service: Record<string, unknown>): ServiceNetwork[] {
  const nets = service.networks;
  if (Array.isArray(nets)) return nets.length ? nets.map((n) => ({ name: String(n), aliases: [] })) : [{ name: 'default', aliases: [] }];
  if (isObj(nets) && Object.keys(nets).length) {
    return Object.entries(nets).map(([name, opts]) => ({
      name, aliases: isObj(opts) && Array.isArray(opts.aliases) ? opts.aliases.map(String) : [],
    }));
  }
  return [{ name: 'default', aliases: [] }];
}

/** The engine network a file's network is: the vendor's for `default`, the deployment's own otherwise. */
export function engineNetworkName(vendor: VendorId, project: string, vendorNetwork: string, name: string): string {
  return name === 'default' ? vendorNetwork : deploymentNetworkName(vendor, project, name);
}
