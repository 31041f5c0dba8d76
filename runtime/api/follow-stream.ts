// A streaming response for followers (`logs?follow=true`, `/v1/events`): NDJSON (one JSON object a
// line) or Server-Sent Events, chosen by `format` or an `Accept: text/event-stream` header. A
// heartbeat keeps idle streams alive through the idle timeout; a follower that stops reading is
// dropped once its unsent backlog passes a cap, so a slow client never grows the daemon's memory.
import type { FastifyReply, FastifyRequest } from 'fastify';

export type StreamFormat = 'ndjson' | 'sse';

export interface FollowStreamOptions { heartbeatMs: number; maxBacklogBytes: number }

export function streamFormat(request: FastifyRequest, format: StreamFormat | undefined): StreamFormat {
  if (format) return format;
  return /text\/event-stream/.test(request.headers.accept ?? '') ? 'sse' : 'ndjson';
}

export interface FollowStream {
  send(items: { id?: number; data: unknown }[]): void;
  /** Resolves when the client goes away or the stream is ended. */
  closed: Promise<void>;
  end(): void;
}

/** Takes the response over from fastify and opens the stream. */
export function openFollowStream(reply: FastifyReply, format: StreamFormat, options: FollowStreamOptions): FollowStream {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': format === 'sse' ? 'text/event-stream; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'cache-control': 'no-store',
    'x-accel-buffering': 'no',
  });
  let ended = false;
  let resolveClosed!: () => void;
  const closed = new Promise<void>((resolve) => { resolveClosed = resolve; });
  const heartbeat = setInterval(() => write(format === 'sse' ? ': keep-alive\n\n' : '\n'), options.heartbeatMs);
  const finish = () => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    resolveClosed();
  };
  res.on('close', finish);
  res.on('error', finish);
  function write(text: string): void {
    if (ended) return;
    if (res.writableLength > options.maxBacklogBytes) {
      // The client is not reading: drop it rather than buffer without bound.
      res.destroy();
      finish();
      return;
    }
    res.write(text);
  }
  return {
    send(items) {
      let text = '';
      for (const item of items) {
        const json = JSON.stringify(item.data);
        text += format === 'sse' ? `${item.id !== undefined ? `id: ${item.id}\n` : ''}data: ${json}\n\n` : `${json}\n`;
      }
      if (text) write(text);
    },
    closed,
    end() {
      if (!ended) res.end();
      finish();
    },
  };
}
