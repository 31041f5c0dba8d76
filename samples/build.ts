// Builds every sample from source: AssemblyScript with asc, C with clang + wasi-libc.
// Skips a target whose output is newer than its sources. Prints one line per target.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const samplesDir = path.dirname(fileURLToPath(import.meta.url));
const root = path.dirname(samplesDir);

interface Target { name: string; output: string; sources: string[]; build: () => void }

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

function main(): void {
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
      t.build();
    } catch {
      console.error(`samples: building ${t.name} failed (see the compiler output above)`);
      process.exit(1);
    }
    built++;
  }
  process.stdout.write(`samples: ${built} built, ${targets.length - built} up to date\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) main();
