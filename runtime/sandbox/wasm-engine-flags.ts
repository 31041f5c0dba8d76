// V8 settings every sandbox relies on, applied once per process before any module is compiled
// (V8 flags are process-wide: worker threads created afterwards share them).
//
// --no-liftoff: Node 20 first runs wasm in V8's Liftoff baseline tier. A guest looping on
// memory.grow in Liftoff code ignored worker.terminate() for as long as it kept growing (19-32 s
// at a 256 MiB cap, issue 11; measured here: terminate never took effect within 8 s). With
// TurboFan code alone, terminate took effect in 9-19 ms. Turning off only dynamic tiering fixed
// it too, but its eager background tier-up competed with the guests for CPU: a hostile sample
// then overran its vendor's CPU share. TurboFan-only costs a little compile time at start (the
// compile cache amortises it) and runs guests at full speed from the first call.
import v8 from 'node:v8';

let applied = false;

export function applyWasmEngineFlags(): void {
  if (applied) return;
  applied = true;
  v8.setFlagsFromString('--no-liftoff');
}
