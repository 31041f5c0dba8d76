// A vendor's identity: its exact name as the trust store knows it (the name a trusted key is
// bound to, and margo.yaml's organization name that signature checks compare with). Branded so
// that a derived name (a slug, a directory, an engine label value) can never be passed where the
// identity is meant: every ownership check compares VendorIds, and every name derived from one
// comes from runtime/state/vendor-names.ts.
declare const vendorIdBrand: unique symbol;

export type VendorId = string & { readonly [vendorIdBrand]: true };

/** The identity of the vendor named exactly `name` (no trimming, no case or Unicode folding). */
export function vendorId(name: string): VendorId {
  if (name.length === 0 || name.trim().length === 0) throw new TypeError('a vendor name cannot be empty');
  return name as VendorId;
}
