// The device's own X.509-SVID, checked at join: a WFM client SPIFFE ID (which names the WFM it may
// talk to), a leaf that obeys the SVID rules, the private key that matches it, within its validity
// period, and a chain (leaf, then the intermediates given in the same file) that reaches an anchor
// of the trust bundle. A device that would be refused by its WFM is refused here, with the reason.
import crypto from 'node:crypto';
import { FleetError } from './fleet-errors.js';
import { parseWfmClientId, type WfmClientIdentity } from './spiffe-id.js';
import type { TrustBundle } from './trust-bundle.js';
import { svidMismatch } from './x509-svid.js';

function bad(message: string): never {
  throw new FleetError('BH_ERR_FLEET_JOIN', message);
}

export function pemCertificates(text: string, where: string): crypto.X509Certificate[] {
  const blocks = [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g)].map((m) => m[0]);
  if (blocks.length === 0) bad(`${where} holds no PEM certificate`);
  return blocks.map((b, i) => {
    try {
      return new crypto.X509Certificate(b);
    } catch (err) {
      bad(`${where} certificate ${i + 1} cannot be parsed (${(err as Error).message})`);
    }
  });
}

export function checkDeviceSvid(certPem: Buffer, keyPem: Buffer, certFile: string, keyFile: string, now = new Date()): { identity: WfmClientIdentity; chain: crypto.X509Certificate[] } {
  const chain = pemCertificates(certPem.toString('utf8'), certFile);
  const leaf = chain[0]!;
  let identity: WfmClientIdentity | undefined;
  const why = svidMismatch(leaf.raw, (id) => {
    const parsed = parseWfmClientId(id);
    if ('error' in parsed) return parsed.error;
    identity = parsed;
    return undefined;
  });
  if (why || !identity) bad(`${certFile} is not a WFM client X.509-SVID: ${why ?? 'no SPIFFE ID'}`);
  let key: crypto.KeyObject;
  try {
    key = crypto.createPrivateKey(keyPem);
  } catch (err) {
    bad(`${keyFile} is not a readable unencrypted private key (${(err as Error).message})`);
  }
  if (!leaf.checkPrivateKey(key)) bad(`${keyFile} is not the private key of the certificate in ${certFile}`);
  if (now < new Date(leaf.validFrom)) bad(`${certFile} is not valid before ${leaf.validFrom}`);
  if (now > new Date(leaf.validTo)) bad(`${certFile} expired on ${leaf.validTo}`);
  return { identity, chain };
}

/** Throws unless `chain` (leaf first) reaches one of the bundle's anchors, each link's signature checked. */
export function checkChainAnchored(chain: crypto.X509Certificate[], bundle: TrustBundle, certFile: string): void {
  const anchors = bundle.anchors.map((pem) => new crypto.X509Certificate(pem));
  let current = chain[0]!;
  const rest = chain.slice(1);
  for (let depth = 0; depth < 8; depth++) {
    const anchor = anchors.find((a) => current.checkIssued(a) && current.verify(a.publicKey));
    if (anchor) return;
    const i = rest.findIndex((c) => current.checkIssued(c) && current.verify(c.publicKey));
    if (i < 0) break;
    current = rest.splice(i, 1)[0]!;
  }
  bad(`${certFile} does not chain to an anchor of the trust bundle (its issuer: ${current.issuer.replace(/\n/g, ', ')}); the fleet manager would refuse it`);
}
