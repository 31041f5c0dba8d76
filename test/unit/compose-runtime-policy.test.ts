// The runtime keys a device can honour, under the vendor's policy: extra_hosts never points a name
// at a protected address unless the operator allows it; logging stays on the device with capped
// sizes; ulimits only the capped names; sysctls only the allowed namespaced ones.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ProtectedAddresses } from '../../host-apis/net/protected-addresses.js';
import { DEFAULT_RUNTIME_POLICY, judgeRuntimeOptions, type RuntimePolicy } from '../../runtime/bridge/container-runtime-policy.js';

// The device's own address, as its interfaces would list it.
const protectedAddresses = new ProtectedAddresses([], () => new Set(['192.168.7.2']));

function judge(service: Record<string, unknown>, policy: RuntimePolicy = DEFAULT_RUNTIME_POLICY) {
  const refused: string[] = [];
  const adjusted: string[] = [];
  const options = judgeRuntimeOptions(service, policy, (rule, message) => refused.push(`[${rule}] ${message}`), (m) => adjusted.push(m), protectedAddresses);
  return { refused, adjusted, options };
}

test('hostile: extra_hosts naming protected addresses (every spelling) is refused unless the operator allows it', () => {
  const hosts = ['a=127.0.0.1', 'b:169.254.169.254', 'c=::1', 'd=host-gateway', 'e=192.168.7.2', 'f=0x7f.1', 'g=::ffff:127.0.0.1', 'h:[fe80::1]', 'i=not-an-ip'];
  const { refused, options } = judge({ extra_hosts: hosts });
  assert.is(refused.length, hosts.length, refused.join('\n'));
  assert.ok(refused.every((r) => r.startsWith('[extra_hosts]')));
  assert.match(refused.join('\n'), /"e": 192\.168\.7\.2 is a protected address \(this device's own address\)|"e": 192\.168\.7\.2 is a protected address/);
  assert.equal(options.extraHosts, []);
  const plant = judge({ extra_hosts: { plc: '10.20.0.5', historian: ['10.20.0.6'] } });
  assert.equal(plant.refused, []);
  assert.equal(plant.options.extraHosts, ['plc:10.20.0.5', 'historian:10.20.0.6']);
  const allowed = judge({ extra_hosts: ['gw=host-gateway', 'lo=127.0.0.1'] }, { ...DEFAULT_RUNTIME_POLICY, extraHostsProtected: true });
  assert.equal(allowed.refused, []);
  assert.equal(allowed.options.extraHosts, ['gw:host-gateway', 'lo:127.0.0.1']);
});

test('logging: local drivers only, sizes and file counts capped, unknown options refused', () => {
  const shipped = judge({ logging: { driver: 'gelf', options: { 'gelf-address': 'udp://10.0.0.1:12201' } } });
  assert.match(shipped.refused[0]!, /^\[logging\] logging driver "gelf" sends logs off the device/);
  const big = judge({ logging: { driver: 'json-file', options: { 'max-size': '1g', 'max-file': '50' } } });
  assert.equal(big.refused, []);
  assert.equal(big.options.logConfig, { Type: 'json-file', Config: { 'max-size': String(10 * 1024 * 1024), 'max-file': '3' } });
  assert.is(big.adjusted.length, 2);
  const unbounded = judge({ logging: { driver: 'local' } });
  assert.equal(unbounded.options.logConfig, { Type: 'local', Config: { 'max-size': String(10 * 1024 * 1024), 'max-file': '3' } });
  assert.match(judge({ logging: { options: { 'syslog-address': 'tcp://x:1' } } }).refused[0]!, /logging option "syslog-address"/);
});

test('ulimits: capped by the policy; names it does not cap are refused', () => {
  const { refused, adjusted, options } = judge({ ulimits: { nofile: { soft: 20000, hard: 40000 }, nproc: 65535, memlock: -1, rtprio: 99 } });
  assert.equal(refused, ['[ulimits] ulimits "rtprio" is not one this vendor may set (nofile, nproc, core, memlock, stack)']);
  assert.equal(options.ulimits, [
    { Name: 'nofile', Soft: 1024, Hard: 1024 }, { Name: 'nproc', Soft: 1024, Hard: 1024 }, { Name: 'memlock', Soft: 65536, Hard: 65536 },
  ]);
  assert.is(adjusted.length, 3);
  assert.equal(judge({ ulimits: { nofile: { soft: 100, hard: 200 } } }).options.ulimits, [{ Name: 'nofile', Soft: 100, Hard: 200 }]);
});

test('sysctls: namespaced net.* by default; anything else refused', () => {
  const { refused, options } = judge({ sysctls: ['net.ipv4.conf.all.src_valid_mark=1', 'kernel.shmmax=1', 'vm.overcommit_memory=1'] });
  assert.equal(options.sysctls, { 'net.ipv4.conf.all.src_valid_mark': '1' });
  assert.equal(refused.map((r) => r.split(' ')[2]), ['"kernel.shmmax"', '"vm.overcommit_memory"']);
  assert.equal(judge({ sysctls: { 'net.core.somaxconn': 1024 } }, { ...DEFAULT_RUNTIME_POLICY, sysctls: [] }).refused.length, 1);
});

test.run();
