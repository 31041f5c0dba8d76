// Stable error codes of the container bridge, documented in runtime/README.md (a test checks both
// directions, as for the package codes).
export const BridgeErrorCode = {
  BH_ERR_POLICY: 'the Compose file breaks the vendor isolation policy; nothing was created',
  BH_ERR_DEPLOY: 'the engine could not create or start a service (image missing, port taken, unhealthy dependency...)',
  BH_ERR_ENGINE: 'the container engine is unreachable or not configured',
} as const;
