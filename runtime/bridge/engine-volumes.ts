// Which engine volumes a deployment may use. The engine creates a volume a container names when it
// does not exist, without our labels: `down` would not find it, and every renamed volume would
// leave one more behind on the host's disk. So every volume a container gets is created by the
// bridge, labelled for the deployment (and so removed by `down`): named volumes must be declared
// in the file's top-level `volumes:` (an undeclared one is refused with the fix), and anonymous
// ones (`- /data`) get a labelled volume of their own per service path.
import type { ComposeFile } from './compose-file.js';
import { parseMount, type EnforcedService, type Violation } from './container-policy.js';
import { quoteValue } from '../../packages/quote-value.js';

/** Named volumes the services mount but the file does not declare. */
export function undeclaredVolumeViolations(compose: ComposeFile): Violation[] {
  const declared = new Set(Object.keys(compose.volumes ?? {}));
  const violations: Violation[] = [];
  for (const [name, svc] of Object.entries(compose.services)) {
    ((svc as Record<string, unknown>).volumes as unknown[] | undefined)?.forEach((spec, i) => {
      const m = parseMount(spec, '/');
      if (m?.type !== 'volume' || m.source === undefined || declared.has(m.source)) return;
      violations.push({
        service: name, rule: 'volumes',
        message: `services.${name}: volumes[${i}] names volume ${quoteValue(m.source)}, which the file does not declare; add it to the top-level volumes: (the bridge then creates it labelled for this deployment, and down removes it)`,
      });
    });
  }
  return violations;
}

/** The volume keys of the anonymous volumes (no source) the services mount, as container-spec names them. */
export function anonymousVolumeKeys(services: EnforcedService[]): string[] {
  return [...new Set(services.flatMap((s) => s.mounts.filter((m) => m.type === 'volume' && m.source === undefined).map((m) => `anon-${m.target}`)))];
}
