// The terminating proxy (createProxy): multihomed clients through it to several backends,
// every message checked both ways (stream, PPID, unordered, payload), the backend policies,
// a backend killed under traffic with both failure policies, and per-pair back-pressure.
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import {
  connect,
  createProxy,
  createServer,
  type MessageInfo,
  type SctpProxy,
  type ProxyOptions,
  type Server,
  type Socket,
} from '../lib';
import { closeServer, connected, endAndWait, listening, waitFor } from './helpers/net';

const SERVER_ADDRESSES = ['127.0.0.1', '127.0.0.2'];
const CLIENT_ADDRESSES = ['127.0.0.3', '127.0.0.4'];

interface Received {
  stream: number;
  ppid: number;
  unordered: boolean;
  data: string;
}

/** An echo backend that records what it received, and from which proxy-side port. */
interface EchoBackend {
  name: string;
  server: Server;
  port: number;
  sockets: Set<Socket>;
  received: Received[];
  /** Stops reading (the kernel's window to the proxy closes). */
  stall(): void;
}

const cleanup: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function echoBackend(name: string): Promise<EchoBackend> {
  const sockets = new Set<Socket>();
  const received: Received[] = [];
  let stalled = false;
  const server = createServer({ streams: { out: 16, in: 16 } }, (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    if (stalled) socket.pause();
    socket.on('message', (data: Buffer, info: MessageInfo) => {
      received.push({
        stream: info.stream,
        ppid: info.ppid,
        unordered: info.unordered,
        data: data.toString('latin1'),
      });
      socket.send(data, { stream: info.stream, ppid: info.ppid, unordered: info.unordered });
    });
  });
  const port = await listening(server.listen({ host: '127.0.0.1', port: 0 }));
  const backend: EchoBackend = {
    name,
    server,
    port,
    sockets,
    received,
    stall: () => {
      stalled = true;
      for (const s of sockets) s.pause();
    },
  };
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await closeServer(server).catch(() => {});
  });
  return backend;
}

async function startProxy(backends: EchoBackend[], options: Partial<ProxyOptions> = {}) {
  const proxy = createProxy({
    backends: backends.map((b) => ({ host: '127.0.0.1', port: b.port, name: b.name })),
    ...options,
  });
  proxy.listen({ host: SERVER_ADDRESSES, port: 0 });
  await once(proxy, 'listening');
  cleanup.push(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
  return { proxy, port: proxy.address()!.port };
}

async function client(port: number, options: { localPort?: number } = {}): Promise<Socket> {
  const socket = connect({
    host: SERVER_ADDRESSES,
    port,
    localAddress: CLIENT_ADDRESSES,
    streams: { out: 5, in: 5 },
    ...options,
  });
  socket.on('error', () => {});
  cleanup.push(() => socket.destroy());
  await connected(socket);
  return socket;
}

/** What a client sends: every stream, PPID and flag in turn, sizes up to 3 KiB. */
function messagesFor(id: number, count: number): Received[] {
  return Array.from({ length: count }, (_, i) => ({
    stream: i % 5,
    ppid: 1000 + id * 100 + i,
    unordered: i % 3 === 0,
    data: `${id}:${i}:` + randomBytes(i * 60).toString('latin1'),
  }));
}

/** Sends `messages` and resolves with every echo, as received. */
function exchange(socket: Socket, messages: Received[]): Promise<Received[]> {
  const echoes: Received[] = [];
  const done = new Promise<Received[]>((resolve, reject) => {
    socket.on('message', (data: Buffer, info: MessageInfo) => {
      echoes.push({
        stream: info.stream,
        ppid: info.ppid,
        unordered: info.unordered,
        data: data.toString('latin1'),
      });
      if (echoes.length === messages.length) resolve(echoes);
    });
    socket.once('close', () => reject(new Error(`closed after ${echoes.length} echoes`)));
  });
  for (const m of messages) {
    socket.send(Buffer.from(m.data, 'latin1'), {
      stream: m.stream,
      ppid: m.ppid,
      unordered: m.unordered,
    });
  }
  return done;
}

const byData = (list: Received[]) => [...list].sort((a, b) => (a.data < b.data ? -1 : 1));

test('20 multihomed clients, three backends, round robin: every message relayed whole both ways', async () => {
  const backends = await Promise.all(['a', 'b', 'c'].map(echoBackend));
  const { proxy, port } = await startProxy(backends);
  const clients: Socket[] = [];
  for (let i = 0; i < 20; i++) clients.push(await client(port)); // one by one: a known order
  const relaying = () => proxy.status().pairs.filter((p) => p.state === 'relaying');
  await waitFor(() => relaying().length === 20, 10000, 'every pair up');
  // In the order the clients were accepted: a, b, c, a, b, c...
  expect(relaying().map((p) => p.backend)).toEqual(
    Array.from({ length: 20 }, (_, i) => 'abc'[i % 3]),
  );
  // Multihomed both ways: each client sees both proxy addresses, the proxy both of each
  // client's.
  const addressesOf = (c: Socket) =>
    c
      .remoteAddresses()
      .map((a) => a.address)
      .sort();
  for (const c of clients) expect(addressesOf(c)).toEqual(SERVER_ADDRESSES);
  for (const p of proxy.status().pairs) expect(p.client.addresses.sort()).toEqual(CLIENT_ADDRESSES);
  const sent = clients.map((_, i) => messagesFor(i, 40));
  const echoes = await Promise.all(clients.map((c, i) => exchange(c, sent[i]!)));
  for (let i = 0; i < clients.length; i++) {
    expect(byData(echoes[i]!)).toEqual(byData(sent[i]!));
    // Ordered messages keep their order within a stream, through both relays.
    for (let s = 0; s < 5; s++) {
      const order = (l: Received[]) =>
        l.filter((m) => m.stream === s && !m.unordered).map((m) => m.data);
      expect(order(echoes[i]!)).toEqual(order(sent[i]!));
    }
  }
  // Each backend got exactly its clients' messages, stream, PPID and flag included.
  for (const [k, b] of backends.entries()) {
    const mine = sent.filter((_, i) => i % 3 === k).flat();
    expect(byData(b.received)).toEqual(byData(mine));
  }
  const status = proxy.status();
  expect(status.backends.map((b) => [b.name, b.associations, b.healthy])).toEqual([
    ['a', 7, true],
    ['b', 7, true],
    ['c', 6, true],
  ]);
  expect(status.pairs).toHaveLength(20);
  for (const p of status.pairs) {
    expect(p.state).toBe('relaying');
    expect(p.toBackend.messages).toBe(40);
    expect(p.toClient.messages).toBe(40);
  }
}, 120000);

test('least-associations balances; hash-ports sends a client back to its backend from the same port', async () => {
  const backends = await Promise.all(['a', 'b', 'c'].map(echoBackend));
  const least = await startProxy(backends, { policy: 'least-associations' });
  const held: Socket[] = [];
  for (let i = 0; i < 6; i++) held.push(await client(least.port));
  await waitFor(
    () => least.proxy.status().pairs.every((p) => p.state === 'relaying'),
    10000,
    'pairs',
  );
  expect(least.proxy.status().backends.map((b) => b.associations)).toEqual([2, 2, 2]);
  // The first backend's two clients leave; the next two both go to it (round-robin would
  // give it one and the second backend the other: 1, 3, 2).
  const onFirst = least.proxy
    .status()
    .pairs.filter((p) => p.backend === backends[0]!.name)
    .map((p) => held.find((c) => c.localPort === p.client.port)!);
  expect(onFirst).toHaveLength(2);
  await Promise.all(onFirst.map(endAndWait));
  await waitFor(() => least.proxy.status().pairs.length === 4, 10000, 'two pairs gone');
  for (let i = 0; i < 2; i++) held.push(await client(least.port));
  await waitFor(() => least.proxy.status().pairs.length === 6, 10000, 'two new pairs');
  expect(least.proxy.status().backends.map((b) => b.associations)).toEqual([2, 2, 2]);

  const hashed = await startProxy(backends, { policy: 'hash-ports' });
  const chosen: string[] = [];
  hashed.proxy.on('pair', (p) => chosen.push(p.backend!));
  for (const [k, localPort] of [30001, 30002, 30001, 30003, 30002, 30001].entries()) {
    const c = await client(hashed.port, { localPort });
    await waitFor(() => chosen.length === k + 1, 10000, 'pair');
    c.resume(); // a socket's 'close' waits for its 'end' to be read, as net.Socket's does
    c.end();
    await new Promise((r) => c.once('close', r));
    await waitFor(() => hashed.proxy.status().pairs.length === 0, 10000, 'pair gone');
  }
  expect(chosen).toHaveLength(6);
  expect([chosen[2], chosen[5]]).toEqual([chosen[0], chosen[0]]);
  expect(chosen[4]).toBe(chosen[1]);
}, 120000);

/**
 * A client that keeps exchanging messages until stopped, up to 50 unanswered (or more after
 * 500 ms without an answer: messages in flight to a failed backend are lost); counts what
 * came back.
 */
function traffic(socket: Socket, id: number) {
  let sent = 0;
  let echoed = 0;
  let lastEcho = Date.now();
  socket.on('message', () => {
    echoed++;
    lastEcho = Date.now();
  });
  const timer = setInterval(() => {
    if (socket.destroyed) return clearInterval(timer);
    if (sent - echoed >= 50 && Date.now() - lastEcho < 500) return;
    for (let i = 0; i < 5 && !socket.destroyed; i++) {
      socket.send(`${id}:${sent++}`, { stream: sent % 5 });
    }
  }, 5);
  cleanup.push(() => clearInterval(timer));
  return {
    stop: () => clearInterval(timer),
    get sent() {
      return sent;
    },
    get echoed() {
      return echoed;
    },
  };
}

test.each(['abort', 'reconnect'] as const)(
  'a backend killed under traffic, onBackendFailure %s: its clients as the policy says, the others untouched',
  async (policy) => {
    const backends = await Promise.all(['a', 'b', 'c'].map(echoBackend));
    const { proxy, port } = await startProxy(backends, {
      onBackendFailure: policy,
      retryAfter: 60000,
    });
    const down: string[] = [];
    proxy.on('backendDown', (b) => down.push(b.name));
    const clients: Socket[] = [];
    for (let i = 0; i < 6; i++) clients.push(await client(port));
    await waitFor(() => proxy.status().pairs.every((p) => p.state === 'relaying'), 10000, 'pairs');
    const flows = clients.map((c, i) => traffic(c, i));
    await waitFor(() => flows.every((f) => f.echoed > 50), 20000, 'traffic on every client');
    // Backend b dies: every association it has is aborted, and it accepts no more.
    const b = backends[1]!;
    b.server.close();
    for (const s of b.sockets) s.resetAndDestroy();
    const onB = [1, 4]; // round robin: clients 1 and 4 went to b
    const before = flows.map((f) => f.echoed);
    if (policy === 'abort') {
      await Promise.all(onB.map((i) => new Promise((r) => clients[i]!.once('close', r))));
      for (const i of onB) expect(clients[i]!.errored).toMatchObject({ code: 'ECONNRESET' });
    } else {
      await waitFor(
        () => onB.every((i) => flows[i]!.echoed > before[i]! + 100),
        20000,
        'moved clients',
      );
      for (const i of onB) expect(clients[i]!.destroyed).toBe(false);
    }
    expect(down).toEqual(['b']);
    // The others were not touched: still connected, still answered, nothing lost.
    const others = [0, 2, 3, 5];
    await waitFor(() => others.every((i) => flows[i]!.echoed > before[i]! + 100), 20000, 'others');
    for (const f of flows) f.stop();
    for (const i of others) {
      await waitFor(() => flows[i]!.echoed === flows[i]!.sent, 10000, `client ${i} drained`);
      expect(clients[i]!.destroyed).toBe(false);
    }
    const status = proxy.status();
    expect(status.backends.find((x) => x.name === 'b')).toMatchObject({
      healthy: false,
      associations: 0,
    });
    if (policy === 'reconnect') {
      expect(status.pairs.filter((p) => p.backend === 'b')).toEqual([]);
      expect(status.pairs).toHaveLength(6);
    }
  },
  120000,
);

test("a backend's graceful SHUTDOWN reaches its client as one; the backend stays healthy", async () => {
  const backends = await Promise.all(['a'].map(echoBackend));
  const { proxy, port } = await startProxy(backends);
  const c = await client(port);
  await waitFor(() => proxy.status().pairs[0]?.state === 'relaying', 10000, 'pair');
  const echoes = await exchange(c, messagesFor(0, 10));
  expect(echoes).toHaveLength(10);
  const closed = new Promise((r) => c.once('close', r));
  c.resume();
  for (const s of backends[0]!.sockets) s.end();
  await closed;
  expect(c.errored).toBeNull();
  expect(proxy.status().backends[0]).toMatchObject({ healthy: true, failures: 0 });
}, 60000);

test('back-pressure per pair: a backend that stops reading slows its own client only', async () => {
  const backends = await Promise.all(['slow', 'fast'].map(echoBackend));
  const { proxy, port } = await startProxy(backends);
  const slowClient = await client(port);
  const fastClient = await client(port);
  await waitFor(() => proxy.status().pairs.every((p) => p.state === 'relaying'), 10000, 'pairs');
  backends[0]!.stall();
  // The slow pair's client tries to write 32 MiB, waiting for 'drain' each time its queue is
  // full, until a 'drain' does not come within 2 s.
  const chunk = Buffer.alloc(64 * 1024, 1);
  let written = 0;
  while (written < 512) {
    if (slowClient.send(chunk)) {
      written++;
      continue;
    }
    written++;
    const drained = await Promise.race([
      once(slowClient, 'drain').then(() => true),
      new Promise((r) => setTimeout(r, 2000, false)),
    ]);
    if (!drained) break;
  }
  // It got stuck: the proxy stopped reading it once its queue towards the stalled backend
  // was full, so the kernel's window to the client closed.
  expect(written).toBeLessThan(512);
  expect(proxy.status().pairs[0]!.toBackend.pauses).toBeGreaterThan(0);
  // Meanwhile the other pair goes at full speed.
  const echoes = await exchange(fastClient, messagesFor(1, 500));
  expect(echoes).toHaveLength(500);
  const [slow, fast] = proxy.status().pairs;
  expect(slow!.toBackend.pauses).toBeGreaterThan(0);
  // The fast pair may pause too, briefly, under its own burst: what matters is that it was
  // not held up by the slow one.
  expect(fast!.toBackend.messages).toBe(500);
  expect(fast!.toClient.messages).toBe(500);
  // What the proxy holds for the slow pair is bounded by its queues, not by what was sent.
  expect(slow!.toBackend.bytes).toBeLessThan(16 * 1024 * 1024);
}, 120000);

test.each(['abort', 'reconnect'] as const)(
  'a backend that refuses associations is left out; onBackendFailure %s',
  async (policy) => {
    const alive = await echoBackend('alive');
    const unused = await echoBackend('dead');
    await closeServer(unused.server); // its port now answers INIT with ABORT
    const { proxy, port } = await startProxy([unused, alive], { onBackendFailure: policy });
    const down: string[] = [];
    const refused: string[] = [];
    proxy.on('backendDown', (b) => down.push(b.name));
    proxy.on('clientError', (_c, err) => refused.push((err as Error & { code: string }).code));
    const first = await client(port); // round robin: the dead one first
    const closedFirst = new Promise((r) => (first.closed ? r(null) : first.once('close', r)));
    const second = await client(port);
    if (policy === 'abort') {
      await closedFirst;
      expect(first.errored).toMatchObject({ code: 'ECONNRESET' });
      expect(refused).toEqual(['ECONNREFUSED']);
    } else {
      expect(await exchange(first, messagesFor(0, 5))).toHaveLength(5);
    }
    expect(await exchange(second, messagesFor(1, 5))).toHaveLength(5);
    expect(down).toEqual(['dead']);
    expect(proxy.status().backends).toMatchObject([
      { name: 'dead', healthy: false, failures: 1, associations: 0 },
      { name: 'alive', healthy: true, associations: policy === 'abort' ? 1 : 2 },
    ]);
  },
  60000,
);

test('close() shuts every pair down gracefully, clients first, and calls back once all have closed', async () => {
  const backends = await Promise.all(['a', 'b'].map(echoBackend));
  const { proxy, port } = await startProxy(backends);
  const clients = [await client(port), await client(port)];
  await waitFor(() => proxy.status().pairs.every((p) => p.state === 'relaying'), 10000, 'pairs');
  await Promise.all(clients.map((c, i) => exchange(c, messagesFor(i, 5))));
  const events: string[] = [];
  proxy.on('pairClosed', (p) => events.push(`pairClosed ${p.toBackend.messages}`));
  proxy.on('close', () => events.push('close'));
  const closed = clients.map((c) => new Promise((r) => c.once('close', r)));
  for (const c of clients) c.resume();
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  // By then both sides of both pairs have closed, each pair reported with its counters.
  expect(events).toEqual(['pairClosed 5', 'pairClosed 5', 'close']);
  expect(proxy.status().pairs).toEqual([]);
  await Promise.all(closed);
  for (const c of clients) expect(c.errored).toBeNull();
  // Closing again calls back at once; listening again is refused.
  await new Promise<void>((resolve) => proxy.close(() => resolve()));
  expect(() => proxy.listen({ host: '127.0.0.1', port: 0 })).toThrow(
    expect.objectContaining({ code: 'ERR_SERVER_NOT_RUNNING' }),
  );
  expect(events.filter((e) => e === 'close')).toHaveLength(1);
}, 60000);

test("close() on a proxy that never listened calls back; listen()'s signal closes the proxy", async () => {
  const backends = await Promise.all(['a'].map(echoBackend));
  const idle = createProxy({ backends: [{ host: '127.0.0.1', port: backends[0]!.port }] });
  await new Promise<void>((resolve) => idle.close(() => resolve()));

  const { proxy, port } = await startProxy(backends);
  const c = await client(port);
  await waitFor(() => proxy.status().pairs[0]?.state === 'relaying', 10000, 'pair');
  const abort = new AbortController();
  const proxy2 = createProxy({ backends: [{ host: '127.0.0.1', port: backends[0]!.port }] });
  proxy2.listen({ host: SERVER_ADDRESSES, port: 0, signal: abort.signal });
  await once(proxy2, 'listening');
  const c2 = await client(proxy2.address()!.port);
  await waitFor(() => proxy2.status().pairs[0]?.state === 'relaying', 10000, 'pair 2');
  const gone = new Promise((r) => c2.once('close', r));
  c2.resume();
  const closing = once(proxy2, 'close');
  abort.abort();
  await closing; // the pair went too, not only the listening server
  await gone;
  expect(proxy2.status().pairs).toEqual([]);
  expect(c.destroyed).toBe(false); // the other proxy's client is untouched
}, 60000);

test('createProxy refuses bad options', () => {
  const bad: [unknown, string][] = [
    [{ backends: [] }, 'ERR_INVALID_ARG_VALUE'],
    [{ backends: [{ host: 'nowhere', port: 1 }] }, 'ERR_INVALID_ARG_VALUE'],
    [{ backends: [{ host: '127.0.0.1', port: 0 }] }, 'ERR_OUT_OF_RANGE'],
    [{ backends: [{ host: '127.0.0.1', port: 1 }], policy: 'random' }, 'ERR_INVALID_ARG_VALUE'],
    [
      { backends: [{ host: '127.0.0.1', port: 1 }], onBackendFailure: 'retry' },
      'ERR_INVALID_ARG_VALUE',
    ],
    [{ backends: [{ host: '127.0.0.1', port: 1 }], retryAfter: -1 }, 'ERR_OUT_OF_RANGE'],
    [{ backends: [{ host: '127.0.0.1', port: 1 }], connectTimeout: 0 }, 'ERR_OUT_OF_RANGE'],
    [
      { backends: [{ host: '127.0.0.1', port: 1 }], backendOptions: { noDelay: 'yes' } },
      'ERR_INVALID_ARG_TYPE',
    ],
  ];
  for (const [options, code] of bad) {
    expect(() => createProxy(options as ProxyOptions)).toThrow(expect.objectContaining({ code }));
  }
  const proxy: SctpProxy = createProxy({ backends: [{ host: '127.0.0.1', port: 1 }] });
  expect(proxy.status()).toEqual({
    backends: [{ name: '127.0.0.1:1', healthy: true, associations: 0, failures: 0 }],
    pairs: [],
  });
});
