// Offline devices: images shipped in the package as `docker save` / OCI archives, loaded into the
// engine before `up`, with progress.
import fs from 'node:fs';
import type Docker from 'dockerode';

export async function loadImageArchive(docker: Docker, file: string, onProgress?: (done: number, total: number) => void): Promise<string> {
  const total = fs.statSync(file).size;
  const stream = fs.createReadStream(file);
  let done = 0;
  stream.on('data', (chunk) => {
    done += chunk.length;
    onProgress?.(done, total);
  });
  const response = (await docker.loadImage(stream)) as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of response) text += chunk.toString();
  const loaded = /Loaded image(?: ID)?: ([^\s"\\]+)/.exec(text)?.[1];
  if (/"error"/.test(text) && !loaded) throw new Error(`${file}: the engine refused the image archive: ${text.slice(0, 300)}`);
  return loaded ?? '(unnamed)';
}
