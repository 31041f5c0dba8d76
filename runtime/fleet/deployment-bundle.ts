// Reading a deployment bundle (application/vnd.margo.bundle.v1+tar+gzip): a gzip'd tar whose root
// holds one ApplicationDeployment YAML per deployment. Read in memory from the verified bytes with
// node-tar's parser, under limits (entries, bytes per file, bytes in all, node-tar's own
// inflation-ratio guard): only regular files at the root; no links, no directories but the root,
// no duplicate names. The files are matched to the manifest by digest: the archive must hold
// exactly the set of YAMLs the manifest lists, no more and no fewer, or it is refused.
import { Parser, type ReadEntry } from 'tar';
import { sha256Digest } from './content-digest.js';
import { FleetError } from './fleet-errors.js';
import type { DeploymentRef } from './state-manifest.js';

export interface BundleLimits {
  maxEntries: number;
  maxFileBytes: number;
  maxTotalBytes: number;
}

function refuse(message: string): FleetError {
  return new FleetError('BH_ERR_FLEET_MANIFEST', `deployment bundle: ${message}`);
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

export function readBundleFiles(archive: Buffer, limits: BundleLimits): Promise<Map<string, Buffer>> {
  return new Promise((resolve, reject) => {
    const files = new Map<string, Buffer>();
    let total = 0;
    let failed: Error | undefined;
    const fail = (err: Error) => {
      if (failed) return;
      failed = err;
      parser.abort(err);
      reject(err);
    };
    const parser = new Parser({
      strict: true,
      onReadEntry: (entry: ReadEntry) => {
        if (failed) return void entry.resume();
        const name = entry.path.replace(/^(\.\/)+/, '');
        if (entry.type === 'Directory' && (name === '' || name === '.' || name === './')) return void entry.resume();
        if (!FILE_TYPES.has(entry.type)) return fail(refuse(`entry ${JSON.stringify(entry.path)} is a ${entry.type}; only YAML files at the root are allowed`));
        if (name === '' || name.includes('/') || name === '..' || name.includes('\0')) return fail(refuse(`entry ${JSON.stringify(entry.path)} is not a file at the archive's root`));
        if (files.has(name)) return fail(refuse(`entry ${JSON.stringify(name)} appears twice`));
        if (files.size + 1 > limits.maxEntries) return fail(refuse(`more than ${limits.maxEntries} entries`));
        const size = entry.size ?? 0;
        if (size > limits.maxFileBytes) return fail(refuse(`entry ${JSON.stringify(name)} has ${size} bytes, over the ${limits.maxFileBytes}-byte limit`));
        total += size;
        if (total > limits.maxTotalBytes) return fail(refuse(`unpacks to more than ${limits.maxTotalBytes} bytes`));
        const chunks: Buffer[] = [];
        files.set(name, Buffer.alloc(0));
        entry.on('data', (c: Buffer) => chunks.push(c));
        entry.on('end', () => files.set(name, Buffer.concat(chunks)));
      },
    });
    parser.on('error', (err: Error) => fail(refuse(`not a readable tar+gzip archive (${err.message})`)));
    parser.on('abort', (err: Error) => fail(err instanceof FleetError ? err : refuse(`not a readable tar+gzip archive (${err.message})`)));
    parser.on('end', () => {
      if (!failed) resolve(files);
    });
    try {
      parser.end(archive);
    } catch (err) {
      fail(err instanceof FleetError ? err : refuse(`not a readable tar+gzip archive (${(err as Error).message})`));
    }
  });
}

/** Each listed deployment's bytes, found in the bundle by digest; the sets must be equal. */
export function matchBundle(files: Map<string, Buffer>, deployments: readonly DeploymentRef[]): Map<string, Buffer> {
  const byDigest = new Map<string, Buffer>();
  for (const [name, bytes] of files) {
    const digest = sha256Digest(bytes);
    if (byDigest.has(digest)) throw refuse(`${name} repeats the content of another file`);
    byDigest.set(digest, bytes);
  }
  const out = new Map<string, Buffer>();
  const wanted = new Set<string>();
  for (const d of deployments) {
    const bytes = byDigest.get(d.digest);
    if (!bytes) throw refuse(`it holds no file with deployment ${d.deploymentId}'s digest ${d.digest} (bundle and list disagree); update aborted`);
    out.set(d.deploymentId, bytes);
    wanted.add(d.digest);
  }
  if (byDigest.size !== wanted.size) throw refuse(`it holds ${byDigest.size} files but the manifest lists ${wanted.size} deployments (bundle and list disagree); update aborted`);
  return out;
}
