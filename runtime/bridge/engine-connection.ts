// The container engine, over the Docker Engine API on a unix socket (Docker, or Podman's
// compatible service). Found like the docker CLI finds it: --host, else DOCKER_HOST (unix://...),
// else the usual sockets.
import fs from 'node:fs';
import Docker from 'dockerode';
import { quoteValue } from '../../packages/quote-value.js';

export class EngineError extends Error {}

const CANDIDATES = ['/run/podman/podman.sock', '/var/run/docker.sock', '/run/docker.sock'];

export function engineSocket(explicit?: string, env: NodeJS.ProcessEnv = process.env): string {
  const host = explicit ?? env.DOCKER_HOST;
  if (host) {
    if (host.startsWith('unix://')) return host.slice('unix://'.length);
    if (host.startsWith('/')) return host;
    throw new EngineError(`engine address ${quoteValue(host)}: only unix sockets are supported (unix:///path/to.sock)`);
  }
  const found = CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new EngineError(`no container engine socket found (tried ${CANDIDATES.join(', ')}); set DOCKER_HOST=unix:///path/to.sock`);
  return found;
}

export async function connectEngine(explicit?: string): Promise<Docker> {
  const socketPath = engineSocket(explicit);
  const docker = new Docker({ socketPath, timeout: 60_000 });
  try {
    await docker.ping();
  } catch (err) {
    throw new EngineError(`container engine at ${socketPath} is unreachable (${(err as Error).message}); is the service running?`);
  }
  return docker;
}
