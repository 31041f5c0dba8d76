// `bulkhead trust add|list|remove|revoke`: the device trust store, through the daemon's API when one
// answers (the same TrustStore calls run there), else on the data dir.
import fs from 'node:fs';
import type { Command } from 'commander';
import { SIGNER_ROLES, type SignerRole, type TrustedKey, type TrustStore } from '../../packages/trust/trust-store.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { remoteDevice, type RemoteDevice } from './device-target.js';
import { ExitCode } from './exit-codes.js';
import { asCliError, emit } from './output.js';
import { quoteValue } from '../../packages/quote-value.js';

/** Runs `local` on the data dir's trust store, or `remote` against the daemon; errors as the CLI prints them. */
async function onTrust<T>(command: Command, local: (trust: TrustStore) => T, remote: (device: RemoteDevice) => Promise<T>): Promise<T> {
  try {
    const device = await remoteDevice(command);
    return device ? await remote(device) : await withDevice(command, (ctx) => local(ctx.trust));
  } catch (err) {
    throw asCliError(err);
  }
}

const keyPath = (keyId: string) => `/v1/trust/keys/${encodeURIComponent(keyId)}`;

export function registerTrustCommands(program: Command): void {
  const trust = program.command('trust').description('manage which keys may sign packages for which vendor');

  trust.command('add')
    .description('trust a minisign public key for a vendor')
    .argument('<public-key>', 'public key file (or the base64 key itself)')
    .requiredOption('--vendor <NAME>', "vendor name, as in margo.yaml's catalog.organization[0].name")
    .option('--role <ROLE>', `signer role: ${SIGNER_ROLES.join(' | ')}`, 'vendor')
    .option('--json', 'machine-readable output')
    .action(async (keyArg: string, flags: { vendor: string; role: string; json?: boolean }, command: Command) => {
      const text = fs.existsSync(keyArg) ? fs.readFileSync(keyArg, 'utf8') : keyArg;
      const k = await onTrust(command, (store) => store.add(text, flags.vendor, flags.role as SignerRole),
        (device) => device.call<TrustedKey>('/v1/trust/keys', { method: 'POST', json: { publicKey: text, vendor: flags.vendor, role: flags.role } }));
      emit(flags.json, k, () => `trusted key ${k.keyId} for ${k.vendor} (${k.role})`);
    });

  trust.command('list')
    .description('list trusted and revoked keys')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const keys = await onTrust(command, (store) => store.list(), async (device) => (await device.call<{ keys: TrustedKey[] }>('/v1/trust/keys')).keys);
      emit(flags.json, keys, () => (keys.length === 0 ? 'no trusted keys' : keys.map((k) =>
        `${k.keyId}  ${k.vendor}  ${k.role}${k.revokedAt ? `  REVOKED ${k.revokedAt}${k.revokeReason ? ` (${k.revokeReason})` : ''}` : ''}`).join('\n')));
    });

  trust.command('remove')
    .description('forget a key (packages it signed become "unknown key")')
    .argument('<key-id>', '16 hex digits, as trust list shows')
    .action(async (keyId: string, _flags: unknown, command: Command) => {
      await onTrust(command, (store) => store.remove(keyId), async (device) => { await device.call(keyPath(keyId), { method: 'DELETE' }); });
    });

  trust.command('revoke')
    .description('revoke a key: everything it signed is refused, with the reason')
    .argument('<key-id>', '16 hex digits, as trust list shows')
    .option('--reason <TEXT>', 'why (shown when a package signed by it is refused)', '')
    .option('--json', 'machine-readable output')
    .action(async (keyId: string, flags: { reason: string; json?: boolean }, command: Command) => {
      if (!/^[0-9a-fA-F]{16}$/.test(keyId)) throw new CliError(`${quoteValue(keyId)} is not a key id (16 hex digits)`, ExitCode.BAD_INPUT);
      const k = await onTrust(command, (store) => store.revoke(keyId, flags.reason),
        (device) => device.call<TrustedKey>(`${keyPath(keyId)}/revoke`, { method: 'POST', json: { reason: flags.reason } }));
      emit(flags.json, k, () => `revoked key ${k.keyId} of ${k.vendor}`);
    });
}
