// Worker entry: one sandbox. Receives a GuestRunRequest, says when the guest starts (the
// supervisor's time limit counts from there, not from thread spawn), runs it, posts the result.
import { parentPort } from 'node:worker_threads';
import { runGuest, type GuestRunRequest } from './guest-run.js';

export type SandboxMessage =
  | { type: 'started' }
  | { type: 'result'; result: ReturnType<typeof runGuest> };

parentPort!.once('message', (request: GuestRunRequest) => {
  parentPort!.postMessage({ type: 'started' } satisfies SandboxMessage);
  parentPort!.postMessage({ type: 'result', result: runGuest(request) } satisfies SandboxMessage);
});
