// Replacing <data-dir>/policy.yaml: write a temporary file beside it, fsync, rename over, fsync the
// directory. A reader (the daemon re-reads it per request and per app start) sees the old or the
// new policy, never half of one; a crash leaves one of the two. Used by `bulkhead policy set` and
// by PUT /v1/policy, which both validate the document first.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

export function replacePolicyFile(dataDir: string, doc: unknown, how: string): void {
  const file = path.join(dataDir, 'policy.yaml');
  const text = `# written ${how} at ${new Date().toISOString()}\n${YAML.stringify(doc)}`;
  const tmp = path.join(dataDir, `.policy.yaml.${randomBytes(6).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  const dir = fs.openSync(dataDir, 'r');
  try { fs.fsyncSync(dir); } finally { fs.closeSync(dir); }
}
