// Counts a component's calls into each host interface (`wasi:filesystem/types`,
// `bulkhead:host/kv`...), for the daemon's /metrics (bulkhead_host_calls_total). A vendor's
// instances all run in that vendor's sandbox thread, so the counts a thread keeps are its vendor's.
// Top-level functions are wrapped in the import object handed to the instance; resource classes
// (streams, descriptors, pollables) have their prototype methods wrapped once, in place. One
// increment of a captured cell per call: a few nanoseconds beside a host call's own cost.

/** Calls per interface, kept by the sandbox thread for its lifetime. */
export type HostCallCounts = Map<string, { calls: number }>;

const countedPrototypes = new WeakSet<object>();

const isClass = (fn: Function) => /^class[\s{]/.test(Function.prototype.toString.call(fn));

function counted(fn: Function, cell: { calls: number }): Function {
  return function (this: unknown, ...args: unknown[]) {
    cell.calls++;
    return fn.apply(this, args);
  };
}

function countMethods(proto: object, cell: { calls: number }): void {
  if (countedPrototypes.has(proto)) return;
  countedPrototypes.add(proto);
  for (const name of Object.getOwnPropertyNames(proto)) {
    if (name === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, name)!;
    if (typeof d.value === 'function') Object.defineProperty(proto, name, { ...d, value: counted(d.value as Function, cell) });
  }
}

/** The same imports, each call counted against its interface in `counts`. */
export function countHostCalls(imports: Record<string, object>, counts: HostCallCounts): Record<string, object> {
  const out: Record<string, object> = {};
  for (const [iface, api] of Object.entries(imports)) {
    let cell = counts.get(iface);
    if (!cell) counts.set(iface, (cell = { calls: 0 }));
    const copy: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(api)) {
      if (typeof value !== 'function') copy[name] = value;
      else if (isClass(value)) {
        countMethods((value as { prototype: object }).prototype, cell);
        copy[name] = value;
      } else copy[name] = counted(value, cell);
    }
    out[iface] = copy;
  }
  return out;
}

/** The counts as a plain record, for a message to the main thread. */
export function hostCallSnapshot(counts: HostCallCounts): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [iface, cell] of counts) if (cell.calls > 0) out[iface] = cell.calls;
  return out;
}
