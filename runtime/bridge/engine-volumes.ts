// Which engine volumes a deployment may use. The engine creates a volume a container names when it
// does not exist, without our labels: `down` would not find it, and every renamed volume would
// leave one more behind on the host's disk. So every volume a container gets is created by the
// bridge, labelled for the deployment (and so removed by `down`): named volumes must be declared
// in the file's top-level `volumes:` (an undeclared one is refused with the fix, by
// compose-references.ts), and anonymous ones (`- /data`) get a labelled volume of their own per
// service path.
import type { EnforcedService } from './container-policy.js';

/** The volume keys of the anonymous volumes (no source) the services mount, as container-spec names them. */
export function anonymousVolumeKeys(services: EnforcedService[]): string[] {
  return [...new Set(services.flatMap((s) => s.mounts.filter((m) => m.type === 'volume' && m.source === undefined).map((m) => `anon-${m.target}`)))];
}
