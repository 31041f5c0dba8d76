// `bulkhead push` / `bulkhead pull`: packages through OCI registries.
import fs from 'node:fs';
import type { Command } from 'commander';
import { isLoopbackRegistry, parseReference, ReferenceError, type OciReference } from '../../packages/oci/oci-reference.js';
import { RegistryClient } from '../../packages/oci/registry-client.js';
import { findCredentials, type RegistryCredentials } from '../../packages/oci/registry-credentials.js';
import { pullPackage, pushPackage } from '../../packages/oci/package-transport.js';
import { defaultSignatureFiles } from '../../packages/signing/package-signature.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';
import { asCliError, emit, stepReporter as step } from './output.js';

interface RegistryFlags { plainHttp?: boolean; insecure?: boolean; caFile?: string; username?: string; passwordStdin?: boolean; json?: boolean }

function withRegistryOptions(cmd: Command): Command {
  return cmd
    .option('--plain-http', 'talk HTTP, not HTTPS (default for loopback registries unless --ca-file/--insecure)')
    .option('--insecure', 'accept any TLS certificate (testing only)')
    .option('--ca-file <PEM>', 'CA certificate that signed the registry certificate')
    .option('-u, --username <NAME>', 'registry user (else BULKHEAD_REGISTRY_USERNAME, or podman/docker auth files)')
    .option('--password-stdin', 'read the registry password from standard input')
    .option('--json', 'machine-readable output');
}

function reference(text: string): OciReference {
  try {
    return parseReference(text);
  } catch (err) {
    if (err instanceof ReferenceError) throw new CliError(err.message, ExitCode.BAD_INPUT);
    throw err;
  }
}

function credentialsFor(registry: string, flags: RegistryFlags): RegistryCredentials | undefined {
  if (flags.username) {
    if (!flags.passwordStdin) throw new CliError('--username needs --password-stdin (passwords never go on the command line)', ExitCode.BAD_INPUT);
    const password = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
    return { username: flags.username, password };
  }
  return findCredentials(registry);
}

function clientFor(ref: OciReference, flags: RegistryFlags): RegistryClient {
  try {
    return new RegistryClient(ref.registry, {
      // Loopback registries default to plain HTTP (as Docker allows), unless TLS options say otherwise.
      plainHttp: flags.plainHttp ?? (isLoopbackRegistry(ref.registry) && !flags.caFile && !flags.insecure),
      insecureSkipVerify: flags.insecure, caFile: flags.caFile, credentials: credentialsFor(ref.registry, flags),
    });
  } catch (err) {
    throw asCliError(err);
  }
}


export function registerRegistryCommands(program: Command): void {
  withRegistryOptions(program.command('push')
    .description('push a package and its signatures to an OCI registry (tag = metadata.version)')
    .argument('<package>', '.bhpkg file; signatures next to it travel as referrers')
    .argument('<reference>', 'REGISTRY/REPOSITORY, e.g. 127.0.0.1:5000/acme/hello'))
    .action(async (pkg: string, refText: string, flags: RegistryFlags) => {
      if (!fs.existsSync(pkg)) throw new CliError(`package ${pkg}: no such file`, ExitCode.BAD_INPUT);
      const ref = reference(refText);
      const client = clientFor(ref, flags);
      try {
        const r = await pushPackage(client, pkg, ref, defaultSignatureFiles(pkg), step(flags.json));
        emit(flags.json, { ...r, manifestDigest: r.digest }, () => [`pushed ${r.reference}, ${r.layers} layers, ${r.signatures.length} signature(s) as referrers${r.referrersApi ? '' : ' (tag-schema fallback)'}`,
          `  package digest: ${r.packageDigest}`, `  manifest digest: ${r.digest}`,
          ...r.composeArtifacts.map((a) => `  compose archive ${a}`)].join('\n'));
      } catch (err) {
        throw asCliError(err);
      } finally {
        await client.close();
      }
    });

  withRegistryOptions(program.command('pull')
    .description('pull a package and its signatures from an OCI registry (digests verified); then use install')
    .argument('<reference>', 'REGISTRY/REPOSITORY:VERSION or @sha256:DIGEST')
    .option('-o, --output <DIR>', 'directory to write the package into', '.'))
    .action(async (refText: string, flags: RegistryFlags & { output: string }) => {
      const ref = reference(refText);
      const client = clientFor(ref, flags);
      try {
        const r = await pullPackage(client, ref, flags.output, step(flags.json));
        emit(flags.json, { ...r, manifestDigest: r.digest }, () => [`pulled ${r.packageFile} with ${r.signatureFiles.length} signature(s)`,
          `  package digest: ${r.packageDigest}`, `  manifest digest: ${r.digest}`].join('\n'));
      } catch (err) {
        throw asCliError(err);
      } finally {
        await client.close();
      }
    });
}
