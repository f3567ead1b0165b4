// One peer must not hurt the others: on one one-to-many endpoint, a peer that never reads, a
// peer that sends an oversized message, a message left half-delivered by an ABORT and an
// iterator that is dropped each stay with their own association. And a one-to-one server out
// of file descriptors does not spin. Real peers: python's socket module as the peer that
// never reads, the kernel's SCTP under everything.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { Endpoint } from '../lib';
import { connected, JsonLines, nextAssociation, sysctl, waitFor } from './helpers/net';
import { tracked } from './helpers/tracked';

const open = tracked();
const { endpoint, client } = open;
const children: ChildProcess[] = [];
afterEach(() => {
  open.cleanup();
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A peer (python's socket module) that sets up an association and never reads from it. */
async function silentPeer(port: number): Promise<void> {
  const script = [
    'import socket, sys, time',
    's = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_SCTP)',
    's.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)',
    `s.connect(("127.0.0.1", ${port}))`,
    'print("up", flush=True)',
    'time.sleep(600)',
  ].join('\n');
  const child = spawn('python3', ['-c', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (code) => reject(new Error(`python peer exited with ${code}`)));
  });
}

/** A second peer that reads: the server's association to it, and how many it has received. */
async function readingPeer(server: Endpoint, port: number) {
  const up = nextAssociation(server);
  const reader = client(port);
  await connected(reader);
  let got = 0;
  reader.on('message', () => got++);
  return { other: await up, received: () => got };
}

describe('a peer that never reads', () => {
  let savedPolicy = '0';
  beforeAll(() => {
    savedPolicy = sysctl('net.sctp.sndbuf_policy');
  });
  afterAll(() => {
    sysctl('net.sctp.sndbuf_policy', savedPolicy);
  });

  test('sndbuf_policy=1: thousands queued for it, a second peer still gets 100 messages at once', async () => {
    sysctl('net.sctp.sndbuf_policy', '1'); // read by the kernel when an endpoint is created
    const server = endpoint().listen();
    const port = server.address()!.port;
    const up = nextAssociation(server);
    await silentPeer(port);
    const silent = await up;
    const payload = Buffer.alloc(1024, 0x61);
    for (let i = 0; i < 3000; i++) silent.send(payload);
    const queued = silent.queuedBytes / 1024;
    expect(queued).toBeGreaterThan(1000); // the kernel took what its buffer holds, no more

    const { other, received } = await readingPeer(server, port);
    const start = Date.now();
    for (let i = 0; i < 100; i++) other.send(payload);
    await waitFor(() => received() === 100, 20000, '100 messages at the reading peer');
    const ms = Date.now() - start;
    console.log(`isolation, sndbuf_policy=1: ${JSON.stringify({ queued, ms })}`);
    expect(other.queuedBytes).toBe(0);
    expect(silent.queuedBytes).toBeGreaterThan(1000 * 1024); // still stuck
    expect(server.stats().queuedBytes).toBe(silent.queuedBytes);
    // send() returned false for it: the endpoint's 'drain' comes once the last waiting
    // queue is gone, even when it goes by an abort rather than by draining.
    const drained = once(server, 'drain');
    silent.abort();
    await drained;
    expect(server.stats().queuedBytes).toBe(0);
  });

  test('sndbuf_policy=0 (default): the shared buffer is full for everyone; stallTimeout aborts the stuck peer and the others go on', async () => {
    sysctl('net.sctp.sndbuf_policy', '0');
    const stallTimeout = 8000;
    const server = endpoint({ stallTimeout }).listen();
    const port = server.address()!.port;
    const up = nextAssociation(server);
    await silentPeer(port);
    const silent = await up;
    const silentClosed = new Promise<Error | undefined>((r) => silent.once('close', r));
    const payload = Buffer.alloc(1024, 0x62);
    const stalledFrom = Date.now();
    // Only what its share of the buffer holds: nothing of it waits here, the kernel has it all.
    for (let i = 0; i < 3000 && silent.queuedBytes === 0; i++) silent.send(payload);
    await new Promise((r) => setTimeout(r, 1000)); // its peer's window closes on it

    const { other, received } = await readingPeer(server, port);
    const start = Date.now();
    for (let i = 0; i < 100; i++) other.send(payload);
    // The kernel refuses the second peer's messages too (EAGAIN): they wait in its own queue.
    expect(other.queuedBytes).toBe(100 * 1024);
    const err = await silentClosed;
    const abortedAfter = Date.now() - stalledFrom;
    expect(err).toMatchObject({ code: 'ERR_SCTP_STALLED' });
    expect(received()).toBe(0); // nothing got through while the buffer was full
    await waitFor(() => received() === 100, 20000, '100 messages once the stuck peer is gone');
    const deliveredAfter = Date.now() - start;
    console.log(
      `isolation, sndbuf_policy=0: ${JSON.stringify({ abortedAfter, deliveredAfter, stallTimeout })}`,
    );
    expect(abortedAfter).toBeGreaterThanOrEqual(stallTimeout);
  });
});

test('an oversized message aborts its association only, with no error listener on the endpoint', async () => {
  const server = endpoint({ maxMessageSize: 100000 }).listen();
  server.on('message', (data, info) => info.association?.send(data));
  const port = server.address()!.port;
  const good = client(port);
  await connected(good);
  const badUp = nextAssociation(server);
  const bad = client(port, { sendBufferSize: 1 << 20 });
  await connected(bad);
  const badAssociation = await badUp;
  const closedWith = new Promise<Error | undefined>((r) => badAssociation.once('close', r));
  const badError = new Promise<Error>((r) => bad.once('error', r));
  bad.send(Buffer.alloc(200000, 1));
  const err = await closedWith;
  expect(err).toMatchObject({ code: 'EMSGSIZE', syscall: 'recvmsg' });
  expect(err!.message).toMatch(/maxMessageSize \(100000 bytes\)/);
  // The peer learns it from the ABORT.
  expect(await badError).toMatchObject({ code: 'ECONNRESET' });
  // Everyone else is still served.
  const echoes: string[] = [];
  good.on('message', (d: Buffer) => echoes.push(d.toString()));
  for (let i = 0; i < 10; i++) good.send(`after ${i}`);
  await waitFor(() => echoes.length === 10, 20000, 'echoes to the good peer');
  expect(server.associationCount).toBe(1);
});

test('a message half-delivered when its peer aborts is dropped, again and again: no bytes kept', async () => {
  const server = endpoint({ receiveBufferSize: 65536 }).listen();
  // Partial delivery starts after 4 KiB of a message: its pieces reach the reassembler.
  server.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
  const port = server.address()!.port;
  const seen: number[] = [];
  for (let round = 0; round < 5; round++) {
    const sender = client(port, { sendBufferSize: 16 << 20, streams: { out: 4 } });
    await connected(sender);
    sender.send(Buffer.alloc(8 << 20, 2), { stream: 1 });
    await waitFor(() => server.stats().partialBytes > 0, 30000, 'part of the message read');
    seen.push(server.stats().partialBytes);
    sender.destroy(); // ABORT in the middle of the message
    await waitFor(() => server.associationCount === 0, 20000, 'the association to close');
    expect(server.stats().partialBytes).toBe(0);
  }
  console.log(`partial bytes held before each ABORT: ${JSON.stringify(seen)}`);
  expect(seen.every((n) => n > 0)).toBe(true);
});

test('a message in partial delivery does not hold back the other associations', async () => {
  const server = endpoint({ receiveBufferSize: 65536 }).listen();
  server.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
  const port = server.address()!.port;
  const order: string[] = [];
  server.on('message', (data) => order.push(data.length > 100 ? 'large' : data.toString()));
  const large = client(port, { sendBufferSize: 16 << 20 });
  const small = client(port);
  await Promise.all([connected(large), connected(small)]);
  large.send(Buffer.alloc(8 << 20, 4));
  await waitFor(() => server.stats().partialBytes > 0, 30000, 'the large message to be partial');
  small.send('small');
  await waitFor(() => order.length === 2, 60000, 'both messages');
  // With the kernel's default (no fragment interleave) the small one waited for the large.
  expect(order).toEqual(['small', 'large']);
});

test('a dropped iterator holds back its own association only, within maxHeldBytes', async () => {
  const server = endpoint({ maxHeldBytes: 64 * 1024 }).listen();
  const port = server.address()!.port;
  const received = new Map<number, number>();
  server.on('message', (_d, info) =>
    received.set(info.assocId, (received.get(info.assocId) ?? 0) + 1),
  );
  const aUp = nextAssociation(server);
  const talker = client(port);
  await connected(talker);
  const a = await aUp;
  const it = a.messages();
  talker.send('first');
  expect((await it.next()).value!.data.toString()).toBe('first');
  // The iterator is dropped here, never returned: its association stays paused.
  const aClosed = new Promise<Error | undefined>((r) => a.once('close', r));
  for (let i = 0; i < 300; i++) talker.send(Buffer.alloc(1024, 3));

  const bUp = nextAssociation(server);
  const other = client(port);
  await connected(other);
  const b = await bUp;
  for (let i = 0; i < 100; i++) other.send(`m${i}`);
  await waitFor(() => received.get(b.id) === 100, 20000, "the other association's 100 messages");
  // The paused one went over its bound and was aborted; its messages never reached listeners.
  expect(await aClosed).toMatchObject({ code: 'ERR_SCTP_READ_OVERFLOW' });
  // What reached listeners before the iterator fell behind, no more.
  expect(received.get(a.id) ?? 0).toBeLessThan(300);
  expect(server.stats().heldBytes).toBe(0);
});

test('EMFILE on accept: no busy loop, and accepting resumes when fds are free', async () => {
  const fixture = path.join(__dirname, 'fixtures', 'emfile-server.js');
  const child = new JsonLines('bash', ['-c', `ulimit -n 40 && exec node ${fixture}`]);
  children.push(child.child);
  const { listening: port, fds } = await child.next<{ listening: number; fds: number }>();
  const count = 40 - fds + 10; // more associations than fds left
  const clients = Array.from({ length: count }, () => client(port));
  await waitFor(() => clients.every((s) => !s.connecting), 30000, 'clients connected');
  child.child.stdin!.write('measure\n');
  const report = await child.next<{ accepted: number; emfile: number; cpuMs: number }>(30000);
  console.log(`EMFILE: ${JSON.stringify({ fdsAtStart: fds, clients: count, ...report })}`);
  expect(report.emfile).toBeGreaterThan(0);
  expect(report.accepted).toBeLessThan(count);
  // Two seconds out of fds with associations waiting: a spinning poll would burn ~2000 ms.
  expect(report.cpuMs).toBeLessThan(400);
  child.child.stdin!.write('free\n');
  let after = report.accepted;
  while (after < count) after = (await child.next<{ accepted: number }>(30000)).accepted;
  expect(after).toBe(count);
});
