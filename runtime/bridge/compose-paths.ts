// A Compose file's relative paths are relative to that file. When a service or a whole file is
// taken into another one (extends with file:, include), its paths are rewritten relative to the
// file that takes it in, so they keep naming the same things: env_file, bind-mount sources,
// secret and config files, extends.file. Paths are package-relative ("sub/dir"), "/"-separated.
import path from 'node:path';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => Boolean(v) && typeof v === 'object' && !Array.isArray(v);

function rebase(p: string, fromDir: string, toDir: string): string {
  if (path.posix.isAbsolute(p) || p.startsWith('~') || fromDir === toDir) return p;
  const rel = path.posix.relative(toDir, path.posix.join(fromDir, p)) || '.';
  return rel.startsWith('.') ? rel : `./${rel}`;
}

/** A service's paths, written in a file at `fromDir`, as seen from a file at `toDir` (a copy). */
export function rebaseService(service: Obj, fromDir: string, toDir: string): Obj {
  if (fromDir === toDir) return service;
  const out: Obj = { ...service };
  if (typeof out.env_file === 'string') out.env_file = rebase(out.env_file, fromDir, toDir);
  else if (Array.isArray(out.env_file)) {
    out.env_file = out.env_file.map((e) => (typeof e === 'string' ? rebase(e, fromDir, toDir) : isObj(e) && typeof e.path === 'string' ? { ...e, path: rebase(e.path, fromDir, toDir) } : e));
  }
  if (Array.isArray(out.volumes)) {
    out.volumes = out.volumes.map((v) => {
      if (typeof v === 'string') {
        const [source, ...rest] = v.split(':');
        return rest.length && source!.startsWith('.') ? [rebase(source!, fromDir, toDir), ...rest].join(':') : v;
      }
      if (isObj(v) && v.type === 'bind' && typeof v.source === 'string') return { ...v, source: rebase(v.source, fromDir, toDir) };
      return v;
    });
  }
  if (isObj(out.extends) && typeof out.extends.file === 'string') out.extends = { ...out.extends, file: rebase(out.extends.file, fromDir, toDir) };
  return out;
}

/** A whole file's paths (services, secrets, configs), as seen from `toDir`. */
export function rebaseDocument(doc: Obj, fromDir: string, toDir: string): Obj {
  if (fromDir === toDir) return doc;
  const out: Obj = { ...doc };
  if (isObj(doc.services)) out.services = Object.fromEntries(Object.entries(doc.services).map(([n, s]) => [n, isObj(s) ? rebaseService(s, fromDir, toDir) : s]));
  for (const kind of ['secrets', 'configs']) {
    if (!isObj(doc[kind])) continue;
    out[kind] = Object.fromEntries(Object.entries(doc[kind] as Obj).map(([n, d]) => [n, isObj(d) && typeof d.file === 'string' ? { ...d, file: rebase(d.file, fromDir, toDir) } : d]));
  }
  return out;
}
