// SPIFFE IDs of Margo's WFM Identity Profile. A device's SVID names its WFM:
// spiffe://<trust-domain>/margo/wfm/<wfm-id>/client/<client-id> belongs to the WFM
// spiffe://<trust-domain>/margo/wfm/<wfm-id>, so the WFM the device may talk to is derived from
// the device's own certificate, never from separate configuration (wfm-identity-profile.md).
// Comparisons are exact and case-sensitive.

/** SPIFFE ID path segment: letters, digits, dot, dash, underscore; not "." or "..". */
const SEGMENT = /^[A-Za-z0-9._-]+$/;
/** SPIFFE trust domain name: lowercase letters, digits, dot, dash, underscore. */
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;

export interface WfmClientIdentity {
  /** The device's own SPIFFE ID, exactly as its certificate carries it. */
  spiffeId: string;
  trustDomain: string;
  wfmId: string;
  clientId: string;
  /** The only SPIFFE ID the WFM may present: spiffe://<trust-domain>/margo/wfm/<wfm-id>. */
  wfmSpiffeId: string;
}

function segmentOk(s: string): boolean {
  return SEGMENT.test(s) && s !== '.' && s !== '..';
}

/** Parses a WFM client SPIFFE ID; returns why not when it is not one. */
export function parseWfmClientId(id: string): WfmClientIdentity | { error: string } {
  const m = /^spiffe:\/\/([^/]+)\/margo\/wfm\/([^/]+)\/client\/([^/]+)$/.exec(id);
  if (!m) return { error: `${JSON.stringify(id)} is not of the form spiffe://<trust-domain>/margo/wfm/<wfm-id>/client/<client-id>` };
  const [, trustDomain, wfmId, clientId] = m as unknown as [string, string, string, string];
  if (!TRUST_DOMAIN.test(trustDomain) || trustDomain.length > 255) return { error: `trust domain ${JSON.stringify(trustDomain)} is not a SPIFFE trust domain name (lowercase letters, digits, ".", "-", "_")` };
  if (!segmentOk(wfmId)) return { error: `wfm-id ${JSON.stringify(wfmId)} is not a SPIFFE path segment` };
  if (!segmentOk(clientId)) return { error: `client-id ${JSON.stringify(clientId)} is not a SPIFFE path segment` };
  return { spiffeId: id, trustDomain, wfmId, clientId, wfmSpiffeId: `spiffe://${trustDomain}/margo/wfm/${wfmId}` };
}
