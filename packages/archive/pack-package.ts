// `bulkhead pack`: validate a package directory, then write it as a reproducible .bhpkg.
import fs from 'node:fs';
import path from 'node:path';
import * as tar from 'tar';
import { ManifestError, parseApplicationDescription, referencedFiles, type ApplicationDescription } from '../manifest/application-description.js';
import { DEFAULT_MANIFEST_LIMITS } from '../manifest/manifest-limits.js';
import { ArchiveError } from './archive-limits.js';
import { listPackageTree, writeReproducibleTarGz } from './package-archive.js';
import { quoteValue } from '../quote-value.js';

export async function packPackage(dir: string, output: string): Promise<{ manifest: ApplicationDescription; entries: string[] }> {
  const manifestPath = path.join(dir, 'margo.yaml');
  if (!fs.existsSync(manifestPath)) throw new ArchiveError(`${dir}: no margo.yaml at the package root`);
  const manifest = parseApplicationDescription(fs.readFileSync(manifestPath, 'utf8'), manifestPath);
  const entries = listPackageTree(dir);
  const outputRel = path.relative(dir, path.resolve(output));
  if (!outputRel.startsWith('..') && entries.includes(outputRel)) throw new ArchiveError(`output ${output} is inside the package directory`);
  for (const ref of referencedFiles(manifest)) {
    if (!entries.includes(path.posix.normalize(ref))) throw new ArchiveError(`${manifestPath}: refers to ${quoteValue(ref)}, which is not in ${dir}`);
  }
  await writeReproducibleTarGz(dir, entries, output);
  return { manifest, entries };
}

/**
 * Reads margo.yaml out of a package file without extracting anything else. Its size is checked
 * from the tar header before a byte of it is buffered (the file is unverified input).
 */
export function readManifestText(file: string, maxBytes = DEFAULT_MANIFEST_LIMITS.maxBytes): string {
  let text: string | undefined;
  tar.t({
    file, sync: true,
    onReadEntry: (e) => {
      if (e.path === 'margo.yaml' || e.path === './margo.yaml') {
        if ((e.size ?? 0) > maxBytes) {
          throw new ManifestError(`${file}:margo.yaml`, [`${e.size} bytes, over the limit of ${maxBytes} (manifest.maxBytes in the device policy); not parsed`], true);
        }
        const chunks: Buffer[] = [];
        e.on('data', (c: Buffer) => chunks.push(c));
        e.on('end', () => { text = Buffer.concat(chunks).toString('utf8'); });
      } else {
        e.resume();
      }
    },
  });
  if (text === undefined) throw new ArchiveError(`${file}: no margo.yaml at the package root`);
  return text;
}
