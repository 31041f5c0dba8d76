// Crash-loop protection. An app that takes its vendor's sandbox down (heap exhausted, a crash, a
// call past its time limit, the CPU share) is restarted while it keeps failing rarely; one that
// does it CRASH_LIMIT times within CRASH_WINDOW_MS is quarantined: it stays `failed`, saying why
// and how to clear it (`bulkhead start APP`, a new generation of its desired state).
//
// An app whose start took the whole daemon down (V8 aborts the process on some exhaustion, which
// no sandbox can catch) is quarantined at once: every start is recorded before it begins and
// cleared when it settles, so the next daemon finds an unfinished start of a dead run and never
// restarts into the same crash.
import type Database from 'better-sqlite3';

export const CRASH_LIMIT = 3;
export const CRASH_WINDOW_MS = 10 * 60_000;

const iso = (ms = Date.now()) => new Date(ms).toISOString();

export class CrashGuard {
  constructor(private readonly db: Database.Database, private readonly run: number) {
    db.exec(`
      CREATE TABLE IF NOT EXISTS app_start_attempts (
        app_id TEXT NOT NULL, daemon_run INTEGER NOT NULL, generation INTEGER NOT NULL, at TEXT NOT NULL,
        PRIMARY KEY (app_id, daemon_run));
      CREATE TABLE IF NOT EXISTS app_crashes (
        id INTEGER PRIMARY KEY AUTOINCREMENT, app_id TEXT NOT NULL, generation INTEGER NOT NULL, at TEXT NOT NULL,
        kind TEXT NOT NULL, reason TEXT NOT NULL);
    `);
  }

  /** Starts that a dead daemon left unfinished become crashes of those apps (kind `daemon`). */
  collectDeadStarts(): string[] {
    return this.db.transaction(() => {
      const rows = this.db.prepare(`SELECT a.app_id, a.generation, a.at, r.pid FROM app_start_attempts a
        LEFT JOIN daemon_runs r ON r.id = a.daemon_run WHERE a.daemon_run <> ?`).all(this.run) as { app_id: string; generation: number; at: string; pid: number | null }[];
      for (const r of rows) {
        this.record(r.app_id, r.generation, 'daemon', `the daemon${r.pid ? ` (pid ${r.pid})` : ''} died while starting it (${r.at})`);
      }
      this.db.prepare('DELETE FROM app_start_attempts WHERE daemon_run <> ?').run(this.run);
      return rows.map((r) => r.app_id);
    })();
  }

  /** Written (and synced, as every commit is) before any guest code of the start runs. */
  beginStart(appId: string, generation: number): void {
    this.db.prepare('INSERT OR REPLACE INTO app_start_attempts (app_id, daemon_run, generation, at) VALUES (?, ?, ?, ?)').run(appId, this.run, generation, iso());
  }

  endStart(appId: string): void {
    this.db.prepare('DELETE FROM app_start_attempts WHERE app_id = ? AND daemon_run = ?').run(appId, this.run);
  }

  record(appId: string, generation: number, kind: 'daemon' | 'sandbox', reason: string): void {
    this.db.prepare('INSERT INTO app_crashes (app_id, generation, at, kind, reason) VALUES (?, ?, ?, ?, ?)').run(appId, generation, iso(), kind, reason);
  }

  /** Crashes of this generation of the app within the window, newest first. */
  recent(appId: string, generation: number): { at: string; kind: string; reason: string }[] {
    return this.db.prepare(`SELECT at, kind, reason FROM app_crashes WHERE app_id = ? AND generation = ? AND at >= ? ORDER BY id DESC`)
      .all(appId, generation, iso(Date.now() - CRASH_WINDOW_MS)) as { at: string; kind: string; reason: string }[];
  }

  /** Why this generation of the app must not be started again, or undefined. */
  quarantine(appId: string, generation: number): string | undefined {
    const crashes = this.recent(appId, generation);
    const clear = `to try again: bulkhead start ${appId}`;
    const fatal = crashes.find((c) => c.kind === 'daemon');
    if (fatal) return `quarantined: its start took the whole daemon down (${fatal.reason}); ${clear}`;
    if (crashes.length >= CRASH_LIMIT) {
      return `quarantined: brought its sandbox down ${crashes.length} times within ${CRASH_WINDOW_MS / 60_000} min (last: ${crashes[0]!.reason}); ${clear}`;
    }
    return undefined;
  }

  /** Delay before restarting an app after its sandbox went down: 1 s, 2 s, 4 s... */
  backoffMs(appId: string, generation: number): number {
    return 1000 * 2 ** Math.max(0, this.recent(appId, generation).length - 1);
  }
}
