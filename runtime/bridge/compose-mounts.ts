// A service's `volumes` items in both Compose syntaxes. Short: [SOURCE:]TARGET[:MODE] where a
// SOURCE starting with ".", "/" or "~" is a host path (bind) and anything else a named volume; long:
// { type: bind|volume|tmpfs, source, target, read_only, bind: { selinux, create_host_path },
// tmpfs: { size, mode } }. Host paths resolve against the project directory.
import path from 'node:path';
import { quoteValue } from '../../packages/quote-value.js';

export interface Mount {
  type: 'bind' | 'volume' | 'tmpfs';
  /** Bind: absolute host path; volume: the volume's name in the file (none: anonymous). */
  source?: string;
  target: string;
  readOnly: boolean;
  /** SELinux relabelling of a bind mount's source (z shared, Z private). */
  selinux?: 'z' | 'Z';
  /** Bind source as written started with "~" (the device user's home). */
  home?: boolean;
  tmpfs?: { size?: number | string; mode?: number };
}

const SHORT_MODES = new Set(['ro', 'rw', 'z', 'Z', 'nocopy', 'cached', 'delegated', 'consistent', 'rprivate', 'private']);

function hostPath(source: string, baseDir: string): { source: string; home?: true } {
  if (source.startsWith('~')) return { source, home: true };
  return { source: path.resolve(baseDir, source) };
}

/** The mount an item stands for, or a message saying what is wrong with it. */
export function parseMount(spec: unknown, baseDir: string): Mount | string {
  if (spec && typeof spec === 'object' && !Array.isArray(spec)) {
    const v = spec as { type?: unknown; source?: unknown; target?: unknown; read_only?: unknown; bind?: { selinux?: unknown }; tmpfs?: { size?: unknown; mode?: unknown } };
    if (typeof v.target !== 'string' || !v.target.startsWith('/')) return 'the long syntax needs a target: an absolute path in the container';
    const readOnly = v.read_only === true;
    switch (v.type) {
      case 'bind': {
        if (typeof v.source !== 'string' || v.source === '') return 'a bind mount needs a source: the host directory, relative to the project (e.g. source: ./data)';
        const host = hostPath(v.source, baseDir);
        const selinux = v.bind?.selinux === 'z' || v.bind?.selinux === 'Z' ? v.bind.selinux : undefined;
        return { type: 'bind', ...host, target: v.target, readOnly, ...(selinux ? { selinux } : {}) };
      }
      case 'volume':
        if (v.source !== undefined && (typeof v.source !== 'string' || v.source === '')) return 'a volume mount\'s source is the name of a volume (or none, for an anonymous volume)';
        return { type: 'volume', ...(v.source ? { source: v.source as string } : {}), target: v.target, readOnly };
      case 'tmpfs':
        if (v.source !== undefined) return 'a tmpfs mount has no source';
        return { type: 'tmpfs', target: v.target, readOnly, tmpfs: { ...(v.tmpfs?.size !== undefined ? { size: v.tmpfs.size as number | string } : {}), ...(typeof v.tmpfs?.mode === 'number' ? { mode: v.tmpfs.mode } : {}) } };
      default:
        return v.type === undefined ? 'a long-syntax mount needs a type: bind, volume or tmpfs' : `mount type ${quoteValue(v.type)} is not bind, volume or tmpfs`;
    }
  }
  if (typeof spec !== 'string' || spec === '') return 'not a volume ([SOURCE:]TARGET[:MODE])';
  const parts = spec.split(':');
  if (parts.length > 3) return 'not a volume ([SOURCE:]TARGET[:MODE])';
  if (parts.length === 1) {
    if (!parts[0]!.startsWith('/')) return 'an anonymous volume needs an absolute target path';
    return { type: 'volume', target: parts[0]!, readOnly: false };
  }
  const [source, target, mode = ''] = parts as [string, string, string?];
  if (!source || !target || !target.startsWith('/')) return 'not a volume ([SOURCE:]TARGET[:MODE]; TARGET an absolute path)';
  const modes = mode === '' ? [] : mode.split(',');
  const bad = modes.find((m) => !SHORT_MODES.has(m));
  if (bad !== undefined) return `mode ${JSON.stringify(bad)} is not one of ${[...SHORT_MODES].join(', ')}`;
  const readOnly = modes.includes('ro');
  if (/^[./~]/.test(source)) {
    const selinux = modes.includes('Z') ? 'Z' : modes.includes('z') ? 'z' : undefined;
    return { type: 'bind', ...hostPath(source, baseDir), target, readOnly, ...(selinux ? { selinux } : {}) };
  }
  return { type: 'volume', source, target, readOnly };
}
