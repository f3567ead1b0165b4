// What scripts/test-valgrind runs under memcheck: the echo, one-to-many and lifecycle paths
// of the addon in one short script (memcheck under emulation runs node some 50 times slower,
// so the jest files themselves are out of reach). It exits by itself once everything is
// closed, so the leak check at exit sees a process that let go of what it could, and prints
// one JSON line of what it did; a wrong result exits 1.
import { once } from 'node:events';
import { connect, createEndpoint, createServer, type Association, type Socket } from '../../lib';

const done: Record<string, number> = {};
const count = (what: string, n = 1) => (done[what] = (done[what] ?? 0) + n);
/** 'close', whatever error came first (events.once would reject on 'error'). */
const closed = (s: Socket) => new Promise<void>((r) => s.once('close', () => r()));
function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`valgrind smoke: ${what}`);
}

async function echoOneToOne(): Promise<void> {
  const server = createServer({ maxMessageSize: 1 << 20 }, (socket) => {
    socket.on('message', (d: Buffer, info: { stream: number }) =>
      socket.send(d, { stream: info.stream }),
    );
    socket.on('error', () => {});
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const c = connect({ host: '127.0.0.1', port: server.address()!.port, streams: { out: 4 } });
  c.on('error', (e: NodeJS.ErrnoException) => count(`error ${e.code}`));
  await once(c, 'connect');
  let got = 0;
  let bytes = 0;
  c.on('message', (d: Buffer) => {
    got++;
    bytes += d.length;
  });
  const sizes = [1, 100, 1452, 1453, 65536, 200000];
  for (let i = 0; i < 60; i++) c.send(Buffer.alloc(sizes[i % sizes.length]!, i), { stream: i % 4 });
  const want = sizes.reduce((n, s) => n + s, 0) * 10;
  while (got < 60) await new Promise((r) => setTimeout(r, 50));
  check(bytes === want, `echo bytes ${bytes} != ${want}`);
  count('echoed', got);
  c.end();
  await closed(c);
  await new Promise<void>((r) => server.close(() => r()));
}

async function oneToMany(): Promise<void> {
  const ep = createEndpoint({ host: '127.0.0.1' });
  ep.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
  ep.listen();
  ep.on('message', (d, info) => info.association?.send(d.subarray(0, 100), {}, () => {}));
  ep.on('notification', () => count('notifications'));
  const port = ep.address()!.port;
  const clients: Socket[] = [];
  const ups: Association[] = [];
  ep.on('association', (a) => ups.push(a));
  ep.on('error', (e: NodeJS.ErrnoException) => count(`endpoint error ${e.code}`));
  for (let i = 0; i < 3; i++) {
    const c = connect({ host: '127.0.0.1', port, sendBufferSize: 1 << 20 });
    c.on('error', () => {});
    await once(c, 'connect');
    clients.push(c);
  }
  let echoes = 0;
  for (const c of clients) c.on('message', () => echoes++);
  for (const c of clients) for (let m = 0; m < 20; m++) c.send(`m${m}`);
  clients[0]!.send(Buffer.alloc(300000, 7)); // through partial delivery
  while (echoes < 61) await new Promise((r) => setTimeout(r, 50));
  count('oneToManyEchoes', echoes);
  // Peel one off and talk on it; abort another in the middle of a message; shut the last.
  while (ups.length < 3) await new Promise((r) => setTimeout(r, 20));
  const peeled = ups[0]!.peeloff();
  peeled.on('error', (e: NodeJS.ErrnoException) => count(`peeled error ${e.code}`)); // aborted below
  peeled.on('message', (d: Buffer) => peeled.send(d));
  const reply = once(clients[0]!, 'message');
  clients[0]!.send('after peeloff');
  check(String((await reply)[0]) === 'after peeloff', 'peeled echo');
  count('peeled');
  clients[1]!.send(Buffer.alloc(500000, 1));
  clients[1]!.destroy();
  clients[2]!.end();
  await Promise.all([closed(clients[1]!), closed(clients[2]!)]);
  clients[0]!.destroy();
  peeled.destroy();
  while (ep.associationCount > 0) await new Promise((r) => setTimeout(r, 50));
  check(ep.stats().partialBytes === 0, 'partial bytes left');
  await new Promise<void>((r) => ep.close(() => r()));
}

async function lifecycle(): Promise<void> {
  // Refused: nothing listens on that port.
  const probe = createEndpoint({ host: '127.0.0.1' });
  const closedPort = probe.address()!.port;
  probe.destroy();
  const refused = connect({ host: '127.0.0.1', port: closedPort });
  const [err] = (await once(refused, 'error').catch((e: unknown) => [e])) as [Error];
  check(
    /ECONNREFUSED|ETIMEDOUT|ECONNRESET/.test(String((err as NodeJS.ErrnoException).code)),
    'refused',
  );
  count('refused');
  // Open, abort from each side, shut down from each side: 20 times.
  const server = createServer((socket) => {
    socket.on('error', () => {});
    socket.on('message', (d: Buffer) =>
      d.toString() === 'abort' ? socket.destroy() : socket.end(),
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  for (let i = 0; i < 20; i++) {
    const c = connect({ host: '127.0.0.1', port: server.address()!.port });
    c.on('error', () => {});
    c.resume();
    await once(c, 'connect');
    if (i % 4 === 0) c.destroy();
    else if (i % 4 === 1) c.end();
    else c.send(i % 4 === 2 ? 'abort' : 'end');
    await closed(c);
    count('lifecycles');
  }
  await new Promise<void>((r) => server.close(() => r()));
}

let phase = 'start';
process.on('uncaughtException', (err) => {
  console.error(`valgrind smoke: uncaught in ${phase}:`, err);
  process.exit(1);
});

async function main(): Promise<void> {
  phase = 'echo';
  await echoOneToOne();
  phase = 'one-to-many';
  await oneToMany();
  phase = 'lifecycle';
  await lifecycle();
  process.stdout.write(`${JSON.stringify(done)}\n`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
