// Certificates for mTLS tests, made with the system's openssl (EC P-256): a client CA, a server
// certificate for 127.0.0.1, client certificates mapped by CN or URI SAN, and the refused kinds
// (expired, self-signed, signed by another CA).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { tempDir } from './paths.js';

export interface TestPki {
  dir: string;
  ca: string;
  server: { cert: string; key: string };
  /** Each client's certificate and key: admin (CN=ops-laptop), reader (URI SAN), stranger (unmapped), expired, selfSigned, wrongCa. */
  clients: Record<'admin' | 'reader' | 'stranger' | 'expired' | 'selfSigned' | 'wrongCa', { cert: string; key: string }>;
}

export function makeTestPki(): TestPki {
  const dir = tempDir('bh-pki-');
  const f = (name: string) => path.join(dir, name);
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  const selfSigned = (name: string, subject: string) => ssl('req', '-x509', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.pem`), '-days', '2', '-subj', subject);
  const leaf = (name: string, subject: string, ca: string, ext?: string) => {
    ssl('req', ...ec, '-keyout', f(`${name}.key`), '-out', f(`${name}.csr`), '-subj', subject);
    const extArgs: string[] = [];
    if (ext) {
      fs.writeFileSync(f(`${name}.ext`), `${ext}\n`);
      extArgs.push('-extfile', f(`${name}.ext`));
    }
    ssl('x509', '-req', '-in', f(`${name}.csr`), '-CA', f(`${ca}.pem`), '-CAkey', f(`${ca}.key`), '-CAcreateserial', '-out', f(`${name}.pem`), '-days', '2', ...extArgs);
  };
  selfSigned('ca', '/CN=Bulkhead test client CA');
  selfSigned('other-ca', '/CN=Another CA');
  leaf('server', '/CN=device', 'ca', 'subjectAltName=IP:127.0.0.1');
  leaf('admin', '/CN=ops-laptop', 'ca');
  leaf('reader', '/CN=dashboard', 'ca', 'subjectAltName=URI:spiffe://plant-7/dashboard');
  leaf('stranger', '/CN=stranger', 'ca');
  leaf('wrong-ca', '/CN=ops-laptop', 'other-ca');
  selfSigned('self-signed', '/CN=ops-laptop');
  // Expired but otherwise valid: `openssl ca` signs with explicit past dates.
  fs.mkdirSync(f('ca-db'));
  fs.writeFileSync(f('ca-db/index.txt'), '');
  fs.writeFileSync(f('ca-db/serial'), '01\n');
  fs.writeFileSync(f('ca.cnf'), '[ca]\ndefault_ca = test\n[test]\ndatabase = ca-db/index.txt\nserial = ca-db/serial\nnew_certs_dir = ca-db\ndefault_md = sha256\npolicy = any\n[any]\ncommonName = supplied\n');
  ssl('req', ...ec, '-keyout', f('expired.key'), '-out', f('expired.csr'), '-subj', '/CN=ops-laptop');
  ssl('ca', '-batch', '-config', f('ca.cnf'), '-cert', f('ca.pem'), '-keyfile', f('ca.key'), '-in', f('expired.csr'), '-out', f('expired.pem'),
    '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-notext');
  const pair = (name: string) => ({ cert: f(`${name}.pem`), key: f(`${name}.key`) });
  return {
    dir, ca: f('ca.pem'), server: pair('server'),
    clients: { admin: pair('admin'), reader: pair('reader'), stranger: pair('stranger'), expired: pair('expired'), selfSigned: pair('self-signed'), wrongCa: pair('wrong-ca') },
  };
}
