// Soak: minutes of mixed, misbehaving traffic against one one-to-many endpoint and one
// one-to-one server in this process, printing memory over time. Not part of the test suite.
//
//   scripts/sctp-run node --expose-gc dist/bench/soak.js [MINUTES] [CLIENTS] > soak.jsonl
//   scripts/plot-soak soak.jsonl docs/soak.png
//
// CLIENTS (default 24) connect, half to each; each sends messages of random sizes (1 byte to
// 256 KiB, spread evenly over the orders of magnitude) and is, by turns, a good reader, a slow
// consumer (paused for seconds at a time: the server's queue for it grows, then drains or the stall
// guard aborts it) or a leaver (aborts in the middle of a large message, or shuts down). Each
// client that goes is replaced. Every 10 s one JSON line: elapsed seconds, memory (after a
// GC when --expose-gc is given), open fds, what the endpoint and the server hold, and totals.
import { readdirSync } from 'node:fs';
import {
  connect,
  createEndpoint,
  createServer,
  type Endpoint,
  type Server,
  type Socket,
} from '../lib';

const minutes = Number(process.argv[2] ?? 30);
const clients = Number(process.argv[3] ?? 24);
const SAMPLE_MS = Number(process.env.SOAK_SAMPLE_MS ?? 10_000);
const totals = { opened: 0, aborted: 0, shutDown: 0, stalled: 0, messages: 0, bytes: 0 };
const serverSockets = new Set<Socket>();

const random = (n: number) => Math.floor(Math.random() * n);
/** 1 byte to 256 KiB, as many small as large. */
const randomSize = () => Math.max(1, Math.floor(2 ** (Math.random() * 18)));

function startEndpoint(): Endpoint {
  const ep = createEndpoint({ host: '127.0.0.1', maxMessageSize: 1 << 20, stallTimeout: 5000 });
  ep.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 16384 });
  ep.on('message', (data, info) => {
    totals.messages++;
    totals.bytes += data.length;
    info.association?.send(data.subarray(0, 64 * 1024), {}, () => {});
  });
  ep.on('association', (a) =>
    a.on('close', (err) => {
      if ((err as NodeJS.ErrnoException | undefined)?.code === 'ERR_SCTP_STALLED') totals.stalled++;
    }),
  );
  ep.on('error', () => {});
  return ep.listen();
}

function startServer(): Server {
  const server = createServer({ maxMessageSize: 1 << 20, stallTimeout: 5000 }, (socket) => {
    serverSockets.add(socket);
    socket.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 16384 });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ERR_SCTP_STALLED') totals.stalled++;
    });
    socket.on('close', () => serverSockets.delete(socket));
    socket.on('message', (data: Buffer) => {
      totals.messages++;
      totals.bytes += data.length;
      socket.send(data.subarray(0, 64 * 1024), {}, () => {});
    });
  });
  server.listen(0, '127.0.0.1');
  return server;
}

/** One client's life: 2 to 30 seconds of traffic in one of three characters. */
function client(port: number, done: () => void): void {
  const socket = connect({ host: '127.0.0.1', port, sendBufferSize: 1 << 20 });
  totals.opened++;
  const character = ['reader', 'slow', 'leaver'][random(3)];
  const life = 2000 + random(28_000);
  const timers: NodeJS.Timeout[] = [];
  let ended = false;
  const finish = () => {
    if (ended) return;
    ended = true;
    for (const t of timers) clearTimeout(t);
    done();
  };
  socket.on('error', () => {});
  socket.on('close', finish);
  socket.on('message', () => {});
  socket.on('connect', () => {
    const pump = () => {
      if (socket.destroyed) return;
      // Fire and forget; the send queue's bound (and 'drain') keeps it honest.
      if (socket.send(Buffer.alloc(randomSize(), 0x73), {}, () => {})) {
        timers.push(setTimeout(pump, random(50)));
      } else {
        socket.once('drain', pump);
      }
    };
    pump();
    if (character === 'slow') {
      const stall = () => {
        socket.pause();
        timers.push(
          setTimeout(
            () => {
              socket.resume();
              timers.push(setTimeout(stall, 1000 + random(5000)));
            },
            1000 + random(10_000),
          ),
        );
      };
      stall();
    }
    timers.push(
      setTimeout(() => {
        if (character === 'leaver' && random(2) === 0) {
          // In the middle of a large message, as often as not.
          socket.send(Buffer.alloc(512 * 1024, 0x61), {}, () => {});
          setTimeout(() => socket.destroy(), random(20));
          totals.aborted++;
        } else if (random(2) === 0) {
          socket.destroy();
          totals.aborted++;
        } else {
          socket.end();
          totals.shutDown++;
        }
      }, life),
    );
  });
}

function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

function sample(start: number, ep: Endpoint): void {
  (globalThis as { gc?: () => void }).gc?.();
  const m = process.memoryUsage();
  const stats = ep.stats();
  const line = {
    t: Math.round((Date.now() - start) / 1000),
    rssMiB: +(m.rss / 2 ** 20).toFixed(1),
    heapMiB: +(m.heapUsed / 2 ** 20).toFixed(1),
    externalMiB: +(m.external / 2 ** 20).toFixed(1),
    fds: openFds(),
    associations: stats.associations,
    serverSockets: serverSockets.size,
    endpointQueuedBytes: stats.queuedBytes,
    endpointPartialBytes: stats.partialBytes,
    endpointHeldBytes: stats.heldBytes,
    // What the server's sockets hold back for slow readers (write()/send() queues).
    serverWritableLength: [...serverSockets].reduce((n, s) => n + s.writableLength, 0),
    ...totals,
  };
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

async function main(): Promise<void> {
  const ep = startEndpoint();
  const server = startServer();
  await new Promise((r) => server.once('listening', r));
  const ports = [ep.address()!.port, server.address()!.port];
  const start = Date.now();
  const until = start + minutes * 60_000;
  let live = 0;
  const spawnOne = (i: number) => {
    if (Date.now() >= until) return;
    live++;
    client(ports[i % 2]!, () => {
      live--;
      setTimeout(() => spawnOne(i), random(500));
    });
  };
  for (let i = 0; i < clients; i++) spawnOne(i);
  sample(start, ep);
  const sampler = setInterval(() => sample(start, ep), SAMPLE_MS);
  await new Promise((r) => setTimeout(r, until - start));
  // Let the last clients finish (their lives are at most 30 s), then a final sample.
  const deadline = Date.now() + 90_000;
  while (live > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  clearInterval(sampler);
  await new Promise((r) => setTimeout(r, 2000));
  sample(start, ep);
  ep.close();
  server.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
