// Synchronous calls from a sandbox thread to its supervisor. Guest code cannot yield, so a host
// API that needs the supervisor (a socket, an HTTP request) posts the request on a dedicated port
// and blocks on a shared counter; the supervisor answers on that port and bumps the counter. The
// wait is sliced, so worker.terminate() still stops a sandbox that is waiting.
import { receiveMessageOnPort, type MessagePort } from 'node:worker_threads';

interface Request { seq: number; op: string; args: unknown }
interface Reply { seq: number; result: unknown }

export class SyncCaller {
  readonly #signal: Int32Array;
  #seq = 0;

  constructor(private readonly port: MessagePort, signal: SharedArrayBuffer, private readonly hooks: { beforeBlock(): void; afterBlock(): void }) {
    this.#signal = new Int32Array(signal);
  }

  call<T>(op: string, args: unknown): T {
    const seq = ++this.#seq;
    let seen = Atomics.load(this.#signal, 0);
    this.port.postMessage({ seq, op, args } satisfies Request);
    this.hooks.beforeBlock();
    try {
      for (;;) {
        let got = receiveMessageOnPort(this.port);
        while (got) {
          const reply = got.message as Reply;
          if (reply.seq === seq) return reply.result as T;
          got = receiveMessageOnPort(this.port); // a stale reply to an abandoned call
        }
        Atomics.wait(this.#signal, 0, seen, 50);
        seen = Atomics.load(this.#signal, 0);
      }
    } finally {
      this.hooks.afterBlock();
    }
  }
}

/** Supervisor side: answers each request with `handler`'s result (errors become `{ error }`). */
export function serveSyncCalls(port: MessagePort, signal: SharedArrayBuffer, handler: (op: string, args: unknown) => Promise<unknown>): void {
  const counter = new Int32Array(signal);
  port.on('message', (req: Request) => {
    void handler(req.op, req.args)
      .catch((err: Error) => ({ error: 'unknown', reason: err.message }))
      .then((result) => {
        port.postMessage({ seq: req.seq, result } satisfies Reply);
        Atomics.add(counter, 0, 1);
        Atomics.notify(counter, 0);
      });
  });
}
