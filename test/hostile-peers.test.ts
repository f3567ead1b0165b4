// The hostile-peer catalogue: peers that do what the kernel's own SCTP never does, against
// one-to-many endpoints and one-to-one servers that serve a well-behaved peer beside them.
// Each test states what the library does, and checks that what it holds stays bounded, that
// the right events come, and that the bystander is served throughout.
//
// The peers: test/fixtures/raw_peer.py writes SCTP chunk by chunk over UDP encapsulation
// (RFC 6951, the kernel's net.sctp.udp_port), so it can flood ERROR chunks, INITs, announce a
// thousand addresses or 65,535 streams, leave messages half sent, abandon them with
// FORWARD-TSN, or close its window. The bystanders are kernel-sctp clients.
import { once } from 'node:events';
import path from 'node:path';
import { createServer, type Notification } from '../lib';
import { connected, JsonLines, listening, nextAssociation, sysctl, waitFor } from './helpers/net';
import { tracked } from './helpers/tracked';

// Floods under emulation take minutes; each wait below has its own bound.
jest.setTimeout(300000);

const open = tracked();
const { endpoint, client } = open;
const peers: JsonLines[] = [];
afterEach(() => {
  open.cleanup();
  for (const p of peers.splice(0)) p.child.kill('SIGKILL');
});

const saved = new Map<string, string>();
function setSysctl(name: string, value: string): void {
  if (!saved.has(name)) saved.set(name, sysctl(name));
  sysctl(name, value);
}
beforeAll(() => {
  // The kernel reads SCTP from UDP port 9899 and sends to 9899 unless the peer's packets came
  // from another port (it answers where they came from).
  setSysctl('net.sctp.udp_port', '9899');
  setSysctl('net.sctp.encap_port', '9899');
});
afterAll(() => {
  for (const [name, value] of saved) sysctl(name, value);
});

/** Starts raw_peer.py's `scenario` against `port`; its JSON lines come from next(). */
function rawPeer(scenario: string, port: number, args: Record<string, unknown> = {}): JsonLines {
  const script = path.join(__dirname, '..', '..', 'test', 'fixtures', 'raw_peer.py');
  const peer = new JsonLines('python3', [script, scenario, String(port), JSON.stringify(args)]);
  peers.push(peer);
  return peer;
}

function tell(peer: JsonLines, line: string): void {
  peer.child.stdin!.write(`${line}\n`);
}

/** An endpoint that echoes every message, with a bystander that checks it is still served. */
async function echoEndpoint(options: Parameters<typeof endpoint>[0] = {}) {
  const server = endpoint(options).listen();
  server.on('message', (data, info) => info.association?.send(data));
  const port = server.address()!.port;
  const bystander = client(port);
  await connected(bystander);
  let echoes = 0;
  bystander.on('message', () => echoes++);
  /** 20 messages from the bystander, all echoed within the time allowed. */
  const served = async (ms = 20000): Promise<number> => {
    const start = Date.now();
    const want = echoes + 20;
    for (let i = 0; i < 20; i++) bystander.send(`bystander ${i}`);
    await waitFor(() => echoes >= want, ms, 'the bystander to be served');
    return Date.now() - start;
  };
  return { server, port, served };
}

const mib = (n: number) => Math.round((n / (1 << 20)) * 10) / 10;

test('a flood of 10,000 ERROR causes: one remote_error notification each, nothing held, the bystander served', async () => {
  const { server, port, served } = await echoEndpoint();
  const up = nextAssociation(server);
  const rssBefore = process.memoryUsage().rss;
  // Listening before the peer starts: the association's first batch may carry the flood.
  const remote: Notification[] = [];
  server.on('notification', (n) => n.type === 'remote_error' && remote.push(n));
  const peer = rawPeer('error-flood', port, { count: 10000 });
  const flooder = await up;
  const during = served(60000);
  const report = await peer.next<{ sent: number; acked: boolean }>(120000);
  const bystanderMs = await during;
  // The message sent after the flood went through the same association.
  expect(report.acked).toBe(true);
  // Until no more come for 3 s.
  for (let last = -1; last !== remote.length;) {
    last = remote.length;
    await new Promise((r) => setTimeout(r, 3000));
  }
  const rssGrowth = process.memoryUsage().rss - rssBefore;
  // Control chunks the kernel took from this peer: the ERROR chunks plus a few (COOKIE-ECHO,
  // SACKs, HEARTBEAT-ACKs). A packet the kernel drops while the socket is busy (its backlog
  // is bounded) loses its 100 causes for good: ERROR chunks are never retransmitted.
  const inControl = Number(flooder.getOption('SCTP_GET_ASSOC_STATS').inControlChunks);
  console.log(
    `ERROR flood: ${JSON.stringify({ notifications: remote.length, inControl, bystanderMs, rssGrowthMiB: mib(rssGrowth) })}`,
  );
  // Every ERROR chunk the kernel took became one notification, and reached the listener.
  expect(remote.length).toBeLessThanOrEqual(inControl);
  expect(inControl - remote.length).toBeLessThan(20);
  expect(remote.length).toBeGreaterThan(5000);
  const codes = new Set(remote.map((n) => (n.type === 'remote_error' ? n.error : -1)));
  expect([...codes].sort()).toEqual([1, 13]); // Invalid Stream Identifier, Protocol Violation
  const violation = remote.find((n) => n.type === 'remote_error' && n.error === 13)!;
  expect(violation.type === 'remote_error' && violation.data?.toString()).toMatch(/hostile \d{8}/);
  expect(server.stats()).toMatchObject({ heldBytes: 0, partialBytes: 0, queuedBytes: 0 });
  expect(rssGrowth).toBeLessThan(16 << 20);
  expect(flooder.state).toBe('up');
  await served();
});

test('an INIT flood above maxAssociations: the endpoint keeps its limit, the rest are dropped, INIT-only floods cost nothing', async () => {
  const maxAssociations = 20;
  const { server, port, served } = await echoEndpoint({ maxAssociations });
  let drops = 0;
  let setUp = 0;
  server.on('drop', () => drops++);
  server.on('association', () => setUp++);
  const peer = rawPeer('init-flood', port, { count: 300 });
  const during = served(60000);
  const { states } = await peer.next<{ states: Record<string, number> }>(180000);
  const bystanderMs = await during;
  await waitFor(() => drops + setUp === 300, 30000, 'every flood association to be counted');
  console.log(`INIT flood: ${JSON.stringify({ states, setUp, drops, bystanderMs })}`);
  // The bystander holds one place: 19 of the flood get in, 281 are aborted on arrival.
  expect(setUp).toBe(maxAssociations - 1);
  expect(drops).toBe(300 - setUp);
  expect(server.associationCount).toBe(maxAssociations);
  // INITs that never come back with their cookie leave no state anywhere (the kernel's
  // cookie is stateless): no association, no event.
  const initOnly = rawPeer('init-flood', port, { count: 1000, complete: false });
  await initOnly.next(180000);
  expect(setUp + drops).toBe(300);
  expect(server.associationCount).toBe(maxAssociations);
  tell(peer, 'abort');
  await waitFor(() => server.associationCount === 1, 30000, 'the flood associations to close');
  await served();
});

test('a peer asking for 65,535 streams gets them inbound; its message on stream 65,534 arrives', async () => {
  const { server, port, served } = await echoEndpoint();
  const up = nextAssociation(server);
  const rssBefore = process.memoryUsage().rss;
  const arrived = once(server, 'message'); // before the peer starts: it sends at once
  const peer = rawPeer('many-streams', port, { streams: 65535 });
  const wide = await up;
  const [data, info] = (await arrived) as [Buffer, { stream: number }];
  const report = await peer.next<{ streams: [number, number]; acked: boolean }>(60000);
  const status = wide.status();
  console.log(
    `65,535 streams: ${JSON.stringify({ streams: report.streams, inbound: status.inboundStreams, outbound: status.outboundStreams, rssGrowthMiB: mib(process.memoryUsage().rss - rssBefore) })}`,
  );
  expect(data.toString()).toBe('last stream');
  expect(info.stream).toBe(65534);
  expect(status.inboundStreams).toBe(65535);
  // Outbound stays what this endpoint offers (10 by default), whatever the peer asks.
  expect(status.outboundStreams).toBe(10);
  expect(report.streams).toEqual([10, 65535]);
  // The echo on stream 65,534 is refused: it is beyond the outbound streams.
  expect(() => wide.send('x', { stream: 65534 })).toThrow(/stream/i);
  await served();
});

test('a peer announcing 1,000 addresses: all listed, the association works, the bystander served', async () => {
  const { server, port, served } = await echoEndpoint();
  const up = nextAssociation(server);
  const peer = rawPeer('many-addresses', port, { count: 1000 });
  const many = await up;
  const report = await peer.next<{ acked: boolean }>(60000);
  expect(report.acked).toBe(true);
  const remote = many.remoteAddresses();
  console.log(`1,000 addresses: ${JSON.stringify({ listed: remote.length })}`);
  expect(remote.length).toBe(1001);
  expect(remote.filter((a) => a.address.startsWith('10.')).length).toBe(1000);
  await served();
  const closed = new Promise<Error | undefined>((r) => many.once('close', r));
  tell(peer, 'abort');
  expect(await closed).toMatchObject({ code: 'ECONNRESET' });
  expect(server.associationCount).toBe(1);
});

test('a peer whose window stays at 0: its queue is bounded, the stall guard aborts it, the bystander is served after', async () => {
  const stallTimeout = 5000;
  const { server, port, served } = await echoEndpoint({ stallTimeout });
  const up = nextAssociation(server);
  const peer = rawPeer('zero-window', port);
  const stuck = await up;
  await peer.next(60000);
  const closed = new Promise<Error | undefined>((r) => stuck.once('close', r));
  const payload = Buffer.alloc(1024, 0x7a);
  let refused = 0;
  for (let i = 0; i < 20000; i++) {
    stuck.send(payload, {}, (err) => {
      if ((err as NodeJS.ErrnoException | null)?.code === 'ERR_SCTP_SEND_QUEUE_FULL') refused++; // past maxQueuedBytes
    });
  }
  const queued = stuck.queuedBytes;
  const start = Date.now();
  const err = await closed;
  const abortedAfter = Date.now() - start;
  const bystanderMs = await served();
  console.log(
    `zero window: ${JSON.stringify({ queuedMiB: mib(queued), refused, abortedAfter, bystanderMs })}`,
  );
  expect(queued).toBeLessThanOrEqual(16 << 20); // maxQueuedBytes' default
  expect(refused).toBeGreaterThan(0);
  expect(err).toMatchObject({ code: 'ERR_SCTP_STALLED' });
  expect(server.stats().queuedBytes).toBe(0);
});

test('an endless message on one-to-many: aborted at maxMessageSize, its bytes freed, the bystander served', async () => {
  const maxMessageSize = 256 * 1024;
  const { server, port, served } = await echoEndpoint({ maxMessageSize });
  server.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
  const up = nextAssociation(server);
  const peer = rawPeer('endless-message', port, { seconds: 60 });
  const endless = await up;
  const err = await new Promise<Error | undefined>((r) => endless.once('close', r));
  const report = await peer.next<{ sent: number; state: string }>(90000);
  console.log(`endless message, one-to-many: ${JSON.stringify(report)}`);
  expect(err).toMatchObject({ code: 'EMSGSIZE' });
  expect(report.state).toBe('aborted');
  expect(report.sent).toBeLessThan(4 * maxMessageSize);
  expect(server.stats().partialBytes).toBe(0);
  await served();
});

test('an endless message on one-to-one: that socket fails with EMSGSIZE, the server goes on accepting', async () => {
  const maxMessageSize = 256 * 1024;
  const server = createServer({ maxMessageSize }, (socket) => {
    socket.on('error', () => {});
    socket.on('message', (d: Buffer) => socket.send(d));
  });
  open.add(server);
  server.listen(0, '127.0.0.1');
  const port = await listening(server);
  const first = once(server, 'connection');
  const peer = rawPeer('endless-message', port, { seconds: 60 });
  const [socket] = await first;
  socket.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
  const err = await new Promise<Error | null>((r) => socket.once('close', () => r(socket.errored)));
  const report = await peer.next<{ sent: number; state: string }>(90000);
  console.log(`endless message, one-to-one: ${JSON.stringify(report)}`);
  expect(err).toMatchObject({ code: 'EMSGSIZE' });
  expect(report.state).toBe('aborted');
  const other = client(port);
  await connected(other);
  other.send('still accepting');
  const [echo] = await once(other, 'message');
  expect(echo.toString()).toBe('still accepting');
});

describe('half-sent messages', () => {
  test('partial messages on three streams, then ABORT: the one in partial delivery and the two the kernel holds are all dropped', async () => {
    const { server, port, served } = await echoEndpoint();
    server.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
    const up = nextAssociation(server);
    const peer = rawPeer('partial', port, { then: 'abort', streams: [1, 2, 3] });
    const halfway = await up;
    const { piece } = await peer.next<{ piece: number }>(60000);
    // Without I-DATA an association has one partial delivery at a time: stream 1's message
    // is being delivered, the kernel keeps the pieces on streams 2 and 3 behind it.
    await waitFor(() => server.stats().partialBytes === piece, 20000, "stream 1's partial message");
    const closed = new Promise<Error | undefined>((r) => halfway.once('close', r));
    tell(peer, 'abort');
    expect(await closed).toMatchObject({ code: 'ECONNRESET' });
    console.log(
      `partial on 3 streams then ABORT: ${JSON.stringify({ heldByUs: piece, inKernel: 2 * piece })}`,
    );
    expect(server.stats().partialBytes).toBe(0);
    await served();
  });

  test('a partial message abandoned with FORWARD-TSN (PR-SCTP): dropped, and the next message on that stream arrives whole', async () => {
    const { server, port, served } = await echoEndpoint();
    server.setOption('SCTP_PARTIAL_DELIVERY_POINT', { value: 4096 });
    const up = nextAssociation(server);
    const peer = rawPeer('partial', port, { then: 'forward', streams: [1] });
    const halfway = await up;
    const notes: Notification[] = [];
    halfway.on('notification', (n) => notes.push(n));
    const received: string[] = [];
    halfway.on('message', (d: Buffer) => received.push(d.toString()));
    const { piece } = await peer.next<{ piece: number }>(60000);
    await waitFor(() => server.stats().partialBytes === piece, 20000, 'the partial message');
    tell(peer, 'forward');
    const report = await peer.next<{ acked: boolean }>(60000);
    expect(report.acked).toBe(true);
    await waitFor(() => received.length === 1, 20000, 'the message after FORWARD-TSN');
    expect(received).toEqual(['whole after forward-tsn on 1']);
    expect(notes).toContainEqual(
      expect.objectContaining({ type: 'partial_delivery', indication: 0 }),
    );
    expect(server.stats().partialBytes).toBe(0);
    expect(halfway.state).toBe('up');
    await served();
  });
});

test('an ABORT without a cause reads as ETIMEDOUT, on one-to-many and one-to-one: the kernel reports it exactly like a timeout', async () => {
  const { server, port } = await echoEndpoint();
  const up = nextAssociation(server);
  const peer = rawPeer('many-addresses', port, { count: 0 });
  const bare = await up;
  await peer.next(60000);
  const lost = new Promise<Error | undefined>((r) => bare.once('close', r));
  tell(peer, 'bare-abort');
  // COMM_LOST with sac_error 0 and an empty sac_info, as when retransmissions run out; the
  // error says it may be either.
  const hint = /stopped answering, or sent an ABORT without an error cause/;
  expect(await lost).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringMatching(hint) });

  // One-to-one: SO_ERROR would say ECONNRESET, but the recvmsg that returns the notification
  // has already cleared it (its SCTP_NXTINFO peek of the emptied queue takes the error).
  const oneToOne = createServer((socket) => socket.on('error', () => {}));
  open.add(oneToOne);
  oneToOne.listen(0, '127.0.0.1');
  const accepted = once(oneToOne, 'connection');
  const peer2 = rawPeer('many-addresses', await listening(oneToOne), { count: 0 });
  const [socket] = await accepted;
  await peer2.next(60000);
  const errored = new Promise<Error>((r) => socket.once('error', r));
  tell(peer2, 'bare-abort');
  expect(await errored).toMatchObject({ code: 'ETIMEDOUT', message: expect.stringMatching(hint) });
});

describe('ABORT during peeloff', () => {
  /** Blocks the event loop: the kernel goes on, the library sees nothing meanwhile. */
  const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

  test('the association is gone when peeloff() runs: a clear error, the endpoint goes on', async () => {
    const { server, port, served } = await echoEndpoint();
    const up = nextAssociation(server);
    const peer = rawPeer('many-addresses', port, { count: 0 });
    const doomed = await up;
    await peer.next(60000);
    tell(peer, 'abort');
    block(1500);
    expect(() => doomed.peeloff()).toThrow(
      expect.objectContaining({
        code: 'EINVAL',
        syscall: 'peeloff',
        message: expect.stringMatching(/already ended/),
      }),
    );
    await waitFor(() => doomed.state === 'closed', 20000, 'the aborted association to close');
    expect(server.associationCount).toBe(1);
    await served();
  });

  test('the ABORT arrives right after peeloff(): the peeled socket reports it', async () => {
    const { server, port, served } = await echoEndpoint();
    const up = nextAssociation(server);
    const peer = rawPeer('many-addresses', port, { count: 0 });
    const doomed = await up;
    await peer.next(60000);
    const socket = doomed.peeloff();
    const errored = new Promise<Error>((r) => socket.once('error', r));
    tell(peer, 'abort');
    block(1500);
    expect(await errored).toMatchObject({ code: 'ECONNRESET' });
    expect(server.associationCount).toBe(1);
    await served();
  });
});
