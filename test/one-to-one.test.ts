// The one-to-one API over the real kernel: address families, message sizes, metadata,
// backpressure, SHUTDOWN vs ABORT, connection errors.
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  connect,
  createServer,
  type MessageInfo,
  type Notification,
  type Server,
  type Socket,
  type SocketOptions,
} from '../lib';
import {
  closeServer,
  closed,
  connected,
  endAndWait,
  listening,
  nextError,
  waitFor,
} from './helpers/net';

interface Harness {
  server: Server;
  port: number;
  accepted: Socket[];
}

/** An echo server; `echo: false` makes it only collect what arrives. */
async function startServer(
  host: string | string[],
  options: SocketOptions = {},
  echo = true,
): Promise<Harness> {
  const accepted: Socket[] = [];
  const server = createServer(options, (socket) => {
    accepted.push(socket);
    socket.on('error', () => {}); // the tests look at errors where they expect them
    if (echo)
      socket.on('message', (data, info) =>
        socket.send(data, { stream: info.stream, ppid: info.ppid }),
      );
  });
  server.listen({ host, port: 0 });
  return { server, port: await listening(server), accepted };
}

async function echoOnce(
  socket: Socket,
  data: Buffer,
  opts = {},
): Promise<{ data: Buffer; info: MessageInfo }> {
  const reply = once(socket, 'message');
  socket.send(data, opts);
  const [d, info] = await reply;
  return { data: d, info };
}

const sorted = (list: { address: string }[]) => list.map((a) => a.address).sort();

describe('address families', () => {
  test('IPv4', async () => {
    const h = await startServer('127.0.0.1');
    const c = connect({ host: '127.0.0.1', port: h.port });
    await connected(c);
    expect((await echoOnce(c, Buffer.from('v4'))).data.toString()).toBe('v4');
    expect(c.remoteAddresses()).toEqual([{ address: '127.0.0.1', family: 'IPv4', port: h.port }]);
    expect(c.remoteFamily).toBe('IPv4');
    await endAndWait(c);
    await closeServer(h.server);
  });

  test('IPv6', async () => {
    const h = await startServer('::1');
    const c = connect({ host: '::1', port: h.port });
    await connected(c);
    expect((await echoOnce(c, Buffer.from('v6'))).data.toString()).toBe('v6');
    expect(c.remoteAddresses()).toEqual([{ address: '::1', family: 'IPv6', port: h.port }]);
    expect(h.accepted[0]!.remoteAddresses()[0]!.address).toBe('::1');
    await endAndWait(c);
    await closeServer(h.server);
  });

  test('mixed IPv4/IPv6 multihoming: 127.0.0.1 + 127.0.0.2 + ::1 on both ends', async () => {
    const h = await startServer(['127.0.0.1', '127.0.0.2', '::1']);
    expect(sorted(h.server.address()!.addresses)).toEqual(['127.0.0.1', '127.0.0.2', '::1']);
    const c = connect({
      host: ['127.0.0.1', '127.0.0.2', '::1'],
      port: h.port,
      localAddress: ['127.0.0.3', '127.0.0.4', '::1'],
    });
    await connected(c);
    expect((await echoOnce(c, Buffer.from('mixed'))).data.toString()).toBe('mixed');
    expect(sorted(c.remoteAddresses())).toEqual(['127.0.0.1', '127.0.0.2', '::1']);
    expect(sorted(c.localAddresses())).toEqual(['127.0.0.3', '127.0.0.4', '::1']);
    const s = h.accepted[0]!;
    expect(sorted(s.remoteAddresses())).toEqual(['127.0.0.3', '127.0.0.4', '::1']);
    expect(sorted(s.localAddresses())).toEqual(['127.0.0.1', '127.0.0.2', '::1']);
    expect(c.status().state).toBe('established');
    await endAndWait(c);
    await closeServer(h.server);
  });
});

describe('messages', () => {
  let h: Harness;
  let c: Socket;
  beforeAll(async () => {
    // A message must fit the sender's buffer: 4 MiB (root may exceed net.core.wmem_max).
    const big = { sendBufferSize: 4 << 20, receiveBufferSize: 4 << 20 };
    h = await startServer('127.0.0.1', { streams: { out: 16, in: 16 }, ...big });
    c = connect({ host: '127.0.0.1', port: h.port, streams: { out: 4, in: 16 }, ...big });
    await connected(c);
  });
  afterAll(async () => {
    await endAndWait(c);
    await closeServer(h.server);
  });

  test.each([1, 1452, 1453, 65536, 1024 * 1024])(
    'a %i-byte message arrives whole',
    async (size) => {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 13 + size) & 0xff;
      const echo = await echoOnce(c, data);
      expect(echo.data.length).toBe(size);
      expect(echo.data.equals(data)).toBe(true);
    },
  );

  test('a burst of short and long messages arrives whole and in order, each with its own info', async () => {
    // Reads come in batches: short messages (under 4 KiB) share one buffer per batch, longer
    // ones get their own, so keeping a long message never keeps others alive and vice versa.
    const sizes = [1, 100, 4095, 4096, 20_000, 7, 1453, 64, 70_000, 3];
    const sent = Array.from({ length: 200 }, (_, i) => {
      const size = sizes[i % sizes.length]!;
      const b = Buffer.alloc(size);
      for (let j = 0; j < size; j++) b[j] = (i + j * 7) & 0xff;
      return b;
    });
    const echoes: { data: Buffer; info: MessageInfo }[] = [];
    const onMessage = (data: Buffer, info: MessageInfo) => echoes.push({ data, info });
    c.on('message', onMessage);
    sent.forEach((b, i) => c.send(b, { stream: 1, ppid: i }));
    await waitFor(() => echoes.length === sent.length, 60000, 'the echoes');
    c.off('message', onMessage);
    echoes.forEach((e, i) => {
      expect(e.info).toMatchObject({ stream: 1, ppid: i });
      expect(e.data.equals(sent[i]!)).toBe(true);
    });
    for (const e of echoes.filter((x) => x.data.length >= 4096)) {
      expect(e.data.byteLength).toBe(e.data.buffer.byteLength);
    }
    const sharing = echoes.filter((x) => x.data.buffer.byteLength > x.data.length);
    expect(sharing.length).toBeGreaterThan(0);
    expect(sharing.every((x) => x.data.length < 4096)).toBe(true);
    // Transferring a shared buffer would empty the other messages: it is not detached (Node
    // 20 copies it instead, later versions refuse the transfer).
    const shared = sharing[0]!.data;
    try {
      const buffer = shared.buffer as ArrayBuffer;
      structuredClone(buffer, { transfer: [buffer] });
    } catch {
      // DataCloneError: refused, which is as good
    }
    expect(shared.equals(sent[echoes.indexOf(sharing[0]!)]!)).toBe(true);
  });

  test('stream, PPID and unordered come through; PPID is in host byte order', async () => {
    const echo = await echoOnce(c, Buffer.from('meta'), { stream: 3, ppid: 0x01020304 });
    expect(echo.info.stream).toBe(3);
    expect(echo.info.ppid).toBe(0x01020304);
    const got = once(h.accepted[0]!, 'message');
    c.send('unordered', { stream: 2, unordered: true, ppid: 0xffffffff });
    const [data, info] = (await got) as [Buffer, MessageInfo];
    expect(data.toString()).toBe('unordered');
    expect(info).toMatchObject({ stream: 2, unordered: true, ppid: 0xffffffff });
    await once(c, 'message'); // its echo
  });

  test('the receiver context (SCTP_CONTEXT) is reported with each message', async () => {
    const s = h.accepted[0]!;
    s.setOption('SCTP_CONTEXT', { assocId: 0, value: 4242 });
    const got = once(s, 'message');
    c.send('ctx');
    expect(((await got)[1] as MessageInfo).context).toBe(4242);
    await once(c, 'message');
  });

  test('the association negotiated 4 outbound streams; stream 4 is refused clearly', () => {
    expect(c.status().outboundStreams).toBe(4);
    expect(() => c.send('x', { stream: 4 })).toThrow(
      expect.objectContaining({
        code: 'ERR_OUT_OF_RANGE',
        message: expect.stringContaining('negotiated'),
      }),
    );
    expect(c.destroyed).toBe(false);
  });

  test('status() reports the association and its primary path', () => {
    const s = c.status();
    expect(s.state).toBe('established');
    expect(s.inboundStreams).toBe(16);
    expect(s.primary.address).toEqual({ address: '127.0.0.1', family: 'IPv4', port: h.port });
    expect(s.primary.state).toBe('active');
    expect(s.primary.mtu).toBeGreaterThan(1000);
    expect(s.primary.cwnd).toBeGreaterThan(0);
    expect(s.primary.rto).toBeGreaterThan(0);
    expect(s.rwnd).toBeGreaterThan(0);
  });

  test('async iteration yields messages with their info', async () => {
    c.send('it-1', { stream: 1 });
    c.send('it-2', { stream: 1 });
    const seen: string[] = [];
    for await (const { data, info } of c.messages({ destroyOnReturn: false })) {
      seen.push(`${data}@${info.stream}`);
      if (seen.length === 2) break;
    }
    expect(seen).toEqual(['it-1@1', 'it-2@1']);
    // destroyOnReturn: false: leaving the loop kept the socket open.
    expect((await echoOnce(c, Buffer.from('still-open'))).data.toString()).toBe('still-open');
  });
});

describe('maximum message size', () => {
  test('a message above maxMessageSize is a fatal EMSGSIZE error; memory stays bounded', async () => {
    const h = await startServer('127.0.0.1', { maxMessageSize: 100_000 }, false);
    const c = connect({ host: '127.0.0.1', port: h.port, sendBufferSize: 4 << 20 });
    c.on('error', () => {}); // it will be aborted
    await connected(c);
    await waitFor(() => h.accepted.length === 1);
    const s = h.accepted[0]!;
    s.removeAllListeners('error');
    const error = nextError(s);
    const bothClosed = Promise.all([closed(s), closed(c)]);
    const sizes: number[] = [];
    s.on('message', (d: Buffer) => sizes.push(d.length));
    const before = process.memoryUsage().rss;
    c.send(Buffer.alloc(100_000, 1)); // exactly the maximum: delivered
    c.send(Buffer.alloc(3 * 1024 * 1024, 2)); // too large: refused while it arrives
    const err = await error;
    expect(err.code).toBe('EMSGSIZE');
    expect(err.message).toContain('maxMessageSize (100000 bytes)');
    expect(sizes).toEqual([100_000]);
    // The oversized message was never held whole (the sender's 3 MiB buffer is ours too).
    expect(process.memoryUsage().rss - before).toBeLessThan(8 * 1024 * 1024);
    await bothClosed; // the peer was aborted
    await closeServer(h.server);
  });
});

describe('backpressure', () => {
  test('a fast writer against a paused reader sees write() === false and drain; nothing is lost', async () => {
    // The messages queued behind the full buffer go out in sendmmsg batches: each must keep
    // its own stream and PPID.
    const h = await startServer('127.0.0.1', { receiveBufferSize: 65536 }, false);
    const c = connect({
      host: '127.0.0.1',
      port: h.port,
      sendBufferSize: 65536,
      streams: { out: 4, in: 4 },
    });
    await connected(c);
    await waitFor(() => h.accepted.length === 1);
    const s = h.accepted[0]!;
    s.pause();
    const total = 3000;
    const size = 1000;
    let sent = 0;
    let sawFalse = false;
    let drains = 0;
    c.on('drain', () => drains++);
    const sendAll = async () => {
      while (sent < total) {
        const buf = Buffer.alloc(size, sent & 0xff);
        buf.writeUInt32BE(sent, 0);
        const ok = c.send(buf, { stream: sent % 4, ppid: 1000 + sent });
        sent++;
        if (!ok) {
          sawFalse = true;
          await once(c, 'drain');
        }
      }
    };
    const sending = sendAll();
    await waitFor(() => sawFalse, 60000, 'write() to return false');
    const received: { n: number; stream: number; ppid: number }[] = [];
    s.on('message', (d: Buffer, info: MessageInfo) => {
      expect(d.length).toBe(size);
      expect(d[size - 1]).toBe(d.readUInt32BE(0) & 0xff);
      received.push({ n: d.readUInt32BE(0), stream: info.stream, ppid: info.ppid });
    });
    s.resume();
    await sending;
    await waitFor(() => received.length === total, 120000, 'all messages');
    expect(drains).toBeGreaterThan(0);
    expect(new Set(received.map((r) => r.n)).size).toBe(total);
    expect(received.filter((r) => r.stream !== r.n % 4 || r.ppid !== 1000 + r.n)).toEqual([]);
    for (let stream = 0; stream < 4; stream++) {
      const order = received.filter((r) => r.stream === stream).map((r) => r.n);
      expect(order).toEqual([...order].sort((a, b) => a - b));
    }
    await endAndWait(c);
    await closeServer(h.server);
  });
});

describe('as a stream', () => {
  test('piped into a slow writable, pausing and resuming mid-stream: every message, in order', async () => {
    const h = await startServer('127.0.0.1', { receiveBufferSize: 65536 }, false);
    try {
      const c = connect({ host: '127.0.0.1', port: h.port });
      await connected(c);
      await waitFor(() => h.accepted.length === 1);
      const s = h.accepted[0]!;
      const total = 3000;
      const seen: number[] = [];
      let written = 0;
      const slow = new Writable({
        objectMode: true,
        highWaterMark: 4,
        write(chunk: Buffer, _encoding, callback) {
          seen.push(chunk.readUInt32BE(0));
          // Every 500th message takes a while: the pipe backs up into the socket and the
          // kernel's window, and flows again on 'drain'.
          if (++written % 500 === 0) setTimeout(callback, 50);
          else setImmediate(callback);
        },
      });
      const piped = pipeline(s, slow);
      for (let n = 0; n < total; n++) {
        const buf = Buffer.alloc(200);
        buf.writeUInt32BE(n, 0);
        if (!c.send(buf)) await once(c, 'drain');
        if (n === 1000) {
          s.pause(); // as a user would, while data flows into the pipe
          setTimeout(() => s.resume(), 20);
        }
      }
      await waitFor(() => seen.length === total, 120000, 'every message through the pipe');
      expect(seen).toEqual(Array.from({ length: total }, (_, n) => n));
      expect(s.readableDidRead).toBe(true);
      await endAndWait(c);
      await piped;
    } finally {
      await closeServer(h.server);
    }
  });
});

describe('defaults that keep small messages flowing', () => {
  test('sender_dry notifications are opt-in: only a socket with senderDry gets them', async () => {
    const h = await startServer('127.0.0.1', {}, false);
    try {
      const types = (s: Socket) => {
        const seen: string[] = [];
        s.on('notification', (n: Notification) => seen.push(n.type));
        return seen;
      };
      const withDry = connect({ host: '127.0.0.1', port: h.port, senderDry: true });
      const plain = connect({ host: '127.0.0.1', port: h.port });
      const seen = { withDry: types(withDry), plain: types(plain) };
      await Promise.all([connected(withDry), connected(plain)]);
      await waitFor(() => h.accepted.length === 2);
      let received = 0;
      for (const s of h.accepted) s.on('message', () => received++);
      // A burst without reading in between, as a fast sender does.
      for (let i = 0; i < 500; i++) {
        withDry.send(Buffer.alloc(100));
        plain.send(Buffer.alloc(100));
      }
      await waitFor(() => received === 1000);
      // Everything acknowledged (the kernel's delayed SACK is 200 ms): dry by now.
      await waitFor(() => withDry.status().unackedData === 0 && plain.status().unackedData === 0);
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.withDry).toContain('sender_dry');
      expect(seen.plain).not.toContain('sender_dry');
      expect(seen.plain).toContain('assoc_change'); // the other notifications still come
      await Promise.all([endAndWait(withDry), endAndWait(plain)]);
    } finally {
      await closeServer(h.server);
    }
  });

  test('an accepted socket has its server options, which the kernel copied from the listener', async () => {
    const options = {
      noDelay: false,
      senderDry: true,
      sendBufferSize: 262144,
      receiveBufferSize: 131072,
      streams: { out: 7, in: 7 },
    };
    const h = await startServer('127.0.0.1', options, false);
    try {
      const client = connect({ host: '127.0.0.1', port: h.port, ...options });
      await connected(client);
      await waitFor(() => h.accepted.length === 1);
      const s = h.accepted[0]!;
      expect(s.getOption('SCTP_NODELAY').value).toBe(0);
      for (const name of ['SO_SNDBUF', 'SO_RCVBUF']) {
        expect(s.getOption(name).value).toBe(client.getOption(name).value);
      }
      expect([s.outboundStreams, s.inboundStreams]).toEqual([7, 7]);
      expect(s.assocId).toBeGreaterThan(0);
      // Its subscriptions too: receive info, the opt-in sender_dry notification.
      const dry = once(s, 'notification').then(function wait([n]): unknown {
        return (n as Notification).type === 'sender_dry' ? n : once(s, 'notification').then(wait);
      });
      const got = once(s, 'message');
      client.send(Buffer.from('hello'), { stream: 6, ppid: 46 });
      const [data, info] = (await got) as [Buffer, MessageInfo];
      expect([data.toString(), info.stream, info.ppid]).toEqual(['hello', 6, 46]);
      s.send(Buffer.from('back'));
      await dry;
      await endAndWait(client);
    } finally {
      await closeServer(h.server);
    }
  });

  test('the receive buffer asked for by default is the most the kernel grants without privilege', async () => {
    const h = await startServer('127.0.0.1');
    try {
      const sysctl = (name: string) =>
        Number(execFileSync('cat', [`/proc/sys/net/core/${name}`], { encoding: 'utf8' }));
      // The kernel doubles what it grants (bookkeeping overhead) and caps the request at
      // rmem_max; the library asks for 1 MiB unless the system default is larger already.
      const expected = Math.max(sysctl('rmem_default'), Math.min(1 << 20, sysctl('rmem_max')) * 2);
      const client = connect({ host: '127.0.0.1', port: h.port });
      await connected(client);
      await waitFor(() => h.accepted.length === 1);
      expect(client.getOption('SO_RCVBUF').value).toBe(expected);
      expect(h.accepted[0]!.getOption('SO_RCVBUF').value).toBe(expected);
      // The server's window comes from its listening socket's buffer when the association
      // is set up (half of it): what the client sees as the peer's window before any data.
      expect(client.status().rwnd).toBe(expected / 2);
      expect(expected).toBeGreaterThanOrEqual(sysctl('rmem_default'));
      // An explicit size still wins.
      const small = connect({ host: '127.0.0.1', port: h.port, receiveBufferSize: 65536 });
      await connected(small);
      expect(small.getOption('SO_RCVBUF').value).toBe(131072);
      await Promise.all([endAndWait(client), endAndWait(small)]);
    } finally {
      await closeServer(h.server);
    }
  });
});

describe('PR-SCTP', () => {
  test('messages whose ttl expires behind a closed window come back as sendFailed with their context and payload', async () => {
    const h = await startServer('127.0.0.1', { receiveBufferSize: 32768 }, false);
    const c = connect({ host: '127.0.0.1', port: h.port, sendBufferSize: 1 << 20 });
    await connected(c);
    await waitFor(() => h.accepted.length === 1);
    const s = h.accepted[0]!;
    s.pause(); // the receiver's window closes; the rest waits in the sender's queue
    const total = 300;
    const payload = (i: number) => {
      const b = Buffer.alloc(1000, i & 0xff);
      b.writeUInt32BE(i, 0);
      return b;
    };
    const failed = new Map<number, Buffer | undefined>();
    const sentFlags = new Set<boolean>();
    c.on('sendFailed', (n) => {
      sentFlags.add(n.unsent);
      failed.set(n.context, n.data);
    });
    for (let i = 1; i <= total; i++) c.send(payload(i), { context: i, ttl: 300 });
    await new Promise((r) => setTimeout(r, 1500)); // every ttl has run out
    const received = new Set<number>();
    s.on('message', (d: Buffer) => received.add(d.readUInt32BE(0)));
    s.resume();
    // Linux (6.1) reports the messages it abandons before sending them; those it abandons
    // after a transmission (dropped by the full receiver, then expired) vanish silently, as
    // PR-SCTP allows. So: the reported ones carry the context and payload they were sent
    // with, none of them was delivered, and what was delivered came in order.
    for (let last = -1; ;) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = received.size + failed.size;
      if (now === last && failed.size > 0) break; // settled
      last = now;
    }
    expect([...sentFlags]).toEqual([true]);
    expect(received.size).toBeGreaterThan(0);
    expect(received.size + failed.size).toBeLessThanOrEqual(total);
    expect([...received]).toEqual([...received].sort((a, b) => a - b));
    for (const [context, data] of failed) {
      expect(context).toBeGreaterThanOrEqual(1);
      expect(context).toBeLessThanOrEqual(total);
      expect(received.has(context)).toBe(false);
      expect(data).toEqual(payload(context));
    }
    await endAndWait(c);
    await closeServer(h.server);
  });
});

describe('SHUTDOWN vs ABORT, as the peer sees them', () => {
  async function pair() {
    const h = await startServer('127.0.0.1', {}, false);
    const c = connect({ host: '127.0.0.1', port: h.port });
    await connected(c);
    await waitFor(() => h.accepted.length === 1);
    const s = h.accepted[0]!;
    s.removeAllListeners('error');
    const notifications: Notification[] = [];
    s.on('notification', (n) => notifications.push(n));
    return { h, c, s, notifications };
  }

  test('end(): the peer gets SHUTDOWN and SHUTDOWN_COMP, then end and close without error', async () => {
    const { h, c, s, notifications } = await pair();
    const errors: Error[] = [];
    s.on('error', (e) => errors.push(e));
    const order: string[] = [];
    s.on('end', () => order.push('end'));
    s.on('close', () => order.push('close'));
    s.resume();
    c.resume(); // as with net.Socket, 'end' (and so 'close') waits for the reader
    const bothClosed = Promise.all([closed(s), closed(c)]);
    c.write('last words');
    c.end();
    await bothClosed;
    expect(order).toEqual(['end', 'close']);
    expect(errors).toEqual([]);
    const types = notifications.map((n) =>
      n.type === 'assoc_change' ? `assoc_change:${n.state}` : n.type,
    );
    expect(types).toContain('shutdown');
    expect(types).toContain('assoc_change:shutdown_comp');
    expect(types).not.toContain('assoc_change:comm_lost');
    await closeServer(h.server);
  });

  test('destroy(): the peer gets COMM_LOST and an ECONNRESET error', async () => {
    const { h, c, s, notifications } = await pair();
    const error = nextError(s);
    const serverClosed = closed(s);
    c.destroy();
    const err = await error;
    expect(err.code).toBe('ECONNRESET');
    await serverClosed;
    const lost = notifications.find((n) => n.type === 'assoc_change' && n.state === 'comm_lost');
    expect(lost).toBeDefined();
    expect(notifications.map((n) => n.type)).not.toContain('shutdown');
    await closeServer(h.server);
  });
});

describe('connection errors', () => {
  test('a closed port: ECONNREFUSED with syscall, address and port', async () => {
    const h = await startServer('127.0.0.1');
    const port = h.port;
    await closeServer(h.server);
    const c = connect({ host: '127.0.0.1', port });
    const err = (await nextError(c)) as Error & {
      code: string;
      syscall: string;
      address: unknown;
      port: number;
    };
    expect(err.code).toBe('ECONNREFUSED');
    expect(err.syscall).toBe('connect');
    expect(err.address).toBe('127.0.0.1');
    expect(err.port).toBe(port);
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  // 192.0.2.0/24 (a documentation range) routed into a dummy interface: INIT chunks leave
  // and vanish, as into a blackholed network.
  const blackhole = `ksctpbh${process.pid}`.slice(0, 15);
  beforeAll(() => {
    execFileSync('ip', ['link', 'add', blackhole, 'type', 'dummy']);
    execFileSync('ip', ['addr', 'add', '192.0.2.1/24', 'dev', blackhole]);
    execFileSync('ip', ['link', 'set', blackhole, 'up']);
  });
  afterAll(() => execFileSync('ip', ['link', 'del', blackhole]));

  test('an address where nothing answers: connectTimeout gives ETIMEDOUT', async () => {
    const started = Date.now();
    const c = connect({ host: '192.0.2.10', port: 9, connectTimeout: 1500 });
    const err = await nextError(c);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.syscall).toBe('connect');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1400);
    expect(c.destroyed).toBe(true);
  });

  test('the kernel gives up after its INIT retransmissions: ETIMEDOUT from the kernel', async () => {
    // 2 INIT transmissions, each timeout capped at 200 ms: the kernel gives up in well under a second.
    const c = connect({ host: '192.0.2.12', port: 9, maxInitAttempts: 2, maxInitTimeout: 200 });
    const err = await nextError(c);
    expect(err.code).toBe('ETIMEDOUT');
    expect(err.syscall).toBe('connect');
  });

  test('an AbortSignal cancels a pending connect', async () => {
    const controller = new AbortController();
    const c = connect({ host: '192.0.2.11', port: 9, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    const err = await nextError(c);
    expect(err.name).toBe('AbortError');
    expect(err.code).toBe('ABORT_ERR');
    expect(c.destroyed).toBe(true);
  });
});
