// What a host API gave the guest as the `err` case of its result.
import * as assert from 'uvu/assert';
import { GuestError } from '../../host-apis/wasi-p2/errors.js';

/** Runs `fn`, which must fail the way a guest sees it, and returns the error payload. */
export function guestErrorPayload(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    assert.instance(err, GuestError);
    return (err as GuestError).payload;
  }
  throw new Error('expected a guest error, but the call succeeded');
}
