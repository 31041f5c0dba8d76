// wasi:clocks and wasi:random for one component instance.
import crypto from 'node:crypto';
import type { Io } from './io.js';

const NS_PER_S = 1_000_000_000n;

export function createClocks(io: Io) {
  return {
    monotonicClock: {
      now: (): bigint => process.hrtime.bigint(),
      resolution: (): bigint => 1n,
      subscribeInstant: (when: bigint) => new io.Pollable(when),
      subscribeDuration: (duration: bigint) => new io.Pollable(process.hrtime.bigint() + duration),
    },
    wallClock: {
      now: () => {
        const ns = BigInt(Date.now()) * 1_000_000n;
        return { seconds: ns / NS_PER_S, nanoseconds: Number(ns % NS_PER_S) };
      },
      resolution: () => ({ seconds: 0n, nanoseconds: 1_000_000 }),
    },
  };
}

const MAX_RANDOM = 1 << 20;

export function createRandom() {
  const bytes = (len: bigint): Uint8Array => crypto.randomBytes(Number(len > BigInt(MAX_RANDOM) ? MAX_RANDOM : len));
  const u64 = (): bigint => crypto.randomBytes(8).readBigUInt64LE();
  return {
    random: { getRandomBytes: bytes, getRandomU64: u64 },
    insecure: { getInsecureRandomBytes: bytes, getInsecureRandomU64: u64 },
    insecureSeed: { insecureSeed: (): [bigint, bigint] => [u64(), u64()] },
  };
}
