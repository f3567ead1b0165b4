// sctpt server: a multihomed listener that echoes every message on its stream and PPID.
import { createEndpoint, createServer } from '../lib';
import type { OptionTable, ParsedOptions } from './args';
import {
  commonOptions,
  DEFAULT_PORT,
  extensionOptions,
  extensionSocketOptions,
  logNotifications,
  outputFor,
} from './common';
import { showAddresses } from './output';

export const options: OptionTable = {
  addr: { type: 'list', help: 'local address(es) to listen on (default: all)' },
  port: { type: 'number', default: DEFAULT_PORT, min: 0, max: 65535, help: 'port' },
  'one-to-many': { type: 'flag', help: 'one SOCK_SEQPACKET endpoint for every association' },
  sink: { type: 'flag', help: 'count what arrives instead of echoing it (for throughput)' },
  ...extensionOptions,
  ...commonOptions,
};

export const usage = `sctpt server [--addr a,b] [--port P] [--one-to-many] [--sink] [--log N] [--json]
       [--udp-encap PORT] [--prsctp ttl:MS|rtx:N|prio:N] [--scheduler S] [--interleave]
       [--auth-key KEY] [--reconfig]
Echoes every message. Prints each association's addresses when it comes up and when it ends.
Examples:
  sctpt server --addr 192.168.1.1,192.168.4.1
  sctpt server --addr 127.0.0.1,127.0.0.2 --port 7000 --log 6`;

export function run(o: ParsedOptions): Promise<number> {
  const out = outputFor(o);
  const host = o.addr as string[] | undefined;
  const port = o.port as number;
  const extensions = extensionSocketOptions(o);
  return new Promise((resolve, reject) => {
    let stop: () => void;
    if (o['one-to-many']) {
      const endpoint = createEndpoint({ ...(host ? { host } : {}), port, ...extensions }).listen();
      const bound = endpoint.address()!;
      out.event(
        'notice',
        'listening',
        { addresses: bound.addresses },
        `listening on ${showAddresses(bound.addresses)} (one-to-many)`,
      );
      logNotifications(out, endpoint, 'endpoint');
      endpoint.on('association', (a) => {
        const local = a.localAddresses();
        const peer = a.remoteAddresses();
        out.event(
          'notice',
          'accepted',
          { assocId: a.id, local, peer },
          `association ${a.id} up: local ${showAddresses(local)} peer ${showAddresses(peer)}`,
        );
        a.on('close', (err?: Error) =>
          out.event(
            'notice',
            'closed',
            { assocId: a.id, error: err?.message ?? null },
            `association ${a.id} closed${err ? `: ${err.message}` : ''}`,
          ),
        );
      });
      endpoint.on('message', (data, info) => {
        out.event(
          'debug',
          'message',
          { assocId: info.assocId, stream: info.stream, ppid: info.ppid, bytes: data.length },
          `association ${info.assocId}: ${data.length} bytes on stream ${info.stream}`,
        );
        info.association?.send(data, {
          stream: info.stream,
          ppid: info.ppid,
          unordered: info.unordered,
        });
      });
      endpoint.on('error', (err) =>
        out.event('warning', 'warning', { message: err.message }, `warning: ${err.message}`),
      );
      stop = () => endpoint.close(() => resolve(0));
    } else {
      const open = new Set<import('../lib').Socket>();
      const server = createServer(extensions, (socket) => {
        open.add(socket);
        socket.on('close', () => open.delete(socket));
        const local = socket.localAddresses();
        const peer = socket.remoteAddresses();
        out.event(
          'notice',
          'accepted',
          { local, peer },
          `accepted: local ${showAddresses(local)} peer ${showAddresses(peer)}`,
        );
        logNotifications(out, socket, 'association');
        let bytes = 0;
        socket.on('message', (data, info) => {
          bytes += data.length;
          out.event(
            'debug',
            'message',
            { stream: info.stream, ppid: info.ppid, bytes: data.length },
            `${data.length} bytes on stream ${info.stream}`,
          );
          if (!o.sink)
            socket.send(data, { stream: info.stream, ppid: info.ppid, unordered: info.unordered });
        });
        socket.on('error', (err) =>
          out.event('warning', 'warning', { message: err.message }, `warning: ${err.message}`),
        );
        socket.on('close', () =>
          out.event(
            'notice',
            'closed',
            { peer, bytes },
            `closed: peer ${showAddresses(peer)}, ${bytes} bytes received`,
          ),
        );
      });
      server.on('error', reject);
      server.listen({ ...(host ? { host } : {}), port }, () => {
        const bound = server.address()!;
        out.event(
          'notice',
          'listening',
          { addresses: bound.addresses },
          `listening on ${showAddresses(bound.addresses)}`,
        );
      });
      stop = () => {
        server.close(() => resolve(0));
        for (const socket of open) socket.end(); // a graceful SHUTDOWN of each association
      };
    }
    for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => stop());
  });
}
