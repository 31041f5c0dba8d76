// Hand-assembled WASI-command-shaped modules for hostile tests: no toolchain needed, every byte
// visible. Each exports `_start` and `memory` and imports nothing.
const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
};
const str = (s: string) => [...uleb(s.length), ...Buffer.from(s)];
const section = (id: number, body: number[]) => [id, ...uleb(body.length), ...body];

const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};

function command(o: { table?: number[]; memory: number[]; body: number[]; locals?: number[] }): Buffer {
  return Buffer.from([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, [1, 0x60, 0, 0]),
    ...section(3, [1, 0]),
    ...(o.table ? section(4, [1, ...o.table]) : []),
    ...section(5, [1, ...o.memory]),
    ...section(7, [2, ...str('_start'), 0, 0, ...str('memory'), 2, 0]),
    ...section(10, [1, ...uleb(o.body.length + (o.locals ?? [0]).length), ...(o.locals ?? [0]), ...o.body]),
  ]);
}

/** `(table N funcref)` declared at start; N = 10,000,000 once aborted the whole process (issue 11). */
export function tableBombModule(elements = 10_000_000): Buffer {
  return command({ table: [0x70, 0x00, ...uleb(elements)], memory: [0x00, 1], body: [0x0b] });
}

/** `_start` loops on memory.grow(1) forever: it grows to its cap, then keeps asking. */
export function growLoopModule(): Buffer {
  // loop: (drop (memory.grow (i32.const 1))) (br 0)
  return command({ memory: [0x00, 1], body: [0x03, 0x40, 0x41, 0x01, 0x40, 0x00, 0x1a, 0x0c, 0x00, 0x0b, 0x0b] });
}

/**
 * `_start` runs `iterations` rounds of xorshift32 (three shifts and xors, a counter, a branch) and
 * stores the result: a CPU-bound guest with no host calls, for comparing where it runs.
 */
export function cpuLoopModule(iterations: number): Buffer {
  const get = (i: number) => [0x20, i];
  const set = (i: number) => [0x21, i];
  const xorShift = (op: number, by: number) => [...get(1), ...get(1), 0x41, by, op, 0x73, ...set(1)];
  return command({
    memory: [0x00, 1],
    locals: [1, 2, 0x7f], // two i32 locals: the counter (0) and the state (1)
    body: [
      0x41, 0x01, ...set(1),
      0x03, 0x40,
      ...xorShift(0x74, 13), ...xorShift(0x76, 17), ...xorShift(0x74, 5),
      ...get(0), 0x41, 0x01, 0x6a, 0x22, 0x00,
      0x41, ...sleb(iterations), 0x49, 0x0d, 0x00,
      0x0b,
      0x41, 0x00, ...get(1), 0x36, 0x02, 0x00,
      0x0b,
    ],
  });
}
