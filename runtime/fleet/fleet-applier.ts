// The apply side of the Margo WFM client: makes the device run exactly the deployments of the
// adopted manifest. For each ApplicationDeployment, in order: validate it (errors name the field),
// check it is meant for this device and that the device meets its deviceConstraints, claim its app
// id (never one installed by hand or owned by another deployment), pull the component's signed
// package from its OCI repository and install it with the installer `bulkhead install` uses (same
// signature policy, vendor ownership, no downgrade, atomic), then run it: a wasm app through the
// daemon's desired state with the parameters as bulkhead:host/config values, compose components
// through the container bridge with the parameters as environment variables. Deployments that left
// the manifest are stopped, taken down and uninstalled. Every transition is reported once.
//
// Crash safety: fleet-records.ts holds a row per deployment written before anything is changed;
// every step checks what is already done (same package digest installed, app running with the same
// values, compose up idempotent), so the converge after a kill -9 finishes what the killed one began.
import fs from 'node:fs';
import path from 'node:path';
import type Database from 'better-sqlite3';
import { InstalledPackages, type InstalledPackage } from '../../packages/install/installed-packages.js';
import { installPackage } from '../../packages/install/package-installer.js';
import { createStagingDir } from '../../packages/install/staging-area.js';
import { parseApplicationDescription, type ApplicationDescription } from '../../packages/manifest/application-description.js';
import { quoteValue } from '../../packages/quote-value.js';
import { TrustStore } from '../../packages/trust/trust-store.js';
import { AppRecords } from '../apps/app-records.js';
import { crashPoint } from '../apps/crash-points.js';
import { preparePackageComponents } from '../apps/prepare-package-components.js';
import { uninstallApp } from '../apps/uninstall-app.js';
import { loadDevicePolicy, type DevicePolicy } from '../state/device-policy.js';
import { asDeploymentError, FleetApplyError, isTransient } from './apply-errors.js';
import { parseApplicationDeployment, type ApplicationDeployment } from './application-deployment.js';
import { componentReference, defaultRegistryOptions, openComponentArtifact, type RegistryOptionsFor } from './component-artifact.js';
import type { AdoptedDeployment, ComponentStatus, DeploymentApplier, DeploymentError, DeploymentState, DeploymentStatusReport } from './deployment-applier.js';
import { downComposeComponent, upComposeComponent } from './compose-deployment.js';
import { checkDeviceConstraints } from './device-constraints.js';
import type { DeviceFacts } from './device-facts.js';
import { AppClaimError, FleetRecords, type FleetDeploymentRow } from './fleet-records.js';
import { deploymentKind, matchPackage, type DeploymentKind } from './package-match.js';
import { stopWasmApp, runWasmApp } from './wasm-deployment.js';

export interface DeploymentApplierOptions {
  dataDir: string;
  /** The device's state database (the daemon's connection). */
  db: Database.Database;
  trust: TrustStore;
  installed: InstalledPackages;
  /** The device policy, read for each converge (signature policy, limits, vendors' isolation policy). */
  policy: () => DevicePolicy;
  /** This device as the capability report describes it (see device-facts.ts). */
  facts: () => DeviceFacts;
  /** The container engine's socket (default: DOCKER_HOST, then the usual sockets), for compose deployments. */
  engineHost?: string;
  registryOptions?: RegistryOptionsFor;
  /** How long a wasm app may take to start or stop when its component names no timeout (default 120 s). */
  startTimeoutMs?: number;
  say?: (line: string) => void;
}

/** Margo's precedence: the overall state is the most severe component state. */
const SEVERITY: DeploymentState[] = ['removed', 'installed', 'pending', 'installing', 'removing', 'failed'];
export const mostSevere = (states: DeploymentState[]): DeploymentState => states.reduce((a, b) => (SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a));

/** "5m30s" -> ms */
const timeoutMs = (text: string | undefined, fallback: number) => {
  const m = text ? /^(\d+)m(\d+)s$/.exec(text) : null;
  return m ? (Number(m[1]) * 60 + Number(m[2])) * 1000 : fallback;
};

export function createDeploymentApplier(options: DeploymentApplierOptions): DeploymentApplier {
  return new FleetApplier(options);
}

/**
 * The applier as the daemon builds it from what it has: its data dir and state database, and this
 * device's facts, which must be the ones the capability report sends (the WFM places deployments by
 * that report; the device checks deviceConstraints against the same properties and labels). The
 * trust store, installed packages and policy are the ones `bulkhead install` uses.
 */
export function daemonDeploymentApplier(device: { dataDir: string; db: Database.Database; facts: () => DeviceFacts; say?: (line: string) => void }): DeploymentApplier {
  const { dataDir, db } = device;
  return createDeploymentApplier({
    dataDir, db, trust: new TrustStore(db), installed: new InstalledPackages(db, dataDir), policy: () => loadDevicePolicy(dataDir),
    facts: device.facts, say: device.say,
  });
}

class Reporter {
  readonly components = new Map<string, ComponentStatus>();
  constructor(
    private readonly records: FleetRecords, private readonly deploymentId: string, private last: DeploymentStatusReport | null,
    private readonly onStatus: (r: DeploymentStatusReport) => void, readonly source: string,
  ) {}

  set(names: string[], state: DeploymentState, error?: DeploymentError): void {
    for (const name of names) this.components.set(name, { name, state, ...(error ? { error: { ...error, source: name } } : {}) });
  }

  /** Reports the deployment's state now, unless it is exactly what was reported last. */
  emit(state?: DeploymentState, error?: DeploymentError): void {
    const components = [...this.components.values()];
    const overall = state ?? mostSevere(components.map((c) => c.state));
    const report: DeploymentStatusReport = { deploymentId: this.deploymentId, state: overall, ...(error ? { error } : {}), components };
    this.records.setState(this.deploymentId, overall, error ?? null);
    if (this.last && JSON.stringify(this.last) === JSON.stringify(report)) return;
    this.records.setReport(this.deploymentId, report);
    this.last = report;
    this.onStatus(report);
  }
}

class FleetApplier implements DeploymentApplier {
  readonly #records: FleetRecords;
  readonly #apps: AppRecords;
  #queue: Promise<void> = Promise.resolve();

  constructor(private readonly o: DeploymentApplierOptions) {
    this.#records = new FleetRecords(o.db);
    this.#apps = new AppRecords(o.db);
  }

  converge(deployments: readonly AdoptedDeployment[], onStatus: (report: DeploymentStatusReport) => void, signal?: AbortSignal): Promise<void> {
    // One converge at a time: a second call waits for the first, then sees what it did.
    const run = this.#queue.then(() => this.#converge(deployments, onStatus, signal));
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #converge(deployments: readonly AdoptedDeployment[], onStatus: (report: DeploymentStatusReport) => void, signal?: AbortSignal): Promise<void> {
    const wanted = new Map<string, AdoptedDeployment>();
    for (const d of deployments) if (!wanted.has(d.deploymentId)) wanted.set(d.deploymentId, d);
    // Removals first: they free app ids and resources the new deployments may need.
    for (const row of this.#records.list()) {
      if (signal?.aborted) return;
      if (!wanted.has(row.deploymentId)) await this.#remove(row, onStatus, signal);
    }
    const policy = this.o.policy();
    const facts = this.o.facts();
    for (const d of wanted.values()) {
      if (signal?.aborted) return;
      await this.#apply(d, policy, facts, onStatus, signal);
    }
  }

  async #apply(adopted: AdoptedDeployment, policy: DevicePolicy, facts: DeviceFacts, onStatus: (r: DeploymentStatusReport) => void, signal?: AbortSignal): Promise<void> {
    const id = adopted.deploymentId;
    const before = this.#records.get(id);
    if (before && before.digest === adopted.digest) {
      // Converged already: nothing to do and nothing new to say. A failure whose cause may pass
      // (registry or engine down, an app that did not start) is tried again.
      if (before.state === 'installed') return;
      if (before.state === 'failed' && before.error && !isTransient(before.error)) return;
    }
    this.#records.begin(id, adopted.digest);
    let reporter = new Reporter(this.#records, id, before?.report ?? null, onStatus, id);
    let deployment: ApplicationDeployment;
    try {
      deployment = parseApplicationDeployment(adopted.document, id, policy.manifest);
    } catch (err) {
      reporter.emit('failed', asDeploymentError(err, id));
      return;
    }
    const names = deployment.spec.deploymentProfile.components.map((c) => c.name);
    this.#records.setName(id, deployment.metadata.name);
    reporter = new Reporter(this.#records, id, before?.report ?? null, onStatus, deployment.metadata.name);
    reporter.set(names, 'pending');
    reporter.emit();
    try {
      await this.#install(id, deployment, policy, facts, reporter, signal);
    } catch (err) {
      // Stopped (a newer manifest was adopted, or the daemon stops): nothing failed. The row keeps
      // its unfinished state, and the next converge takes the deployment up from there.
      if (signal?.aborted) return;
      const error = asDeploymentError(err, reporter.source);
      // Components that got as far as installed stay so (a later compose component failed).
      for (const c of reporter.components.values()) if (c.state !== 'installed') reporter.set([c.name], 'failed', error);
      reporter.emit('failed', error);
      this.o.say?.(`fleet: deployment ${id} failed: [${error.code}] ${error.message}`);
    }
  }

  async #install(id: string, d: ApplicationDeployment, policy: DevicePolicy, facts: DeviceFacts, reporter: Reporter, signal?: AbortSignal): Promise<void> {
    const profile = d.spec.deploymentProfile;
    const names = profile.components.map((c) => c.name);
    // Meant for this device? (Margo lets `<id>/*` address a gateway's children; this device has none.)
    if (d.metadata.deviceId !== facts.properties.id) {
      throw new FleetApplyError('BH_ERR_FLEET_INVALID', `metadata.deviceId: ${quoteValue(d.metadata.deviceId)} is not this device (${quoteValue(facts.properties.id)})`);
    }
    const kind = deploymentKind(profile.type);
    checkDeviceConstraints(profile.deviceConstraints, facts);
    const first = profile.components[0]!.properties;
    profile.components.forEach((c, i) => {
      if (c.properties.repository !== first.repository || c.properties.revision !== first.revision) {
        throw new FleetApplyError('BH_ERR_FLEET_UNSUPPORTED', `spec.deploymentProfile.components[${i}].properties: every component of a deployment must come from one package (${quoteValue(first.repository)} ${first.revision}); ${quoteValue(c.name)} names another`);
      }
    });
    const ref = componentReference(first.repository, first.revision, 'spec.deploymentProfile.components[0].properties');
    const appId = d.spec.applicationId;

    reporter.set(names, 'installing');
    reporter.emit();
    // The deployment now names another app, or runs another way: what it ran before goes first.
    const current = this.#records.get(id)!;
    if (current.appId && current.appId !== appId) await this.#removeApp(current, signal);
    else if (current.appId) await this.#retire(current, kind, names, signal);
    try {
      this.#records.claimApp(id, appId, null, kind, (app) => this.o.installed.get(app) !== undefined);
    } catch (err) {
      if (err instanceof AppClaimError) throw new FleetApplyError('BH_ERR_FLEET_APP_CONFLICT', `spec.applicationId: ${err.message}`);
      throw err;
    }
    crashPoint('fleet-claimed', appId);

    const { pkg, values } = await this.#installPackage(id, d, ref, policy, signal);
    this.#records.setVendor(id, pkg.vendor);
    crashPoint('fleet-installed', appId);
    // Recorded before anything runs, so a removal after a kill finds every compose deployment.
    const deployedBefore = this.#records.get(id)!;
    this.#records.setDeployed(id, [...new Set([...deployedBefore.components, ...names])], deployedBefore.packageDigest, deployedBefore.parameters);

    if (kind === 'wasm') {
      const fallback = this.o.startTimeoutMs ?? 120_000;
      await runWasmApp(this.#apps, {
        appId, parameters: values, newVersion: deployedBefore.packageDigest !== pkg.digest,
        timeoutMs: Math.max(...profile.components.map((c) => timeoutMs(c.properties.timeout, fallback))),
      }, signal);
      reporter.set(names, 'installed');
    } else {
      const device = { dataDir: this.o.dataDir, installed: this.o.installed, policy };
      for (const name of names) {
        await upComposeComponent(device, appId, name, values, { host: this.o.engineHost, onEvent: (m) => this.o.say?.(`fleet: ${appId}/${name}: ${m}`) });
        reporter.set([name], 'installed');
        reporter.emit();
      }
    }
    crashPoint('fleet-deployed', appId);
    this.#records.setDeployed(id, names, pkg.digest, values);
    reporter.emit('installed');
    this.o.say?.(`fleet: deployment ${id}: ${appId} ${pkg.version} installed`);
  }

  /** The package at `ref`, installed (or already installed with exactly these bytes), checked against the deployment. */
  async #installPackage(id: string, d: ApplicationDeployment, ref: ReturnType<typeof componentReference>, policy: DevicePolicy, signal?: AbortSignal): Promise<{ pkg: InstalledPackage; values: Record<string, string> }> {
    const appId = d.spec.applicationId;
    const artifact = await openComponentArtifact(ref, this.o.registryOptions ?? defaultRegistryOptions);
    try {
      this.#records.setInstalling(id, artifact.packageDigest);
      const current = this.o.installed.get(appId);
      if (current && current.digest === artifact.packageDigest) {
        // The same bytes are installed (digest equality): their manifest was verified at install.
        const manifest = parseApplicationDescription(fs.readFileSync(path.join(current.path, 'margo.yaml'), 'utf8'), `${appId}/margo.yaml`, policy.manifest);
        return { pkg: current, values: matchPackage(d, manifest) };
      }
      if (signal?.aborted) throw new FleetApplyError('BH_ERR_FLEET_INTERNAL', 'the applier was stopped before the package was pulled');
      const dir = createStagingDir(this.o.dataDir);
      try {
        const pulled = await artifact.pull(dir);
        let values: Record<string, string> = {};
        const result = await installPackage(pulled.packageFile, {
          dataDir: this.o.dataDir, installed: this.o.installed, trust: this.o.trust, policy: policy.signatures,
          limits: policy.archive, manifestLimits: policy.manifest, signatureFiles: pulled.signatureFiles,
          beforeCommit: async (verified: { manifest: ApplicationDescription }, staged: string) => {
            // Refused before anything is committed when it is not what the deployment asked for.
            values = matchPackage(d, verified.manifest);
            await preparePackageComponents(verified.manifest, staged, this.o.dataDir);
          },
        });
        return { pkg: result.installed, values };
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await artifact.close();
    }
  }

  /** Stops what the deployment ran before and no longer runs (another kind, compose components dropped). */
  async #retire(row: FleetDeploymentRow, kind: DeploymentKind, names: string[], signal?: AbortSignal): Promise<void> {
    if (!row.appId) return;
    if (row.kind === 'wasm' && kind !== 'wasm') await stopWasmApp(this.#apps, row.appId, this.o.startTimeoutMs ?? 120_000, signal);
    if (row.kind === 'compose' && row.vendor) {
      const gone = row.components.filter((c) => kind !== 'compose' || !names.includes(c));
      if (gone.length) {
        for (const c of gone) await downComposeComponent(row.vendor, row.appId, c, this.o.engineHost);
        this.#records.setDeployed(row.deploymentId, row.components.filter((c) => !gone.includes(c)), row.packageDigest, row.parameters);
      }
    }
  }

  /** Stops, takes down and uninstalls the deployment's app, then forgets that it owned it. */
  async #removeApp(row: FleetDeploymentRow, signal?: AbortSignal): Promise<void> {
    const appId = row.appId;
    if (!appId) return;
    const pkg = this.o.installed.get(appId);
    if (pkg && pkg.digest !== row.installedDigest) {
      // The operator installed another package over it by hand: that app is theirs now.
      this.o.say?.(`fleet: ${appId} was replaced by hand (package ${pkg.digest}); left as it is`);
      this.#records.releaseApp(row.deploymentId);
      return;
    }
    if (row.kind === 'wasm') await stopWasmApp(this.#apps, appId, this.o.startTimeoutMs ?? 120_000, signal);
    if (row.kind === 'compose' && row.vendor) {
      for (const c of row.components) await downComposeComponent(row.vendor, appId, c, this.o.engineHost);
    }
    crashPoint('fleet-removing', appId);
    if (pkg) uninstallApp(this.o.db, this.o.dataDir, this.o.installed, appId);
    this.#records.releaseApp(row.deploymentId);
  }

  async #remove(row: FleetDeploymentRow, onStatus: (r: DeploymentStatusReport) => void, signal?: AbortSignal): Promise<void> {
    const names = row.report?.components.map((c) => c.name) ?? [];
    const reporter = new Reporter(this.#records, row.deploymentId, row.report, onStatus, row.name ?? row.deploymentId);
    reporter.set(names, 'removing');
    reporter.emit('removing');
    try {
      await this.#removeApp(row, signal);
    } catch (err) {
      if (signal?.aborted) return;
      const error = asDeploymentError(err, reporter.source);
      reporter.set(names, 'failed', error);
      reporter.emit('failed', error);
      this.o.say?.(`fleet: removing deployment ${row.deploymentId} failed: [${error.code}] ${error.message}`);
      return;
    }
    reporter.set(names, 'removed');
    reporter.emit('removed');
    this.#records.delete(row.deploymentId);
    this.o.say?.(`fleet: deployment ${row.deploymentId} removed`);
  }
}
