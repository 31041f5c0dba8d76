#!/usr/bin/env node
// Entry point. Runs the compiled CLI from dist/ (built by `npm run build`, which `npm install` runs).
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/runtime/cli/main.js', import.meta.url);
const thinClient = new URL('../dist/runtime/cli/api-client.js', import.meta.url);
if (!existsSync(compiled) || !existsSync(thinClient)) {
  process.stderr.write('bulkhead: not built yet (or built from an older version); run `npm run build` in the bulkhead folder\n');
  process.exit(126);
}
// status, logs and audit go to the running daemon's API, --version and --help print, without loading the CLI.
// `bulkhead run ...` skips the thin client (it never serves run): start-up is most of a short run.
const served = process.argv[2] !== 'run' && await (await import(thinClient.href)).runThinClient(process.argv);
if (!served) {
  const { main } = await import(compiled.href);
  await main(process.argv);
}
