// The resource ledger and every host API that charges it, on real files: descriptors, disk bytes
// and host buffers are capped per instance and per vendor, refused with the interface's own error
// (preview1 errno, wasi:filesystem code, stream error), reported, and given back.
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ENTRY_BYTES, scanDiskUsage } from '../../host-apis/limits/disk-usage.js';
import { DeviceFdBudget, ResourceLedger, UNLIMITED, type ResourceLimits } from '../../host-apis/limits/resource-ledger.js';
import { TokenBucket } from '../../host-apis/limits/token-bucket.js';
import { createAuditLimiter, type DenialReport } from '../../host-apis/bulkhead/audit.js';
import { PublishLimiter } from '../../host-apis/bulkhead/messaging.js';
import { Errno, OFlags, Rights } from '../../host-apis/wasi-p1/constants.js';
import { WasiPreview1 } from '../../host-apis/wasi-p1/preview1.js';
import { createFilesystem } from '../../host-apis/wasi-p2/filesystem.js';
import { createHttp } from '../../host-apis/wasi-p2/http.js';
import { createIo } from '../../host-apis/wasi-p2/io.js';
import { refusedNetCall, type NetBroker } from '../../host-apis/net/net-broker.js';
import { guestErrorPayload } from '../support/guest-errors.js';
import { tempDir } from '../support/paths.js';

const KiB = 1024;
const limits = (l: Partial<ResourceLimits>): ResourceLimits => ({ ...UNLIMITED, ...l });
const ledgerWith = (l: Partial<ResourceLimits>, deviceFds = 1_000_000) =>
  new ResourceLedger(limits(l), { vendor: new SharedArrayBuffer(24), device: DeviceFdBudget.create(deviceFds) });

test('descriptors: per instance, per vendor and device-wide caps; release gives everything back', () => {
  const ledger = ledgerWith({ fdsPerInstance: 3, fdsPerVendor: 5 }, 6);
  const reports: string[] = [];
  const a = ledger.instance('a', (r, _what, reason) => reports.push(`${r}: ${reason}`));
  const b = ledger.instance('b');
  for (let i = 0; i < 3; i++) a.takeFd('open');
  assert.throws(() => a.takeFd('open'), /the instance holds 3 open descriptors, its cap/);
  b.takeFd('open');
  b.takeFd('open');
  assert.throws(() => b.takeFd('open'), /the vendor's instances hold 5/);
  assert.is(ledger.usage().fds, 5);
  const other = new ResourceLedger(limits({ fdsPerVendor: 10 }), { vendor: new SharedArrayBuffer(24), device: ledger.buffers.device }).instance('c');
  other.takeFd('open');
  assert.throws(() => other.takeFd('open'), /the device's cap/, 'another vendor shares the device budget');
  a.release();
  assert.is(ledger.usage().fds, 2);
  assert.equal(reports, ['fds: the instance holds 3 open descriptors, its cap']);
  assert.ok(new DeviceFdBudget().capacity > 0, 'the default device budget comes from the process limit');
});

test('one instance on two threads (files in its sandbox, sockets in the supervisor) has one descriptor cap', () => {
  const sandboxSide = ledgerWith({ fdsPerInstance: 4, fdsPerVendor: 100 });
  const supervisorSide = new ResourceLedger(sandboxSide.limits, sandboxSide.buffers);
  const files = sandboxSide.instance('i');
  const sockets = supervisorSide.instance('i', () => {}, files.shared);
  files.takeFd('open');
  files.takeFd('open');
  sockets.takeFd('connect');
  sockets.takeFd('connect');
  assert.throws(() => sockets.takeFd('connect'), /the instance holds 4 open descriptors, its cap/);
  assert.throws(() => files.takeFd('open'), /its cap/);
  sockets.release();
  files.takeFd('open');
  assert.is(sandboxSide.usage().fds, 3, 'each side gave back only what it held');
});

test('host bytes: a vendor budget shared by its instances, released at the instance end', () => {
  const ledger = ledgerWith({ hostBytes: 100 });
  const a = ledger.instance('a');
  const b = ledger.instance('b');
  a.takeBytes(60, 'x');
  assert.throws(() => b.takeBytes(50, 'an HTTP request body'), (e: Error & { code?: string }) => e.code === 'ENOMEM');
  b.takeBytes(40, 'y');
  assert.not.ok(a.forceBytes(10), 'forced bytes are kept but say the budget is spent');
  a.release();
  assert.is(ledger.usage().hostBytes, 40);
  b.freeBytes(1000);
  assert.is(ledger.usage().hostBytes, 0, 'never frees more than it holds');
});

test('the counters are shared across threads through the SharedArrayBuffer', async () => {
  const ledger = ledgerWith({ hostBytes: 1 << 20 });
  const { Worker } = await import('node:worker_threads');
  const w = new Worker(`const { workerData } = require('node:worker_threads');
    const cells = new BigInt64Array(workerData);
    for (let i = 0; i < 1000; i++) Atomics.add(cells, 0, 1n);`, { eval: true, workerData: ledger.buffers.vendor });
  await new Promise((r) => w.once('exit', r));
  assert.is(ledger.usage().hostBytes, 1000);
});

function p1(root: string, l: Partial<ResourceLimits>) {
  const ledger = ledgerWith(l);
  const wasi = new WasiPreview1({ preopens: [{ hostPath: root, guestPath: '/d', readOnly: false }], resources: ledger.instance('p1') });
  const memory = new WebAssembly.Memory({ initial: 1 });
  wasi.memory.attach(memory);
  const bytes = new Uint8Array(memory.buffer);
  const calls = wasi.imports() as Record<string, (...a: (number | bigint)[]) => number>;
  const name = (s: string) => { bytes.set(Buffer.from(s), 1024); return [1024, Buffer.byteLength(s)] as const; };
  const open = (file: string, oflags: number) => {
    const [ptr, len] = name(file);
    const errno = calls.path_open!(3, 0, ptr, len, oflags, Rights.FD_WRITE | Rights.FD_READ | Rights.FD_SEEK | Rights.FD_ALLOCATE | Rights.FD_FILESTAT_SET_SIZE, 0n, 0, 2048);
    return { errno, fd: new DataView(memory.buffer).getUint32(2048, true) };
  };
  const write = (fd: number, n: number) => {
    const view = new DataView(memory.buffer);
    view.setUint32(4096, 8192, true);
    view.setUint32(4100, n, true);
    return calls.fd_write!(fd, 4096, 1, 4104);
  };
  return { ledger, calls, open, write };
}

test('preview1: fd_write, fd_allocate, fd_filestat_set_size and path_open are held to the disk quota (EDQUOT)', () => {
  const root = tempDir();
  const { ledger, calls, open, write } = p1(root, { diskBytes: ENTRY_BYTES + 40 * KiB });
  const f = open('a', OFlags.CREAT);
  assert.is(f.errno, Errno.SUCCESS);
  assert.is(write(f.fd, 30 * KiB), Errno.SUCCESS);
  assert.is(write(f.fd, 30 * KiB), Errno.DQUOT, 'past the quota');
  assert.is(fs.statSync(path.join(root, 'a')).size, 30 * KiB, 'nothing of the refused write landed');
  assert.is(calls.fd_allocate!(f.fd, 0n, 100n * BigInt(KiB)), Errno.DQUOT);
  assert.is(calls.fd_filestat_set_size!(f.fd, 100n * BigInt(KiB)), Errno.DQUOT);
  assert.is(calls.fd_filestat_set_size!(f.fd, 0n), Errno.SUCCESS, 'shrinking gives the bytes back');
  assert.is(ledger.usage().diskBytes, ENTRY_BYTES);
  assert.is(calls.fd_seek!(f.fd, 0n, 0, 2048), Errno.SUCCESS);
  assert.is(write(f.fd, 30 * KiB), Errno.SUCCESS);
  const t = open('a', OFlags.TRUNC);
  assert.is(t.errno, Errno.SUCCESS);
  assert.is(ledger.usage().diskBytes, ENTRY_BYTES, 'O_TRUNC gives the old size back');
  assert.is(scanDiskUsage(root), ledger.usage().diskBytes, 'the running count matches a scan');
});

test('preview1: descriptors past the instance cap fail with EMFILE and come back on close', () => {
  const root = tempDir();
  fs.writeFileSync(path.join(root, 'f'), '');
  const { ledger, calls, open } = p1(root, { fdsPerInstance: 4 });
  const fds = [open('f', 0), open('f', 0), open('f', 0)];
  assert.equal(fds.map((f) => f.errno), [0, 0, 0]);
  assert.is(open('f', 0).errno, Errno.MFILE, 'the preopen counts too: 4 in all');
  assert.is(calls.fd_close!(fds[0]!.fd), Errno.SUCCESS);
  assert.is(open('f', 0).errno, Errno.SUCCESS);
  assert.is(ledger.usage().fds, 4);
});

test('wasi:filesystem: open-at past the cap is insufficient-memory; writes, appends and set-size past the quota are quota', () => {
  const root = tempDir();
  const ledger = ledgerWith({ fdsPerInstance: 3, diskBytes: 2 * ENTRY_BYTES + 8 * KiB, handlesPerInstance: 100 });
  const resources = ledger.instance('p2');
  const io = createIo({ beforeBlock() {}, afterBlock() {} }, resources);
  const fsys = createFilesystem(io, [{ guestPath: '/d', hostPath: root, readOnly: false }], () => {}, resources);
  const [[dir]] = fsys.preopens.getDirectories() as unknown as [[{ openAt: Function }]];
  type D = { write(b: Uint8Array, o: bigint): bigint; setSize(n: bigint): void; appendViaStream(): { write(b: Uint8Array): void }; [Symbol.dispose](): void };
  const a = dir.openAt({}, 'a', { create: true }, { write: true }) as D;
  const b = dir.openAt({}, 'b', { create: true }, { write: true }) as D;
  assert.is(guestErrorPayload(() => dir.openAt({}, 'c', { create: true }, { write: true })), 'insufficient-memory');
  assert.is(ledger.usage().diskBytes, 2 * ENTRY_BYTES, 'the refused open created nothing');
  assert.ok(!fs.existsSync(path.join(root, 'c')));
  a.write(new Uint8Array(6 * KiB), 0n);
  assert.is(guestErrorPayload(() => b.write(new Uint8Array(4 * KiB), 0n)), 'quota');
  assert.is(guestErrorPayload(() => b.setSize(4n * BigInt(KiB))), 'quota');
  const append = b.appendViaStream();
  assert.is((guestErrorPayload(() => append.write(new Uint8Array(4 * KiB))) as { tag: string }).tag, 'last-operation-failed');
  assert.is(fs.statSync(path.join(root, 'b')).size, 0);
  a[Symbol.dispose]();
  assert.ok(dir.openAt({}, 'b', {}, { read: true }), 'closing gave a descriptor back');
  fsys.closeAll();
  resources.release();
  assert.is(ledger.usage().fds, 0);
});

test('wasi:http: request bodies count as host memory; a write past the budget is a stream error; dropping gives it back', () => {
  const ledger = ledgerWith({ hostBytes: 3 * 1024 * KiB, handlesPerInstance: 50 });
  const resources = ledger.instance('http');
  const io = createIo({ beforeBlock() {}, afterBlock() {} }, resources);
  const broker = new Proxy({}, { get: (_t, m: string) => () => refusedNetCall(m) }) as NetBroker;
  const { types } = createHttp(io, broker, resources);
  const chunk = new Uint8Array(1024 * KiB);
  const requests = [0, 1].map(() => new types.OutgoingRequest(new types.Fields()));
  const streams = requests.map((r) => r.body().write());
  streams[0]!.write(chunk);
  streams[0]!.write(chunk);
  streams[1]!.write(chunk);
  assert.is((guestErrorPayload(() => streams[1]!.write(chunk)) as { tag: string }).tag, 'last-operation-failed');
  assert.is(ledger.usage().hostBytes, 3 * 1024 * KiB);
  requests[0]![Symbol.dispose]();
  assert.is(ledger.usage().hostBytes, 1024 * KiB, 'the dropped request gave its body back');
  assert.throws(() => { for (let i = 0; i < 100; i++) new types.Fields(); }, /handles, its cap/);
});

test('wasi:io write-zeroes: a length past check-write is a stream error before anything is allocated', () => {
  const io = createIo({ beforeBlock() {}, afterBlock() {} });
  const written: number[] = [];
  const out = new io.OutputStream({ write: (b: Uint8Array) => void written.push(b.length) } as never);
  const before = process.memoryUsage().arrayBuffers;
  for (const len of [1n << 62n, 1n << 31n, (1n << 20n) + 1n]) {
    // Before: 2^62 threw a host RangeError out of the host call; 2^31 allocated 2 GiB, then refused.
    const p = guestErrorPayload(() => out.writeZeroes(len)) as { tag: string; val: { message: string } };
    assert.is(p.tag, 'last-operation-failed');
    assert.match(p.val.message, /zero bytes exceeds check-write's 1048576/);
  }
  assert.ok(process.memoryUsage().arrayBuffers - before < 16 * 1024 * 1024);
  out.writeZeroes(1n << 20n);
  assert.equal(written, [1 << 20]);
});

test('token bucket, audit limiter and publish limiter', async () => {
  const bucket = new TokenBucket(10, 5);
  assert.is([...Array(8)].filter(() => bucket.take()).length, 5);
  const rows: DenialReport[] = [];
  const limiter = createAuditLimiter((d) => rows.push(d), { perSecond: 1, burst: 3 });
  for (let i = 0; i < 10; i++) limiter.audit({ capability: 'kv', attempted: `get ${i}`, reason: 'no grant' });
  assert.is(rows.length, 3);
  limiter.flush();
  assert.equal(rows.at(-1), { capability: 'audit.rate', attempted: '7 more audit events', reason: 'dropped: over 1/s (burst 3)' });
  const publish = new PublishLimiter({ messagesPerSecond: 1000, bytesPerSecond: 100 * KiB });
  assert.is(publish.admit(64 * KiB), undefined);
  assert.match(publish.admit(64 * KiB)!, /publish rate of 102400 bytes\/s/);
});

test.run();
