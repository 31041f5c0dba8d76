// `bulkhead policy show|set`: the device policy (policy.yaml), through the daemon's API when one
// answers (GET/PUT /v1/policy), else on the data dir. Both paths check the new document against
// device-policy.schema.json before replacing the file atomically.
import fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { checkPolicyDocument, PolicyError } from '../state/device-policy.js';
import { replacePolicyFile } from '../state/policy-file.js';
import { CliError } from './cli-error.js';
import { withDevice } from './device-context.js';
import { remoteDevice } from './device-target.js';
import { ExitCode } from './exit-codes.js';
import { emit } from './output.js';

const policyText = (doc: Record<string, unknown>) => (Object.keys(doc).length === 0 ? '# no policy set: the defaults apply' : YAML.stringify(doc).trimEnd());

export function registerPolicyCommands(program: Command): void {
  const policy = program.command('policy').description('the device policy (policy.yaml): signatures, archive limits, vendors, API clients');

  policy.command('show')
    .description('print the device policy (YAML; JSON with --json)')
    .option('--json', 'machine-readable output')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const device = await remoteDevice(command);
      // Offline, opening the device checks the file against its schema first (an invalid one is an error).
      const doc = device
        ? await device.call<Record<string, unknown>>('/v1/policy')
        : await withDevice(command, (ctx) => {
          const file = `${ctx.dataDir}/policy.yaml`;
          return (fs.existsSync(file) ? YAML.parse(fs.readFileSync(file, 'utf8')) ?? {} : {}) as Record<string, unknown>;
        });
      emit(flags.json, doc, () => policyText(doc));
    });

  policy.command('set')
    .description('replace the device policy with FILE (YAML or JSON), checked against its schema first; atomic')
    .argument('<file>', 'the new policy.yaml')
    .option('--json', 'machine-readable output')
    .action(async (file: string, flags: { json?: boolean }, command: Command) => {
      let doc: unknown;
      try {
        doc = YAML.parse(fs.readFileSync(file, 'utf8')) ?? {};
      } catch (err) {
        const e = err as NodeJS.ErrnoException;
        throw new CliError(e.code ? `${file}: cannot read (${e.code})` : `${file}: ${e.message.split('\n')[0]}`, ExitCode.BAD_INPUT);
      }
      try {
        checkPolicyDocument(doc, file);
      } catch (err) {
        if (err instanceof PolicyError) throw new CliError(err.message, ExitCode.BAD_INPUT);
        throw err;
      }
      const device = await remoteDevice(command);
      if (device) await device.call('/v1/policy', { method: 'PUT', json: doc });
      else {
        // The current policy may be the invalid one being replaced: only the data dir is needed here.
        const { dataDir } = command.optsWithGlobals() as { dataDir?: string };
        const { defaultDataDir, ensureDataDir } = await import('../state/data-dir.js');
        const dir = dataDir ?? defaultDataDir();
        ensureDataDir(dir);
        replacePolicyFile(dir, doc, 'by bulkhead policy set');
      }
      emit(flags.json, { ok: true, policy: doc }, () => `the device policy is now ${file}`);
    });
}
