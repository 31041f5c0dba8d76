// The device's link to its fleet manager (the Margo WFM client), run by the daemon while the device
// is joined. Two loops share one mTLS transport:
// - polling: GET the state manifest (If-None-Match); on a new one check its ETag, its version
//   (strictly greater than the adopted one: rollback protection), its shape; fetch what changed
//   (one by one, or the bundle when many changed) and verify every digest; adopt it durably; only
//   then hand it to the applier. Any failure leaves the adopted state as it was.
// - reporting: the applier's transitions, queued durably, POSTed in order until accepted.
// Capabilities are PUT at start and whenever they change; a trust bundle from an identity service
// is refreshed at its refresh hint. Failures back off (exponential, jitter, Retry-After); a 403
// not-authorized retires the link: polling and reporting stop, the adopted state keeps running.
// At start the last adopted deployments go to the applier before any network call (offline first).
import { sleepUnlessAborted } from '../apps/abortable-sleep.js';
import type Database from 'better-sqlite3';
import fs from 'node:fs';
import { AdoptedState } from './adopted-state.js';
import { Convergence } from './convergence.js';
import { matchBundle, readBundleFiles, type BundleLimits } from './deployment-bundle.js';
import type { AdoptedDeployment, DeploymentApplier, DeploymentStatusReport } from './deployment-applier.js';
import { capabilitiesFingerprint, deviceCapabilities } from './device-capabilities.js';
import { EnrollmentStore, type Enrollment } from './fleet-enrollment.js';
import { FleetError } from './fleet-errors.js';
import { fetchTrustBundle } from './identity-service.js';
import { LinkStatusStore, type LinkStatus } from './link-status.js';
import { Backoff, type BackoffOptions } from './retry-backoff.js';
import { parseStateManifest } from './state-manifest.js';
import { statusManifest } from './status-report.js';
import { StatusOutbox } from './status-outbox.js';
import { bundleReplaces } from './trust-bundle.js';
import { DEFAULT_WFM_LIMITS, WfmApi, type WfmApiLimits } from './wfm-api.js';
import { WfmTransport } from './wfm-transport.js';

export interface FleetLinkOptions {
  db: Database.Database;
  dataDir: string;
  applier: DeploymentApplier;
  say?: (line: string) => void;
  /** Overrides the join's poll interval (tests, benchmarks). */
  pollIntervalMs?: number;
  limits?: Partial<WfmApiLimits>;
  backoff?: Partial<BackoffOptions>;
  bundle?: Partial<BundleLimits>;
  /** More changed deployments than this are fetched as the bundle (when there is one). */
  bundleThreshold?: number;
  maxDeployments?: number;
  /** How often capabilities are recomputed to see whether they changed. */
  capabilitiesCheckMs?: number;
  maxConnectionAgeMs?: number;
  /** When a convergence left a deployment failed, it is run again after this (doubling to the cap). */
  convergeRetry?: { baseMs: number; capMs: number };
}

const DEFAULT_BACKOFF: BackoffOptions = { baseMs: 1000, capMs: 5 * 60_000, maxRetryAfterMs: 60 * 60_000 };
const DEFAULT_BUNDLE: BundleLimits = { maxEntries: 10_000, maxFileBytes: 1024 * 1024, maxTotalBytes: 256 * 1024 * 1024 };

export class FleetLink {
  readonly adopted: AdoptedState;
  readonly outbox: StatusOutbox;
  readonly status: LinkStatusStore;
  private readonly enrollments: EnrollmentStore;
  private enrollment: Enrollment;
  private transport!: WfmTransport;
  private api!: WfmApi;
  private readonly convergence: Convergence;
  private readonly say: (line: string) => void;
  private readonly pollBackoff: Backoff;
  private readonly reportBackoff: Backoff;
  private wakeReports: (() => void) | undefined;
  private wakePoll: (() => void) | undefined;
  private retired = false;
  private lastCapabilitiesCheck = 0;
  private nextBundleRefresh = 0;
  private lastNoteAt = 0;

  constructor(private readonly options: FleetLinkOptions) {
    this.say = options.say ?? (() => {});
    this.adopted = new AdoptedState(options.db);
    this.outbox = new StatusOutbox(options.db);
    this.status = new LinkStatusStore(options.db);
    this.enrollments = new EnrollmentStore(options.db);
    const e = this.enrollments.get();
    if (!e) throw new FleetError('BH_ERR_FLEET_NOT_JOINED', 'this device has not joined a fleet manager (bulkhead fleet join)');
    this.enrollment = e;
    this.pollBackoff = new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff });
    this.reportBackoff = new Backoff({ ...DEFAULT_BACKOFF, ...options.backoff });
    this.convergence = new Convergence(options.applier, (r, v) => this.queueReport(r, v), this.say, () => {
      if (!this.retired && this.status.get()?.state === 'converging') this.note({ state: 'in-sync' });
    }, options.convergeRetry);
    this.connect();
  }

  private connect(): void {
    const e = this.enrollment;
    void this.transport?.close();
    this.transport = new WfmTransport(e.wfmUrl, {
      cert: fs.readFileSync(e.certFile), key: fs.readFileSync(e.keyFile), anchors: e.trustBundle.anchors,
      expectedServerId: e.identity.wfmSpiffeId, allowTls12: e.allowTls12,
    }, { maxConnectionAgeMs: this.options.maxConnectionAgeMs });
    this.api = new WfmApi(this.transport, { ...DEFAULT_WFM_LIMITS, ...this.options.limits });
  }

  private get pollIntervalMs(): number {
    return this.options.pollIntervalMs ?? this.enrollment.pollIntervalMs;
  }

  private note(patch: Partial<LinkStatus>): void {
    this.status.update(patch);
    this.lastNoteAt = Date.now();
  }

  /**
   * After a successful poll: written when the state changed, else at most once a minute. A write
   * per poll would be a flash write (fsync) every few seconds on a device that is merely idle.
   */
  private noteSuccess(state: LinkStatus['state'], at: number, nextPollAt: number): void {
    if (this.status.get()?.state === state && Date.now() - this.lastNoteAt < 60_000) return;
    this.note({ state, lastPollAt: at, lastSuccessAt: at, nextPollAt });
  }

  private queueReport(report: DeploymentStatusReport, version: bigint): void {
    this.outbox.enqueue(report.deploymentId, JSON.parse(statusManifest(report, this.enrollment.deviceId, version)));
    this.wakeReports?.();
  }

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const adopted = this.adopted.manifest();
    if (adopted) {
      this.say(`fleet: resuming adopted manifest ${adopted.manifestVersion} (${this.adopted.deployments().length} deployments) before contacting the fleet manager`);
      this.convergence.want(this.adopted.deployments(), adopted.manifestVersion);
    }
    const prior = this.status.get();
    if (prior?.state === 'retired') {
      this.retired = true;
      this.say('fleet: the fleet manager retired this client earlier; not polling (fleet leave, then join again)');
    } else {
      this.note({ state: 'starting' });
    }
    try {
      await Promise.all([this.pollLoop(signal), this.reportLoop(signal)]);
    } finally {
      await this.convergence.stop();
      await this.transport.close();
    }
  }

  private async pollLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.retired) {
      await this.refreshTrustBundleIfDue(signal);
      await this.reportCapabilitiesIfChanged(signal);
      let delay = this.pollIntervalMs;
      const at = Date.now();
      try {
        await this.pollOnce(signal);
        this.pollBackoff.reset();
        this.noteSuccess(this.convergence.busy ? 'converging' : 'in-sync', at, Date.now() + delay);
      } catch (err) {
        if (signal.aborted) break;
        const e = err instanceof FleetError ? err : new FleetError('BH_ERR_FLEET_UNREACHABLE', (err as Error).message);
        if (e.code === 'BH_ERR_FLEET_RETIRED') {
          this.retire(e);
          break;
        }
        delay = this.pollBackoff.next(e.retryAfterMs);
        const line = { code: e.code, message: e.message, at };
        const refusal = ['BH_ERR_FLEET_ROLLBACK', 'BH_ERR_FLEET_DIGEST', 'BH_ERR_FLEET_MANIFEST', 'BH_ERR_FLEET_TLS'].includes(e.code);
        this.note({ state: 'retrying', lastPollAt: at, nextPollAt: Date.now() + delay, lastError: line, ...(refusal ? { lastRefusal: line } : {}) });
        this.say(`fleet: ${refusal ? 'refused: ' : ''}${e.code}: ${e.message} (next try in ${Math.round(delay / 1000)} s)`);
        // A failed handshake or a broken connection: the next attempt starts a fresh one.
        await this.transport.reset();
      }
      await sleepUnlessAborted(delay, signal, (wake) => { this.wakePoll = wake; });
      this.wakePoll = undefined;
    }
  }

  /** One poll. Throws a FleetError when the manifest is refused or the WFM cannot be read. */
  async pollOnce(signal?: AbortSignal): Promise<'unchanged' | 'adopted'> {
    const current = this.adopted.manifest();
    const answer = await this.api.getManifest(current?.etag, signal);
    if (answer.notModified) return 'unchanged';
    // The same bytes again (a server that ignores If-None-Match) is not a replay.
    if (current && answer.etag === current.etag) return 'unchanged';
    const manifest = parseStateManifest(answer.body, this.options.maxDeployments ?? 2000);
    if (current && manifest.manifestVersion <= current.manifestVersion) {
      throw new FleetError('BH_ERR_FLEET_ROLLBACK', `manifestVersion ${manifest.manifestVersion} is not greater than the adopted ${current.manifestVersion} (replayed or rolled back); refused, adopted state kept`);
    }
    const previous = new Map(this.adopted.deployments().map((d) => [d.deploymentId, d]));
    const changed = manifest.deployments.filter((d) => previous.get(d.deploymentId)?.digest !== d.digest);
    const fetched = new Map<string, Buffer>();
    const threshold = this.options.bundleThreshold ?? 8;
    if (manifest.bundle && changed.length > threshold) {
      const archive = await this.api.getBundle(manifest.bundle, signal);
      const files = await readBundleFiles(archive, { ...DEFAULT_BUNDLE, ...this.options.bundle });
      for (const [id, bytes] of matchBundle(files, manifest.deployments)) fetched.set(id, bytes);
    } else {
      for (const ref of changed) fetched.set(ref.deploymentId, await this.api.getDeployment(ref, signal));
    }
    const list: AdoptedDeployment[] = manifest.deployments.map((d) => ({
      deploymentId: d.deploymentId, digest: d.digest, document: fetched.get(d.deploymentId) ?? previous.get(d.deploymentId)!.document,
    }));
    // Durable before acting: a crash from here on resumes this manifest, never an older one.
    this.adopted.adopt(manifest.manifestVersion, answer.etag, answer.body, list);
    this.say(`fleet: adopted manifest ${manifest.manifestVersion}: ${list.length} deployments, ${changed.length} changed, ${previous.size - list.filter((d) => previous.has(d.deploymentId)).length} removed`);
    this.convergence.want(list, manifest.manifestVersion);
    return 'adopted';
  }

  private async reportLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted && !this.retired) {
      const batch = this.outbox.peek(50);
      if (batch.length === 0) {
        await sleepUnlessAborted(60_000, signal, (wake) => { this.wakeReports = wake; });
        this.wakeReports = undefined;
        continue;
      }
      for (const r of batch) {
        if (signal.aborted || this.retired) return;
        try {
          await this.api.postStatus(r.deploymentId, r.body, signal);
          this.outbox.done(r.seq);
          this.reportBackoff.reset();
        } catch (err) {
          if (signal.aborted) return;
          const e = err instanceof FleetError ? err : new FleetError('BH_ERR_FLEET_UNREACHABLE', (err as Error).message);
          if (e.code === 'BH_ERR_FLEET_RETIRED') return this.retire(e);
          if (e.code === 'BH_ERR_FLEET_REFUSED') {
            // The WFM will never accept this report (400/422): keeping it would block every later one.
            this.outbox.done(r.seq);
            this.say(`fleet: status report for ${r.deploymentId} dropped: ${e.message}`);
            this.note({ lastError: { code: e.code, message: e.message, at: Date.now() } });
            continue;
          }
          this.outbox.failed(r.seq);
          const delay = this.reportBackoff.next(e.retryAfterMs);
          this.note({ lastError: { code: e.code, message: e.message, at: Date.now() } });
          await sleepUnlessAborted(delay, signal);
          break;
        }
      }
    }
  }

  private async reportCapabilitiesIfChanged(signal: AbortSignal): Promise<void> {
    const every = this.options.capabilitiesCheckMs ?? 60_000;
    if (Date.now() - this.lastCapabilitiesCheck < every) return;
    const e = this.enrollment;
    const doc = deviceCapabilities({ deviceId: e.deviceId, dataDir: this.options.dataDir, device: e.device, labels: e.labels });
    const fingerprint = capabilitiesFingerprint(doc);
    if (this.status.get()?.capabilitiesFingerprint === fingerprint) {
      this.lastCapabilitiesCheck = Date.now();
      return;
    }
    try {
      await this.api.putCapabilities(e.deviceId, JSON.stringify(doc), signal);
      this.lastCapabilitiesCheck = Date.now();
      this.note({ capabilitiesReportedAt: Date.now(), capabilitiesFingerprint: fingerprint });
      this.say('fleet: capabilities reported');
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof FleetError && err.code === 'BH_ERR_FLEET_RETIRED') return this.retire(err);
      // Tried again at the next poll.
      const e2 = err instanceof FleetError ? err : new FleetError('BH_ERR_FLEET_UNREACHABLE', (err as Error).message);
      this.note({ lastError: { code: e2.code, message: e2.message, at: Date.now() } });
    }
  }

  private async refreshTrustBundleIfDue(signal: AbortSignal): Promise<void> {
    if (this.enrollment.trustSource.kind !== 'identity' || signal.aborted) return;
    const hint = this.enrollment.trustBundle.refreshHintSeconds ?? 3600;
    const interval = Math.min(Math.max(hint, 60), 86_400) * 1000;
    // The bundle was fetched at join: the first refresh is one interval after it.
    if (this.nextBundleRefresh === 0) this.nextBundleRefresh = (this.status.get()?.trustBundleRefreshedAt ?? this.enrollment.joinedAt) + interval;
    if (Date.now() < this.nextBundleRefresh) return;
    this.nextBundleRefresh = Date.now() + interval;
    try {
      await this.refreshTrustBundle();
    } catch (err) {
      // The current bundle stays in use (trust-bundle-and-discovery.md).
      const e = err instanceof FleetError ? err : new FleetError('BH_ERR_FLEET_TRUST_BUNDLE', (err as Error).message);
      this.note({ lastError: { code: e.code, message: e.message, at: Date.now() } });
      this.say(`fleet: trust bundle not refreshed: ${e.code}: ${e.message}`);
    }
  }

  /**
   * Fetches the bundle from the identity service now. An accepted bundle replaces the current one
   * whole and the next connection uses only its anchors; a refused one (empty, lower sequence,
   * another trust domain) throws and changes nothing. Returns whether the anchors changed.
   */
  async refreshTrustBundle(): Promise<boolean> {
    const source = this.enrollment.trustSource;
    if (source.kind !== 'identity') return false;
    const ca = source.caFile ? fs.readFileSync(source.caFile, 'utf8') : undefined;
    const { bundle } = await fetchTrustBundle(source.url, { ca, expectedTrustDomain: this.enrollment.identity.trustDomain, allowTls12: this.enrollment.allowTls12 });
    const changed = bundleReplaces(this.enrollment.trustBundle, bundle, source.url);
    if (changed) {
      this.enrollments.replaceTrustBundle(bundle);
      this.enrollment = { ...this.enrollment, trustBundle: bundle };
      this.connect();
      this.say(`fleet: trust bundle replaced (${bundle.anchors.length} anchors${bundle.sequence ? `, sequence ${bundle.sequence}` : ''})`);
    }
    this.note({ trustBundleRefreshedAt: Date.now() });
    return changed;
  }

  private retire(e: FleetError): void {
    this.retired = true;
    this.note({ state: 'retired', lastError: { code: e.code, message: e.message, at: Date.now() } });
    this.say(`fleet: ${e.message}; polling stopped, the adopted deployments keep running`);
    this.wakeReports?.();
    this.wakePoll?.();
  }

  /** Closes the connections of a link used without run() (tests, one-shot polls). */
  async close(): Promise<void> {
    await this.convergence.idle();
    await this.transport.close();
  }

  /** Resolves when the applier is idle (tests and benchmarks). */
  convergenceIdle(): Promise<void> {
    return this.convergence.idle();
  }

}
