// Registry credentials the way other OCI tools find them: explicit flags, then environment
// (BULKHEAD_REGISTRY_USERNAME / BULKHEAD_REGISTRY_PASSWORD), then the auth files that podman,
// skopeo and docker write (REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// ~/.docker/config.json), matched by registry host.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface RegistryCredentials { username: string; password: string }

export function authFiles(env: NodeJS.ProcessEnv = process.env): string[] {
  const files: string[] = [];
  if (env.REGISTRY_AUTH_FILE) files.push(env.REGISTRY_AUTH_FILE);
  if (env.XDG_RUNTIME_DIR) files.push(path.join(env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  files.push(path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json'));
  return files;
}

export function findCredentials(registry: string, env: NodeJS.ProcessEnv = process.env): RegistryCredentials | undefined {
  if (env.BULKHEAD_REGISTRY_USERNAME && env.BULKHEAD_REGISTRY_PASSWORD !== undefined) {
    return { username: env.BULKHEAD_REGISTRY_USERNAME, password: env.BULKHEAD_REGISTRY_PASSWORD };
  }
  for (const file of authFiles(env)) {
    let auths: Record<string, { auth?: string }> | undefined;
    try {
      auths = (JSON.parse(fs.readFileSync(file, 'utf8')) as { auths?: Record<string, { auth?: string }> }).auths;
    } catch {
      continue; // absent or unreadable: try the next file, as docker does
    }
    const entry = auths?.[registry] ?? auths?.[`https://${registry}`] ?? auths?.[`http://${registry}`];
    if (entry?.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}
