// `bulkhead list` and `bulkhead uninstall`: the packages installed on the device.
import type { Command } from 'commander';
import { uninstallApp, UninstallError } from '../apps/uninstall-app.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { ExitCode } from './exit-codes.js';
import { emit } from './output.js';

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
      await withDevice(command, (ctx) => {
        let r;
        try {
          r = uninstallApp(ctx.db, ctx.dataDir, ctx.installed, appId);
        } catch (err) {
          if (err instanceof UninstallError) throw new CliError(err.message, ExitCode.FAILURE);
          throw err;
        }
        const p = r.removed;
        emit(flags.json, { ok: true, id: p.appId, version: p.version, vendor: p.vendor, digest: p.digest, storeRemoved: r.storeRemoved },
          () => `uninstalled ${p.appId} ${p.version} (${p.vendor})${r.storeRemoved ? '' : `; its files at ${p.path} were left in place (not in the package store)`}`);
      });
    });
}
