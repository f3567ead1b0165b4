// Scale-out on one host: worker processes, each with a one-to-many endpoint on the same two
// addresses and port (reusePort, SO_REUSEPORT). The kernel gives each new association to one
// of them by a hash of the peer's address and port, and every later packet of it, on either
// path, to the same one. Killing a worker ends its associations only.
import { once } from 'node:events';
import path from 'node:path';
import { connect, createEndpoint, createServer, type Socket } from '../lib';
import { closeServer, connected, JsonLines, listening, waitFor } from './helpers/net';

const workerScript = path.join(__dirname, 'fixtures', 'reuseport-worker.js');
const HOSTS = ['127.0.0.1', '127.0.0.2'];
const WORKERS = 3;
const ASSOCIATIONS = 300;

const processes: JsonLines[] = [];
const sockets: Socket[] = [];
afterAll(() => {
  for (const s of sockets) s.destroy();
  for (const p of processes) p.kill();
});

/** A port nobody listens on (bound by a server, then closed). */
async function freePort(): Promise<number> {
  const server = createServer().listen({ host: HOSTS });
  const port = await listening(server);
  await closeServer(server);
  return port;
}

function startWorker(worker: number, port: number): JsonLines {
  const p = new JsonLines(process.execPath, [
    workerScript,
    `${worker}`,
    HOSTS.join(','),
    `${port}`,
  ]);
  processes.push(p);
  return p;
}

/** Sends one message on each socket; resolves with the worker (the echo's PPID) of each. */
function whoAnswers(list: Socket[]): Promise<number[]> {
  return Promise.all(
    list.map((s, i) => {
      const echo = once(s, 'message');
      s.send(`hello ${i}`, { stream: i % 4 });
      return echo.then(([data, info]) => {
        expect((data as Buffer).toString()).toBe(`hello ${i}`);
        return (info as { ppid: number }).ppid;
      });
    }),
  );
}

async function openAssociations(port: number, count: number): Promise<Socket[]> {
  const opened: Socket[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = Array.from({ length: Math.min(50, count - i) }, () =>
      connect({ host: HOSTS, port, localAddress: HOSTS, streams: { out: 4, in: 4 } }),
    );
    sockets.push(...batch);
    await Promise.all(batch.map(connected));
    opened.push(...batch);
  }
  return opened;
}

test('without reusePort a second endpoint cannot bind the port; with it in both, it can', async () => {
  const port = await freePort();
  const first = createEndpoint({ host: HOSTS, port, reusePort: true }).listen();
  try {
    expect(() => createEndpoint({ host: HOSTS, port })).toThrow(
      expect.objectContaining({ code: 'EADDRINUSE' }),
    );
    const second = createEndpoint({ host: HOSTS, port, reusePort: true }).listen();
    second.close();
  } finally {
    first.close();
  }
  // The same for one-to-one servers, with listen({ reusePort }).
  const servers = [0, 1].map(() => createServer().listen({ host: HOSTS, port, reusePort: true }));
  await Promise.all(servers.map(listening));
  await Promise.all(servers.map(closeServer));
});

test(`${WORKERS} worker processes share a multihomed port: spread, every path to the right worker, a killed worker takes only its own associations`, async () => {
  const port = await freePort();
  const workers = Array.from({ length: WORKERS }, (_, w) => startWorker(w + 1, port));
  for (const w of workers) expect(await w.next()).toEqual({ listening: expect.any(Number) });

  const clients = await openAssociations(port, ASSOCIATIONS);
  const answeredBy = await whoAnswers(clients);
  // Each worker announced exactly the associations that it answers.
  await waitFor(() => workers.reduce((n, w) => n + w.history.length - 1, 0) === ASSOCIATIONS);
  for (const [i, s] of clients.entries()) {
    expect(workers[answeredBy[i]! - 1]!.history).toContainEqual({ association: s.localPort });
  }
  const counts = Array.from(
    { length: WORKERS },
    (_, w) => answeredBy.filter((a) => a === w + 1).length,
  );
  // How evenly the kernel's hash spreads them (300 over 3: 100 each if even; the note and
  // docs/containers.md give the figures).
  process.stdout.write(
    `reuseport: ${ASSOCIATIONS} associations over ${WORKERS} workers: ${counts.join(' / ')}\n`,
  );
  for (const c of counts) expect(c).toBeGreaterThan(ASSOCIATIONS / WORKERS / 2);

  // Both paths of every association confirmed by heartbeats. (The kernel finds an
  // association's later packets, on any path, in its table of transports, whichever socket
  // holds it; reuseport selection is for new associations only.)
  await waitFor(
    () => clients.every((s) => s.paths.list().every((p) => p.state === 'active')),
    30000,
    'both paths of every association confirmed',
  );

  // Worker 1 is killed: its associations end, the others go on.
  const victims = clients.filter((_, i) => answeredBy[i] === 1);
  const survivors = clients.filter((_, i) => answeredBy[i] !== 1);
  const ended = victims.map(
    (s) =>
      new Promise<void>((resolve) =>
        s.readableEnded || s.destroyed ? resolve() : s.once('close', () => resolve()),
      ),
  );
  for (const s of victims) s.on('error', () => {}).resume();
  workers[0]!.kill();
  await Promise.all(ended);
  expect(survivors.every((s) => !s.destroyed && !s.readableEnded)).toBe(true);
  const again = await whoAnswers(survivors);
  expect(again).toEqual(answeredBy.filter((a) => a !== 1));

  // New associations go to the workers that are left.
  const late = await openAssociations(port, 60);
  const lateBy = await whoAnswers(late);
  expect(lateBy.every((w) => w !== 1)).toBe(true);
  expect(new Set(lateBy).size).toBe(WORKERS - 1);
}, 120000);
