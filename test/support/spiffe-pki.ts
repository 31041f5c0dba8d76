// X.509-SVIDs for fleet tests, made with the system's openssl (EC P-256 throughout): a trust
// domain's root CA, the WFM's SVID and the device's, and the kinds a device must refuse (another
// WFM's ID, expired, from an untrusted CA, two URI SANs, a CA certificate as leaf), plus an HTTPS
// certificate for a test identity service on 127.0.0.1 signed by a separate "web" CA.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './paths.js';

export const TRUST_DOMAIN = 'factory.test';
export const WFM_ID = 'wfm-1';
export const WFM_SPIFFE_ID = `spiffe://${TRUST_DOMAIN}/margo/wfm/${WFM_ID}`;
export const DEVICE_SPIFFE_ID = `${WFM_SPIFFE_ID}/client/dev-1`;

export interface Pair { cert: string; key: string }

export interface SpiffePki {
  dir: string;
  /** The trust domain's root (PEM file), and a second root for rotation tests. */
  ca: string;
  ca2: string;
  /** A CA of nobody's trust domain. */
  otherCa: string;
  wfm: Pair;
  /** The right WFM ID, issued by the second root (valid only once the bundle carries ca2). */
  wfmFromCa2: Pair;
  wfmWrongId: Pair;
  wfmExpired: Pair;
  wfmUntrusted: Pair;
  wfmTwoUris: Pair;
  wfmCaLeaf: Pair;
  device: Pair;
  /** A device SVID that is not a WFM client ID. */
  deviceNotClient: Pair;
  /** A device SVID from the untrusted CA. */
  deviceUntrusted: Pair;
  /** HTTPS certificate for 127.0.0.1 and the web CA that signed it (identity service tests). */
  web: Pair;
  webCa: string;
}

export function makeSpiffePki(): SpiffePki {
  const dir = tempDir('bh-spiffe-');
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const root = (name: string, cn: string) => ssl('req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-days', '3', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  const extText = (sans: string, ca = false) => [
    `basicConstraints=critical,CA:${ca ? 'TRUE' : 'FALSE'}`,
    ca ? 'keyUsage=critical,keyCertSign,digitalSignature' : 'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth,clientAuth',
    `subjectAltName=${sans}`,
  ].join('\n');
  const leaf = (name: string, sans: string, ca: string, options: { caLeaf?: boolean } = {}) => {
    ssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', `/CN=${name}`);
    fs.writeFileSync(f(`${name}.ext`), `${extText(sans, options.caLeaf)}\n`);
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.pem`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', '-extfile', f(`${name}.ext`));
  };
  root('ca', 'factory.test root');
  root('ca2', 'factory.test root 2');
  root('other-ca', 'someone else');
  root('web-ca', 'web CA');
  leaf('wfm', `URI:${WFM_SPIFFE_ID}`, 'ca');
  leaf('wfm-ca2', `URI:${WFM_SPIFFE_ID}`, 'ca2');
  leaf('wfm-wrong-id', `URI:spiffe://${TRUST_DOMAIN}/margo/wfm/wfm-2`, 'ca');
  leaf('wfm-untrusted', `URI:${WFM_SPIFFE_ID}`, 'other-ca');
  leaf('wfm-two-uris', `URI:${WFM_SPIFFE_ID},URI:spiffe://${TRUST_DOMAIN}/margo/wfm/wfm-2`, 'ca');
  leaf('wfm-ca-leaf', `URI:${WFM_SPIFFE_ID}`, 'ca', { caLeaf: true });
  leaf('device', `URI:${DEVICE_SPIFFE_ID}`, 'ca');
  leaf('device-not-client', `URI:spiffe://${TRUST_DOMAIN}/workload/dev-1`, 'ca');
  leaf('device-untrusted', `URI:${DEVICE_SPIFFE_ID}`, 'other-ca');
  leaf('web', 'IP:127.0.0.1', 'web-ca');
  // Expired but otherwise right: `openssl ca` signs with explicit past dates.
  fs.mkdirSync(f('ca-db'));
  fs.writeFileSync(f('ca-db/index.txt'), '');
  fs.writeFileSync(f('ca-db/serial'), '01\n');
  fs.writeFileSync(f('ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = ca-db/index.txt\nserial = ca-db/serial\nnew_certs_dir = ca-db\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n');
  fs.writeFileSync(f('expired.ext'), `[ext]\n${extText(`URI:${WFM_SPIFFE_ID}`)}\n`);
  ssl('req', ...ec, '-keyout', f('wfm-expired.key'), '-out', f('wfm-expired.csr'), '-subj', '/CN=wfm-expired');
  ssl('ca', '-batch', '-config', f('ca.cnf'), '-cert', f('ca.pem'), '-keyfile', f('ca.key'), '-in', f('wfm-expired.csr'), '-out', f('wfm-expired.pem'),
    '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext', '-extfile', f('expired.ext'), '-extensions', 'ext');
  const pair = (name: string): Pair => ({ cert: f(`${name}.pem`), key: f(`${name}.key`) });
  return {
    dir, ca: f('ca.pem'), ca2: f('ca2.pem'), otherCa: f('other-ca.pem'),
    wfm: pair('wfm'), wfmFromCa2: pair('wfm-ca2'), wfmWrongId: pair('wfm-wrong-id'), wfmExpired: pair('wfm-expired'),
    wfmUntrusted: pair('wfm-untrusted'), wfmTwoUris: pair('wfm-two-uris'), wfmCaLeaf: pair('wfm-ca-leaf'),
    device: pair('device'), deviceNotClient: pair('device-not-client'), deviceUntrusted: pair('device-untrusted'),
    web: pair('web'), webCa: f('web-ca.pem'),
  };
}

/** A SPIFFE bundle (JWK Set) carrying these CA files as x509-svid anchors. */
export function spiffeBundleJson(caFiles: string[], sequence?: number, refreshHint?: number): string {
  const keys = caFiles.map((file) => {
    const pem = fs.readFileSync(file, 'utf8');
    const der = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
    return { use: 'x509-svid', kty: 'EC', crv: 'P-256', x5c: [der] };
  });
  return JSON.stringify({ ...(sequence !== undefined ? { spiffe_sequence: sequence } : {}), ...(refreshHint !== undefined ? { spiffe_refresh_hint: refreshHint } : {}), keys });
}
