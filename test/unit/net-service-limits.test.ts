// The supervisor's sockets are the instance's vendor's resources, against real loopback sockets:
// each is a descriptor under the instance's cap (new-socket-limit past it), what a socket has
// received is host memory of the vendor (the socket is paused while the vendor is over its
// budget, and reads on again once the guest has read), and everything goes back at unregister.
import net from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { denyAllPolicy, effectiveGrant } from '../../host-apis/capabilities/grant.js';
import { DeviceFdBudget, ResourceLedger, UNLIMITED } from '../../host-apis/limits/resource-ledger.js';
import { NetService } from '../../runtime/apps/net-service.js';

const sent = Buffer.alloc(256 * 1024, 7);
let port = 0;
const server = net.createServer((s) => { s.on('error', () => {}); s.write(sent); });

test.before(() => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => { port = (server.address() as net.AddressInfo).port; resolve(); })));
test.after(() => { server.close(); });

function setup() {
  const ledger = new ResourceLedger({ ...UNLIMITED, fdsPerInstance: 3, hostBytes: 64 * 1024 }, { vendor: new SharedArrayBuffer(24), device: DeviceFdBudget.create(100) });
  const refusals: string[] = [];
  const resources = ledger.instance('i', (_r, _a, reason) => refusals.push(reason));
  const service = new NetService(() => {});
  const { grant } = effectiveGrant('Rogue Labs', 'a', { net: { connect: [`127.0.0.1:${port}`] } }, { ...denyAllPolicy('/data/r'), netConnect: [`127.0.0.1:${port}`] });
  service.register('i', grant.netConnect, [], resources);
  const call = (method: string, ...args: unknown[]) => service.handle({ instanceId: 'i', method, args });
  return { ledger, refusals, service, call };
}

test('sockets past the instance cap answer new-socket-limit; closing and unregistering give them back', async () => {
  const { ledger, refusals, service, call } = setup();
  const ids: number[] = [];
  for (let i = 0; i < 3; i++) ids.push(((await call('connect', '127.0.0.1', port)) as { ok: number }).ok);
  const r = await call('connect', '127.0.0.1', port) as { error: string; reason: string };
  assert.is(r.error, 'new-socket-limit');
  assert.match(r.reason, /3 open descriptors, its cap/);
  assert.is(refusals.length, 1);
  await call('close', ids[0]);
  assert.type(((await call('connect', '127.0.0.1', port)) as { ok?: number }).ok, 'number');
  service.unregister('i');
  assert.is(ledger.usage().fds, 0);
});

test('received bytes count as the vendor host memory; the socket pauses over budget and resumes as the guest reads', async () => {
  const { ledger, service, call } = setup();
  const id = ((await call('connect', '127.0.0.1', port)) as { ok: number }).ok;
  await new Promise((r) => setTimeout(r, 300));
  const held = ledger.usage().hostBytes;
  assert.ok(held >= 64 * 1024 && held < sent.length, `held ${held} of ${sent.length} sent: paused near the 64 KiB budget`);
  let total = 0;
  while (total < sent.length) {
    const got = await call('read', id, 65536, true) as { ok: Uint8Array | null };
    if (!got.ok) break;
    total += got.ok.length;
  }
  assert.is(total, sent.length, 'everything arrives once the guest reads');
  service.unregister('i');
  assert.is(ledger.usage().hostBytes, 0);
});

test.run();
