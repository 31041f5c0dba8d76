import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { denyAllPolicy, effectiveGrant, subsumes, topicMatches } from '../../host-apis/capabilities/grant.js';
import { checkConnect, isProtectedAddress, normalizeHost, parseNetRule, protectedAddresses } from '../../host-apis/capabilities/net-rules.js';

const dns = (table: Record<string, string[]>) => async (host: string) => table[host] ?? [];

test('net rules parse; wildcards only for leading labels; bad text is explained', () => {
  assert.equal(parseNetRule('API.Example.com:443'), { host: 'api.example.com', port: 443, text: 'API.Example.com:443' });
  assert.equal(parseNetRule('[::ffff:10.0.0.5]:502').host, '10.0.0.5');
  assert.throws(() => parseNetRule('example.com'), /expected HOST:PORT/);
  assert.throws(() => parseNetRule('ex*ample.com:1'), /wildcard may only stand for leading labels/);
  assert.throws(() => parseNetRule('10.0.0.0/8:80'), /expected HOST:PORT|ranges are not supported/);
});

test('connect: names and ports must match a rule', async () => {
  const rules = ['plc.plant.example:502', '*.vendor-a.example:443'].map(parseNetRule);
  const resolve = dns({ 'plc.plant.example': ['10.1.2.3'], 'api.vendor-a.example': ['203.0.113.10'] });
  assert.ok((await checkConnect(rules, 'plc.plant.example', 502, resolve)).allowed);
  assert.not.ok((await checkConnect(rules, 'plc.plant.example', 503, resolve)).allowed, 'other port');
  assert.ok((await checkConnect(rules, 'api.vendor-a.example', 443, resolve)).allowed);
  assert.not.ok((await checkConnect(rules, 'vendor-a.example', 443, resolve)).allowed, '*. needs a label');
  assert.not.ok((await checkConnect(rules, 'evil.example', 443, resolve)).allowed);
});

test('hostile: an IP literal is checked as such, not by the name it might have', async () => {
  const rules = ['plc.plant.example:502'].map(parseNetRule);
  const d = await checkConnect(rules, '10.1.2.3', 502, dns({ 'plc.plant.example': ['10.1.2.3'] }));
  assert.not.ok(d.allowed);
  assert.match(d.reason, /matches no net\.connect rule/);
});

test('hostile: a granted name resolving to a protected address is refused (DNS tricks)', async () => {
  const rules = ['api.vendor-a.example:443', '*:8080'].map(parseNetRule);
  const resolve = dns({ 'api.vendor-a.example': ['203.0.113.10', '127.0.0.1'], 'metadata.evil': ['169.254.169.254'] });
  const d = await checkConnect(rules, 'api.vendor-a.example', 443, resolve);
  assert.not.ok(d.allowed);
  assert.match(d.reason, /resolves to 127\.0\.0\.1, a protected address/);
  assert.not.ok((await checkConnect(rules, 'metadata.evil', 8080, resolve)).allowed, 'wildcard name rule, link-local target');
  assert.not.ok((await checkConnect(rules, '127.0.0.1', 8080, resolve)).allowed, 'wildcard rule never reaches loopback');
  assert.not.ok((await checkConnect(rules, '::ffff:127.0.0.1', 8080, resolve)).allowed, 'IPv4-mapped IPv6 is unmapped first');
  assert.ok((await checkConnect([parseNetRule('127.0.0.1:8080')], '127.0.0.1', 8080, resolve)).allowed, 'a rule naming the address grants it');
});

test('operators can protect their own ranges (another vendor\'s PLC network)', async () => {
  const plantLan = protectedAddresses(['10.9.0.0/16']);
  assert.ok(isProtectedAddress('10.9.4.4', plantLan));
  assert.not.ok(isProtectedAddress('10.8.4.4', plantLan));
  const rules = [parseNetRule('historian.example:443')];
  const d = await checkConnect(rules, 'historian.example', 443, dns({ 'historian.example': ['10.9.4.4'] }), plantLan);
  assert.not.ok(d.allowed);
  assert.is(normalizeHost('::FFFF:10.0.0.1'), '10.0.0.1');
});

test('topics: matching and subsumption', () => {
  assert.ok(topicMatches('sensors/+/temp', 'sensors/a/temp'));
  assert.ok(topicMatches('sensors/#', 'sensors/a/b'));
  assert.not.ok(topicMatches('sensors/+', 'sensors/a/b'));
  assert.ok(subsumes('sensors/#', 'sensors/+/temp'));
  assert.ok(subsumes('sensors/+/temp', 'sensors/a/temp'));
  assert.not.ok(subsumes('sensors/+/temp', 'sensors/#'));
  assert.not.ok(subsumes('sensors/a', 'sensors/+'));
});

test('grant = request ∩ policy; every denial names what and why', () => {
  const policy = {
    ...denyAllPolicy('/var/lib/bulkhead/vendors/acme'), fsWritable: true, netConnect: ['plc.plant.example:502'],
    netListen: { from: 8100, to: 8109 }, kvQuotaBytes: 1024 * 1024, publish: ['acme/#'], subscribe: ['public/+/readings'], env: ['LOG_LEVEL'],
  };
  const { grant, denials } = effectiveGrant('acme', 'filter', {
    fs: [{ guest: '/data', path: 'filter', mode: 'rw' }, { guest: '/other', path: '../globex/secrets' }],
    net: { connect: ['plc.plant.example:502', 'db.globex.example:5432'], listen: [8101, 80] },
    kv: { quota: '4Mi' },
    messaging: { publish: ['acme/readings', 'globex/commands'], subscribe: ['public/+/readings', '#'] },
    env: { LOG_LEVEL: 'debug', AWS_SECRET: 'x' },
  }, policy);
  assert.equal(grant.fs, [{ guestPath: '/data', hostPath: '/var/lib/bulkhead/vendors/acme/filter', readOnly: false }]);
  assert.equal(grant.netConnect.map((r) => r.text), ['plc.plant.example:502']);
  assert.equal(grant.netListen, [8101]);
  assert.equal(grant.kv, { namespace: 'acme/filter', quotaBytes: 1024 * 1024, vendor: 'acme', vendorQuotaBytes: 1024 * 1024 });
  assert.equal(grant.publish, ['acme/readings']);
  assert.equal(grant.subscribe, ['public/+/readings']);
  assert.equal(grant.env, { LOG_LEVEL: 'debug' });
  assert.equal(denials.map((d) => `${d.capability}:${d.requested}`).sort(), [
    'env:AWS_SECRET', 'fs:/other -> ../globex/secrets', 'kv:4Mi', 'messaging.publish:globex/commands', 'messaging.subscribe:#',
    'net.connect:db.globex.example:5432', 'net.listen:80',
  ]);
});

test('deny-all defaults: an unconfigured vendor gets nothing it asks for', () => {
  const { grant, denials } = effectiveGrant('stranger', 'app', {
    net: { connect: ['example.com:443'] }, kv: {}, messaging: { publish: ['x'] }, env: { A: '1' },
  }, denyAllPolicy('/data/stranger'));
  assert.equal(grant.netConnect, []);
  assert.is(grant.kv, undefined);
  assert.equal(grant.publish, []);
  assert.equal(grant.env, {});
  assert.is(denials.length, 4);
});

test('net.connect grants are the intersection of request and policy patterns', () => {
  const policy = { ...denyAllPolicy('/data/v'), netConnect: ['127.0.0.1:8080', '*.plant.example:502', 'api.example.com:*'] };
  const { grant, denials } = effectiveGrant('V', 'app', { net: { connect: ['127.0.0.1:*', 'plc.plant.example:502', 'api.example.com:443', 'evil.example:80'] } }, policy);
  assert.equal(grant.netConnect.map((r) => r.text), ['127.0.0.1:8080', 'plc.plant.example:502', 'api.example.com:443']);
  assert.equal(denials.map((d) => d.requested), ['evil.example:80']);
});

test.run();
