// sctpt client: a multihomed association to an echo server. Interactive: each line typed is
// one message and its echo is printed; end of input (^D) ends with a graceful SHUTDOWN.
// --size N sends one message of N bytes and waits for its echo (path MTU experiments).
import { createInterface } from 'node:readline';
import type { Socket } from '../lib';
import type { OptionTable, ParsedOptions } from './args';
import { MAX_MESSAGE, MAX_MS, UsageError } from './args';
import {
  clientOptions,
  commonOptions,
  logNotifications,
  openClient,
  outputFor,
  watchPaths,
} from './common';
import { showAddresses, type Output } from './output';

export const options: OptionTable = {
  ...clientOptions,
  size: {
    type: 'number',
    min: 1,
    max: MAX_MESSAGE,
    help: 'send one message of this many bytes, wait for its echo, exit',
  },
  paths: {
    type: 'number',
    min: 1,
    max: MAX_MS,
    help: 'print every path (state, cwnd, srtt, rto) each N ms',
  },
  ...commonOptions,
};

export const usage = `sctpt client --addr a,b [--laddr c,d] [--port P] [--size N] [--paths MS] [--log N] [--json]
       [--udp-encap PORT] [--prsctp ttl:MS|rtx:N|prio:N] [--scheduler S] [--interleave]
       [--auth-key KEY] [--reconfig]
Typed lines are sent as messages and their echoes printed; ^D quits with a SHUTDOWN.
Lines that start with / are commands (// sends a line that starts with /):
  /reset-streams [outgoing|incoming|both] [S,S...]   reset stream sequence numbers (--reconfig)
  /add-streams OUT [IN]                              add streams (--reconfig)
  /reset-assoc                                       reset the association's TSNs (--reconfig)
Notifications are printed at --log 6.
Exit status: 0 done, 1 connect/echo failure.
Examples:
  sctpt client --addr 192.168.1.1,192.168.4.1 --laddr 192.168.2.221,192.168.6.221
  sctpt client --addr 127.0.0.1 --size 1453`;

export async function run(o: ParsedOptions): Promise<number> {
  if (!o.addr) throw new UsageError('--addr is required');
  const out = outputFor(o);
  const socket = await openClient(o);
  const local = socket.localAddresses();
  const peer = socket.remoteAddresses();
  out.event(
    'notice',
    'connected',
    { local, peer },
    `connected: local ${showAddresses(local)} peer ${showAddresses(peer)}`,
  );
  logNotifications(out, socket, 'association');
  const send = {
    stream: o.stream as number,
    ppid: o.ppid as number,
    unordered: o.unordered === true,
  };
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  let failed = false;
  socket.on('error', (err) => {
    failed = true;
    out.error(err.message);
  });
  const pathTimer = o.paths ? watchPaths(out, [socket], o.paths as number) : null;

  if (o.size !== undefined) {
    const size = o.size as number;
    const payload = Buffer.alloc(size);
    for (let i = 0; i < size; i++) payload[i] = 0x20 + (i % 95);
    const echo = new Promise<Buffer | null>((resolve) => {
      const timer = setTimeout(() => resolve(null), 10000);
      socket.once('message', (data: Buffer) => {
        clearTimeout(timer);
        resolve(data);
      });
    });
    socket.send(payload, send);
    const data = await echo;
    const ok = data !== null && data.equals(payload);
    out.result(
      'echo',
      { bytes: size, received: data?.length ?? null, ok },
      ok
        ? `echo: ${size} bytes, intact`
        : data
          ? `echo: ${data.length} bytes, differs from the ${size} sent`
          : `no echo of ${size} bytes within 10 s`,
    );
    failed ||= !ok;
  } else {
    socket.on('message', (data: Buffer, info) => {
      out.result(
        'echo',
        { stream: info.stream, ppid: info.ppid, text: data.toString() },
        data.toString().replace(/\n$/, ''),
      );
    });
    const lines = createInterface({ input: process.stdin, terminal: false });
    for await (const line of lines) {
      if (socket.destroyed) break;
      if (line.startsWith('/') && !line.startsWith('//')) await command(socket, line, out);
      else socket.send(line.startsWith('//') ? line.slice(1) : line, send);
    }
  }
  if (pathTimer) clearInterval(pathTimer);
  socket.resume();
  socket.end();
  await closed;
  out.event('notice', 'closed', { peer }, 'closed');
  return failed ? 1 : 0;
}

/** One interactive command: its outcome is printed, a failure does not end the session. */
async function command(socket: Socket, line: string, out: Output): Promise<void> {
  const [name, ...args] = line.slice(1).trim().split(/\s+/);
  try {
    if (name === 'reset-streams') {
      const direction = (['outgoing', 'incoming', 'both'] as const).find((d) => d === args[0]);
      const list = args[direction ? 1 : 0];
      const items = list?.split(',');
      if (items?.some((i) => !/^\d+$/.test(i))) {
        throw new Error(`streams must be numbers separated by commas, not "${list}"`);
      }
      const streams = items?.map(Number);
      await socket.resetStreams({ direction: direction ?? 'outgoing', streams });
      out.result(
        'reset-streams',
        { direction: direction ?? 'outgoing', streams: streams ?? 'all' },
        `streams reset: ${direction ?? 'outgoing'} ${streams ? streams.join(',') : 'all'}`,
      );
    } else if (name === 'add-streams') {
      const [outbound = 0, inbound = 0] = args.map(Number);
      const counts = await socket.addStreams({ outbound, inbound });
      out.result(
        'add-streams',
        { ...counts },
        `streams now: ${counts.outboundStreams} out, ${counts.inboundStreams} in`,
      );
    } else if (name === 'reset-assoc') {
      const n = await socket.resetAssociation();
      out.result(
        'reset-assoc',
        { localTsn: n.localTsn, remoteTsn: n.remoteTsn },
        `association reset: TSNs ${n.localTsn} / ${n.remoteTsn}`,
      );
    } else {
      out.error(`unknown command /${name} (/reset-streams, /add-streams, /reset-assoc)`);
    }
  } catch (err) {
    out.error(`/${name}: ${(err as Error).message}`);
  }
}
