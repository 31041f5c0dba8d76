// Hands the adopted deployments to the applier, one convergence at a time. A newer adoption aborts
// the running convergence (through its signal) and starts again with the new list once it has
// stopped, so the applier never runs two at once and always ends on the newest adopted state.
// A convergence that left a deployment failed (or threw) is run again later with the same list,
// backing off: the applier retries what may pass by itself (a registry or engine that was down)
// and, being idempotent, changes and reports nothing for the rest.
import type { AdoptedDeployment, DeploymentApplier, DeploymentStatusReport } from './deployment-applier.js';

export class Convergence {
  private pending: { list: readonly AdoptedDeployment[]; version: bigint } | undefined;
  private current: AbortController | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryDelayMs: number;

  constructor(
    private readonly applier: DeploymentApplier,
    private readonly onStatus: (report: DeploymentStatusReport, version: bigint) => void,
    private readonly say: (line: string) => void,
    private readonly onIdle: () => void = () => {},
    private readonly retry: { baseMs: number; capMs: number } = { baseMs: 15_000, capMs: 5 * 60_000 },
  ) {
    this.retryDelayMs = retry.baseMs;
  }

  get busy(): boolean {
    return this.running !== undefined;
  }

  want(list: readonly AdoptedDeployment[], version: bigint, isRetry = false): void {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    if (!isRetry) this.retryDelayMs = this.retry.baseMs;
    this.pending = { list, version };
    this.current?.abort();
    if (!this.running) this.running = this.loop().finally(() => { this.running = undefined; this.onIdle(); });
  }

  private async loop(): Promise<void> {
    while (this.pending && !this.stopped) {
      const { list, version } = this.pending;
      this.pending = undefined;
      const controller = new AbortController();
      this.current = controller;
      let failed = false;
      try {
        await this.applier.converge(list, (report) => {
          if (report.state === 'failed') failed = true;
          this.onStatus(report, version);
        }, controller.signal);
      } catch (err) {
        failed = true;
        if (!controller.signal.aborted) this.say(`fleet: converging manifest ${version} failed: ${(err as Error).message}`);
      } finally {
        this.current = undefined;
      }
      if (failed && !controller.signal.aborted && !this.pending && !this.stopped) this.retryLater(list, version);
    }
  }

  private retryLater(list: readonly AdoptedDeployment[], version: bigint): void {
    const delay = this.retryDelayMs;
    this.retryDelayMs = Math.min(this.retry.capMs, this.retryDelayMs * 2);
    this.retryTimer = setTimeout(() => this.want(list, version, true), delay);
    this.retryTimer.unref();
  }

  /** Aborts the running convergence and waits for the applier to return. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    this.pending = undefined;
    this.current?.abort();
    await this.running;
  }

  /** Resolves when nothing is converging (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
