// Worker entry: one sandbox. Receives a GuestRunRequest, runs it, posts the GuestResult.
import { parentPort } from 'node:worker_threads';
import { runGuest, type GuestRunRequest } from './guest-run.js';

parentPort!.once('message', (request: GuestRunRequest) => {
  parentPort!.postMessage(runGuest(request));
});
