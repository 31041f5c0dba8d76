// Networks of a Compose deployment. Every network a file names — `default` and custom ones
// (`networks: { backend: {} }`) alike — is the vendor's one isolated engine network: the boundary
// is the vendor, and that network is the one whose isolation from other vendors holds. (Separate
// isolated networks per deployment were tried: on this Podman 4.3 / netavark host, a container on
// one vendor's freshly created network reached another vendor's about every second run of
// test/integration/compose-networks.test.ts, so they are not created.) A service joins under its
// service name, its container_name and its aliases; two vendors both writing `backend` and
// `container_name: db` each reach only their own db. Within one vendor, services on different
// custom networks are not separated from each other.
import type { VendorId } from '../../packages/trust/vendor-id.js';

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

/** The engine network a file's network is: the vendor's own, whatever the file calls it (see above). */
export function engineNetworkName(_vendor: VendorId, _project: string, vendorNetwork: string, _name: string): string {
  return vendorNetwork;
}
