// Stable error codes of the fleet link (the Margo WFM client: join, trust, polling, reports).
// Documented in runtime/README.md; a test checks both directions.
export const FleetErrorCode = {
  BH_ERR_FLEET_JOIN: 'fleet join got bad input: an unreadable or mismatched certificate and key, an identity that is not a WFM client SVID, a certificate the trust bundle does not anchor, or a WFM URL that is not https',
  BH_ERR_FLEET_NOT_JOINED: 'the device has not joined a fleet manager (bulkhead fleet join)',
  BH_ERR_FLEET_TRUST_BUNDLE: 'a trust bundle was refused (no X.509 anchors, malformed, a lower spiffe_sequence, another trust domain, a non-https bundle URI); the current one stays in use',
  BH_ERR_FLEET_TLS: 'the connection to the fleet manager failed its identity checks (chain not anchored in the trust bundle, expired, or a SPIFFE ID other than the expected WFM)',
  BH_ERR_FLEET_UNREACHABLE: 'the fleet manager could not be reached or did not answer in time (refused, timed out, truncated, 5xx); retried with backoff',
  BH_ERR_FLEET_TOO_LARGE: 'a response from the fleet manager was over its size cap and was not read further',
  BH_ERR_FLEET_MANIFEST: 'the state manifest was refused (malformed, ETag not the digest of its body, bundle null when it must not be or the reverse, bundle and list disagreeing, an unsupported digest algorithm)',
  BH_ERR_FLEET_DIGEST: 'a fetched deployment or bundle does not match its digest; the update was aborted and the adopted state kept',
  BH_ERR_FLEET_ROLLBACK: 'the manifestVersion is not greater than the one already adopted (replay or rollback); refused',
  BH_ERR_FLEET_RETIRED: 'the fleet manager answered 403 not-authorized (client relationship retired): polling stopped, the last adopted state keeps running',
  BH_ERR_FLEET_REFUSED: 'the fleet manager refused a request with a problem that retrying will not fix (400, 404, 422)',
} as const;

export type FleetErrorCodeName = keyof typeof FleetErrorCode;

export class FleetError extends Error {
  constructor(readonly code: FleetErrorCodeName, message: string, readonly retryAfterMs?: number) {
    super(message);
  }
}
