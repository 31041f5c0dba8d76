// Components are transpiled by jco once, at install time, into <data-dir>/components/<sha256>/
// (component.mjs + its core modules), keyed by the component's content digest, so a start never
// transpiles. The `async` instantiation form is used: each instance is given its own import
// object, built from its grant, and nothing from preview2-shim is ever wired in.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { PROVIDED_INTERFACES } from '../../host-apis/components/component-imports.js';
import { directHostImports } from './direct-host-imports.js';

export class ComponentPrepareError extends Error {}

export interface PreparedComponent {
  dir: string;
  digest: string;
  imports: string[];
  exports: string[];
  /** false when it came from the cache */
  transpiled: boolean;
}

const ENTRY = 'component.mjs';
const PROVIDED = new Set<string>(PROVIDED_INTERFACES);
// Bumped whenever what is stored changes (transpiler version, the rewrite below), so an old cache
// entry is never used with a newer host.
const CACHE_FORMAT = 'v3';

export function componentCacheDir(dataDir: string, digest: string): string {
  return path.join(dataDir, 'components', `${digest.replace(':', '-')}.${CACHE_FORMAT}`);
}

// jco's bindings call a debug logger on every host call that reads process.env.JCO_DEBUG each
// time; an environment lookup per call was half the cost of a cheap host call (10 -> 3.5 us for
// config.get, measured). The stored bindings never log, so the check becomes a plain return.
const DEBUG_CHECK = 'if (!globalThis?.process?.env?.JCO_DEBUG) { return; }';

function withoutDebugLookups(text: string): string {
  return text.includes(DEBUG_CHECK) ? text.replace(DEBUG_CHECK, 'return;') : text;
}

/** The bindings as stored: no debug lookups, sync host imports called directly (direct-host-imports.ts). */
function storedBindings(source: Uint8Array): string {
  return directHostImports(withoutDebugLookups(Buffer.from(source).toString('utf8'))).source;
}

/** Transpiles `bytes` unless the cache already holds it; refuses imports the host does not provide. */
export async function prepareComponent(bytes: Uint8Array, dataDir: string, source: string): Promise<PreparedComponent> {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const dir = componentCacheDir(dataDir, digest);
  const metaFile = path.join(dir, 'meta.json');
  if (fs.existsSync(metaFile)) {
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8')) as { imports: string[]; exports: string[] };
    return { dir, digest, ...meta, transpiled: false };
  }
  // Loaded on demand: the transpiler is a ~10 MB wasm tool that only install needs.
  const { transpileBytes } = await import('@bytecodealliance/jco-transpile');
  let out: Awaited<ReturnType<typeof transpileBytes>>;
  try {
    out = await transpileBytes(bytes, { name: 'component', instantiation: 'async' });
  } catch (err) {
    throw new ComponentPrepareError(`${source}: not a component jco can transpile: ${String((err as Error).message ?? err).split('\n')[0]}`);
  }
  const missing = out.imports.filter((i) => !PROVIDED.has(i));
  if (missing.length > 0) {
    throw new ComponentPrepareError(`${source}: imports interfaces this device does not provide: ${missing.join(', ')} (provided: wasi:cli, wasi:clocks, wasi:random, wasi:io, wasi:filesystem, wasi:sockets (TCP), wasi:http (outgoing), bulkhead:host/*)`);
  }
  const staging = `${dir}.tmp-${randomBytes(4).toString('hex')}`;
  fs.mkdirSync(staging, { recursive: true });
  try {
    for (const [name, content] of Object.entries(out.files)) {
      if (name.includes('/') || name.endsWith('.d.ts')) continue; // type declarations are not needed at run time
      if (name === 'component.js') fs.writeFileSync(path.join(staging, ENTRY), storedBindings(content));
      else fs.writeFileSync(path.join(staging, name), content);
    }
    const meta = { imports: out.imports, exports: out.exports.map(([name]) => name) };
    fs.writeFileSync(path.join(staging, 'meta.json'), JSON.stringify(meta));
    fs.renameSync(staging, dir);
    return { dir, digest, ...meta, transpiled: true };
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    if (fs.existsSync(metaFile)) return { dir, digest, ...(JSON.parse(fs.readFileSync(metaFile, 'utf8'))), transpiled: false };
    throw err;
  }
}
