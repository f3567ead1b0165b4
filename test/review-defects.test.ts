// The defects a review of the socket kinds found, each shown fixed over the real kernel:
// peeloff safety, abort reasons, option validation, graceful close while reading is paused,
// argument checks, unref() and the event contract (see docs/events.md).
import { execFileSync, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { connect, createServer, Socket, type Association, type EndpointOptions } from '../lib';
import { connected, listening, waitFor } from './helpers/net';
import { tracked } from './helpers/tracked';

const open = tracked();
const { endpoint, client } = open;
afterEach(open.cleanup);

/** A server endpoint and its association with a new one-to-one client. */
async function pair(options: EndpointOptions = {}, clientOptions = {}) {
  const server = endpoint(options).listen();
  const up = once(server, 'association');
  const peer = client(server.address()!.port, clientOptions);
  await connected(peer);
  const [association] = (await up) as [Association];
  return { server, peer, association };
}

describe('peeloff', () => {
  test('bad options are refused before the kernel moves the association: it stays usable', async () => {
    const { association, peer } = await pair();
    expect(() => association.peeloff({ maxMessageSize: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(association.state).toBe('up');
    const echo = once(peer, 'message');
    association.send('still here');
    expect(String((await echo)[0])).toBe('still here');
  });

  test('during a message that is still arriving: the peeled socket gets it whole', async () => {
    const { server, peer, association } = await pair(
      { receiveBufferSize: 65536 },
      { sendBufferSize: 16 << 20, streams: { out: 4 } },
    );
    server.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
    const message = Buffer.alloc(4 << 20);
    for (let i = 0; i < message.length; i += 4) message.writeUInt32BE(i, i);
    peer.send(message, { stream: 1 });
    await waitFor(() => server.stats().partialBytes > 0, 30000, 'part of the message read');
    const split = server.stats().partialBytes;
    const socket = association.peeloff();
    open.add(socket);
    expect(server.stats().partialBytes).toBe(0); // the pieces moved with it
    const [data, info] = (await once(socket, 'message')) as [Buffer, { stream: number }];
    console.log(`peeloff mid-message: ${split} of ${message.length} bytes had arrived`);
    expect(info.stream).toBe(1);
    expect(data.length).toBe(message.length);
    expect(data.equals(message)).toBe(true);
    expect(socket.partialBytes).toBe(0);
  });
});

test('abort(reason): only a string or bytes, at most 1024 bytes; a refused reason changes nothing', async () => {
  const { association, peer } = await pair();
  expect(() => association.abort(5 as never)).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
  );
  expect(() => association.abort('x'.repeat(1025))).toThrow(
    expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
  );
  expect(association.state).toBe('up');
  const lost = once(peer, 'error');
  const closedWith = new Promise<Error | undefined>((r) => association.once('close', r));
  association.abort('bye');
  expect((await lost)[0]).toMatchObject({ code: 'ECONNRESET' });
  expect(await closedWith).toBeUndefined(); // asked for: not an error
});

test('setOption/getOption: fields, types and ranges checked against the option layout; options the library owns refused', async () => {
  const { association, peer, server } = await pair();
  const check = (f: () => unknown, code: string) =>
    expect(f).toThrow(expect.objectContaining({ code }));
  check(() => peer.setOption('SCTP_RTOINFO', { intial: 100 }), 'ERR_INVALID_ARG_VALUE'); // typo
  check(() => peer.setOption('SCTP_RTOINFO', { initial: NaN }), 'ERR_OUT_OF_RANGE');
  check(() => peer.setOption('SCTP_RTOINFO', { initial: Infinity }), 'ERR_OUT_OF_RANGE');
  check(() => peer.setOption('SCTP_INITMSG', { outStreams: 70000 }), 'ERR_OUT_OF_RANGE');
  check(() => peer.setOption('SCTP_RTOINFO', { initial: '100' }), 'ERR_INVALID_ARG_TYPE');
  check(() => peer.setOption('SCTP_PRIMARY_ADDR', { address: 5 }), 'ERR_INVALID_ARG_TYPE');
  check(() => peer.getOption('SCTP_STATUS', { asocId: 0 }), 'ERR_INVALID_ARG_VALUE');
  check(() => peer.setOption('SCTP_NO_SUCH', { value: 1 }), 'ERR_INVALID_ARG_VALUE');
  check(() => peer.setOption('SCTP_RECVRCVINFO', { value: 0 }), 'ERR_SCTP_OPTION_RESERVED');
  check(() => server.setOption('SCTP_RECVNXTINFO', { value: 0 }), 'ERR_SCTP_OPTION_RESERVED');
  const ASSOC_CHANGE = 0x8001;
  check(
    () => association.setOption('SCTP_EVENT', { type: ASSOC_CHANGE, on: 0 }),
    'ERR_SCTP_OPTION_RESERVED',
  );
  // What is right still goes through, and what the library depends on still works.
  peer.setOption('SCTP_RTOINFO', { initial: 500 });
  expect(peer.getOption('SCTP_RTOINFO', { assocId: 0 }).initial).toBe(500);
  const got = once(peer, 'message');
  association.send('with info', { stream: 0, ppid: 77 });
  const [, info] = (await got) as [Buffer, { ppid: number }];
  expect(info.ppid).toBe(77);
});

describe('a graceful close does not depend on the application reading', () => {
  test('Socket: end() while the readable side is full completes the SHUTDOWN, no ABORT', async () => {
    const server = createServer();
    open.add(server);
    let serverSide: Socket | undefined;
    server.on('connection', (s) => {
      serverSide = s;
      s.on('error', () => {});
      s.resume(); // its 'end' needs its readable side to flow
      for (let i = 0; i < 500; i++) s.write(Buffer.alloc(512, 7));
    });
    server.listen({ host: '127.0.0.1', port: 0 });
    const port = await listening(server);
    const c = client(port, { shutdownTimeout: 3000, readableHighWaterMark: 4 });
    await connected(c);
    c.pause(); // never read
    await waitFor(() => c.readableLength >= 4, 20000, 'the readable side to fill');
    await waitFor(() => serverSide?.writableLength === 0, 20000, 'the server to have sent all');
    const errors: Error[] = [];
    c.on('error', (e) => errors.push(e));
    const serverEnded = once(serverSide!, 'end');
    c.end();
    await serverEnded; // the peer saw a SHUTDOWN, not an ABORT
    await new Promise((r) => setTimeout(r, 4000)); // past shutdownTimeout
    expect(errors).toEqual([]);
    const closedNow = once(c, 'close');
    c.resume(); // the application reads what was left, then 'end' and 'close'
    await closedNow;
    expect(errors).toEqual([]);
  });

  test('Endpoint: close() while paused completes every SHUTDOWN', async () => {
    const { server, peer, association } = await pair({ shutdownTimeout: 3000 });
    server.pause();
    for (let i = 0; i < 50; i++) peer.send(`unread ${i}`);
    const peerEnded = once(peer, 'end');
    peer.resume();
    const closedWith = new Promise<Error | undefined>((r) => association.once('close', r));
    const start = Date.now();
    const done = new Promise<void>((r) => server.close(r));
    await peerEnded;
    await done;
    expect(await closedWith).toBeUndefined();
    expect(Date.now() - start).toBeLessThan(3000);
  });
});

describe('arguments and small contracts', () => {
  test('empty messages are refused without harm; new Socket(null) is a coded TypeError; AbortSignal look-alikes refused', async () => {
    const { association, peer } = await pair();
    const code = (f: () => unknown, c: string) =>
      expect(f).toThrow(expect.objectContaining({ code: c }));
    code(() => peer.send(''), 'ERR_INVALID_ARG_VALUE');
    code(() => peer.write(Buffer.alloc(0)), 'ERR_INVALID_ARG_VALUE');
    code(() => association.send(new Uint8Array(0)), 'ERR_INVALID_ARG_VALUE');
    code(() => new Socket(null as never), 'ERR_INVALID_ARG_TYPE');
    const fake = { aborted: false, addEventListener() {}, removeEventListener() {} };
    code(() => connect({ port: 9, signal: fake as never }), 'ERR_INVALID_ARG_TYPE');
    // The socket is still fine.
    const got = once(association, 'message');
    peer.send('after');
    expect(String((await got)[0])).toBe('after');
  });

  test('unref() also lets go of the connect timer: a process connecting into a blackhole exits', () => {
    execFileSync('sh', [
      '-c',
      'ip link add ksctp-hole2 type dummy 2>/dev/null; ip addr add 198.51.100.100/24 dev ksctp-hole2 2>/dev/null; ip link set ksctp-hole2 up',
    ]);
    try {
      const lib = path.join(__dirname, '..', 'lib');
      const script = `const s = require(${JSON.stringify(lib)}).connect({ host: '198.51.100.1', port: 9, connectTimeout: 60000 }); s.on('error', () => {}); s.unref();`;
      const start = Date.now();
      const r = spawnSync(process.execPath, ['-e', script], { timeout: 50000 });
      expect(r.status).toBe(0);
      expect(Date.now() - start).toBeLessThan(40000); // not the 60 s connect timeout
    } finally {
      execFileSync('ip', ['link', 'del', 'ksctp-hole2']);
    }
  });

  test("events: Association 'close' on the next tick, Endpoint destroy(err) emits 'error' then 'close', Socket 'shutdown'", async () => {
    const { peer, association } = await pair();
    const order: string[] = [];
    peer.on('shutdown', () => order.push('socket shutdown'));
    association.shutdown();
    await waitFor(() => order.includes('socket shutdown'), 20000, "the socket's 'shutdown'");

    const second = await pair();
    const events: string[] = [];
    second.association.on('close', (err) => events.push(`association close ${err?.message}`));
    second.server.on('error', (err) => events.push(`endpoint error ${err.message}`));
    second.server.on('close', () => events.push('endpoint close'));
    const endpointClosed = new Promise((r) => second.server.once('close', r));
    second.server.destroy(new Error('boom'));
    events.push('sync');
    await endpointClosed;
    expect(events).toEqual([
      'sync',
      'association close boom',
      'endpoint error boom',
      'endpoint close',
    ]);
  });

  test("an association lost while it holds messages delivers them, then one 'close', even if a listener aborts it", async () => {
    const { association, peer } = await pair();
    association.pause();
    for (let i = 0; i < 3; i++) peer.send(`held ${i}`);
    await waitFor(() => association.heldBytes > 0, 20000, 'messages held');
    await new Promise((r) => setTimeout(r, 300)); // all three read and held
    const got: string[] = [];
    let closes = 0;
    association.on('message', (d: Buffer) => {
      got.push(d.toString());
      association.abort(); // already gone: must not close it a second time
    });
    association.on('close', () => closes++);
    peer.destroy(); // ABORT: COMM_LOST at the endpoint
    await waitFor(() => closes > 0, 20000, "the association's 'close'");
    await new Promise((r) => setTimeout(r, 200));
    expect(got).toEqual(['held 0', 'held 1', 'held 2']);
    expect(closes).toBe(1);
  });

  test("a graceful endpoint close(): every association 'close' comes before the endpoint's", async () => {
    const { server, association, peer } = await pair();
    peer.resume();
    const order: string[] = [];
    association.on('close', () => order.push('association'));
    await new Promise<void>((r) =>
      server.close(() => {
        order.push('callback');
        r();
      }),
    );
    expect(order).toEqual(['association', 'callback']);
  });

  test("Socket 'restart', as Association has: the accepted socket reports its peer's restart", async () => {
    const server = createServer();
    open.add(server);
    const accepted = once(server, 'connection');
    server.listen({ host: '127.0.0.1', port: 0 });
    const port = await listening(server);
    const first = client(port, { localAddress: '127.0.0.1' });
    await connected(first);
    const localPort = first.localPort!;
    const [serverSide] = (await accepted) as [Socket];
    serverSide.on('error', () => {});
    const restarted = once(serverSide, 'restart');
    // The peer "crashes": its ABORT is lost, and it comes back on the same port.
    execFileSync('tc', ['qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'loss', '100%']);
    try {
      first.destroy();
    } finally {
      execFileSync('tc', ['qdisc', 'del', 'dev', 'lo', 'root']);
    }
    const second = client(port, { localAddress: '127.0.0.1', localPort });
    await connected(second);
    const [n] = (await restarted) as [{ type: string; state: string }];
    expect(n).toMatchObject({ type: 'assoc_change', state: 'restart' });
    const echo = once(serverSide, 'message');
    second.send('after restart');
    expect(String((await echo)[0])).toBe('after restart');
  });

  test("Server maxConnections: one more association is aborted and reported as 'drop'", async () => {
    const server = createServer({ maxConnections: 1 });
    open.add(server);
    server.on('connection', (s) => s.on('error', () => {}));
    server.listen({ host: '127.0.0.1', port: 0 });
    const port = await listening(server);
    const accepted = once(server, 'connection');
    const first = client(port);
    await connected(first);
    await accepted;
    const dropped = once(server, 'drop');
    const second = client(port);
    const lost = once(second, 'error');
    const [info] = (await dropped) as [{ remotePort: number }];
    expect(info.remotePort).toBe(second.localPort);
    expect((await lost)[0]).toMatchObject({ code: 'ECONNRESET' });
  });
});
