// Where a device keeps its state: --data-dir, else $BULKHEAD_DATA_DIR, else /var/lib/bulkhead for
// root (a device daemon), else ~/.local/share/bulkhead (a developer's laptop).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BULKHEAD_DATA_DIR) return path.resolve(env.BULKHEAD_DATA_DIR);
  if (process.getuid?.() === 0) return '/var/lib/bulkhead';
  return path.join(env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'bulkhead');
}

export class DataDirError extends Error {}

/**
 * Makes sure the data dir exists, creating missing directories one level at a time. Node's
 * recursive mkdir loops forever at 100% CPU where mkdir answers ENOENT under an existing parent
 * (`--data-dir /proc/nope`, issue 11); this fails with one clear line instead.
 */
export function ensureDataDir(dir: string): void {
  const abs = path.resolve(dir);
  try {
    if (fs.statSync(abs).isDirectory()) return;
    throw new DataDirError(`data dir ${dir} is not a directory`);
  } catch (err) {
    if (err instanceof DataDirError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') throw new DataDirError(`data dir ${dir}: cannot use it (${code})`);
  }
  const parent = path.dirname(abs);
  if (parent !== abs) ensureDataDir(parent);
  try {
    fs.mkdirSync(abs, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && fs.statSync(abs).isDirectory()) return;
    throw new DataDirError(`cannot create the data dir ${dir} (${code}); choose another with --data-dir or BULKHEAD_DATA_DIR`);
  }
}
