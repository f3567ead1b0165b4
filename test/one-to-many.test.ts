// One-to-many endpoints over the real kernel: many associations on one socket, routing,
// peeloff under traffic, restart, per-association shutdown/abort, autoclose, the association
// cap and interop with lksctp-tools' sctp_test (memory over thousands of associations: churn).
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import {
  Association,
  connect,
  createEndpoint,
  type Endpoint,
  type EndpointMessageInfo,
  type Notification,
  type Socket,
} from '../lib';
import { closed, connected, endAndWait, waitFor } from './helpers/net';

const endpoints: Endpoint[] = [];
function endpoint(options: Parameters<typeof createEndpoint>[0] = {}): Endpoint {
  const ep = createEndpoint({ host: '127.0.0.1', ...options });
  endpoints.push(ep);
  return ep;
}

/** An endpoint that echoes every message on the association, stream and PPID it came on. */
function echoServer(options: Parameters<typeof createEndpoint>[0] = {}): Endpoint {
  const server = endpoint(options).listen();
  server.on('message', (data, info) =>
    info.association?.send(data, { stream: info.stream, ppid: info.ppid }),
  );
  return server;
}

const portOf = (ep: Endpoint) => ep.address()!.port;

/** Everything a child process prints on stdout, once it has exited with status 0. */
async function output(child: import('node:child_process').ChildProcess): Promise<string> {
  let text = '';
  let errors = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (text += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (errors += c));
  const [code] = await once(child, 'exit');
  if (code !== 0) throw new Error(`exit ${code}: ${errors}`);
  return text;
}

const sockets: Socket[] = [];
/** A one-to-one client; its errors are the tests' business only where they await them. */
function socket(options: Parameters<typeof connect>[0]): Socket {
  const s = connect(options);
  s.on('error', () => {});
  sockets.push(s);
  return s;
}

afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const ep of endpoints.splice(0)) ep.destroy();
});

describe('associations on one socket', () => {
  test('one endpoint serves 200 concurrent associations (100 from endpoints, 100 one-to-one); every message reaches its association', async () => {
    const server = endpoint().listen();
    const seen = new Map<number, string[]>();
    server.on('message', (data, info) => {
      const a = info.association!;
      expect(info.assocId).toBe(a.id);
      const list = seen.get(a.id) ?? [];
      list.push(data.toString());
      seen.set(a.id, list);
      a.send(data, { stream: info.stream, ppid: info.ppid });
    });
    const port = portOf(server);
    // Two endpoints have one association between them (it is identified by both ends'
    // addresses and ports), so each of these comes from its own endpoint.
    const viaEndpoint = await Promise.all(
      Array.from({ length: 100 }, () => endpoint({ streams: { out: 4, in: 4 } }).connect({ port })),
    );
    const viaSockets = Array.from({ length: 100 }, () => socket({ host: '127.0.0.1', port }));
    await Promise.all(viaSockets.map(connected));
    // The server reads the COMM_UPs in batches; the clients may be up before it has seen all.
    await waitFor(() => server.associationCount === 200, 60000, '200 associations at the server');

    const rounds = 5;
    const checks = [
      ...viaEndpoint.map(async (a, n) => {
        const got: string[] = [];
        a.on('message', (d: Buffer, info: EndpointMessageInfo) => {
          expect(info.association).toBe(a);
          expect(info.ppid).toBe(n);
          got.push(d.toString());
        });
        for (let r = 0; r < rounds; r++) a.send(`ep${n}/${r}`, { stream: r % 4, ppid: n });
        await waitFor(() => got.length === rounds, 60000, `echoes of endpoint association ${n}`);
        expect(got.sort()).toEqual(Array.from({ length: rounds }, (_, r) => `ep${n}/${r}`));
      }),
      ...viaSockets.map(async (s, n) => {
        const got: string[] = [];
        s.on('message', (d: Buffer) => got.push(d.toString()));
        for (let r = 0; r < rounds; r++) s.send(`sock${n}/${r}`, { ppid: 1000 + n });
        await waitFor(() => got.length === rounds, 60000, `echoes of socket ${n}`);
        expect(got).toEqual(Array.from({ length: rounds }, (_, r) => `sock${n}/${r}`));
      }),
    ];
    await Promise.all(checks);
    // What the server saw per association is exactly one client's messages.
    expect(seen.size).toBe(200);
    for (const list of seen.values()) {
      const owner = list[0]!.split('/')[0];
      expect(list.every((m) => m.split('/')[0] === owner)).toBe(true);
      expect(list).toHaveLength(rounds);
    }
    await Promise.all(viaSockets.map(endAndWait));
  });

  test('connect: address lists on both ends, stream counts, info on the association', async () => {
    const server = echoServer({ host: ['127.0.0.1', '127.0.0.2'] });
    const incoming = once(server, 'association');
    const client = endpoint({ host: ['127.0.0.3', '127.0.0.4'] });
    const a = await client.connect({
      host: ['127.0.0.1', '127.0.0.2'],
      port: portOf(server),
      streams: { out: 7, in: 3 },
    });
    const [b] = (await incoming) as [Association];
    const sorted = (l: { address: string }[]) => l.map((x) => x.address).sort();
    expect(sorted(a.remoteAddresses())).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(sorted(a.localAddresses())).toEqual(['127.0.0.3', '127.0.0.4']);
    expect(sorted(b.remoteAddresses())).toEqual(['127.0.0.3', '127.0.0.4']);
    expect(a.outboundStreams).toBe(7);
    expect(b.inboundStreams).toBe(7);
    expect(a.status()).toMatchObject({ assocId: a.id, state: 'established', outboundStreams: 7 });
    expect(() => a.send('x', { stream: 7 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    // Per-association options: the assocId is filled in.
    a.setOption('SCTP_RTOINFO', { initial: 0, max: 5000, min: 0 });
    expect(a.getOption('SCTP_RTOINFO')).toMatchObject({ assocId: a.id, max: 5000 });
  });

  test('send({ to }) sets up an association implicitly; both ends get it', async () => {
    const server = echoServer();
    const client = endpoint();
    const up = once(client, 'association');
    const message = once(client, 'message');
    client.send('implicit', { to: { host: '127.0.0.1', port: portOf(server) } });
    const [a] = (await up) as [Association];
    const [data, info] = (await message) as [Buffer, EndpointMessageInfo];
    expect(data.toString()).toBe('implicit');
    expect(info.association).toBe(a);
    expect(server.associationCount).toBe(1);
  });

  test('connect errors: ECONNREFUSED, ETIMEDOUT into a blackhole, AbortSignal, closed endpoint', async () => {
    const client = endpoint({ maxInitAttempts: 1 });
    await expect(client.connect({ port: 9 })).rejects.toMatchObject({
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '127.0.0.1',
      port: 9,
    });
    // 192.0.2.1 routes into a dummy interface, where the INIT is dropped.
    execFileSync('sh', [
      '-c',
      'ip link add ksctp-hole type dummy 2>/dev/null; ip addr add 192.0.2.100/24 dev ksctp-hole 2>/dev/null; ip link set ksctp-hole up',
    ]);
    try {
      const v4 = endpoint({ host: '0.0.0.0' });
      await expect(v4.connect({ host: '192.0.2.1', port: 9, timeout: 500 })).rejects.toMatchObject({
        code: 'ETIMEDOUT',
      });
      const controller = new AbortController();
      const pending = v4.connect({ host: '192.0.2.1', port: 9, signal: controller.signal });
      controller.abort();
      await expect(pending).rejects.toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
      v4.close();
      await expect(v4.connect({ host: '192.0.2.1', port: 9 })).rejects.toMatchObject({
        code: 'ERR_SOCKET_CLOSED',
      });
    } finally {
      execFileSync('ip', ['link', 'del', 'ksctp-hole']);
    }
  });

  test('async iteration: on the endpoint and on an association', async () => {
    const server = endpoint().listen();
    const client = endpoint();
    const incoming = once(server, 'association');
    const a = await client.connect({ port: portOf(server) });
    const [peer] = (await incoming) as [Association];
    for (let i = 0; i < 200; i++) a.send(`n${i}`);
    const got: string[] = [];
    for await (const { data, info } of server.messages()) {
      expect(info.association).toBeInstanceOf(Association);
      got.push(data.toString());
      if (got.length === 200) break;
    }
    expect(got).toEqual(Array.from({ length: 200 }, (_, i) => `n${i}`));
    expect(server.association(peer.id)).toBe(peer);
    // The association's iterator ends when the association does.
    peer.send('last');
    const fromPeer: string[] = [];
    const iterating = (async () => {
      for await (const { data } of a.messages()) fromPeer.push(data.toString());
    })();
    await waitFor(() => fromPeer.length === 1);
    peer.shutdown();
    await iterating;
    expect(fromPeer).toEqual(['last']);
    expect(a.state).toBe('closed');
  });
});

describe('per-connect settings and iterators', () => {
  test('streams given to one connect() apply to that association only', async () => {
    const client = endpoint({ streams: { out: 5, in: 5 } });
    const a = await client.connect({ port: portOf(echoServer()), streams: { out: 3 } });
    const b = await client.connect({ port: portOf(echoServer()) });
    expect(a.outboundStreams).toBe(3);
    expect(b.outboundStreams).toBe(5);
  });

  test("an association's iterator ends when it is peeled off; the socket carries on", async () => {
    const server = echoServer();
    const client = endpoint();
    const a = await client.connect({ port: portOf(server) });
    a.send('one');
    const seen: string[] = [];
    for await (const { data } of a.messages()) {
      seen.push(data.toString());
      const socket = a.peeloff(); // inside the loop: the iterator then ends
      const echo = once(socket, 'message');
      socket.write('two');
      seen.push(((await echo)[0] as Buffer).toString());
      sockets.push(socket);
    }
    expect(seen).toEqual(['one', 'two']);
    expect(a.state).toBe('peeled_off');
    expect(() => a.send('x')).toThrow(expect.objectContaining({ code: 'ERR_SOCKET_CLOSED' }));
  });
});

describe('ending one association', () => {
  test('shutdown() and abort() of one association leave the others untouched', async () => {
    const server = echoServer();
    const serverSide = new Map<number, Association>();
    server.on('association', (a: Association) => serverSide.set(a.remoteAddresses()[0]!.port, a));
    const clients = [endpoint(), endpoint(), endpoint()];
    const [a, b, c] = await Promise.all(clients.map((ep) => ep.connect({ port: portOf(server) })));
    await waitFor(() => serverSide.size === 3);
    const sideOf = (x: Association) => serverSide.get(x.localAddresses()[0]!.port)!;

    // Graceful: both ends close without an error.
    const aClosed = once(a!, 'close');
    const aServerClosed = once(sideOf(a!), 'close');
    sideOf(a!).shutdown();
    expect(await aClosed).toEqual([undefined]);
    expect(await aServerClosed).toEqual([undefined]);

    // ABORT with a reason: the peer's association closes with ECONNRESET.
    const bClosed = once(b!, 'close');
    const bNotes: Notification[] = [];
    b!.on('notification', (n) => bNotes.push(n));
    sideOf(b!).abort('going away');
    const [err] = (await bClosed) as [Error & { code: string }];
    expect(err.code).toBe('ECONNRESET');
    const lost = bNotes.find((n) => n.type === 'assoc_change');
    expect(lost).toMatchObject({ state: 'comm_lost' });
    // Too late is a failed send, not an exception: the peer may end an association any time.
    const late = new Promise<Error | null | undefined>((r) =>
      expect(b!.send('x', {}, r)).toBe(false),
    );
    expect(await late).toMatchObject({ code: 'ERR_SOCKET_CLOSED' });

    // The third one still works.
    const echo = once(c!, 'message');
    c!.send('still here');
    expect(((await echo)[0] as Buffer).toString()).toBe('still here');
    expect(server.associationCount).toBe(1);
  });

  test('peer restart: the same Association reports it and carries the new association', async () => {
    const server = echoServer();
    const incoming = once(server, 'association');
    const first = socket({ host: '127.0.0.1', port: portOf(server), localAddress: '127.0.0.1' });
    await connected(first);
    const localPort = first.localPort!;
    const [a] = (await incoming) as [Association];
    const restarts: Notification[] = [];
    a!.on('restart', (n) => restarts.push(n));
    // The peer "crashes": its ABORT is lost (loopback drops everything for a moment), so
    // the server still holds the association when the peer comes back on the same port.
    execFileSync('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'loss', '100%']);
    try {
      first.destroy();
      await closed(first);
    } finally {
      execFileSync('tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
    }
    const second = socket({
      host: '127.0.0.1',
      port: portOf(server),
      localAddress: '127.0.0.1',
      localPort,
    });
    await connected(second);
    await waitFor(() => restarts.length === 1, 30000, 'the restart notification');
    expect(restarts[0]).toMatchObject({ type: 'assoc_change', state: 'restart', assocId: a!.id });
    expect(server.associationCount).toBe(1);
    const routed = once(a!, 'message');
    const echo = once(second, 'message');
    second.send('after restart');
    expect(((await routed)[0] as Buffer).toString()).toBe('after restart');
    expect(((await echo)[0] as Buffer).toString()).toBe('after restart');
    await endAndWait(second);
  });

  test('autoClose: the kernel closes an idle association gracefully', async () => {
    const server = echoServer({ autoClose: 1 });
    const client = endpoint();
    // Timed from before connect(): the kernel's 1 s timer starts no earlier than the
    // association, and a starved event loop can deliver the echo late but not early.
    const started = Date.now();
    const a = await client.connect({ port: portOf(server) });
    const echo = once(a, 'message');
    a.send('then silence');
    await echo;
    expect(await once(a, 'close')).toEqual([undefined]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    await waitFor(() => server.associationCount === 0);
  });

  test('maxAssociations: one more incoming association is aborted and reported as drop', async () => {
    const server = echoServer({ maxAssociations: 2 });
    const drops: unknown[] = [];
    server.on('drop', (d) => drops.push(d));
    const ok = [
      socket({ host: '127.0.0.1', port: portOf(server) }),
      socket({ host: '127.0.0.1', port: portOf(server) }),
    ];
    await Promise.all(ok.map(connected));
    const third = socket({ host: '127.0.0.1', port: portOf(server) });
    third.on('error', () => {});
    await closed(third);
    expect(drops).toEqual([
      {
        assocId: expect.any(Number),
        remoteAddresses: [expect.objectContaining({ address: '127.0.0.1' })],
      },
    ]);
    expect(server.associationCount).toBe(2);
    // The limit holds for outgoing associations too.
    const capped = endpoint({ maxAssociations: 1 });
    await capped.connect({ port: portOf(echoServer()) });
    await expect(capped.connect({ port: portOf(echoServer()) })).rejects.toMatchObject({
      code: 'ERR_SCTP_ASSOCIATION_LIMIT',
    });
    await Promise.all(ok.map(endAndWait));
  });
});

describe('peeloff', () => {
  test('mid-stream, with traffic both ways: nothing lost, duplicated or reordered', async () => {
    const server = endpoint({ streams: { out: 2, in: 2 } }).listen();
    const client = socket({ host: '127.0.0.1', port: portOf(server), streams: { out: 2, in: 2 } });
    const [a] = (await once(server, 'association')) as [Association];
    await connected(client);
    const total = 2000;
    const peelAt = 300;
    // Server side: what arrived, in arrival order, before and after the peeloff.
    const atServer: number[][] = [[], []];
    let peeled = null as Socket | null;
    const onServerMessage = (data: Buffer, info: { stream: number }) => {
      atServer[info.stream]!.push(data.readUInt32BE(0));
      if (!peeled && atServer[0]!.length + atServer[1]!.length === peelAt) {
        // Inside a 'message' handler, in the middle of a read batch.
        peeled = a.peeloff();
        peeled.on('message', onServerMessage);
      }
    };
    a.on('message', onServerMessage);
    // Server -> client traffic, through the association and then through the socket.
    let serverSent = 0;
    const serverSending = (async () => {
      while (serverSent < total) {
        const buf = Buffer.alloc(64);
        buf.writeUInt32BE(serverSent, 0);
        const stream = serverSent % 2;
        const ok = peeled ? peeled.send(buf, { stream }) : a.send(buf, { stream });
        serverSent++;
        if (serverSent % 50 === 0 || !ok) await new Promise((r) => setTimeout(r, 5));
      }
    })();
    const atClient: number[][] = [[], []];
    client.on('message', (d: Buffer, info) => atClient[info.stream]!.push(d.readUInt32BE(0)));
    for (let i = 0; i < total; i++) {
      const buf = Buffer.alloc(64);
      buf.writeUInt32BE(i, 0);
      if (!client.send(buf, { stream: i % 2 })) await once(client, 'drain');
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await serverSending;
    const count = (x: number[][]) => x[0]!.length + x[1]!.length;
    await waitFor(() => count(atServer) === total && count(atClient) === total, 120000, 'all');
    expect(peeled).not.toBeNull();
    expect(a.state).toBe('peeled_off');
    expect(server.associationCount).toBe(0);
    for (const seen of [atServer, atClient]) {
      for (const stream of [0, 1]) {
        const expected = Array.from({ length: total / 2 }, (_, i) => i * 2 + stream);
        expect(seen[stream]).toEqual(expected);
      }
    }
    await endAndWait(client);
    await closed(peeled!);
  });
});

describe('interop with lksctp-tools sctp_test (one-to-many)', () => {
  const bswap = (n: number) => Buffer.from(Uint32Array.of(n).buffer).readUInt32BE(0);

  test('sctp_test as the client of our endpoint: sizes, payload pattern and PPIDs as sent', async () => {
    const server = endpoint().listen();
    const got: { data: Buffer; ppid: number }[] = [];
    server.on('message', (data, info) => got.push({ data, ppid: info.ppid }));
    // (Not execFileSync: the endpoint must keep reading while sctp_test sends.)
    const out = await output(
      spawn('sctp_test', [
        ...['-H', '127.0.0.1', '-P', '0', '-h', '127.0.0.1', '-p', `${portOf(server)}`],
        ...['-s', '-c', '3', '-x', '2', '-o', '1'],
      ]),
    );
    // sctp_test prints each send as "sendmsg(...) N bytes." then "SNDRCV(... ppid=P"; it
    // puts its random PPID into the field as is, so on the wire (and for us) it is byte-swapped.
    const sent = [
      ...out.matchAll(
        /sendmsg\(sk=\d+, assoc=\d+\)\s+(\d+) bytes\.\s+SNDRCV\(stream=\d+ flags=0x\w+ ppid=(\d+)/g,
      ),
    ].map((m) => ({ size: Number(m[1]), ppid: Number(m[2]) }));
    expect(sent.length).toBeGreaterThanOrEqual(6);
    await waitFor(() => got.length === sent.length, 30000, 'every message from sctp_test');
    for (let i = 0; i < sent.length; i++) {
      const { data, ppid } = got[i]!;
      expect(data.length).toBe(sent[i]!.size);
      expect(ppid).toBe(bswap(sent[i]!.ppid));
      // Its pattern: "0123456789" repeated, the last byte NUL.
      const pattern = Buffer.alloc(data.length, '0123456789');
      pattern[data.length - 1] = 0;
      expect(data.equals(pattern)).toBe(true);
    }
  });

  test('our endpoint as the client of sctp_test -l: it prints each message as we sent it', async () => {
    const port = 40000 + (process.pid % 20000);
    const child = spawn('stdbuf', ['-oL', 'sctp_test', '-H', '127.0.0.1', '-P', `${port}`, '-l'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
    try {
      await waitFor(() => output.includes('Receiving packets'), 30000, 'sctp_test to listen');
      const client = endpoint();
      const a = await client.connect({ port });
      const sizes = [1, 1452, 1453, 32768];
      sizes.forEach((n, i) => a.send(Buffer.alloc(n, 'bcde'[i]!), { ppid: bswap(1000 + i) }));
      await waitFor(() => (output.match(/Data \d+ bytes/g) ?? []).length === sizes.length);
      const seen = [...output.matchAll(/Data (\d+) bytes\. First \d+ bytes: (\S+)/g)].map((m) => [
        Number(m[1]),
        m[2]![0],
      ]);
      expect(seen).toEqual(sizes.map((n, i) => [n, 'bcde'[i]]));
      expect([...output.matchAll(/ppid=(\d+)/g)].map((m) => Number(m[1]))).toEqual([
        1001, 1002, 1003,
      ]);
      a.shutdown();
      await once(a, 'close');
      await waitFor(() => output.includes('SHUTDOWN_COMPLETE'));
    } finally {
      child.kill('SIGKILL');
    }
  });
});
