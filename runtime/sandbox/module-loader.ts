// Turns bytes into a compiled, memory-capped WebAssembly.Module, with every way that can fail
// reported as a LoadError naming the problem. Compiled modules are cached by content digest and
// cap, so the second start of the same module skips compilation.
import { createHash } from 'node:crypto';
import { binaryKind, capMemory, inspectModule, MemoryCapError, WasmFormatError, type ModuleInfo } from './wasm-binary.js';
import { applyWasmEngineFlags } from './wasm-engine-flags.js';

applyWasmEngineFlags();

export class LoadError extends Error {}

export interface LoadedModule {
  module: WebAssembly.Module;
  digest: string;
  info: ModuleInfo;
  /** Milliseconds spent compiling (0 when served from the cache). */
  compileMs: number;
}

export interface LoadOptions {
  memoryCapBytes: number;
  /** Import modules the host provides; anything else is refused before instantiation. */
  providedImports: ReadonlyMap<string, ReadonlySet<string>>;
  /** Name used in messages (usually the file path). */
  source: string;
}

const CACHE_LIMIT = 64;
const cache = new Map<string, { module: WebAssembly.Module; info: ModuleInfo }>();

export function clearModuleCache(): void {
  cache.clear();
}

export async function loadModule(bytes: Uint8Array, options: LoadOptions): Promise<LoadedModule> {
  const { source } = options;
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const key = `${digest}@${options.memoryCapBytes}`;
  const hit = cache.get(key);
  if (hit) {
    // Refresh recency: Map iteration order is insertion order, so this makes it an LRU.
    cache.delete(key);
    cache.set(key, hit);
    return { ...hit, digest, compileMs: 0 };
  }

  let kind;
  try {
    kind = binaryKind(bytes);
  } catch (err) {
    throw new LoadError(`${source}: ${(err as Error).message}`);
  }
  if (kind === 'component') {
    throw new LoadError(`${source}: is a WebAssembly component; this command expects a core WASI preview1 module`);
  }

  let info: ModuleInfo;
  let capped: Uint8Array;
  try {
    info = inspectModule(bytes);
    capped = capMemory(bytes, options.memoryCapBytes);
  } catch (err) {
    if (err instanceof WasmFormatError || err instanceof MemoryCapError) throw new LoadError(`${source}: ${err.message}`);
    throw err;
  }

  const unknown = info.imports.filter((imp) => !options.providedImports.get(imp.module)?.has(imp.name) || imp.kind !== 'func');
  if (unknown.length > 0) {
    const list = unknown.slice(0, 5).map((imp) => `${imp.module}.${imp.name} (${imp.kind})`).join(', ');
    const more = unknown.length > 5 ? ` and ${unknown.length - 5} more` : '';
    throw new LoadError(`${source}: imports that this sandbox does not provide: ${list}${more}`);
  }
  const start = info.exports.find((e) => e.name === '_start');
  if (!start || start.kind !== 'func') {
    throw new LoadError(`${source}: no "_start" function export; only WASI commands can be run`);
  }
  if (!info.exports.some((e) => e.name === 'memory' && e.kind === 'memory')) {
    throw new LoadError(`${source}: does not export its memory as "memory", which WASI requires`);
  }

  const t0 = performance.now();
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(capped as Uint8Array<ArrayBuffer>);
  } catch (err) {
    throw new LoadError(`${source}: invalid WebAssembly: ${(err as Error).message.replace(/^WebAssembly\.compile\(\): /, '')}`);
  }
  const compileMs = performance.now() - t0;
  cache.set(key, { module, info });
  if (cache.size > CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  return { module, info, digest, compileMs };
}
