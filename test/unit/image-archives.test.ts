// Image archives reach the engine without any name they claim (the engine would apply them).
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { Header, Pax, Parser, type ReadEntry } from 'tar';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ImageArchiveError, namelessArchive } from '../../runtime/bridge/image-archives.js';
import { canonicalImageName } from '../../runtime/bridge/vendor-images.js';
import { tempDir } from '../support/paths.js';

const CONFIG = 'a'.repeat(64);

function entry(name: string, data: string | Buffer, pax = false): Buffer[] {
  const body = Buffer.from(data);
  // With pax, the ustar name is a decoy and the pax header carries the real one (as engines read it).
  const block = Buffer.alloc(512);
  new Header({ path: pax ? 'decoy.txt' : name, type: 'File', size: body.length, mode: 0o644, mtime: new Date(0) }).encode(block);
  const parts = pax ? [new Pax({ path: name } as never).encode(), block] : [block];
  return [...parts, body, Buffer.alloc((512 - (body.length % 512)) % 512)];
}

function archive(entries: Buffer[][], gzip: boolean): string {
  const raw = Buffer.concat([...entries.flat(), Buffer.alloc(1024)]);
  const file = path.join(tempDir('bulkhead-imgarch-'), 'image.tar');
  fs.writeFileSync(file, gzip ? zlib.gzipSync(raw) : raw);
  return file;
}

async function entriesOf(stream: NodeJS.ReadableStream): Promise<Map<string, string>> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const out = new Map<string, string>();
  const parser = new Parser();
  parser.on('entry', (e: ReadEntry) => {
    const parts: Buffer[] = [];
    e.on('data', (c: Buffer) => parts.push(c));
    e.on('end', () => out.set(e.path, Buffer.concat(parts).toString('utf8')));
  });
  await new Promise<void>((resolve) => parser.end(Buffer.concat(chunks), resolve));
  return out;
}

const dockerManifest = JSON.stringify([{ Config: `${CONFIG}.json`, RepoTags: ['localhost/victim:1.0', 'busybox'], Layers: ['l/layer.tar'] }]);

test('docker-archive: RepoTags emptied, repositories dropped, names reported with the image ID (gzip too)', async () => {
  for (const gzip of [false, true]) {
    const { stream, done } = namelessArchive(archive([
      entry('l/layer.tar', 'layer-bytes'), entry(`${CONFIG}.json`, '{}'), entry('repositories', '{"localhost/victim":{"1.0":"x"}}'), entry('manifest.json', dockerManifest),
    ], gzip));
    const out = await entriesOf(stream);
    assert.equal(await done, [{ names: ['localhost/victim:1.0', 'busybox'], id: `sha256:${CONFIG}` }]);
    assert.is(JSON.parse(out.get('manifest.json')!)[0].RepoTags, null);
    assert.not.ok(out.has('repositories'));
    assert.is(out.get('l/layer.tar'), 'layer-bytes');
  }
});

test('a manifest.json named only by a pax header is found and stripped as the engine would read it', async () => {
  const { stream, done } = namelessArchive(archive([entry(`${CONFIG}.json`, '{}'), entry('manifest.json', dockerManifest, true)], false));
  const out = await entriesOf(stream);
  assert.equal((await done)[0]!.names, ['localhost/victim:1.0', 'busybox']);
  assert.is(JSON.parse(out.get('manifest.json')!)[0].RepoTags, null);
  assert.not.ok(out.has('decoy.txt'));
});

test('OCI layout: ref-name annotations removed; the image ID is the config digest of the manifest', async () => {
  const manifest = JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${CONFIG}` }, layers: [] });
  const digest = 'b'.repeat(64);
  const index = JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${digest}`, annotations: { 'org.opencontainers.image.ref.name': 'localhost/victim:1.0', other: 'kept' } }] });
  const { stream, done } = namelessArchive(archive([entry(`blobs/sha256/${digest}`, manifest), entry('index.json', index), entry('oci-layout', '{}')], false));
  const out = await entriesOf(stream);
  assert.equal(await done, [{ names: ['localhost/victim:1.0'], id: `sha256:${CONFIG}` }]);
  assert.equal(JSON.parse(out.get('index.json')!).manifests[0].annotations, { other: 'kept' });
});

test('not an image archive, or an entry leaving it: a one-line ImageArchiveError', async () => {
  const bad = [
    archive([entry('hello.txt', 'hi')], false),
    archive([entry('../manifest.json', dockerManifest)], false),
  ];
  const notTar = path.join(tempDir('bulkhead-imgarch-'), 'x.tar');
  fs.writeFileSync(notTar, 'this is not a tar archive at all'.repeat(40));
  for (const file of [...bad, notTar]) {
    const { stream, done } = namelessArchive(file);
    stream.resume();
    stream.on('error', () => undefined);
    const err = await done.then(() => undefined, (e: Error) => e);
    assert.instance(err, ImageArchiveError, file);
    assert.not.match(err!.message, /\n/);
  }
});

test('a layer bomb (8 MiB of zeros in a few KiB of gzip) is stopped at the cap as it streams', async () => {
  const bomb = zlib.gzipSync(Buffer.alloc(8 * 1024 * 1024));
  assert.ok(bomb.length < 64 * 1024);
  const file = archive([entry('l/layer.tar', bomb), entry(`${CONFIG}.json`, '{}'), entry('manifest.json', dockerManifest)], false);
  const { stream, done } = namelessArchive(file, { maxUnpackedBytes: 1024 * 1024 });
  stream.resume();
  stream.on('error', () => undefined);
  const err = await done.then(() => undefined, (e: Error) => e);
  assert.instance(err, ImageArchiveError);
  assert.match(err!.message, /its layers unpack to more than 1 MiB, more than the vendor's imageStorage allows/);
  // Under the cap, the same archive passes, its bytes unchanged.
  const ok = namelessArchive(file, { maxUnpackedBytes: 9 * 1024 * 1024 });
  const out = await entriesOf(ok.stream);
  await ok.done;
  assert.is(out.get('l/layer.tar')!.length > 0, true);
});

test('image references compare in their canonical form', () => {
  assert.is(canonicalImageName('busybox'), 'docker.io/library/busybox:latest');
  assert.is(canonicalImageName('acme/app:2'), 'docker.io/acme/app:2');
  assert.is(canonicalImageName('localhost/app'), 'localhost/app:latest');
  assert.is(canonicalImageName('registry.local:5000/app@sha256:' + CONFIG), `registry.local:5000/app@sha256:${CONFIG}`);
});

test.run();
