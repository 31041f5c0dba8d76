// New log records and app state changes for streaming followers. One poller serves every follower:
// each tick reads the new log rows of each followed app once (however many follow it) and diffs
// the app table once, so 500 followers cost what one does. It runs only while someone follows.
import type { AppRecords, AppRow, LogRow } from '../apps/app-records.js';

export interface AppStateEvent { appId: string; desired: string; actual: string; reason: string | null; generation: number; at: string }

type LogListener = (rows: LogRow[]) => void;
type StateListener = (event: AppStateEvent) => void;

export class StateFeed {
  readonly #logListeners = new Map<string, Map<LogListener, { afterId: number }>>();
  readonly #stateListeners = new Set<StateListener>();
  #lastApps = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;

  constructor(private readonly records: AppRecords, private readonly tickMs = 200) {}

  get followers(): number {
    let n = this.#stateListeners.size;
    for (const m of this.#logListeners.values()) n += m.size;
    return n;
  }

  /** Calls `listener` with every log row of `appId` after `afterId`, until the returned function runs. */
  followLogs(appId: string, afterId: number, listener: LogListener): () => void {
    let m = this.#logListeners.get(appId);
    if (!m) this.#logListeners.set(appId, (m = new Map()));
    m.set(listener, { afterId });
    this.#ensureTimer();
    return () => {
      m!.delete(listener);
      if (m!.size === 0) this.#logListeners.delete(appId);
      this.#stopIfIdle();
    };
  }

  followStates(listener: StateListener): () => void {
    if (this.#stateListeners.size === 0) this.#lastApps = new Map(this.records.apps().map((a) => [a.appId, stateKey(a)]));
    this.#stateListeners.add(listener);
    this.#ensureTimer();
    return () => {
      this.#stateListeners.delete(listener);
      this.#stopIfIdle();
    };
  }

  close(): void {
    this.#logListeners.clear();
    this.#stateListeners.clear();
    this.#stopIfIdle();
  }

  #ensureTimer(): void {
    this.#timer ??= setInterval(() => this.#tick(), this.tickMs);
  }

  #stopIfIdle(): void {
    if (this.followers === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }

  #tick(): void {
    for (const [appId, listeners] of this.#logListeners) {
      // Followers of one app may have started at different rows: read once from the oldest.
      const from = Math.min(...[...listeners.values()].map((l) => l.afterId));
      const rows = this.records.logs(appId, { afterId: from });
      if (rows.length === 0) continue;
      for (const [listener, cursor] of listeners) {
        const mine = cursor.afterId === from ? rows : rows.filter((r) => r.id > cursor.afterId);
        if (mine.length === 0) continue;
        cursor.afterId = mine[mine.length - 1]!.id;
        listener(mine);
      }
    }
    if (this.#stateListeners.size > 0) {
      const now = new Map<string, string>();
      for (const a of this.records.apps()) {
        const key = stateKey(a);
        now.set(a.appId, key);
        if (this.#lastApps.get(a.appId) === key) continue;
        const event = { appId: a.appId, desired: a.desired, actual: a.actual, reason: a.reason, generation: a.generation, at: a.updatedAt };
        for (const l of this.#stateListeners) l(event);
      }
      this.#lastApps = now;
    }
  }
}

const stateKey = (a: AppRow) => `${a.desired}|${a.actual}|${a.reason ?? ''}|${a.generation}`;
