// Paths and helpers shared by tests.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const bulkheadBin = path.join(repoRoot, 'bin', 'bulkhead.js');

export function sample(rel: string): string {
  const full = path.join(repoRoot, 'samples', rel);
  if (!fs.existsSync(full)) throw new Error(`sample ${rel} is not built; run npm run build:samples`);
  return full;
}

export function tempDir(prefix = 'bulkhead-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface CliResult { code: number | null; stdout: string; stderr: string; ms: number }

/** Runs the real `bulkhead` command as a child process. */
export function runCli(args: string[], options: { input?: string; cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bulkheadBin, ...args], { cwd: options.cwd ?? repoRoot, stdio: 'pipe', env: { ...process.env, ...options.env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('error', reject);
    child.stdin.end(options.input ?? '');
    child.on('close', (code) => resolve({ code, stdout, stderr, ms: performance.now() - t0 }));
  });
}
