// Where a worker entry lives. Compiled (dist/), it is the .js beside this file; under tsx (tests,
// dev) the .ts source is loaded through tsx's hook, which a worker does not inherit by itself.
export function workerScript(entry: string): { url: URL | string; eval: boolean } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    const source = new URL(`./${entry}.ts`, here).href;
    return { url: `import { register } from 'tsx/esm/api'; register(); await import(${JSON.stringify(source)});`, eval: true };
  }
  return { url: new URL(`./${entry}.js`, here), eval: false };
}
