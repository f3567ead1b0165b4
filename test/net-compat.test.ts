// kernel-sctp's Socket where a net.Socket is expected. Framing libraries (Diameter's, for
// one) read a byte stream from 'data' and reassemble by length; they use only the stream
// interface and a few net.Socket members. The same code, written against net.Socket only,
// drives a TCP socket and a kernel-sctp Socket, and must see the same thing.
import net from 'node:net';
import { EventEmitter, once } from 'node:events';
import { connect, createServer } from '../lib';
import { closeServer, listening } from './helpers/net';

/**
 * The net.Socket members such code uses; methods with what they return left open (net's
 * return the net.Socket). The compiler checks kernel-sctp's Socket has each, with net's
 * parameters and property types.
 */
type Method =
  | 'write'
  | 'destroy'
  | 'pause'
  | 'resume'
  | 'setNoDelay'
  | 'setKeepAlive'
  | 'setTimeout'
  | 'ref'
  | 'unref'
  | 'address'
  | 'resetAndDestroy';
type Property =
  | 'remoteAddress'
  | 'remotePort'
  | 'remoteFamily'
  | 'localAddress'
  | 'localPort'
  | 'localFamily'
  | 'bytesRead'
  | 'bytesWritten'
  | 'readyState'
  | 'connecting'
  | 'pending'
  | 'timeout'
  | 'destroyed';
type NetSocketLike = {
  [K in Method]: net.Socket[K] extends (...args: infer A) => unknown
    ? (...args: A) => unknown
    : never;
} & Pick<net.Socket, Property> & { end(): unknown } & Pick<EventEmitter, 'on' | 'once'>;

/** 4-byte big-endian length (the header included), then the body: Diameter-like framing. */
const frame = (body: string) => {
  const b = Buffer.from(body);
  const f = Buffer.alloc(4 + b.length);
  f.writeUInt32BE(f.length, 0);
  b.copy(f, 4);
  return f;
};

/** Written for net.Socket: frames out, echoed frames back, then idle until 'timeout' ends it. */
async function converse(sock: NetSocketLike, bodies: string[]) {
  const seen: Record<string, unknown> = {
    pendingAtStart: sock.pending,
    stateAtStart: sock.readyState,
  };
  sock.setNoDelay(true);
  sock.setKeepAlive(true, 5000);
  sock.setTimeout(300);
  const received: string[] = [];
  let buffered = Buffer.alloc(0);
  sock.on('data', (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 4 && buffered.length >= buffered.readUInt32BE(0)) {
      const length = buffered.readUInt32BE(0);
      received.push(buffered.subarray(4, length).toString());
      buffered = buffered.subarray(length);
    }
  });
  let timeouts = 0;
  sock.on('timeout', () => {
    timeouts++;
    seen.stateAtTimeout = sock.readyState;
    sock.end();
    seen.stateAfterEnd = sock.readyState;
  });
  const closed = once(sock as unknown as EventEmitter, 'close');
  await once(sock as unknown as EventEmitter, 'connect');
  Object.assign(seen, {
    pendingWhenUp: sock.pending,
    connecting: sock.connecting,
    stateWhenUp: sock.readyState,
    timeout: sock.timeout,
    remote: [sock.remoteAddress, sock.remoteFamily, typeof sock.remotePort],
    local: [sock.localAddress, sock.localFamily, typeof sock.localPort],
    address: (sock.address() as net.AddressInfo).address,
  });
  for (const body of bodies) sock.write(frame(body));
  await closed;
  return {
    ...seen,
    received,
    timeouts,
    bytesRead: sock.bytesRead,
    bytesWritten: sock.bytesWritten,
    stateAtClose: sock.readyState,
    destroyed: sock.destroyed,
  };
}

test('the same net.Socket code over TCP and over kernel-sctp sees the same thing', async () => {
  const bodies = ['capabilities-exchange', 'x'.repeat(3000), 'watchdog', ''];
  // Echo servers: TCP bytes back as they come; SCTP messages back as they come.
  const tcpServer = net.createServer((s) => s.pipe(s));
  tcpServer.listen(0, '127.0.0.1');
  await once(tcpServer, 'listening');
  const tcp = net.connect((tcpServer.address() as net.AddressInfo).port, '127.0.0.1');
  const overTcp = await converse(tcp, bodies);
  tcpServer.close();

  const sctpServer = createServer((s) => {
    s.on('data', (m: Buffer) => s.write(m));
    s.on('end', () => s.end());
  });
  const sctp = connect({
    host: '127.0.0.1',
    port: await listening(sctpServer.listen(0, '127.0.0.1')),
  });
  const overSctp = await converse(sctp, bodies);
  await closeServer(sctpServer);

  console.log(`TCP: ${JSON.stringify(overTcp)}\nSCTP: ${JSON.stringify(overSctp)}`);
  expect(overSctp).toEqual(overTcp);
  expect(overSctp).toEqual(
    expect.objectContaining({
      pendingAtStart: true,
      stateAtStart: 'opening',
      pendingWhenUp: false,
      connecting: false,
      stateWhenUp: 'open',
      timeout: 300,
      stateAtTimeout: 'open',
      stateAfterEnd: 'readOnly',
      received: bodies,
      timeouts: 1,
      bytesRead: bodies.reduce((n, b) => n + 4 + b.length, 0),
      bytesWritten: bodies.reduce((n, b) => n + 4 + b.length, 0),
      stateAtClose: 'closed',
      destroyed: true,
    }),
  );
});

test('setTimeout and setKeepAlive on kernel-sctp: idle periods, heartbeats, bad values', async () => {
  const server = createServer();
  const aborted = new Promise((resolve) => {
    // The accepted side sees the ABORT that resetAndDestroy() sends.
    server.on('connection', (s) => s.resume().on('error', resolve));
  });
  const port = await listening(server.listen(0, '127.0.0.1'));
  const sock = connect({ host: '127.0.0.1', port });
  sock.setKeepAlive(true, 1500); // before the association is up: applied when it is
  await once(sock, 'connect');
  expect(sock.paths.parameters().heartbeatInterval).toBe(1500);
  expect(sock.paths.parameters().heartbeat).toBe(true);
  sock.setKeepAlive(false); // heartbeats stay (they find dead paths)
  expect(sock.paths.parameters().heartbeat).toBe(true);
  // Idle 150 ms: 'timeout'; traffic moves; idle again: a second one. Without traffic, no third.
  const at: number[] = [];
  const start = Date.now();
  sock.setTimeout(150, () => at.push(Date.now() - start));
  sock.on('timeout', () => at.length === 1 && sock.write('traffic'));
  await new Promise((r) => setTimeout(r, 1000));
  sock.removeAllListeners('timeout');
  console.log(`timeouts after ${JSON.stringify(at)} ms`);
  expect(at.length).toBe(1); // the callback is a once listener
  let more = 0;
  sock.on('timeout', () => more++);
  sock.write('traffic');
  await new Promise((r) => setTimeout(r, 600));
  expect(more).toBe(1);
  sock.setTimeout(0);
  expect(sock.timeout).toBeUndefined();
  sock.write('traffic');
  await new Promise((r) => setTimeout(r, 400));
  expect(more).toBe(1);
  for (const bad of [-1, NaN, 2 ** 31, '5' as unknown as number]) {
    expect(() => sock.setTimeout(bad)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => sock.setKeepAlive(true, bad)).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
  }
  sock.resetAndDestroy(); // an ABORT, as destroy()
  await once(sock, 'close');
  expect(sock.readyState).toBe('closed');
  expect(await aborted).toEqual(expect.objectContaining({ code: 'ECONNRESET' }));
  await closeServer(server);
});
