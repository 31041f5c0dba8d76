// Offline devices: images shipped in a package as `docker save` / OCI archives, loaded into the
// engine before `up`, for one vendor.
//
// Engine image names are one namespace shared by every vendor and the operator. Loaded as shipped,
// an archive whose manifest names another vendor's image ("RepoTags", or an OCI index's ref.name)
// would move that name to its own code, and the victim's next create would run it. So the engine
// never sees the names an archive carries: the archive is parsed (node-tar) and re-serialised with
// every name taken out (docker-archive RepoTags emptied, the legacy `repositories` file dropped, OCI
// ref-name annotations removed), which loads the images by ID only. The names it carried are kept
// by the bridge, per vendor, beside the image IDs they stand for (vendor-images.ts), and each image
// gets a name only the bridge gives (vendorImageName), which keeps it from being pruned.
// Re-serialising what was parsed (rather than editing bytes) leaves no room for the engine to read
// the archive differently from us (a pax header renaming an entry, say).
import fs from 'node:fs';
import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import type Docker from 'dockerode';
import { Header, Parser, Pax, type ReadEntry } from 'tar';

/** An archive the bridge will not load (bad layout, an entry type an image has no use for...). */
export class ImageArchiveError extends Error {}

/** One image of an archive: the names it claimed and the image ID (its config digest). */
export interface ArchiveImage { names: string[]; id: string }

/** Metadata entries are small; a bigger one is not an image archive made by any tool we know. */
const MAX_METADATA_BYTES = 1024 * 1024;
/** OCI manifests are read to find their config; kept only while small, and only so many. */
const MAX_KEPT_BLOBS = 4 * 1024 * 1024;

const normalPath = (p: string) => p.replace(/^(\.\/)+/, '');

interface Collected { manifest?: { Config?: string; RepoTags?: string[] | null }[]; index?: { manifests?: { digest?: string; annotations?: Record<string, string> }[] }; blobs: Map<string, Buffer> }

function rewriteMetadata(name: string, data: Buffer, seen: Collected, archive: string): Buffer | undefined {
  const parse = () => {
    try {
      return JSON.parse(data.toString('utf8'));
    } catch {
      throw new ImageArchiveError(`${archive}: ${name} is not JSON`);
    }
  };
  if (name === 'repositories') return undefined; // legacy names file: dropped
  if (name === 'manifest.json') {
    const manifest = parse() as Collected['manifest'];
    if (!Array.isArray(manifest)) throw new ImageArchiveError(`${archive}: manifest.json is not a list of images`);
    seen.manifest = manifest.map((m) => ({ ...m }));
    return Buffer.from(JSON.stringify(manifest.map((m) => ({ ...m, RepoTags: null }))));
  }
  if (name === 'index.json') {
    const index = parse() as NonNullable<Collected['index']>;
    seen.index = JSON.parse(JSON.stringify(index));
    for (const m of index.manifests ?? []) {
      if (!m.annotations) continue;
      delete m.annotations['org.opencontainers.image.ref.name'];
      delete m.annotations['io.containerd.image.name'];
    }
    return Buffer.from(JSON.stringify(index));
  }
  return data;
}

function encodeHeader(fields: ConstructorParameters<typeof Header>[0] & object): Buffer {
  const header = new Header(fields);
  const block = Buffer.alloc(512);
  // encode() answers true when a field does not fit the ustar header: a pax header carries it.
  const needPax = header.encode(block);
  return needPax ? Buffer.concat([new Pax(fields as never).encode(), block]) : block;
}

const padding = (size: number) => Buffer.alloc((512 - (size % 512)) % 512);

/**
 * The archive as a tar stream without any image name in it; `done` resolves, once the stream has
 * been read to its end, to the images it holds (names as claimed, IDs).
 */
export function namelessArchive(file: string, options: { onRead?: (bytes: number) => void; maxUnpackedBytes?: number } = {}): { stream: Readable; done: Promise<ArchiveImage[]> } {
  const { onRead, maxUnpackedBytes = Infinity } = options;
  const out = new PassThrough();
  const unpacking: Promise<unknown>[] = [];
  let unpacked = 0;
  const charge = (bytes: number) => {
    unpacked += bytes;
    if (unpacked > maxUnpackedBytes && !failure) {
      fail(new ImageArchiveError(`${file}: its layers unpack to more than ${Math.floor(maxUnpackedBytes / 1024 / 1024)} MiB, more than the vendor's imageStorage allows; raise imageStorage in policy.yaml or ship smaller images`));
    }
  };
  const seen: Collected = { blobs: new Map() };
  let kept = 0;
  const parser = new Parser({ strict: true });
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
    out.destroy(failure);
  };
  parser.on('entry', (entry: ReadEntry) => {
    const name = normalPath(entry.path);
    if (failure) return entry.resume();
    if (name.startsWith('/') || name.split('/').includes('..')) return entry.resume(), fail(new ImageArchiveError(`${file}: entry ${JSON.stringify(entry.path)} leaves the archive`));
    const base = { path: name, mode: entry.mode ?? 0o644, uid: 0, gid: 0, mtime: new Date(0) };
    if (entry.type === 'Directory') {
      out.write(encodeHeader({ ...base, type: 'Directory', size: 0 }));
      return entry.resume();
    }
    if (entry.type === 'SymbolicLink' || entry.type === 'Link') {
      out.write(encodeHeader({ ...base, type: entry.type, size: 0, linkpath: entry.linkpath }));
      return entry.resume();
    }
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      entry.resume();
      return fail(new ImageArchiveError(`${file}: entry ${JSON.stringify(name)} is a ${entry.type}; image archives hold files, directories and links only`));
    }
    const isMetadata = name === 'manifest.json' || name === 'index.json' || name === 'repositories';
    const keepBlob = !isMetadata && name.startsWith('blobs/sha256/') && (entry.size ?? 0) <= 64 * 1024 && kept + (entry.size ?? 0) <= MAX_KEPT_BLOBS;
    if (isMetadata || keepBlob) {
      if ((entry.size ?? 0) > MAX_METADATA_BYTES) return entry.resume(), fail(new ImageArchiveError(`${file}: ${name} is over ${MAX_METADATA_BYTES} bytes`));
      const chunks: Buffer[] = [];
      entry.on('data', (c: Buffer) => chunks.push(c));
      entry.on('end', () => {
        const data = Buffer.concat(chunks);
        if (keepBlob) {
          kept += data.length;
          seen.blobs.set(`sha256:${name.slice('blobs/sha256/'.length)}`, data);
        }
        let body: Buffer | undefined;
        try {
          body = isMetadata ? rewriteMetadata(name, data, seen, file) : data;
        } catch (err) {
          return fail(err as Error);
        }
        if (body === undefined) return;
        out.write(encodeHeader({ ...base, type: 'File', size: body.length }));
        out.write(body);
        out.write(padding(body.length));
      });
      return;
    }
    out.write(encodeHeader({ ...base, type: 'File', size: entry.size ?? 0 }));
    // What the layer unpacks to is what it takes in the engine: counted as it streams by, so a
    // small archive of highly compressed zeros is stopped at the cap, not after it filled the disk.
    let unpacker: zlib.Gunzip | undefined;
    let first = true;
    let waiting = 0;
    const wait = (stream: NodeJS.WritableStream) => {
      waiting++;
      entry.pause();
      stream.once('drain', () => {
        if (--waiting === 0) entry.resume();
      });
    };
    entry.on('data', (c: Buffer) => {
      if (failure) return;
      if (first) {
        first = false;
        if (c[0] === 0x28 && c[1] === 0xb5 && c[2] === 0x2f && c[3] === 0xfd) {
          return fail(new ImageArchiveError(`${file}: layer ${name} is zstd-compressed, whose unpacked size cannot be checked before loading; save the image with gzip or uncompressed layers`));
        }
        if (c[0] === 0x1f && c[1] === 0x8b) {
          unpacker = zlib.createGunzip();
          unpacker.on('data', (d: Buffer) => charge(d.length));
          const u = unpacker;
          unpacking.push(new Promise((resolve) => u.on('end', resolve).on('error', resolve))); // a corrupt layer: the engine refuses it
        }
      }
      if (!unpacker) charge(c.length);
      else if (!unpacker.write(c)) wait(unpacker);
      if (!out.write(c)) wait(out);
    });
    entry.on('end', () => {
      unpacker?.end();
      out.write(padding(entry.size ?? 0));
    });
  });
  parser.on('warn', (code: string, message: string) => fail(new ImageArchiveError(`${file}: not a tar archive (${code}: ${message})`)));
  parser.on('error', (err: Error) => fail(new ImageArchiveError(`${file}: not a tar archive (${err.message})`)));
  const done = (async () => {
    const input = fs.createReadStream(file);
    // Whoever reads `out` stopped early (the engine refused, or we failed): stop reading the file,
    // or an entry waiting for 'drain' would wait forever.
    out.on('close', () => {
      if (!out.writableFinished) input.destroy(failure ?? new ImageArchiveError(`${file}: the engine stopped reading the image archive`));
    });
    let read = 0;
    if (onRead) input.on('data', (c) => onRead((read += c.length)));
    const head = await new Promise<Buffer>((resolve, reject) => {
      const s = fs.createReadStream(file, { start: 0, end: 1 });
      const parts: Buffer[] = [];
      s.on('data', (c) => parts.push(c as Buffer)).on('end', () => resolve(Buffer.concat(parts))).on('error', reject);
    });
    const gzipped = head[0] === 0x1f && head[1] === 0x8b;
    try {
      await (gzipped ? pipeline(input, zlib.createGunzip(), parser) : pipeline(input, parser));
    } catch (err) {
      fail(failure ?? new ImageArchiveError(`${file}: cannot be read: ${(err as Error).message}`));
    }
    await Promise.all(unpacking); // the last layer's unpacked bytes are counted before the archive ends
    if (failure) throw failure;
    out.end(Buffer.alloc(1024));
    return imagesOf(seen, file);
  })();
  done.catch(() => undefined); // reported by the caller awaiting it
  return { stream: out, done };
}

function imagesOf(seen: Collected, file: string): ArchiveImage[] {
  if (seen.manifest) {
    return seen.manifest.map((m) => {
      const digest = /([0-9a-f]{64})(?:\.json)?$/.exec(m.Config ?? '')?.[1];
      if (!digest) throw new ImageArchiveError(`${file}: manifest.json names no image config`);
      return { names: m.RepoTags ?? [], id: `sha256:${digest}` };
    });
  }
  if (seen.index) {
    return (seen.index.manifests ?? []).map((m) => {
      const manifest = m.digest ? seen.blobs.get(m.digest) : undefined;
      let config: string | undefined;
      try {
        config = manifest ? (JSON.parse(manifest.toString('utf8')) as { config?: { digest?: string } }).config?.digest : undefined;
      } catch { /* not a manifest */ }
      if (!config || !/^sha256:[0-9a-f]{64}$/.test(config)) throw new ImageArchiveError(`${file}: index.json names ${m.digest ?? 'an entry'}, which is not an image manifest in the archive (image indexes of several platforms are not supported)`);
      const names = [m.annotations?.['io.containerd.image.name'], m.annotations?.['org.opencontainers.image.ref.name']].filter((n): n is string => Boolean(n));
      return { names: [...new Set(names)], id: config };
    });
  }
  throw new ImageArchiveError(`${file}: neither manifest.json (docker save) nor index.json (OCI) in the archive`);
}

/**
 * Loads the archive's images into the engine by ID only (no name of the archive reaches the
 * engine) and returns them with the names they claimed.
 */
export async function loadImageArchive(docker: Docker, file: string, onProgress?: (done: number, total: number) => void, maxUnpackedBytes?: number): Promise<ArchiveImage[]> {
  let total: number;
  try {
    total = fs.statSync(file).size;
  } catch {
    throw new ImageArchiveError(`${file}: cannot read the image archive`);
  }
  const { stream, done: parsed } = namelessArchive(file, { onRead: onProgress && ((read) => onProgress(read, total)), maxUnpackedBytes });
  let text = '';
  try {
    const response = (await docker.loadImage(stream)) as NodeJS.ReadableStream;
    for await (const chunk of response) text += chunk.toString();
  } catch (err) {
    const fault = await Promise.race([parsed.then(() => undefined, (e: Error) => e), new Promise<undefined>((r) => setImmediate(() => r(undefined)))]);
    stream.destroy();
    // A fault of the archive itself explains the engine's refusal better than the engine does.
    if (fault && !fault.message.includes('the engine stopped reading')) throw fault;
    throw new ImageArchiveError(`${file}: the engine refused the image archive: ${(err as Error).message}`);
  }
  // The engine answered before reading the whole archive: it refused it (the answer says why).
  if (!stream.readableEnded) {
    stream.destroy();
    await parsed.catch(() => undefined);
    throw new ImageArchiveError(`${file}: the engine refused the image archive: ${text.slice(0, 300)}`);
  }
  const images = await parsed;
  const loaded = new Set(text.match(/sha256:[0-9a-f]{64}/g) ?? []);
  for (const image of images) {
    if (!loaded.has(image.id)) throw new ImageArchiveError(`${file}: the engine did not load image ${image.id}: ${text.slice(0, 300)}`);
  }
  return images;
}
