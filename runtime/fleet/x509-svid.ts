// The X.509-SVID leaf rules a verifier enforces (SPIFFE X.509-SVID, Margo svids.md): exactly one
// URI SAN carrying a spiffe:// ID, basic constraints cA false, no keyCertSign or cRLSign. Node's
// X509Certificate does not expose key usage bits or the SAN list unambiguously, so the DER is read
// with @peculiar/asn1-x509.
import { AsnConvert } from '@peculiar/asn1-schema';
import {
  BasicConstraints, Certificate, id_ce_basicConstraints, id_ce_keyUsage, id_ce_subjectAltName,
  KeyUsage, KeyUsageFlags, SubjectAlternativeName,
} from '@peculiar/asn1-x509';

export interface SvidFacts {
  uris: string[];
  isCa: boolean;
  signsCertificates: boolean;
}

export function svidFacts(der: Uint8Array): SvidFacts {
  const cert = AsnConvert.parse(der, Certificate);
  const facts: SvidFacts = { uris: [], isCa: false, signsCertificates: false };
  for (const ext of cert.tbsCertificate.extensions ?? []) {
    const value = ext.extnValue.buffer;
    if (ext.extnID === id_ce_subjectAltName) {
      for (const name of AsnConvert.parse(value, SubjectAlternativeName)) {
        if (name.uniformResourceIdentifier !== undefined) facts.uris.push(name.uniformResourceIdentifier);
      }
    } else if (ext.extnID === id_ce_basicConstraints) {
      facts.isCa = AsnConvert.parse(value, BasicConstraints).cA === true;
    } else if (ext.extnID === id_ce_keyUsage) {
      const usage = AsnConvert.parse(value, KeyUsage);
      facts.signsCertificates = (usage.toNumber() & (KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)) !== 0;
    }
  }
  return facts;
}

/** Why `der` is not an X.509-SVID leaf for exactly `expectedId` (undefined when it is). */
export function svidMismatch(der: Uint8Array, expectedId: string | ((id: string) => string | undefined)): string | undefined {
  let facts: SvidFacts;
  try {
    facts = svidFacts(der);
  } catch (err) {
    return `its certificate cannot be parsed (${(err as Error).message})`;
  }
  if (facts.uris.length !== 1) return `its certificate carries ${facts.uris.length} URI SANs; an X.509-SVID carries exactly one`;
  if (facts.isCa) return 'its certificate is a CA certificate (basic constraints cA true); an X.509-SVID leaf is not';
  if (facts.signsCertificates) return 'its certificate may sign certificates or CRLs (keyCertSign/cRLSign); an X.509-SVID leaf may not';
  const id = facts.uris[0]!;
  if (typeof expectedId === 'function') return expectedId(id);
  if (id !== expectedId) return `it presents ${JSON.stringify(id)}, not ${JSON.stringify(expectedId)}`;
  return undefined;
}
