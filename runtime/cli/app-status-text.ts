// The text of `bulkhead status` and `bulkhead logs`, shared by the offline path (reading the data
// dir) and the API client (reading the daemon's answers), so both print the same thing.
// Type-only imports: the fast client must not load the runtime.
import type { AppRow, AuditRow, InstanceRow, LogRow, SandboxRow } from '../apps/app-records.js';
import type { DeviceDrops, ResourceRow } from '../apps/resource-records.js';

export const stateLine = (r: Pick<AppRow, 'appId' | 'actual' | 'reason'>) => `${r.appId}: ${r.actual}${r.reason ? ` (${r.reason})` : ''}`;

export function statusText(daemon: number | null, apps: AppRow[], sandboxes: SandboxRow[], resources: ResourceRow[], dropped: DeviceDrops): string {
  const mib = (n: number) => `${(n / (1024 * 1024)).toFixed(1)} MiB`;
  return [
    `daemon: ${daemon ? `running (pid ${daemon})` : 'not running'}`,
    ...apps.map((r) => `${stateLine(r)}   desired: ${r.desired}`),
    ...sandboxes.map((s) => s.state === 'running'
      ? `sandbox ${s.vendor}: ${s.instances} instance(s), guest CPU ${Math.round(s.cpuMs)} ms, memory ${mib(s.memoryBytes)}`
      : `sandbox ${s.vendor}: stopped${s.reason ? ` (${s.reason})` : ''}`),
    ...resources.map((r) => `resources ${r.vendor}: host buffers ${mib(r.hostBytes)} of ${mib(r.hostBytesLimit)}, fds ${r.fds} of ${r.fdsLimit}, `
      + `disk ${mib(r.diskBytes)} of ${mib(r.diskLimit)}, messages dropped ${r.messagesDropped} received / ${r.publishedDropped} published`),
    ...(dropped.logRowsDropped || dropped.auditRowsDropped
      ? [`state database full: ${dropped.logRowsDropped} log rows and ${dropped.auditRowsDropped} audit rows dropped`] : []),
  ].join('\n');
}

export function appDetailText(row: AppRow, instances: InstanceRow[]): string {
  return [
    `${stateLine(row)}   desired: ${row.desired}`,
    ...instances.map((i) => `  ${i.component} [${i.vendor}]: ${i.state}${i.exitCode !== null ? ` (exit ${i.exitCode})` : ''}${i.reason ? ` ${i.reason}` : ''}`),
  ].join('\n');
}

export function logLine(r: LogRow, json: boolean | undefined): string {
  const fields = Object.entries(r.fields).map(([k, v]) => ` ${printable(k)}=${printable(v)}`).join('');
  return json ? `${JSON.stringify(r)}\n` : `${r.at} ${r.level.toUpperCase().padEnd(5)} ${printable(r.component)}: ${printable(r.message)}${fields}\n`;
}

export function auditText(events: AuditRow[]): string {
  return events.map((e) => printable(`${e.at} ${e.vendor} ${e.appId}/${e.component} ${e.capability}: ${e.attempted} -- ${e.reason}`)).join('\n') || 'no audit events';
}

// Control characters (C0 but tab, DEL, C1), line and paragraph separators, and bidirectional overrides.
const UNPRINTABLE = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text a guest or vendor chose (log messages, attempted paths, names), made safe to print on one
 * line of a terminal: a rogue's "\r\x1b[2K" would otherwise erase its own audit line from the
 * operator's screen, and a newline would forge a record of its own. Escaped as \xNN / \u{NNNN}.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.codePointAt(0)!;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}
