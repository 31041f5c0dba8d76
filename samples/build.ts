// Builds every sample from source: AssemblyScript with asc, C with clang + wasi-libc, and
// components from those core modules with jco (the WIT embedded, then the preview1 adapter).
// Skips a target whose output is newer than its sources. Prints one line per target.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const samplesDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(samplesDir);

interface Target { name: string; output: string; sources: string[]; build: () => unknown }

const WIT = path.join(root, 'host-apis', 'wit', 'bulkhead-host.wit');
const HEADER = path.join(samplesDir, 'include', 'bulkhead_host.h');
const adapter = (kind: 'command' | 'reactor') => path.join(root, 'node_modules', '@bytecodealliance', 'jco', 'lib', `wasi_snapshot_preview1.${kind}.wasm`);

/**
 * A vendor component from C: compiled against our bulkhead:host header, the WIT world embedded
 * (`imports` for a job, `service` for a service), made a component with jco's preview1 adapter.
 */
function componentTarget(dir: string, file: string, world: 'imports' | 'service'): Target {
  return cComponentTarget(dir, file, { world, witSource: () => fs.readFileSync(WIT, 'utf8'), reactor: world === 'service' });
}

/** C compiled against our headers, a WIT world embedded, made a component with the preview1 adapter. */
function cComponentTarget(dir: string, file: string, o: { world: string; witSource: () => string; reactor: boolean; extraSources?: string[] }): Target {
  const source = path.join(samplesDir, dir, file);
  const output = path.join(samplesDir, dir, 'build', file.replace(/\.c$/, '.wasm'));
  const core = output.replace(/\.wasm$/, '.core.wasm');
  const kind = o.reactor ? 'reactor' : 'command';
  return {
    name: `${dir}/${file} (component)`, output, sources: [source, WIT, HEADER, ...(o.extraSources ?? [])],
    build: async () => {
      execFileSync('clang', ['--target=wasm32-wasi', `-mexec-model=${kind}`, '-O2', '-Wall', '-Wl,--strip-all',
        `-I${path.dirname(HEADER)}`, '-o', core, source], { stdio: 'inherit' });
      const { componentEmbed, componentNew } = await import('@bytecodealliance/jco-transpile/wasm-tools');
      const embedded = await componentEmbed({ binary: fs.readFileSync(core), witSource: o.witSource(), world: o.world });
      fs.writeFileSync(output, await componentNew(embedded, [['wasi_snapshot_preview1', fs.readFileSync(adapter(kind))]]));
    },
  };
}

/**
 * One WIT source holding a world and every package it needs, as nested `package x { ... }` blocks:
 * WASI 0.2.12 as jco ships it (node_modules, not copied here) plus our bulkhead:host.
 */
function witWithDependencies(world: string): string {
  const wasiDir = path.join(root, 'node_modules', '@bytecodealliance', 'jco', 'lib', 'wit', 'builtin', '0.2.12');
  const nest = (text: string) => text.replace(/^(\s*\/\/.*\n)*\s*package ([^;]+);/, 'package $2 {') + '\n}\n';
  const packages = fs.readdirSync(wasiDir).map((d) => nest(fs.readFileSync(path.join(wasiDir, d, 'package.wit'), 'utf8')));
  return `${world}\n${packages.join('\n')}\n${nest(fs.readFileSync(WIT, 'utf8'))}`;
}

const NET_PROBE_WORLD = `package bulkhead:samples;
world net-probe {
  import wasi:sockets/instance-network@0.2.12;
  import wasi:sockets/network@0.2.12;
  import wasi:sockets/tcp@0.2.12;
  import wasi:sockets/tcp-create-socket@0.2.12;
  import wasi:sockets/ip-name-lookup@0.2.12;
  import wasi:io/poll@0.2.12;
  import wasi:io/streams@0.2.12;
  import wasi:http/types@0.2.12;
  import wasi:http/outgoing-handler@0.2.12;
  import bulkhead:host/config@0.1.0;
  import bulkhead:host/log@0.1.0;
}`;

/** The network samples: C against hand-written wasi:sockets/wasi:http bindings, command components. */
function netTarget(file: string): Target {
  return cComponentTarget('net-c', file, {
    world: 'bulkhead:samples/net-probe', witSource: () => witWithDependencies(NET_PROBE_WORLD), reactor: false,
    extraSources: [path.join(path.dirname(HEADER), 'wasi_net.h')],
  });
}

/** Interop: a core module turned into a component by jco's own CLI (a standard toolchain, not our code). */
function jcoNewTarget(name: string, coreRel: string, output: string): Target {
  const core = path.join(samplesDir, coreRel);
  return {
    name, output, sources: [core],
    build: () => execFileSync(process.execPath, [path.join(root, 'node_modules', '@bytecodealliance', 'jco', 'dist', 'jco.js'),
      'new', core, '--wasi-command', '-o', output], { stdio: 'inherit' }),
  };
}

function cTarget(dir: string, file: string): Target {
  const source = path.join(samplesDir, dir, file);
  const output = path.join(samplesDir, dir, 'build', file.replace(/\.c$/, '.wasm'));
  return {
    name: `${dir}/${file}`, output, sources: [source],
    build: () => execFileSync('clang', ['--target=wasm32-wasi', '-O2', '-Wall', '-o', output, source], { stdio: 'inherit' }),
  };
}

export function sampleTargets(): Target[] {
  const asDir = path.join(samplesDir, 'hello-as');
  const targets: Target[] = [{
    name: 'hello-as', output: path.join(asDir, 'build', 'hello.wasm'),
    sources: [path.join(asDir, 'assembly', 'index.ts'), path.join(asDir, 'asconfig.json')],
    build: () => execFileSync(process.execPath, [path.join(root, 'node_modules', 'assemblyscript', 'bin', 'asc.js'),
      'assembly/index.ts', '--target', 'release', '--config', 'asconfig.json'], { cwd: asDir, stdio: 'inherit' }),
  }];
  targets.push(cTarget('cat-c', 'cat.c'), cTarget('hostcall-c', 'hostcall.c'));
  for (const file of fs.readdirSync(path.join(samplesDir, 'hostile')).sort()) {
    if (file.endsWith('.c')) targets.push(cTarget('hostile', file));
  }
  targets.push(
    // (AssemblyScript's runtime and the preview1 adapter disagree over memory: the adapter asserts
    // at start, under jco's own `jco run` too, so the interop samples are C.)
    cTarget('interop-c', 'wasi-tour.c'),
    jcoNewTarget('interop-c (component, jco new)', 'interop-c/build/wasi-tour.wasm', path.join(samplesDir, 'interop-c', 'build', 'wasi-tour.component.wasm')),
    jcoNewTarget('cat-c (component, jco new)', 'cat-c/build/cat.wasm', path.join(samplesDir, 'cat-c', 'build', 'cat.component.wasm')),
    jcoNewTarget('hostile/unlinked-fill.c (component, jco new)', 'hostile/build/unlinked-fill.wasm', path.join(samplesDir, 'hostile', 'build', 'unlinked-fill.component.wasm')),
  );
  targets.push(netTarget('net-probe.c'), netTarget('net-listener.c'), netTarget('rogue-hoard.c'));
  for (const dir of ['vendors', 'bench-c']) {
    for (const file of fs.readdirSync(path.join(samplesDir, dir)).sort()) {
      if (file.endsWith('.c')) targets.push(componentTarget(dir, file, /^\/\/ world: service/m.test(fs.readFileSync(path.join(samplesDir, dir, file), 'utf8')) ? 'service' : 'imports'));
    }
  }
  return targets;
}

/**
 * Sample package directories: a source folder under samples/packages/ whose margo.yaml names
 * components/*.wasm; the built wasm is copied in, giving a directory ready for `bulkhead pack`.
 */
export function samplePackageDir(name: string, wasm: Record<string, string>): string {
  const source = path.join(samplesDir, 'packages', name);
  const out = path.join(samplesDir, 'packages', 'build', name);
  fs.rmSync(out, { recursive: true, force: true });
  fs.cpSync(source, out, { recursive: true });
  fs.mkdirSync(path.join(out, 'components'), { recursive: true });
  for (const [target, built] of Object.entries(wasm)) fs.copyFileSync(path.join(samplesDir, built), path.join(out, 'components', target));
  return out;
}

function upToDate(t: Target): boolean {
  if (!fs.existsSync(t.output)) return false;
  const built = fs.statSync(t.output).mtimeMs;
  return t.sources.every((s) => fs.statSync(s).mtimeMs <= built);
}

async function main(): Promise<void> {
  try {
    execFileSync('clang', ['--version'], { stdio: 'ignore' });
  } catch {
    console.error('samples: clang is missing; install: apt-get install clang lld wasi-libc libclang-rt-dev-wasm32');
    process.exit(1);
  }
  const targets = sampleTargets();
  let built = 0;
  for (const [i, t] of targets.entries()) {
    if (upToDate(t)) continue;
    fs.mkdirSync(path.dirname(t.output), { recursive: true });
    process.stdout.write(`samples: [${i + 1}/${targets.length}] building ${t.name}\n`);
    try {
      await t.build();
    } catch (err) {
      console.error(`samples: building ${t.name} failed: ${(err as Error).message.split('\n')[0]} (and see any compiler output above)`);
      process.exit(1);
    }
    built++;
  }
  process.stdout.write(`samples: ${built} built, ${targets.length - built} up to date\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) await main();
