// Stable error codes of the container bridge, documented in runtime/README.md (a test checks both
// directions, as for the package codes).
export const BridgeErrorCode = {
  BH_ERR_COMPOSE_INVALID: 'the Compose file is malformed: YAML, interpolation, a value of the wrong type, the schema, or a reference to nothing (depends_on, volumes, networks...); bad input',
  BH_ERR_COMPOSE_UNSUPPORTED: 'the Compose file uses a key the container bridge does not implement (named in the message); bad input',
  BH_ERR_POLICY: 'the Compose file breaks the vendor isolation policy; nothing was created',
  BH_ERR_DEPLOY: 'the engine could not create or start a service (image missing, port taken, unhealthy dependency...)',
  BH_ERR_ENGINE: 'the container engine is unreachable or not configured',
} as const;
