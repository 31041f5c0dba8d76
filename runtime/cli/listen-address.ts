// `bulkhead daemon --listen HOST:PORT --tls-cert F --tls-key F --client-ca F`: the TLS listener's
// flags, checked together. There is no plaintext TCP mode, so --listen without all three files is a
// usage error rather than a silent downgrade.
import type { TlsListenOptions } from '../api/management-api.js';
import { CliError } from './cli-error.js';
import { ExitCode } from './exit-codes.js';

export interface ListenFlags { listen?: string; tlsCert?: string; tlsKey?: string; clientCa?: string }

export function parseListenFlags(flags: ListenFlags): TlsListenOptions | undefined {
  const files = { '--tls-cert': flags.tlsCert, '--tls-key': flags.tlsKey, '--client-ca': flags.clientCa };
  if (flags.listen === undefined) {
    const stray = Object.entries(files).filter(([, v]) => v !== undefined).map(([k]) => k);
    if (stray.length) throw new CliError(`${stray.join(', ')} given without --listen HOST:PORT`, ExitCode.BAD_INPUT);
    return undefined;
  }
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(flags.listen);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new CliError(`--listen ${flags.listen}: expected HOST:PORT (e.g. 0.0.0.0:8443 or [::]:8443)`, ExitCode.BAD_INPUT);
  const missing = Object.entries(files).filter(([, v]) => v === undefined).map(([k]) => k);
  if (missing.length) throw new CliError(`--listen needs ${missing.join(', ')}: the API listens on TCP only with TLS 1.3 and client certificates`, ExitCode.BAD_INPUT);
  return { host: m[1] ?? m[2]!, port, certFile: flags.tlsCert!, keyFile: flags.tlsKey!, clientCaFile: flags.clientCa! };
}
