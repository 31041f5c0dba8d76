// A Margo Identity Service of our own for tests (trust-bundle-api 1.0.0-rc.3): the discovery
// document at /.well-known/margo and the SPIFFE bundle it points to, over HTTPS on 127.0.0.1 with a
// certificate from a "web" CA (the initial trust the operator configures with --identity-ca).
import fs from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Pair } from './spiffe-pki.js';

export class TestIdentityService {
  discovery: Record<string, unknown> = {};
  bundle = '';
  private constructor(private readonly server: https.Server, readonly url: string) {}

  static async start(cert: Pair, trustDomain: string): Promise<TestIdentityService> {
    let self: TestIdentityService | undefined;
    const server = https.createServer({ key: fs.readFileSync(cert.key), cert: fs.readFileSync(cert.cert) }, (req, res) => {
      if (req.url === '/.well-known/margo') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(self!.discovery));
      } else if (req.url === '/.well-known/spiffe/bundle.json') {
        res.writeHead(200, { 'content-type': 'application/json' }).end(self!.bundle);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    self = new TestIdentityService(server, url);
    self.discovery = { trustDomain, trustBundleUri: `${url}/.well-known/spiffe/bundle.json` };
    return self;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
