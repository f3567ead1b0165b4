// sctpt throughput: one association sending as fast as the kernel takes it (like
// `iperf3 --sctp`) against `sctpt server --sink`, once with the kernel's defaults (Nagle-like
// bundling on) and once tuned (SCTP_NODELAY, 4 MiB buffers), both reported.
import { performance } from 'node:perf_hooks';
import type { OptionTable, ParsedOptions } from './args';
import { MAX_MESSAGE, MAX_MS, UsageError } from './args';
import { clientOptions, commonOptions, outputFor } from './common';
import { connect, type Socket } from '../lib';

export const options: OptionTable = {
  ...clientOptions,
  size: { type: 'number', default: 1024, min: 1, max: MAX_MESSAGE, help: 'message size, bytes' },
  duration: {
    type: 'number',
    default: 4,
    min: 0.001,
    max: MAX_MS / 1000,
    fraction: true,
    help: 'seconds per setting',
  },
  ...commonOptions,
};

export const usage = `sctpt throughput --addr a,b [--port P] [--size B] [--duration S] [--json]
Against "sctpt server --sink": sends --size messages for --duration seconds with the
kernel's defaults, then tuned, and reports the rate of each (acknowledged data only).
Example:
  sctpt throughput --addr 127.0.0.1 --size 1024 --duration 4`;

const SETTINGS = [
  { name: 'kernel defaults', noDelay: false },
  { name: 'tuned', noDelay: true, sendBufferSize: 4 << 20, receiveBufferSize: 4 << 20 },
];

export async function run(o: ParsedOptions): Promise<number> {
  if (!o.addr) throw new UsageError('--addr is required');
  const out = outputFor(o);
  const size = o.size as number;
  const results = [];
  for (const { name, ...settings } of SETTINGS) {
    const socket = connect({
      host: o.addr as string[],
      port: o.port as number,
      ...(o.laddr ? { localAddress: o.laddr as string[] } : {}),
      connectTimeout: o.timeout as number,
      ...settings,
    });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const r = await blast(socket, size, (o.duration as number) * 1000);
    const mbps = (r.bytes * 8) / (r.seconds * 1e6);
    const result = {
      setting: name,
      ...settings,
      size,
      messages: r.messages,
      bytes: r.bytes,
      seconds: r.seconds,
      mbitPerS: mbps,
      messagesPerS: r.messages / r.seconds,
    };
    results.push(result);
    out.event(
      'notice',
      'phase',
      result,
      `${name.padEnd(16)} ${mbps.toFixed(1).padStart(9)} Mbit/s  ${Math.round(
        r.messages / r.seconds,
      )
        .toString()
        .padStart(8)} messages/s  (${size}-byte messages)`,
    );
  }
  out.result('throughput', { results }, '');
  return 0;
}

/** Sends until the time is up, then waits until the peer has acknowledged everything. */
async function blast(socket: Socket, size: number, ms: number) {
  const payload = Buffer.alloc(size, 0x5a);
  const started = performance.now();
  const end = started + ms;
  let messages = 0;
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    const pump = () => {
      while (performance.now() < end) {
        messages++;
        if (!socket.send(payload)) return void socket.once('drain', pump);
      }
      resolve();
    };
    pump();
  });
  while (
    socket.writableLength > 0 ||
    socket.status().unackedData > 0 ||
    socket.status().pendingData > 0
  ) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  await new Promise<void>((resolve) => {
    socket.once('close', () => resolve());
    socket.resume();
    socket.end();
  });
  return { messages, bytes: messages * size, seconds };
}
