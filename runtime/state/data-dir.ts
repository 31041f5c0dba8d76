// Where a device keeps its state: --data-dir, else $BULKHEAD_DATA_DIR, else /var/lib/bulkhead for
// root (a device daemon), else ~/.local/share/bulkhead (a developer's laptop).
import os from 'node:os';
import path from 'node:path';

export function defaultDataDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BULKHEAD_DATA_DIR) return path.resolve(env.BULKHEAD_DATA_DIR);
  if (process.getuid?.() === 0) return '/var/lib/bulkhead';
  return path.join(env.XDG_DATA_HOME ?? path.join(os.homedir(), '.local', 'share'), 'bulkhead');
}
