import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { CliError } from '../../runtime/cli/cli-error.js';
import { parseDirFlag, parseEnvFlag } from '../../runtime/cli/run-command.js';
import { tempDir } from '../support/paths.js';

const dir = tempDir();

test('--dir forms: host only, host::guest, :ro suffix, forced read-only', () => {
  assert.equal(parseDirFlag(dir), { hostPath: dir, guestPath: dir, readOnly: false });
  assert.equal(parseDirFlag(`${dir}::/data`), { hostPath: dir, guestPath: '/data', readOnly: false });
  assert.equal(parseDirFlag(`${dir}::/data:ro`), { hostPath: dir, guestPath: '/data', readOnly: true });
  assert.equal(parseDirFlag(`${dir}::/data:rw`), { hostPath: dir, guestPath: '/data', readOnly: false });
  assert.equal(parseDirFlag(`${dir}::/data`, true), { hostPath: dir, guestPath: '/data', readOnly: true });
});

test('--dir errors name the flag and the problem', () => {
  assert.throws(() => parseDirFlag(`${dir}/missing::/x`), (e: Error) => e instanceof CliError && /does not exist/.test(e.message));
  assert.throws(() => parseDirFlag(`${dir}::`), /expected HOST_DIR\[::GUEST_DIR\]\[:ro\]/);
  assert.throws(() => parseDirFlag(`${dir}::/a::/b`), /expected HOST_DIR/);
});

test('--env: NAME=VALUE, NAME passes the host value, bad names refused', () => {
  assert.equal(parseEnvFlag('A=1=2'), ['A', '1=2']);
  assert.equal(parseEnvFlag('HOME_X', { HOME_X: '/h' }), ['HOME_X', '/h']);
  assert.throws(() => parseEnvFlag('UNSET_VAR', {}), /not set in the host environment/);
  assert.throws(() => parseEnvFlag('=x'), /expected NAME=VALUE/);
});

test.run();
