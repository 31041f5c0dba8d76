// Builders for package tests: package directories, keys, crafted (hostile) tar.gz archives.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import * as tar from 'tar';
import { packPackage } from '../../packages/archive/pack-package.js';
import { formatPublicKey, formatSecretKey, generateKeyPair, type SecretKey } from '../../packages/signing/minisign.js';
import { sample, tempDir } from './paths.js';

export interface AppSpec { id?: string; version?: string; vendor?: string; files?: Record<string, string | Buffer>; manifestExtra?: string }

export function manifestYaml(spec: AppSpec): string {
  return `apiVersion: margo.org/v1-alpha1
kind: ApplicationDescription
metadata:
  id: ${spec.id ?? 'test-app'}
  name: Test App
  version: ${spec.version ?? '1.0.0'}
  catalog:
    organization:
      - name: ${JSON.stringify(spec.vendor ?? 'Vendor A')}
deploymentProfiles:
  - type: x-bulkhead-wasm
    components:
      - name: hello
        properties:
          module: components/hello.wasm
${spec.manifestExtra ?? ''}`;
}

export function makePackageDir(spec: AppSpec = {}): string {
  const dir = tempDir('bulkhead-pkgsrc-');
  fs.writeFileSync(path.join(dir, 'margo.yaml'), manifestYaml(spec));
  fs.mkdirSync(path.join(dir, 'components'));
  fs.copyFileSync(sample('hello-as/build/hello.wasm'), path.join(dir, 'components', 'hello.wasm'));
  for (const [rel, content] of Object.entries(spec.files ?? {})) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), content);
  }
  return dir;
}

export async function makePackage(spec: AppSpec = {}, into = tempDir('bulkhead-pkg-')): Promise<string> {
  const file = path.join(into, `${spec.id ?? 'test-app'}-${spec.version ?? '1.0.0'}.bhpkg`);
  await packPackage(makePackageDir(spec), file);
  return file;
}

export interface KeyFiles { key: SecretKey; secretFile: string; publicFile: string; publicText: string }

export async function makeKey(dir = tempDir('bulkhead-key-'), name = 'key'): Promise<KeyFiles> {
  const key = await generateKeyPair();
  const secretFile = path.join(dir, `${name}.key`);
  const publicFile = path.join(dir, `${name}.pub`);
  fs.writeFileSync(secretFile, await formatSecretKey(key), { mode: 0o600 });
  const publicText = formatPublicKey(key);
  fs.writeFileSync(publicFile, publicText);
  return { key, secretFile, publicFile, publicText };
}

export interface CraftedEntry { path: string; type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'FIFO'; data?: Buffer | string; linkpath?: string; mode?: number; size?: number }

/** Writes a tar.gz entry by entry with node-tar's header encoder, so tests can craft anything. */
export function craftTarGz(file: string, entries: CraftedEntry[]): string {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const data = Buffer.from(e.data ?? '');
    const header = new tar.Header({
      path: e.path, type: e.type ?? 'File', mode: e.mode ?? 0o644, size: e.size ?? (e.type && e.type !== 'File' ? 0 : data.length),
      mtime: new Date(0), linkpath: e.linkpath, uid: 0, gid: 0,
    });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block);
    if (data.length) {
      blocks.push(data, Buffer.alloc((512 - (data.length % 512)) % 512));
    }
  }
  blocks.push(Buffer.alloc(1024));
  fs.writeFileSync(file, zlib.gzipSync(Buffer.concat(blocks)));
  return file;
}
