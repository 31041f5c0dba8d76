// `bulkhead fleet join|status|leave`: following a Margo Workload Fleet Manager. The daemon runs the
// link (runtime/fleet/fleet-link.ts) while the device is joined; these verbs write and read the
// join and the link's status in the state database.
import type { Command } from 'commander';
import { defaultDataDir } from '../state/data-dir.js';
import { openStateDb } from '../state/state-db.js';
import { AdoptedState } from '../fleet/adopted-state.js';
import { EnrollmentStore } from '../fleet/fleet-enrollment.js';
import { FleetError } from '../fleet/fleet-errors.js';
import { joinFleet, leaveFleet } from '../fleet/fleet-join.js';
import { LinkStatusStore } from '../fleet/link-status.js';
import { StatusOutbox } from '../fleet/status-outbox.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { emit } from './output.js';
import { collect } from './repeatable-option.js';

function dataDirOf(command: Command): string {
  return (command.optsWithGlobals() as { dataDir?: string }).dataDir ?? defaultDataDir();
}

async function withDb<T>(command: Command, fn: (db: ReturnType<typeof openStateDb>, dataDir: string) => Promise<T> | T): Promise<T> {
  const dataDir = dataDirOf(command);
  let db: ReturnType<typeof openStateDb>;
  try {
    db = openStateDb(dataDir);
  } catch (err) {
    throw new CliError(`cannot open the state database in ${dataDir}: ${(err as Error).message}`, ExitCode.FAILURE);
  }
  try {
    return await fn(db, dataDir);
  } catch (err) {
    if (err instanceof FleetError) {
      const exit = err.code === 'BH_ERR_FLEET_JOIN' || err.code === 'BH_ERR_FLEET_TRUST_BUNDLE' ? ExitCode.BAD_INPUT : ExitCode.FAILURE;
      throw new CliError(`${err.code}: ${err.message}`, exit, err.code);
    }
    throw err;
  } finally {
    db.close();
  }
}

function labelsOf(values: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new CliError(`--label ${JSON.stringify(v)}: expected KEY=VALUE`, ExitCode.BAD_INPUT);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

const when = (ms?: number) => (ms ? new Date(ms).toISOString() : 'never');

export function registerFleetCommands(program: Command): void {
  const fleet = program.command('fleet').description('follow a Margo Workload Fleet Manager (desired state over mTLS; status and capability reports)');

  fleet.command('join')
    .description('join a fleet manager with this device\'s X.509-SVID; the daemon then polls it')
    .requiredOption('--wfm <URL>', 'the fleet manager\'s https:// URL')
    .requiredOption('--device-id <ID>', 'this device\'s Margo device id')
    .requiredOption('--cert <FILE>', 'the device\'s X.509-SVID (spiffe://<td>/margo/wfm/<wfm-id>/client/<id>), then any intermediates (PEM)')
    .requiredOption('--key <FILE>', 'its private key (PEM; copied into the data dir, mode 0600)')
    .option('--trust-bundle <FILE>', 'the trust domain\'s anchors: a SPIFFE bundle (JSON) or PEM certificates')
    .option('--identity <URL>', 'fetch the trust bundle from this Margo identity service (https; /.well-known/margo)')
    .option('--identity-ca <FILE>', 'CA that authenticates the identity service (default: the system\'s CAs)')
    .option('--tls12', 'allow TLS 1.2 as a fallback (TLS 1.3 only by default)')
    .option('--poll-interval <SECONDS>', 'how often to poll the desired state', '15')
    .option('--label <KEY=VALUE>', 'a label reported with the capabilities (repeatable)', collect, [])
    .option('--vendor <NAME>', 'device vendor to report (default: from DMI)')
    .option('--model <NAME>', 'device model number to report (default: from DMI)')
    .option('--serial <TEXT>', 'device serial number to report (default: from DMI, else the host name)')
    .option('--json', 'machine-readable output')
    .action(async (flags: {
      wfm: string; deviceId: string; cert: string; key: string; trustBundle?: string; identity?: string; identityCa?: string;
      tls12?: boolean; pollInterval: string; label: string[]; vendor?: string; model?: string; serial?: string; json?: boolean;
    }, command: Command) => {
      const labels = labelsOf(flags.label);
      await withDb(command, async (db, dataDir) => {
        const result = await joinFleet({
          dataDir, db, wfmUrl: flags.wfm, deviceId: flags.deviceId, certFile: flags.cert, keyFile: flags.key,
          trustBundleFile: flags.trustBundle, identityUrl: flags.identity, identityCaFile: flags.identityCa, allowTls12: flags.tls12,
          pollIntervalSeconds: Number(flags.pollInterval), labels,
          device: { vendor: flags.vendor, modelNumber: flags.model, serialNumber: flags.serial },
        });
        const e = result.enrollment;
        emit(flags.json, { ok: true, wfm: e.wfmUrl, deviceId: e.deviceId, spiffeId: e.identity.spiffeId, wfmSpiffeId: e.identity.wfmSpiffeId, anchors: e.trustBundle.anchors.length, capabilities: result.capabilities }, () => [
          `joined ${e.wfmUrl} as ${e.deviceId} (${e.identity.spiffeId})`,
          `the fleet manager must present ${e.identity.wfmSpiffeId}; trust bundle: ${e.trustBundle.anchors.length} anchor(s)`,
          result.capabilities.reported ? 'capabilities reported' : `capabilities not reported yet (the daemon retries): ${result.capabilities.reason}`,
          'the daemon polls the fleet manager while it runs (bulkhead daemon, or any start)',
        ].join('\n'));
      });
    });

  fleet.command('status')
    .description('the join, the adopted desired state, and the link\'s last poll, error and refusal')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withDb(command, (db) => {
        const e = new EnrollmentStore(db).get();
        if (!e) {
          emit(flags.json, { joined: false }, () => 'not joined to a fleet manager (bulkhead fleet join)');
          return;
        }
        const adopted = new AdoptedState(db);
        const manifest = adopted.manifest();
        const link = new LinkStatusStore(db).get();
        const pending = new StatusOutbox(db).size();
        const data = {
          joined: true, wfm: e.wfmUrl, deviceId: e.deviceId, spiffeId: e.identity.spiffeId, wfmSpiffeId: e.identity.wfmSpiffeId,
          trustBundle: { anchors: e.trustBundle.anchors.length, sequence: e.trustBundle.sequence ?? null, source: e.trustSource.kind === 'file' ? e.trustSource.path : e.trustSource.url },
          tls: e.allowTls12 ? 'TLS 1.3, TLS 1.2 fallback' : 'TLS 1.3',
          pollIntervalSeconds: e.pollIntervalMs / 1000,
          adopted: manifest ? { manifestVersion: manifest.manifestVersion.toString(), etag: manifest.etag, adoptedAt: new Date(manifest.adoptedAt).toISOString(), deployments: adopted.deployments().map((d) => ({ deploymentId: d.deploymentId, digest: d.digest })) } : null,
          link: link ?? { state: 'not started (no daemon has run since the join)' },
          reportsPending: pending,
        };
        emit(flags.json, data, () => {
          const lines = [
            `fleet manager: ${e.wfmUrl} (must present ${e.identity.wfmSpiffeId})`,
            `device: ${e.deviceId} as ${e.identity.spiffeId}`,
            `trust bundle: ${data.trustBundle.anchors} anchor(s)${e.trustBundle.sequence ? `, sequence ${e.trustBundle.sequence}` : ''}, from ${data.trustBundle.source}`,
            manifest ? `adopted manifest: version ${manifest.manifestVersion}, ${data.adopted!.deployments.length} deployment(s), at ${data.adopted!.adoptedAt}` : 'adopted manifest: none yet',
            `link: ${link?.state ?? 'not started (no daemon has run since the join)'}${link?.state === 'retired' ? ' (the fleet manager no longer accepts this client: polling stopped; fleet leave, then join again)' : ''}`,
          ];
          if (link) lines.push(`last poll: ${when(link.lastPollAt)}; last success: ${when(link.lastSuccessAt)}`);
          if (link?.lastError) lines.push(`last error: ${link.lastError.code}: ${link.lastError.message} (${when(link.lastError.at)})`);
          if (link?.lastRefusal) lines.push(`last refusal: ${link.lastRefusal.code}: ${link.lastRefusal.message} (${when(link.lastRefusal.at)})`);
          lines.push(`status reports waiting: ${pending}`);
          return lines.join('\n');
        });
      });
    });

  fleet.command('leave')
    .description('stop following the fleet manager (its apps keep running); tells it once, best effort')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withDb(command, async (db, dataDir) => {
        const result = await leaveFleet(dataDir, db);
        emit(flags.json, { ok: true, left: result.left?.wfmUrl, unregistered: result.unregistered }, () => [
          `left ${result.left?.wfmUrl}; credentials removed; apps it deployed keep running`,
          result.unregistered === true ? 'the fleet manager was told (capabilities deleted)' : `the fleet manager was not told: ${result.unregistered}`,
        ].join('\n'));
      });
    });
}
