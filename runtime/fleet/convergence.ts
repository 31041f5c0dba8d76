// Hands the adopted deployments to the applier, one convergence at a time. A newer adoption aborts
// the running convergence (through its signal) and starts again with the new list once it has
// stopped, so the applier never runs two at once and always ends on the newest adopted state.
import type { AdoptedDeployment, DeploymentApplier, DeploymentStatusReport } from './deployment-applier.js';

export class Convergence {
  private pending: { list: readonly AdoptedDeployment[]; version: bigint } | undefined;
  private current: AbortController | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly applier: DeploymentApplier,
    private readonly onStatus: (report: DeploymentStatusReport, version: bigint) => void,
    private readonly say: (line: string) => void,
    private readonly onIdle: () => void = () => {},
  ) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  want(list: readonly AdoptedDeployment[], version: bigint): void {
    if (this.stopped) return;
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
      try {
        await this.applier.converge(list, (report) => this.onStatus(report, version), controller.signal);
      } catch (err) {
        if (!controller.signal.aborted) this.say(`fleet: converging manifest ${version} failed: ${(err as Error).message}`);
      } finally {
        this.current = undefined;
      }
    }
  }

  /** Aborts the running convergence and waits for the applier to return. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.pending = undefined;
    this.current?.abort();
    await this.running;
  }

  /** Resolves when nothing is converging (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }
}
