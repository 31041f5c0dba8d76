// What every bulkhead host API reports when it refuses a call: the capability, what the guest tried,
// and why. The sandbox records these as audit events with the vendor and app attached.
export interface DenialReport {
  capability: string;
  attempted: string;
  reason: string;
}

export type AuditSink = (denial: DenialReport) => void;

/**
 * A guest-chosen string as it goes into an audit record: quoted, and cut to `max` characters
 * with its full size noted, so a refused 1 MiB key costs the audit log a few dozen bytes.
 */
export function auditedText(text: string, max = 80): string {
  if (text.length <= max) return JSON.stringify(text);
  return `${JSON.stringify(text.slice(0, max))}... (${Buffer.byteLength(text)} bytes)`;
}
