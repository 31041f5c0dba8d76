// Issue 9 item 5/6: every textual and numeric form of an address is classified as the address it
// denotes, and a protected one (loopback, unspecified, link-local, metadata, the device's own) is
// reachable only through a rule whose operator side names it; an intersection of the operator's
// wildcard with a manifest's literal never does.
import dns from 'node:dns';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { denyAllPolicy, effectiveGrant } from '../../host-apis/capabilities/grant.js';
import { checkConnect, decideAddress, normalizeHost, parseNetRule, type NetRule } from '../../host-apis/capabilities/net-rules.js';
import { parseIpAddress } from '../../host-apis/net/ip-address.js';
import { deviceAddresses, ProtectedAddresses } from '../../host-apis/net/protected-addresses.js';

const PW = 8443;
const dnsTable = (table: Record<string, string[]>) => async (host: string) => table[host] ?? [];
/** The device's own non-loopback address, as this machine has it. */
const lan = deviceAddresses().find((a) => !a.startsWith('127.') && a !== '::1' && !a.startsWith('fe80:'));

const HOSTILE_FORMS: [string, string, string][] = [
  // [form, canonical address, protected kind]
  ['2130706433', '127.0.0.1', 'loopback'],
  ['0x7f.1', '127.0.0.1', 'loopback'],
  ['0x7F000001', '127.0.0.1', 'loopback'],
  ['0177.0.0.1', '127.0.0.1', 'loopback'],
  ['0177.1', '127.0.0.1', 'loopback'],
  ['127.1', '127.0.0.1', 'loopback'],
  ['127.0.1', '127.0.0.1', 'loopback'],
  ['127.0.0.1.', '127.0.0.1', 'loopback'],
  ['127.254.3.9', '127.254.3.9', 'loopback'],
  ['::ffff:127.0.0.1', '127.0.0.1', 'loopback'],
  ['::ffff:7f00:1', '127.0.0.1', 'loopback'],
  ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1', 'loopback'],
  ['::7f00:1', '::7f00:1', 'loopback'],
  ['::127.0.0.1', '::7f00:1', 'loopback'],
  ['64:ff9b::7f00:1', '64:ff9b::7f00:1', 'loopback'],
  ['64:ff9b::127.0.0.1', '64:ff9b::7f00:1', 'loopback'],
  ['::ffff:0:7f00:1', '::ffff:0:7f00:1', 'loopback'],
  ['2002:7f00:1::', '2002:7f00:1::', 'loopback'],
  ['[::1]', '::1', 'loopback'],
  ['0:0:0:0:0:0:0:1', '::1', 'loopback'],
  ['0.0.0.0', '0.0.0.0', 'unspecified'],
  ['0', '0.0.0.0', 'unspecified'],
  ['::', '::', 'unspecified'],
  ['fe80::1%eth0', 'fe80::1', 'link-local'],
  ['169.254.169.254', '169.254.169.254', 'link-local'],
  ['0xa9fea9fe', '169.254.169.254', 'link-local'],
  ['2852039166', '169.254.169.254', 'link-local'],
  ['::ffff:169.254.169.254', '169.254.169.254', 'link-local'],
  ['64:ff9b::a9fe:a9fe', '64:ff9b::a9fe:a9fe', 'link-local'],
  ['fd00:ec2::254', 'fd00:ec2::254', 'metadata'],
  ['100.100.100.200', '100.100.100.200', 'metadata'],
  ['255.255.255.255', '255.255.255.255', 'multicast'],
  ['ff02::1', 'ff02::1', 'multicast'],
];

test('classifier: every numeric, shorthand and embedded form of a protected address is protected as what it denotes', () => {
  const protect = new ProtectedAddresses();
  for (const [form, canonical, kind] of HOSTILE_FORMS) {
    const c = protect.classify(form);
    assert.ok(c, `${form} is read as an address`);
    assert.is(c!.address.text, canonical, form);
    assert.is(c!.kind, kind, form);
  }
  for (const ordinary of ['203.0.113.10', '10.1.2.3', '64:ff9b::cb00:710a', '2001:db8::1', '::ffff:203.0.113.10', '8.8.8.8']) {
    assert.is(protect.classify(ordinary)!.kind, undefined, ordinary);
  }
  for (const name of ['example.com', 'localhost', '1.2.3.4.5', '256.1', '08.1', 'fe80::1%', 'x::1']) assert.is(parseIpAddress(name), undefined, name);
});

test('classifier: the device\'s own interface addresses are protected like loopback (issue 9 item 6)', () => {
  assert.ok(lan, 'this machine has a non-loopback interface address');
  const c = new ProtectedAddresses().classify(lan!);
  assert.is(c!.kind, 'device');
  // Addresses are read at each check (DHCP may change them): an injected list shows it.
  let own = ['192.0.2.77'];
  const p = new ProtectedAddresses([], () => own);
  assert.is(p.classify('192.0.2.77')!.kind, 'device');
  assert.is(p.classify('0xc000024d')!.kind, 'device', 'shorthand of the device address');
  assert.is(p.classify('::ffff:192.0.2.77')!.kind, 'device');
  assert.is(p.classify('64:ff9b::c000:24d')!.kind, 'device', 'NAT64 of the device address');
  own = [];
  assert.is(p.classify('192.0.2.77')!.kind, undefined);
});

test('parser agrees with the two parsers an attacker aims at: WHATWG URL and getaddrinfo', async () => {
  let compared = 0;
  for (const [form, canonical] of HOSTILE_FORMS) {
    if (form.includes('%')) continue; // zones are not URL hosts
    const host = form.includes(':') && !form.startsWith('[') ? `[${form}]` : form;
    let whatwg: string;
    try {
      whatwg = new URL(`http://${host}:1/`).hostname.replace(/^\[|\]$/g, '');
    } catch {
      continue;
    }
    assert.is(normalizeHost(whatwg), canonical, `URL reads ${form} as ${whatwg}`);
    compared++;
  }
  assert.ok(compared >= 25, `${compared} forms compared with WHATWG`);
  // The system resolver reads numeric forms itself (no query leaves the machine for these).
  for (const form of ['2130706433', '0x7f.1', '0177.0.0.1', '127.1', '0xa9fea9fe']) {
    const { address } = await dns.promises.lookup(form, { family: 4 });
    assert.is(normalizeHost(form), address, `getaddrinfo reads ${form} as ${address}`);
  }
});

test('hostile: policy *:PW ∩ manifest 127.0.0.1:* grants no loopback (and says so); the operator naming 127.0.0.1:PW does', () => {
  const lanRule = lan!.includes(':') ? `[${lan}]:*` : `${lan}:*`;
  const wildcard = effectiveGrant('Rogue Labs', 'probe', { net: { connect: ['127.0.0.1:*', 'localhost:*', '[::1]:*', '2130706433:*', lanRule, '*:*'] } },
    { ...denyAllPolicy('/data/r'), netConnect: [`*:${PW}`] });
  assert.equal(wildcard.grant.netConnect.map((r) => `${r.text} (operator: ${r.operatorHost})`), [`*:${PW} (operator: *)`]);
  const refused = wildcard.denials.map((d) => d.requested);
  assert.ok(refused.includes('127.0.0.1:*') && refused.includes('localhost:*') && refused.includes('[::1]:*') && refused.includes('2130706433:*') && refused.includes(lanRule), refused.join(', '));
  assert.match(wildcard.denials[0]!.reason, /127\.0\.0\.1 is a protected address \(loopback\).*only a rule naming it grants it/);
  // What is left (*:PW) still reaches no protected address in any form.
  for (const [form] of HOSTILE_FORMS) assert.not.ok(decideAddress(wildcard.grant.netConnect, form, PW).allowed, form);
  assert.not.ok(decideAddress(wildcard.grant.netConnect, lan!, PW).allowed, 'the device LAN address');
  assert.ok(decideAddress(wildcard.grant.netConnect, '203.0.113.10', PW).allowed, 'an ordinary address is what *:PW is for');

  const named = effectiveGrant('Netwise', 'probe', { net: { connect: ['127.0.0.1:*'] } }, { ...denyAllPolicy('/data/n'), netConnect: [`*:${PW}`, `127.0.0.1:${PW}`] });
  assert.equal(named.denials, []);
  assert.ok(decideAddress(named.grant.netConnect, '127.0.0.1', PW).allowed);
  assert.ok(decideAddress(named.grant.netConnect, '2130706433', PW).allowed, 'the same address in another form');
  assert.not.ok(decideAddress(named.grant.netConnect, '127.0.0.1', PW + 1).allowed, 'only the port named');
  assert.not.ok(decideAddress(named.grant.netConnect, '::7f00:1', PW).allowed, 'an IPv6 embedding is another address; the operator named 127.0.0.1');
  assert.not.ok(decideAddress(named.grant.netConnect, '127.0.0.2', PW).allowed, 'naming 127.0.0.1 is not naming 127/8');
});

test('hostile: a rule object that claims the operator named what it did not is still judged by operatorHost', () => {
  const forged: NetRule = { host: '127.0.0.1', port: PW, text: `127.0.0.1:${PW}`, operatorHost: '*' };
  const d = decideAddress([forged], '127.0.0.1', PW);
  assert.not.ok(d.allowed);
  assert.match(d.reason, /127\.0\.0\.1 is a protected address \(loopback\) that no operator rule names/);
});

test('localhost: the operator writing localhost:PW names loopback through that name, and nothing else', async () => {
  const rules = effectiveGrant('V', 'a', { net: { connect: ['localhost:*'] } }, { ...denyAllPolicy('/d'), netConnect: [`localhost:${PW}`] }).grant.netConnect;
  const resolve = dnsTable({ localhost: ['127.0.0.1', '::1'], 'evil.example': ['127.0.0.1'] });
  assert.ok((await checkConnect(rules, 'localhost', PW, resolve)).allowed);
  assert.equal((await checkConnect(rules, 'localhost', PW, resolve)).addresses, ['127.0.0.1', '::1']);
  assert.not.ok((await checkConnect(rules, '127.0.0.1', PW, resolve)).allowed, 'the literal is not the name the operator wrote');
  assert.ok(decideAddress(rules, '127.0.0.1', PW, ['localhost']).allowed, 'a connect to what this host resolved localhost to');
  assert.not.ok(decideAddress(rules, '169.254.169.254', PW, ['localhost']).allowed, 'localhost names loopback only');
  if (lan) assert.not.ok(decideAddress(rules, lan, PW, ['localhost']).allowed, 'nor the device LAN address');
  // A vendor-controlled name pointing at loopback (DNS rebinding) is not localhost.
  const wild = [parseNetRule(`*:${PW}`)];
  const d = await checkConnect(wild, 'evil.example', PW, resolve);
  assert.not.ok(d.allowed);
  assert.match(d.reason, /evil\.example resolves to 127\.0\.0\.1, a protected address \(loopback\)/);
  assert.not.ok((await checkConnect(wild, 'localhost', PW, resolve)).allowed, '*:PW does not name localhost');
});

test('HTTP-style checks: numeric authorities are decided as the address they denote', async () => {
  const rules = [parseNetRule(`*:${PW}`)];
  for (const host of ['2130706433', '0x7f.1', '0177.1', '::7f00:1', '64:ff9b::7f00:1', '0.0.0.0', ...(lan ? [lan] : [])]) {
    const d = await checkConnect(rules, host, PW, dnsTable({}));
    assert.not.ok(d.allowed, host);
    assert.match(d.reason, /is a protected address .* that no operator rule names/, host);
  }
});

test('the container engine\'s networks are protected, in every form, as the engine answers them now', () => {
  let cidrs: string[] = ['10.89.0.0/24', 'fd10:89::/64'];
  const protect = new ProtectedAddresses([], () => [], () => cidrs);
  const rules = [parseNetRule(`*:${PW}`)];
  for (const a of ['10.89.0.3', '::ffff:10.89.0.3', '173604867', 'fd10:89::3']) {
    const d = decideAddress(rules, a, PW, [], protect);
    assert.not.ok(d.allowed, a);
    assert.match(d.reason, /in a container network on this device/, a);
  }
  assert.ok(decideAddress(rules, '10.90.0.3', PW, [], protect).allowed, 'other private hosts stay reachable');
  assert.ok(decideAddress([parseNetRule(`10.89.0.3:${PW}`)], '10.89.0.3', PW, [], protect).allowed, 'the operator naming it grants it');
  cidrs = [];
  assert.ok(decideAddress(rules, '10.89.0.3', PW, [], protect).allowed, 'a network removed from the engine is no longer protected');
});

test.run();
