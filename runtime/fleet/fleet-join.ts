// `bulkhead fleet join` and `fleet leave`: what they check and store. Joining checks every input
// before anything is written (the SVID and key, the trust bundle, that one anchors the other),
// then copies the credentials under <data-dir>/fleet/ and records the join in one row; a
// relationship starts fresh (no adopted manifest, no queued reports). Capabilities are PUT once,
// bounded; if the WFM cannot be reached the daemon's link sends them later.
import type Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { AdoptedState } from './adopted-state.js';
import { capabilitiesFingerprint, detectDeviceFacts, deviceCapabilities } from './device-capabilities.js';
import { checkChainAnchored, checkDeviceSvid } from './device-svid.js';
import { EnrollmentStore, type DeviceFacts, type Enrollment, type TrustSource } from './fleet-enrollment.js';
import { FleetError } from './fleet-errors.js';
import { fetchTrustBundle } from './identity-service.js';
import { LinkStatusStore } from './link-status.js';
import { ensureFleetDir, fleetDir, readInputFile, writePrivateFile } from './private-files.js';
import { StatusOutbox } from './status-outbox.js';
import { parseTrustBundleFile, type TrustBundle } from './trust-bundle.js';
import { WfmApi } from './wfm-api.js';
import { WfmTransport } from './wfm-transport.js';

export interface JoinRequest {
  dataDir: string;
  db: Database.Database;
  wfmUrl: string;
  deviceId: string;
  certFile: string;
  keyFile: string;
  trustBundleFile?: string;
  identityUrl?: string;
  identityCaFile?: string;
  allowTls12?: boolean;
  pollIntervalSeconds?: number;
  labels?: Record<string, string>;
  device?: Partial<DeviceFacts>;
  /** Bound on the capabilities report made at join. */
  reportTimeoutMs?: number;
}

export interface JoinResult {
  enrollment: Enrollment;
  capabilities: { reported: true } | { reported: false; reason: string };
}

const DEVICE_ID = /^[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/;
const MAX_PEM = 64 * 1024;

function bad(message: string): never {
  throw new FleetError('BH_ERR_FLEET_JOIN', message);
}

export async function joinFleet(req: JoinRequest): Promise<JoinResult> {
  const enrollments = new EnrollmentStore(req.db);
  const existing = enrollments.get();
  if (existing) bad(`this device already follows ${existing.wfmUrl} as ${existing.deviceId}; run bulkhead fleet leave first`);
  let wfm: URL;
  try {
    wfm = new URL(req.wfmUrl);
  } catch {
    bad(`--wfm ${JSON.stringify(req.wfmUrl)} is not a URL`);
  }
  if (wfm.protocol !== 'https:') bad(`--wfm ${req.wfmUrl} must be https:// (the WFM API is mutual TLS only)`);
  if (wfm.search || wfm.hash || wfm.username || wfm.password) bad(`--wfm ${req.wfmUrl} must be a plain https://host[:port][/path] URL`);
  if (!DEVICE_ID.test(req.deviceId) || req.deviceId.length > 255) bad(`--device-id ${JSON.stringify(req.deviceId)} must be RFC 3986 unreserved characters (A-Z a-z 0-9 . _ ~ -), "/" between a gateway's ids`);
  if ((req.trustBundleFile === undefined) === (req.identityUrl === undefined)) bad('give exactly one of --trust-bundle FILE and --identity URL');
  const poll = req.pollIntervalSeconds ?? 15;
  if (!Number.isFinite(poll) || poll < 1 || poll > 86_400) bad('--poll-interval must be between 1 and 86400 seconds');

  const certPem = readInputFile(req.certFile, MAX_PEM, '--cert');
  const keyPem = readInputFile(req.keyFile, MAX_PEM, '--key');
  const { identity, chain } = checkDeviceSvid(certPem, keyPem, req.certFile, req.keyFile);

  let bundle: TrustBundle;
  let trustSource: TrustSource;
  let identityCa: Buffer | undefined;
  if (req.trustBundleFile !== undefined) {
    bundle = parseTrustBundleFile(readInputFile(req.trustBundleFile, 1024 * 1024, '--trust-bundle'), req.trustBundleFile);
    trustSource = { kind: 'file', path: path.resolve(req.trustBundleFile) };
  } else {
    identityCa = req.identityCaFile ? readInputFile(req.identityCaFile, MAX_PEM, '--identity-ca') : undefined;
    ({ bundle } = await fetchTrustBundle(req.identityUrl!, { ca: identityCa?.toString('utf8'), expectedTrustDomain: identity.trustDomain, allowTls12: req.allowTls12 }));
    trustSource = { kind: 'identity', url: req.identityUrl! };
  }
  checkChainAnchored(chain, bundle, req.certFile);

  const detected = detectDeviceFacts();
  const device: DeviceFacts = {
    vendor: req.device?.vendor ?? detected.vendor,
    modelNumber: req.device?.modelNumber ?? detected.modelNumber,
    serialNumber: req.device?.serialNumber ?? detected.serialNumber,
  };
  const dir = ensureFleetDir(req.dataDir);
  const certFile = writePrivateFile(dir, 'client-svid.pem', certPem);
  const keyFile = writePrivateFile(dir, 'client-svid.key', keyPem);
  if (identityCa && trustSource.kind === 'identity') trustSource.caFile = writePrivateFile(dir, 'identity-ca.pem', identityCa);
  const enrollment: Enrollment = {
    wfmUrl: wfm.href.replace(/\/+$/, ''), deviceId: req.deviceId, identity, certFile, keyFile, trustBundle: bundle, trustSource,
    allowTls12: req.allowTls12 ?? false, pollIntervalMs: Math.round(poll * 1000), device, labels: req.labels ?? {}, joinedAt: Date.now(),
  };
  const status = new LinkStatusStore(req.db);
  req.db.transaction(() => {
    new AdoptedState(req.db).forget();
    new StatusOutbox(req.db).clear();
    status.clear();
    enrollments.save(enrollment);
  })();

  const transport = new WfmTransport(enrollment.wfmUrl, {
    cert: certPem, key: keyPem, anchors: bundle.anchors, expectedServerId: identity.wfmSpiffeId, allowTls12: enrollment.allowTls12,
  });
  const timeoutMs = req.reportTimeoutMs ?? 10_000;
  try {
    const doc = deviceCapabilities({ deviceId: enrollment.deviceId, dataDir: req.dataDir, device, labels: enrollment.labels });
    await new WfmApi(transport, {
      manifest: { maxBytes: 0, timeoutMs }, deployment: { maxBytes: 0, timeoutMs }, bundle: { maxBytes: 0, timeoutMs },
      report: { maxBytes: 64 * 1024, timeoutMs },
    }).putCapabilities(enrollment.deviceId, JSON.stringify(doc));
    status.update({ capabilitiesReportedAt: Date.now(), capabilitiesFingerprint: capabilitiesFingerprint(doc) });
    return { enrollment, capabilities: { reported: true } };
  } catch (err) {
    const e = err instanceof FleetError ? err : new FleetError('BH_ERR_FLEET_UNREACHABLE', (err as Error).message);
    status.update({ lastError: { code: e.code, message: e.message, at: Date.now() } });
    return { enrollment, capabilities: { reported: false, reason: `${e.code}: ${e.message}` } };
  } finally {
    await transport.close();
  }
}

export interface LeaveResult {
  left?: Enrollment;
  unregistered: boolean | string;
}

/**
 * Forgets the join: the daemon's link stops, the credentials are removed, the adopted manifest and
 * queued reports are dropped. Apps the fleet deployed keep running until removed by hand or by the
 * next fleet manager's manifest. The WFM is told (DELETE capabilities) once, bounded, best effort.
 */
export async function leaveFleet(dataDir: string, db: Database.Database, options: { timeoutMs?: number } = {}): Promise<LeaveResult> {
  const enrollments = new EnrollmentStore(db);
  const e = enrollments.get();
  if (!e) throw new FleetError('BH_ERR_FLEET_NOT_JOINED', 'this device has not joined a fleet manager; nothing to leave');
  let unregistered: boolean | string = false;
  const timeoutMs = options.timeoutMs ?? 5000;
  let transport: WfmTransport | undefined;
  try {
    transport = new WfmTransport(e.wfmUrl, {
      cert: fs.readFileSync(e.certFile), key: fs.readFileSync(e.keyFile), anchors: e.trustBundle.anchors,
      expectedServerId: e.identity.wfmSpiffeId, allowTls12: e.allowTls12,
    });
    const limits = { maxBytes: 64 * 1024, timeoutMs };
    await new WfmApi(transport, { manifest: limits, deployment: limits, bundle: limits, report: limits }).deleteCapabilities(e.deviceId);
    unregistered = true;
  } catch (err) {
    unregistered = err instanceof FleetError ? `${err.code}: ${err.message}` : (err as Error).message;
  } finally {
    await transport?.close();
  }
  db.transaction(() => {
    enrollments.remove();
    new AdoptedState(db).forget();
    new StatusOutbox(db).clear();
    new LinkStatusStore(db).clear();
  })();
  fs.rmSync(fleetDir(dataDir), { recursive: true, force: true });
  return { left: e, unregistered };
}
