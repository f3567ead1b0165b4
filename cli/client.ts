// sctpt client: a multihomed association to an echo server. Interactive: each line typed is
// one message and its echo is printed; end of input (^D) ends with a graceful SHUTDOWN.
// --size N sends one message of N bytes and waits for its echo (path MTU experiments).
import { createInterface } from 'node:readline';
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
import { showAddresses } from './output';

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
Typed lines are sent as messages and their echoes printed; ^D quits with a SHUTDOWN.
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
      socket.send(line, send);
    }
  }
  if (pathTimer) clearInterval(pathTimer);
  socket.resume();
  socket.end();
  await closed;
  out.event('notice', 'closed', { peer }, 'closed');
  return failed ? 1 : 0;
}
