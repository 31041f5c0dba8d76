// What every bulkhead host API reports when it refuses a call: the capability, what the guest tried,
// and why. The sandbox records these as audit events with the vendor and app attached.
export interface DenialReport {
  capability: string;
  attempted: string;
  reason: string;
}

export type AuditSink = (denial: DenialReport) => void;
