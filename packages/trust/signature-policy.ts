// How many signatures, in which roles, a device requires before it installs a package.
export interface SignaturePolicy {
  /** Roles that must each have at least one valid signature. 'vendor' must match margo.yaml's vendor. */
  requiredRoles: ('vendor' | 'integrator')[];
  /** Minimum number of distinct valid signatures overall. */
  minimumSignatures: number;
}

export const DEFAULT_SIGNATURE_POLICY: SignaturePolicy = { requiredRoles: ['vendor'], minimumSignatures: 1 };
