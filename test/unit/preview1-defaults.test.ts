// Deny-all defaults, asserted (a lesson from wasmtime: test the list of defaults).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Errno } from '../../host-apis/wasi-p1/constants.js';
import { WasiPreview1 } from '../../host-apis/wasi-p1/preview1.js';

function withMemory(): { wasi: WasiPreview1; view: DataView; calls: Record<string, (...a: never[]) => number> } {
  const wasi = new WasiPreview1();
  const memory = new WebAssembly.Memory({ initial: 1 });
  wasi.memory.attach(memory);
  return { wasi, view: new DataView(memory.buffer), calls: wasi.imports() as Record<string, (...a: never[]) => number> };
}

test('no grant means no preopens, no args, no environment', () => {
  const { view, calls } = withMemory();
  const call = (name: string, ...args: number[]) => (calls[name] as (...a: number[]) => number)(...args);
  assert.is(call('fd_prestat_get', 3, 0), Errno.BADF, 'fd 3 is not a preopen');
  assert.is(call('args_sizes_get', 0, 4), Errno.SUCCESS);
  assert.is(view.getUint32(0, true), 0, 'no arguments');
  assert.is(call('environ_sizes_get', 0, 4), Errno.SUCCESS);
  assert.is(view.getUint32(0, true), 0, 'no environment variables');
});

test('sockets: no fd is a socket without a net capability', () => {
  const { calls } = withMemory();
  const call = (name: string, ...args: number[]) => (calls[name] as (...a: number[]) => number)(...args);
  assert.is(call('sock_accept', 1, 0, 0), Errno.NOTSOCK);
  assert.is(call('sock_shutdown', 99, 0), Errno.BADF);
});

test('every preview1 function of the snapshot is provided', () => {
  const { calls } = withMemory();
  const expected = ['args_get', 'args_sizes_get', 'environ_get', 'environ_sizes_get', 'clock_res_get', 'clock_time_get',
    'fd_advise', 'fd_allocate', 'fd_close', 'fd_datasync', 'fd_fdstat_get', 'fd_fdstat_set_flags', 'fd_fdstat_set_rights',
    'fd_filestat_get', 'fd_filestat_set_size', 'fd_filestat_set_times', 'fd_pread', 'fd_prestat_get', 'fd_prestat_dir_name',
    'fd_pwrite', 'fd_read', 'fd_readdir', 'fd_renumber', 'fd_seek', 'fd_sync', 'fd_tell', 'fd_write', 'path_create_directory',
    'path_filestat_get', 'path_filestat_set_times', 'path_link', 'path_open', 'path_readlink', 'path_remove_directory',
    'path_rename', 'path_symlink', 'path_unlink_file', 'poll_oneoff', 'proc_exit', 'proc_raise', 'random_get', 'sched_yield',
    'sock_accept', 'sock_recv', 'sock_send', 'sock_shutdown'];
  assert.equal(Object.keys(calls).sort(), expected.sort());
});

test('stdout without a sink is discarded, not written to the host terminal', () => {
  const { view, calls } = withMemory();
  // iovec at 16 -> 5 bytes at 64; nwritten at 32
  view.setUint32(16, 64, true);
  view.setUint32(20, 5, true);
  const write = calls.fd_write as unknown as (fd: number, iovs: number, len: number, out: number) => number;
  assert.is(write(1, 16, 1, 32), Errno.SUCCESS);
  assert.is(view.getUint32(32, true), 5);
});

test.run();
