// The import object for one component instance, keyed the way jco's `--instantiation async`
// bindings look them up (unversioned interface names). Everything in it is built from that
// instance's grant; nothing is shared with other instances, and nothing from preview2-shim is used
// (its state is process-global and its exit ends the host process).
import type { EffectiveGrant } from '../capabilities/grant.js';
import type { AuditSink } from '../bulkhead/audit.js';
import { createConfig } from '../bulkhead/config.js';
import { createKv } from '../bulkhead/kv.js';
import type { KvStore } from '../bulkhead/kv-store.js';
import type { LogLevel } from '../bulkhead/log.js';
import { createMessaging, type MessageBus, type PublishLimiter } from '../bulkhead/messaging.js';
import type { SubscriptionBudget } from '../bulkhead/subscription-limits.js';
import type { InstanceResources } from '../limits/resource-ledger.js';
import { createCli } from '../wasi-p2/cli.js';
import { createClocks, createRandom } from '../wasi-p2/clocks-random.js';
import { createFilesystem } from '../wasi-p2/filesystem.js';
import { createHttp } from '../wasi-p2/http.js';
import { createIo, type BlockingHooks, type ByteSink, type ByteSource } from '../wasi-p2/io.js';
import { createSockets } from '../wasi-p2/sockets.js';
import type { NetBroker } from '../net/net-broker.js';

export interface InstanceContext {
  grant: EffectiveGrant;
  args: readonly string[];
  parameters: Readonly<Record<string, string>>;
  stdin: ByteSource;
  stdout: ByteSink;
  stderr: ByteSink;
  kv: KvStore;
  bus: MessageBus;
  /** The app's rate-limited log (bulkhead:host/log and the std streams share it). */
  log: (level: LogLevel, message: string, fields: [string, string][]) => void;
  audit: AuditSink;
  hooks: BlockingHooks;
  /** Sockets and HTTP; the broker enforces the grant's net rules. */
  net: NetBroker;
  /** What the instance may make the host hold (buffers, handles, descriptors, disk). */
  resources?: InstanceResources;
  /** The vendor's publish rate (shared by its instances). */
  publishLimiter?: PublishLimiter;
  /** The vendor's subscription caps (shared by its instances); absent: not capped. */
  subscriptionBudget?: SubscriptionBudget;
}

export function buildComponentImports(ctx: InstanceContext) {
  const io = createIo(ctx.hooks, ctx.resources);
  const cli = createCli(io, { args: ctx.args, env: ctx.grant.env, stdin: ctx.stdin, stdout: ctx.stdout, stderr: ctx.stderr });
  const clocks = createClocks(io);
  const random = createRandom();
  const sockets = createSockets(io, ctx.net, ctx.resources);
  const http = createHttp(io, ctx.net, ctx.resources);
  const filesystem = createFilesystem(io, ctx.grant.fs, (attempted, reason) => ctx.audit({ capability: 'fs', attempted, reason }), ctx.resources);
  const subscriptions = ctx.subscriptionBudget?.instance(ctx.resources);
  const imports: Record<string, object> = {
    'wasi:cli/environment': cli.environment,
    'wasi:cli/exit': cli.exit,
    'wasi:cli/stdin': cli.stdin,
    'wasi:cli/stdout': cli.stdout,
    'wasi:cli/stderr': cli.stderr,
    'wasi:cli/terminal-input': cli.terminalInput,
    'wasi:cli/terminal-output': cli.terminalOutput,
    'wasi:cli/terminal-stdin': cli.terminalStdin,
    'wasi:cli/terminal-stdout': cli.terminalStdout,
    'wasi:cli/terminal-stderr': cli.terminalStderr,
    'wasi:clocks/monotonic-clock': clocks.monotonicClock,
    'wasi:clocks/wall-clock': clocks.wallClock,
    'wasi:random/random': random.random,
    'wasi:random/insecure': random.insecure,
    'wasi:random/insecure-seed': random.insecureSeed,
    'wasi:io/error': { Error: io.IoError },
    'wasi:io/poll': { Pollable: io.Pollable, poll: io.poll },
    'wasi:io/streams': { InputStream: io.InputStream, OutputStream: io.OutputStream },
    'wasi:filesystem/types': filesystem.types,
    'wasi:filesystem/preopens': filesystem.preopens,
    'wasi:sockets/network': sockets.network,
    'wasi:sockets/instance-network': sockets.instanceNetwork,
    'wasi:sockets/ip-name-lookup': sockets.ipNameLookup,
    'wasi:sockets/tcp': sockets.tcp,
    'wasi:sockets/tcp-create-socket': sockets.tcpCreateSocket,
    'wasi:sockets/udp-create-socket': sockets.udpCreateSocket,
    'wasi:http/types': http.types,
    'wasi:http/outgoing-handler': http.outgoingHandler,
    'bulkhead:host/log': { write: ctx.log },
    'bulkhead:host/kv': createKv(ctx.kv, ctx.grant.kv, ctx.audit, ctx.resources),
    'bulkhead:host/messaging': createMessaging(ctx.grant, ctx.bus, ctx.audit, ctx.publishLimiter, subscriptions),
    'bulkhead:host/config': createConfig(ctx.parameters),
  };
  return {
    imports,
    dispose: () => {
      filesystem.closeAll();
      subscriptions?.release();
    },
  };
}

/** Interfaces this host provides; a component importing anything else is refused at install. */
export const PROVIDED_INTERFACES = [
  'wasi:cli/environment', 'wasi:cli/exit', 'wasi:cli/stdin', 'wasi:cli/stdout', 'wasi:cli/stderr',
  'wasi:cli/terminal-input', 'wasi:cli/terminal-output', 'wasi:cli/terminal-stdin', 'wasi:cli/terminal-stdout',
  'wasi:cli/terminal-stderr', 'wasi:clocks/monotonic-clock', 'wasi:clocks/wall-clock', 'wasi:random/random',
  'wasi:random/insecure', 'wasi:random/insecure-seed', 'wasi:io/error', 'wasi:io/poll', 'wasi:io/streams',
  'wasi:filesystem/types', 'wasi:filesystem/preopens', 'wasi:sockets/network', 'wasi:sockets/instance-network',
  'wasi:sockets/ip-name-lookup', 'wasi:sockets/tcp', 'wasi:sockets/tcp-create-socket', 'wasi:sockets/udp-create-socket',
  'wasi:http/types', 'wasi:http/outgoing-handler', 'bulkhead:host/log', 'bulkhead:host/kv',
  'bulkhead:host/messaging', 'bulkhead:host/config',
] as const;
