// sctpt ctraffic: N associations sending timestamped messages at a total rate for a while;
// the echoes' round-trip times go into a histogram. A send that cannot go out (the kernel's
// buffer is full: the symptom of a failing path) is reported when it blocks and unblocks.
// Ends with a JSON-able summary and saves the histogram for `sctpt stats`.
import { performance } from 'node:perf_hooks';
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
import { bars, emptyHistogram, record, summary, type Histogram } from './histogram';
import { saveStats, statsFileOption } from './stats';

export const options: OptionTable = {
  ...clientOptions,
  clients: { type: 'number', default: 1, min: 1, max: 10000, help: 'associations' },
  rate: {
    type: 'number',
    default: 100,
    min: 0.001,
    max: 1e6,
    fraction: true,
    help: 'messages per second, all associations together',
  },
  duration: {
    type: 'number',
    default: 10,
    min: 0.001,
    max: MAX_MS / 1000,
    fraction: true,
    help: 'seconds of traffic',
  },
  size: {
    type: 'number',
    default: 1024,
    min: 16,
    max: MAX_MESSAGE,
    help: 'message size, bytes (at least 16: the timestamp header)',
  },
  streams: {
    type: 'number',
    default: 1,
    min: 1,
    max: 65535,
    help: 'spread the messages over this many streams',
  },
  paths: {
    type: 'number',
    min: 1,
    max: MAX_MS,
    help: 'show every path of every association each N ms',
  },
  ...statsFileOption,
  ...commonOptions,
};

export const usage = `sctpt ctraffic --addr a,b [--laddr c,d] [--port P] [--clients N] [--rate R] [--duration S] [--size B] [--json]
Sends timestamped messages on N associations; prints blocked/unblocked sends and a summary.
Exit status: 0 every message echoed, 1 some lost or an association failed.
Example:
  sctpt ctraffic --addr 10.0.0.1,1000::81 --laddr 192.168.2.221,1000::1:192.168.6.221 --clients 4 --rate 400 --duration 30`;

interface Client {
  socket: Socket;
  index: number;
  sent: number;
  received: number;
  blockedSince: number | null;
}

export async function run(o: ParsedOptions): Promise<number> {
  if (!o.addr) throw new UsageError('--addr is required');
  const size = o.size as number;
  const streams = o.streams as number;
  const out = outputFor(o);
  const histogram: Histogram = emptyHistogram();
  const blocked = { count: 0, maxMs: 0, totalMs: 0 };
  let failures = 0;

  const clients: Client[] = [];
  for (let index = 0; index < (o.clients as number); index++) {
    const socket = await openClient(o, streams);
    const client: Client = { socket, index, sent: 0, received: 0, blockedSince: null };
    clients.push(client);
    logNotifications(out, socket, `client ${index}`);
    socket.on('message', (data: Buffer) => {
      record(histogram, performance.now() - data.readDoubleBE(8));
      client.received++;
    });
    socket.on('error', (err) => {
      failures++;
      out.error(`client ${index}: ${err.message}`);
    });
    out.event(
      'info',
      'connected',
      { client: index, peer: socket.remoteAddresses() },
      `client ${index} connected`,
    );
  }

  const unblocked = (c: Client) => {
    const ms = performance.now() - c.blockedSince!;
    c.blockedSince = null;
    blocked.maxMs = Math.max(blocked.maxMs, ms);
    blocked.totalMs += ms;
    out.event(
      'warning',
      'unblocked',
      { client: c.index, afterMs: Math.round(ms) },
      `client ${c.index}: send unblocked after ${Math.round(ms)} ms`,
    );
  };

  const pathTimer = o.paths
    ? watchPaths(
        out,
        clients.map((c) => c.socket),
        o.paths as number,
      )
    : null;

  // Sending: every 10 ms, the messages due by now, round robin over the associations.
  const rate = o.rate as number;
  const started = performance.now();
  const end = started + (o.duration as number) * 1000;
  let due = 0;
  let sent = 0;
  let turn = 0;
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const now = performance.now();
      if (now >= end) {
        clearInterval(timer);
        return resolve();
      }
      for (const c of clients) {
        // Unblocked: whatever had to wait for the kernel's buffer has gone to the kernel.
        if (c.blockedSince !== null && c.socket.writableLength === 0) unblocked(c);
      }
      due = Math.floor(((now - started) / 1000) * rate);
      for (; sent < due; sent++, turn++) {
        const c = clients[turn % clients.length]!;
        if (c.socket.destroyed || c.blockedSince !== null) continue; // skipped while blocked
        const msg = Buffer.alloc(size);
        msg.writeUInt32BE(c.index, 0);
        msg.writeUInt32BE(c.sent, 4);
        msg.writeDoubleBE(performance.now(), 8);
        c.sent++;
        c.socket.send(msg, { stream: c.sent % streams });
        if (c.socket.writableLength > 0) {
          // The kernel's send buffer is full (EAGAIN): where the seed's blocking send() would
          // block. No more messages for this association until it has drained.
          c.blockedSince = performance.now();
          blocked.count++;
          out.event('warning', 'blocked', { client: c.index }, `client ${c.index}: send blocked`);
        }
      }
    }, 10);
  });
  if (pathTimer) clearInterval(pathTimer);
  // The last echoes: wait until every association has all of its, or 5 s.
  const drainEnd = performance.now() + 5000;
  while (
    clients.some((c) => c.received < c.sent && !c.socket.destroyed) &&
    performance.now() < drainEnd
  ) {
    await new Promise((r) => setTimeout(r, 20));
  }
  await Promise.all(
    clients.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.socket.destroyed) return resolve();
          c.socket.once('close', () => resolve());
          c.socket.resume();
          c.socket.end();
        }),
    ),
  );
  const totals = {
    clients: clients.length,
    rate,
    durationS: o.duration as number,
    size,
    sent: clients.reduce((n, c) => n + c.sent, 0),
    received: clients.reduce((n, c) => n + c.received, 0),
  };
  const lost = totals.sent - totals.received;
  const rtt = summary(histogram);
  const blockedSummary = {
    ...blocked,
    maxMs: Math.round(blocked.maxMs),
    totalMs: Math.round(blocked.totalMs),
  };
  saveStats(o['stats-file'] as string, histogram, {
    ...totals,
    lost,
    failedAssociations: failures,
    blocked: blockedSummary,
  });
  out.result(
    'summary',
    {
      ...totals,
      lost,
      failedAssociations: failures,
      blocked: blockedSummary,
      rtt,
    },
    [
      `sent ${totals.sent}, received ${totals.received}, lost ${lost}, associations failed ${failures}`,
      `blocked sends ${blocked.count} (longest ${Math.round(blocked.maxMs)} ms)`,
      `rtt ms: min ${fmt(rtt.minMs)} mean ${fmt(rtt.meanMs)} p50 <= ${fmt(rtt.p50Ms)} p90 <= ${fmt(rtt.p90Ms)} p99 <= ${fmt(rtt.p99Ms)} max ${fmt(rtt.maxMs)}`,
      bars(histogram),
    ].join('\n'),
  );
  return lost === 0 && failures === 0 ? 0 : 1;
}

const fmt = (v: number | null) => (v === null ? '-' : v.toFixed(2));
