// `bulkhead list` and `bulkhead uninstall`: the packages installed on the device. uninstall goes
// through the daemon's API when one answers; list reads the data dir (it shows signers, which the
// API's package list does not carry).
import type { Command } from 'commander';
import { uninstallApp, UninstallError } from '../apps/uninstall-app.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { ExitCode } from './exit-codes.js';
import { emit } from './output.js';
import { remoteDevice } from './device-target.js';

export function registerInstalledCommands(program: Command): void {
  program.command('list')
    .description('list installed packages: id, version, vendor, digest, signers, install time')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, command: Command) => {
      await withDevice(command, (ctx) => {
        const rows = ctx.installed.list().map((p) => ({
          id: p.appId, version: p.version, vendor: p.vendor, digest: p.digest, installedAt: p.installedAt,
          signers: ctx.installed.signersOf(p).map((keyId) => {
            const k = ctx.trust.get(keyId);
            return { keyId, vendor: k?.vendor ?? null, role: k?.role ?? null, revoked: Boolean(k?.revokedAt) };
          }),
        }));
        emit(flags.json, rows, () => (rows.length === 0 ? 'no packages installed' : rows.map((r) => [
          `${r.id} ${r.version}  ${r.vendor}  installed ${r.installedAt}`,
          `  package digest: ${r.digest}`,
          `  signed by: ${r.signers.map((s) => `${s.keyId}${s.vendor ? ` (${s.vendor}, ${s.role}${s.revoked ? ', key since revoked' : ''})` : ' (no longer in the trust store)'}`).join(', ') || 'nobody recorded'}`,
        ].join('\n')).join('\n')));
      });
    });

  program.command('uninstall')
    .description('remove an installed package (refused while its app runs: stop it first)')
    .argument('<app>', 'application id, as bulkhead list shows')
    .option('--json', 'machine-readable output')
    .action(async (appId: string, flags: { json?: boolean }, command: Command) => {
      const device = await remoteDevice(command);
      const r: UninstallReport = device
        ? await device.call<UninstallReport>(`/v1/packages/${encodeURIComponent(appId)}`, { method: 'DELETE' })
        : await withDevice(command, (ctx) => {
          try {
            const u = uninstallApp(ctx.db, ctx.dataDir, ctx.installed, appId);
            const p = u.removed;
            return { ok: true as const, id: p.appId, version: p.version, vendor: p.vendor, digest: p.digest, storeRemoved: u.storeRemoved };
          } catch (err) {
            if (err instanceof UninstallError) throw new CliError(err.message, ExitCode.FAILURE);
            throw err;
          }
        });
      emit(flags.json, r, () => `uninstalled ${r.id} ${r.version} (${r.vendor})${r.storeRemoved ? '' : '; its files were left in place (they were not in the package store)'}`);
    });
}

interface UninstallReport { ok: true; id: string; version: string; vendor: string; digest: string; storeRemoved: boolean }
