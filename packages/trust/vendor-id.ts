// A vendor's identity: its exact name as the trust store knows it (the name a trusted key is
// bound to, and margo.yaml's organization name that signature checks compare with). Branded so
// that a derived name (a slug, a directory, an engine label value) can never be passed where the
// identity is meant: every ownership check compares VendorIds, and every name derived from one
// comes from runtime/state/vendor-names.ts.
import unhomoglyph from 'unhomoglyph';

declare const vendorIdBrand: unique symbol;

export type VendorId = string & { readonly [vendorIdBrand]: true };

/** The identity of the vendor named exactly `name` (no trimming, no case or Unicode folding). */
export function vendorId(name: string): VendorId {
  if (name.length === 0 || name.trim().length === 0) throw new TypeError('a vendor name cannot be empty');
  return name as VendorId;
}

/**
 * Why a new vendor name may not enter the trust store, if it may not: a name that is not in
 * Unicode NFC, carries control or invisible formatting characters, or has surrounding blanks, or
 * one that people cannot tell apart from a vendor already trusted: equal after NFKC and case
 * folding (NFD "Müller" next to NFC "Müller", "ACME" next to "Acme"), or with the same Unicode
 * confusable skeleton (UTS #39: "Vendor А" with a Cyrillic А next to "Vendor A", "lnc" next to
 * "Inc"). Distinct identities stay isolated either way; this keeps an operator from granting a
 * look-alike by mistake.
 */
export function vendorNameProblem(name: string, trusted: readonly string[]): string | undefined {
  if (name !== name.trim()) return 'has leading or trailing blanks';
  if (name.normalize('NFC') !== name) return 'is not in Unicode NFC form (write it with composed characters)';
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(name)) return 'contains control or invisible formatting characters';
  const keys = lookAlikeKeys(name);
  const twin = trusted.find((t) => t !== name && lookAlikeKeys(t).some((k) => keys.includes(k)));
  if (twin !== undefined) return `looks like the trusted vendor ${JSON.stringify(twin)}; use that exact name`;
  return undefined;
}

/**
 * Names people read as the same share a key: the case-folded NFKC form, and the confusable
 * skeleton (unhomoglyph maps each character to its prototype in Unicode's confusables.txt) taken
 * both before and after case folding, since some look-alikes exist only in one case ("I" and "l",
 * Cyrillic "а" and Latin "a").
 */
function lookAlikeKeys(name: string): string[] {
  const folded = name.normalize('NFKC').toLowerCase().normalize('NFKC');
  const skeleton = (s: string) => unhomoglyph(s.normalize('NFD')).normalize('NFD');
  return [folded, skeleton(name.normalize('NFKC')).toLowerCase(), skeleton(folded)];
}
