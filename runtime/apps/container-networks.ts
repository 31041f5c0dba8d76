// The subnets of the container engine's networks, for the network service's protected addresses:
// the device routes to its containers, so without them a wasm app whose operator rule is "*:5432"
// reached another vendor's database container on its unpublished port by the container's address.
// Read from the engine at most once a second (when a decision needs them), the last answer kept
// while the engine does not answer; no engine, no containers, nothing to protect.
import type Docker from 'dockerode';
import { connectEngine } from '../bridge/engine-connection.js';

const TTL_MS = 1000;
const ENGINE_TIMEOUT_MS = 2000;

export class ContainerNetworks {
  #cidrs: readonly string[] = [];
  #readAt = 0;
  #reading: Promise<void> | undefined;
  #engine: Docker | undefined;

  constructor(private readonly engine: () => Promise<Docker> = () => connectEngine()) {}

  /** The subnets last read. */
  cidrs(): readonly string[] {
    return this.#cidrs;
  }

  /** Reads the engine's networks again when the last reading is older than a second. */
  refresh(): Promise<void> {
    if (Date.now() - this.#readAt < TTL_MS) return Promise.resolve();
    this.#reading ??= this.#read().finally(() => {
      this.#readAt = Date.now();
      this.#reading = undefined;
    });
    return this.#reading;
  }

  async #read(): Promise<void> {
    try {
      this.#engine ??= await withTimeout(this.engine());
      const networks = await withTimeout(this.#engine.listNetworks());
      this.#cidrs = networks.flatMap((n) => n.IPAM?.Config ?? []).map((c) => c.Subnet).filter((s): s is string => typeof s === 'string' && s.includes('/'));
    } catch {
      // The engine is down or gone: keep what was read last (containers may still run), try again later.
      this.#engine = undefined;
    }
  }
}

function withTimeout<T>(p: Promise<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the container engine did not answer')), ENGINE_TIMEOUT_MS);
    p.then((v) => { clearTimeout(timer); resolve(v); }, (e) => { clearTimeout(timer); reject(e); });
  });
}
