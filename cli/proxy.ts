// sctpt proxy: a terminating SCTP proxy (createProxy): accepts client associations on the
// local addresses and relays each to a backend of its own, chosen by a policy.
import {
  createProxy,
  type BackendOptions,
  type ProxyClient,
  type ProxyStatus,
  type RelayCounters,
} from '../lib';
import { MAX_MS, UsageError, type OptionTable, type ParsedOptions } from './args';
import { commonOptions, DEFAULT_PORT, outputFor } from './common';
import { showAddresses, type Output } from './output';

export const options: OptionTable = {
  laddr: { type: 'list', help: 'local address(es) clients connect to (default: all)' },
  port: { type: 'number', default: DEFAULT_PORT, min: 0, max: 65535, help: 'port' },
  backends: { type: 'list', help: 'backends, each host[+host...]:port (required)' },
  'backend-laddr': { type: 'list', help: 'local address(es) of the backend side' },
  policy: {
    type: 'string',
    default: 'round-robin',
    help: 'round-robin, least-associations or hash-ports (the client port only)',
  },
  'on-backend-failure': {
    type: 'string',
    default: 'abort',
    help: "abort the client's association, or reconnect it to another backend",
  },
  'retry-after': {
    type: 'number',
    default: 5000,
    min: 0,
    max: MAX_MS,
    help: 'ms a failed backend is left out',
  },
  'connect-timeout': {
    type: 'number',
    default: 10000,
    min: 1,
    max: MAX_MS,
    help: 'ms a backend association may take to come up',
  },
  status: {
    type: 'number',
    min: 1,
    max: MAX_MS,
    help: 'print the backends and totals every N ms (each pair too with --log 7)',
  },
  ...commonOptions,
};

export const usage = `sctpt proxy --laddr A[,B] [--port P] --backends SPEC[,SPEC...] [--backend-laddr C[,D]]
       [--policy round-robin|least-associations|hash-ports] [--on-backend-failure abort|reconnect]
       [--retry-after MS] [--connect-timeout MS] [--status MS] [--json] [--log N]
Relays every client association to a backend of its own, each message with its stream, PPID
and unordered flag. SPEC is host[+host...]:port, an IPv6 address in brackets. SIGINT or
SIGTERM shuts every association down gracefully, then exits. Example:
  sctpt proxy --laddr 192.0.2.1,198.51.100.1 --port 3868 \\
    --backends 10.0.0.5+10.0.1.5:3868,10.0.0.6+10.0.1.6:3868 --policy hash-ports --status 5000`;

/** "host[+host...]:port" (IPv6 in brackets) as a backend. */
export function parseBackend(spec: string): BackendOptions {
  const colon = spec.lastIndexOf(':');
  const port = Number(spec.slice(colon + 1));
  if (colon <= 0 || !/^\d+$/.test(spec.slice(colon + 1)) || port < 1 || port > 65535) {
    throw new UsageError(`--backends: "${spec}" must be host[+host...]:port`);
  }
  const parts = spec.slice(0, colon).split('+');
  if (parts.some((h) => h === '' || h === '[]')) {
    throw new UsageError(`--backends: "${spec}" has an empty address`);
  }
  // An IPv6 address only in brackets: "2001:db8::5:3868" is ambiguous.
  if (parts.some((h) => h.includes(':') && !(h.startsWith('[') && h.endsWith(']')))) {
    throw new UsageError(
      `--backends: "${spec}": put an IPv6 address in brackets, [2001:db8::5]:port`,
    );
  }
  const hosts = parts.map((h) => (h.startsWith('[') ? h.slice(1, -1) : h));
  return { host: hosts.length === 1 ? hosts[0]! : hosts, port };
}

export function run(o: ParsedOptions): Promise<number> {
  const specs = o.backends as string[] | undefined;
  if (!specs?.length) throw new UsageError('--backends is required');
  const localAddress = o['backend-laddr'] as string[] | undefined;
  const backends = specs.map((spec) => ({
    ...parseBackend(spec),
    ...(localAddress && { localAddress }),
  }));
  const out = outputFor(o);
  // The library checks the policy names and says which ones there are.
  const proxy = createProxy({
    backends,
    policy: o.policy as 'round-robin',
    onBackendFailure: o['on-backend-failure'] as 'abort',
    retryAfter: o['retry-after'] as number,
    connectTimeout: o['connect-timeout'] as number,
  });
  proxy.on('pair', (pair) =>
    out.event('info', 'pair', { ...pair }, `client ${clientText(pair.client)} -> ${pair.backend}`),
  );
  proxy.on('pairClosed', (pair) =>
    out.event(
      'info',
      'pairClosed',
      { ...pair },
      `client ${clientText(pair.client)} closed: ` +
        `${pair.toBackend.messages} messages in, ${pair.toClient.messages} out`,
    ),
  );
  proxy.on('backendDown', (backend, err) =>
    out.event(
      'warning',
      'backendDown',
      { backend: backend.name, code: codeOf(err), message: err.message },
      `backend ${backend.name} down: ${err.message}`,
    ),
  );
  proxy.on('clientError', (client, err) =>
    out.event(
      'notice',
      'clientError',
      { client, code: codeOf(err), message: err.message },
      `client ${clientText(client)}: ${err.message}`,
    ),
  );
  const host = o.laddr as string[] | undefined;
  const withPairs = (o.log as number) >= 7;
  return new Promise((resolve, reject) => {
    // Until it listens, an error (EADDRINUSE...) ends the command, once; afterwards errors
    // (accept failing for lack of file descriptors) are warnings.
    proxy.once('error', reject);
    proxy.listen({ ...(host && { host }), port: o.port as number }, () => {
      proxy.off('error', reject);
      proxy.on('error', (err) =>
        out.event('warning', 'warning', { message: err.message }, `warning: ${err.message}`),
      );
      const bound = proxy.address()!;
      const names = proxy.status().backends.map((b) => b.name);
      out.event(
        'notice',
        'listening',
        { addresses: bound.addresses, backends: names },
        `listening on ${showAddresses(bound.addresses)}, backends ${names.join(' ')}`,
      );
      const timer =
        o.status === undefined
          ? undefined
          : setInterval(() => printStatus(out, proxy.status(), withPairs), o.status as number);
      let stopping = false;
      const stop = () => {
        if (stopping) return;
        stopping = true;
        clearInterval(timer);
        printStatus(out, proxy.status(), withPairs); // the last counters, before the pairs go
        proxy.close(() => resolve(0));
      };
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop);
    });
  });
}

const codeOf = (err: Error) => (err as { code?: string }).code ?? null;

/** A client's addresses and port, as the other commands show a peer. */
const clientText = (client: ProxyClient) =>
  showAddresses(client.addresses.map((address) => ({ address, port: client.port })));

/**
 * The status as one JSON line, or a table: each backend and the totals over the pairs, and
 * with `withPairs` each pair (a line per association: too much for thousands of them).
 */
function printStatus(out: Output, status: ProxyStatus, withPairs: boolean): void {
  const all = {
    pairs: status.pairs.length,
    toBackend: sum(status.pairs, 'toBackend'),
    toClient: sum(status.pairs, 'toClient'),
  };
  const pairs = withPairs ? status.pairs : [];
  const lines = [
    ...status.backends.map(
      (b) =>
        `backend ${b.name.padEnd(30)} ${b.healthy ? 'healthy' : 'DOWN   '} ${b.associations} associations, ${b.failures} failures`,
    ),
    `${all.pairs} pairs: ${all.toBackend.messages} msgs/${all.toBackend.bytes} B in, ` +
      `${all.toClient.messages} msgs/${all.toClient.bytes} B out, ${all.toBackend.pauses + all.toClient.pauses} pauses, ` +
      `${all.toBackend.dropped + all.toClient.dropped} dropped`,
    ...pairs.map(
      (p) =>
        `  pair ${p.id} ${clientText(p.client)} -> ${p.backend ?? '-'} ${p.state}: ` +
        `${p.toBackend.messages} msgs/${p.toBackend.bytes} B in, ${p.toClient.messages} msgs/${p.toClient.bytes} B out, ` +
        `${p.toBackend.pauses + p.toClient.pauses} pauses, ${p.toBackend.dropped + p.toClient.dropped} dropped`,
    ),
  ];
  out.result(
    'status',
    { backends: status.backends, totals: all, ...(withPairs && { pairs }) },
    lines.join('\n'),
  );
}

/** One direction's counters summed over the pairs. */
function sum(pairs: ProxyStatus['pairs'], direction: 'toBackend' | 'toClient'): RelayCounters {
  const total = { messages: 0, bytes: 0, pauses: 0, dropped: 0 };
  for (const p of pairs) {
    for (const key of Object.keys(total) as (keyof RelayCounters)[])
      total[key] += p[direction][key];
  }
  return total;
}
