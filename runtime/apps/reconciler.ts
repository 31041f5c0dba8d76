// One reconcile pass compares desired and actual state and queues what must change. Actions run
// on one queue per vendor: a vendor whose guest is slow or stuck (its start() blocking until the
// call time limit ends it) delays only its own apps, never another vendor's start or stop, and
// never the daemon's loop, which keeps noticing changes while actions run.
import type { InstalledPackages } from '../../packages/install/installed-packages.js';
import type { AppHost, SandboxLoss } from './app-host.js';
import type { CrashGuard } from './crash-guard.js';
import { crashPoint } from './crash-points.js';

export class Reconciler {
  /** Set when something happened that the next pass must look at (an action ended, a restart is due). */
  dirty = false;
  readonly #queues = new Map<string, Promise<void>>();
  readonly #busy = new Set<string>();
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly host: AppHost,
    private readonly installed: InstalledPackages,
    private readonly guard: CrashGuard,
    private readonly say: (line: string) => void,
  ) {}

  pass(): void {
    const records = this.host.records;
    for (const app of records.apps()) {
      // An app with an action queued is looked at again when that action ends.
      if (this.#busy.has(app.appId)) continue;
      const running = this.host.runningApps.includes(app.appId);
      if (app.desired === 'stopped' && running) {
        this.#enqueue(this.host.vendorOf(app.appId) ?? '', app.appId, async () => {
          this.say(`stopping ${app.appId}`);
          crashPoint('stopping', app.appId);
          await this.host.stop(app.appId);
        });
      } else if (app.desired === 'running' && app.startedGeneration !== app.generation) {
        records.markStarted(app.appId, app.generation, !running);
        if (running) continue; // already running: a repeated start changes nothing
        const pkg = this.installed.get(app.appId);
        if (!pkg) {
          records.setActual(app.appId, 'failed', `${app.appId} is not installed`);
          continue;
        }
        const quarantined = this.guard.quarantine(app.appId, app.generation);
        if (quarantined) {
          records.setActual(app.appId, 'failed', quarantined);
          this.say(`${app.appId}: ${quarantined}`);
          continue;
        }
        this.#enqueue(pkg.vendor, app.appId, async () => {
          this.say(`starting ${app.appId} ${pkg.version}`);
          this.guard.beginStart(app.appId, app.generation);
          crashPoint('starting', app.appId);
          try {
            const state = await this.host.start(pkg, app.parameters);
            this.say(`${app.appId}: ${state}`);
          } catch (err) {
            const reason = (err as Error).message.split('\n').join(' ');
            records.setActual(app.appId, 'failed', reason);
            this.say(`${app.appId}: failed: ${reason}`);
          } finally {
            this.guard.endStart(app.appId);
          }
          crashPoint('started', app.appId);
        });
      }
    }
  }

  /** A sandbox went down: count it against the app that caused it, and restart services with backoff. */
  sandboxLost(loss: SandboxLoss): void {
    const records = this.host.records;
    this.say(`sandbox ${loss.vendor} went down: ${loss.reason}`);
    for (const { appId, service } of loss.apps) {
      const row = records.app(appId);
      if (!row || row.desired !== 'running') continue;
      if (loss.crash && (loss.culprit === undefined || loss.culprit === appId)) this.guard.record(appId, row.generation, 'sandbox', loss.reason);
      if (!service) continue; // a job's failure is its outcome; it is not run again
      const quarantined = this.guard.quarantine(appId, row.generation);
      if (quarantined) {
        records.setActual(appId, 'failed', quarantined);
        this.say(`${appId}: ${quarantined}`);
        continue;
      }
      const delay = this.guard.backoffMs(appId, row.generation);
      this.say(`${appId}: restarting in ${delay / 1000} s`);
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        const now = records.app(appId);
        // Only if nobody changed it meanwhile (a stop, a new start).
        if (now && now.desired === 'running' && now.generation === row.generation && now.actual === 'failed') {
          records.markStarted(appId, null);
          this.dirty = true;
        }
      }, delay);
      this.#timers.add(timer);
    }
  }

  /** Resolves when every queued action has ended; pending restarts are dropped. */
  async idle(): Promise<void> {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    await Promise.all([...this.#queues.values()]);
  }

  #enqueue(vendor: string, appId: string, action: () => Promise<void>): void {
    this.#busy.add(appId);
    const previous = this.#queues.get(vendor) ?? Promise.resolve();
    const next: Promise<void> = previous.then(action).catch((err: unknown) => {
      this.say(`${appId}: internal error: ${(err as Error).message}`);
    }).finally(() => {
      this.#busy.delete(appId);
      this.dirty = true;
      if (this.#queues.get(vendor) === next) this.#queues.delete(vendor);
    });
    this.#queues.set(vendor, next);
  }
}
