// Stream reconfiguration (RFC 6525) over the real kernel: stream resets seen in the
// receiver's stream sequence numbers (and as RECONF chunks on the wire), streams added and used, the association's TSNs reset,
// a peer that refuses, an association without the feature; between two kernel-sctp peers and
// against python sockets (not ours) that use the kernel's options directly.
import { once } from 'node:events';
import {
  connect,
  createEndpoint,
  type Association,
  type MessageInfo,
  type Server,
  type Socket,
  type SocketOptions,
  type StreamReconfiguration,
} from '../lib';
import {
  closed,
  closeServer,
  connected,
  endAndWait,
  pythonPeer,
  socketPair,
  waitFor,
} from './helpers/net';
import { chunkTypesDuring } from './helpers/wire';

const RECONF = 130;

interface Pair {
  client: Socket;
  accepted: Socket;
  server: Server;
  /** Messages the accepted socket received: [stream, ssn, text]. */
  received: [number, number, string][];
  close(): Promise<void>;
}

/** A client and the socket its server accepted, each with its own reconfiguration option. */
async function pair(
  clientReconf: StreamReconfiguration | undefined,
  serverReconf: StreamReconfiguration | undefined,
  extra: SocketOptions = {},
): Promise<Pair> {
  const streams = { out: 4, in: 4 };
  const p = await socketPair(
    { streams, streamReconfiguration: serverReconf, ...extra },
    { streams, streamReconfiguration: clientReconf, ...extra },
  );
  const received: [number, number, string][] = [];
  p.accepted.on('message', (data: Buffer, info: MessageInfo) =>
    received.push([info.stream, info.ssn, data.toString()]),
  );
  return { ...p, received };
}

/** Sends texts on a stream and waits until the other side has them all. */
async function sendAll(
  from: Socket,
  received: unknown[],
  stream: number,
  texts: string[],
): Promise<void> {
  const before = received.length;
  for (const text of texts) from.send(text, { stream });
  await waitFor(() => received.length === before + texts.length, 5000, 'the messages');
}

describe('stream reconfiguration between two kernel-sctp sockets', () => {
  test('an outgoing reset of one stream: its sequence numbers start again at 0, the other streams go on; both sides are told', async () => {
    const p = await pair(true, true);
    await sendAll(p.client, p.received, 1, ['a', 'b', 'c']);
    await sendAll(p.client, p.received, 2, ['x', 'y']);
    const told = once(p.accepted, 'streamReset');
    const own = once(p.client, 'streamReset');
    const wire = await chunkTypesDuring(() => p.client.resetStreams({ streams: [1] }));
    expect(wire.get(RECONF)).toBeGreaterThanOrEqual(2); // the request and its response
    const [peerSide] = await told;
    const [ownSide] = await own;
    expect(peerSide).toMatchObject({
      incoming: true,
      outgoing: false,
      denied: false,
      streams: [1],
    });
    expect(ownSide).toMatchObject({ incoming: false, outgoing: true, denied: false, streams: [1] });
    await sendAll(p.client, p.received, 1, ['d']);
    await sendAll(p.client, p.received, 2, ['z']);
    expect(p.received).toEqual([
      [1, 0, 'a'],
      [1, 1, 'b'],
      [1, 2, 'c'],
      [2, 0, 'x'],
      [2, 1, 'y'],
      [1, 0, 'd'], // reset
      [2, 2, 'z'], // not reset
    ]);
    await p.close();
  });

  test("an incoming reset asks the peer to reset its outbound streams (all of them); 'both' resets both ways", async () => {
    const p = await pair(true, true);
    const back: [number, number][] = [];
    p.client.on('message', (_d: Buffer, info: MessageInfo) => back.push([info.stream, info.ssn]));
    await sendAll(p.accepted, back, 0, ['a', 'b']);
    await sendAll(p.accepted, back, 3, ['c']);
    const peerSide = once(p.accepted, 'streamReset');
    await p.client.resetStreams({ direction: 'incoming' });
    expect((await peerSide)[0]).toMatchObject({ outgoing: true, streams: [] });
    await sendAll(p.accepted, back, 0, ['d']);
    await sendAll(p.accepted, back, 3, ['e']);
    expect(back).toEqual([
      [0, 0],
      [0, 1],
      [3, 0],
      [0, 0],
      [3, 0],
    ]);

    await sendAll(p.client, p.received, 2, ['f', 'g']);
    await p.accepted.resetStreams({ direction: 'both', streams: [2] });
    await sendAll(p.client, p.received, 2, ['h']);
    await sendAll(p.accepted, back, 2, ['i', 'j']);
    await p.accepted.resetStreams({ direction: 'both', streams: [2] });
    await sendAll(p.accepted, back, 2, ['k']);
    expect(p.received.map(([, ssn]) => ssn)).toEqual([0, 1, 0]);
    expect(back.slice(5)).toEqual([
      [2, 0],
      [2, 1],
      [2, 0],
    ]);
    await p.close();
  });

  test('messages written before a reset all go out before it, with the old sequence numbers, even when they wait in the library queue', async () => {
    // A small send buffer and a receiver that reads nothing for a while: the writes pile up
    // in kernel-sctp's own queue, and the reset must wait for them.
    const p = await pair(true, true, { sendBufferSize: 4096, receiveBufferSize: 4096 });
    p.accepted.pause();
    const texts = Array.from({ length: 200 }, (_, i) => `m${i}`.padEnd(500, '.'));
    for (const t of texts) p.client.send(t, { stream: 1 });
    expect(p.client.writableLength > 0 || p.client.writableNeedDrain).toBe(true);
    const reset = p.client.resetStreams({ streams: [1] });
    setTimeout(() => p.accepted.resume(), 300);
    await reset;
    p.client.send('after', { stream: 1 });
    await waitFor(() => p.received.length === 201, 10000, 'all messages');
    expect(p.received.slice(0, 200).map(([, ssn]) => ssn)).toEqual(texts.map((_, i) => i));
    expect(p.received[200]).toEqual([1, 0, 'after']);
    await p.close();
  });

  test('streams added both ways are usable at once, the counts are current on both sides and sends are checked against them', async () => {
    const p = await pair(true, true);
    expect([p.client.outboundStreams, p.client.inboundStreams]).toEqual([4, 4]);
    expect(() => p.client.send('x', { stream: 5 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    const changes: unknown[] = [];
    p.accepted.on('streamChange', (n) => changes.push(n));
    const counts = await p.client.addStreams({ outbound: 2, inbound: 3 });
    expect(counts).toEqual({ outboundStreams: 6, inboundStreams: 7 });
    expect([p.client.outboundStreams, p.client.inboundStreams]).toEqual([6, 7]);
    expect(p.client.status()).toMatchObject({ outboundStreams: 6, inboundStreams: 7 });
    await waitFor(() => p.accepted.outboundStreams === 7, 5000, 'the peer to see its new streams');
    expect(p.accepted.inboundStreams).toBe(6);
    expect(changes.length).toBeGreaterThanOrEqual(1);
    await sendAll(p.client, p.received, 5, ['on a new stream']);
    expect(p.received.at(-1)).toEqual([5, 0, 'on a new stream']);
    const back: number[] = [];
    p.client.on('message', (_d: Buffer, info: MessageInfo) => back.push(info.stream));
    await sendAll(p.accepted, back, 6, ['back on a new stream']);
    expect(back).toEqual([6]);
    await p.close();
  });

  test('an association reset: both sides are told with the new TSNs, sequence numbers start at 0, traffic goes on', async () => {
    const p = await pair(true, true);
    const tsns: number[] = [];
    p.accepted.on('message', (_d: Buffer, info: MessageInfo) => tsns.push(info.tsn));
    await sendAll(p.client, p.received, 1, ['a', 'b']);
    const peerSide = once(p.accepted, 'associationReset');
    const n = await p.client.resetAssociation();
    expect(n).toMatchObject({ type: 'assoc_reset', denied: false, failed: false });
    const [peer] = await peerSide;
    expect(peer).toMatchObject({ denied: false });
    await sendAll(p.client, p.received, 1, ['c']);
    expect(p.received.map(([, ssn]) => ssn)).toEqual([0, 1, 0]);
    // The client's next TSN, as both notifications give it, is the TSN 'c' came with.
    const next = tsns[2]!;
    expect(next).not.toBe(tsns[1]! + 1);
    expect([n.localTsn, n.remoteTsn]).toContain(next);
    expect([peer.localTsn, peer.remoteTsn]).toContain(next);
    await p.close();
  });

  test('a peer that offers the extension but grants nothing: each request is denied, with the notification', async () => {
    const p = await pair(true, {});
    for (const request of [
      () => p.client.resetStreams(),
      () => p.client.resetStreams({ direction: 'incoming' }),
      () => p.client.addStreams({ outbound: 1 }),
      () => p.client.resetAssociation(),
    ]) {
      await expect(request()).rejects.toMatchObject({
        code: 'ERR_SCTP_RECONFIG_DENIED',
        notification: { denied: true },
      });
    }
    // Denied streams are not counted; sends still work.
    expect(p.client.outboundStreams).toBe(4);
    await sendAll(p.client, p.received, 0, ['still here']);
    await p.close();
  });

  test('a request waiting when the association ends gracefully settles (done, or rejected with the end)', async () => {
    const p = await pair(true, true, { sendBufferSize: 4096 });
    p.accepted.pause();
    for (let i = 0; i < 200; i++) p.client.send('.'.repeat(500));
    const waiting = p.client.resetStreams();
    setTimeout(() => {
      p.accepted.resume();
      p.accepted.end(); // the peer ends: SHUTDOWN, once what was sent is delivered
    }, 100);
    const outcome = await waiting.then(
      () => 'done',
      (e: { code?: string }) => e.code,
    );
    // Either the queue drained and the reset went through before the SHUTDOWN, or it ended
    // with the association: it does not stay pending.
    expect(['done', 'ERR_SOCKET_CLOSED']).toContain(outcome);
    p.client.resume(); // read to the end, so that 'end' and 'close' come
    await closed(p.client);
    await closeServer(p.server);
  });

  test('without the extension (net.sctp.reconf_enable=0, no option) a request fails with ENOPROTOOPT and says what to turn on; so does a request type this side did not enable', async () => {
    const p = await pair(undefined, true);
    const err = await p.client.resetStreams().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ENOPROTOOPT', syscall: 'setsockopt' });
    expect(String((err as Error).message)).toMatch(/streamReconfiguration.*reconf_enable/s);
    await p.close();
    const q = await pair({ resetStreams: true }, true);
    await expect(q.client.addStreams({ outbound: 1 })).rejects.toMatchObject({
      code: 'ENOPROTOOPT',
    });
    await q.client.resetStreams();
    await q.close();
  });

  test('requests queue behind each other; an aborted wait rejects with AbortError; a closed socket rejects its waiting requests', async () => {
    const p = await pair(true, true);
    const results = await Promise.all([
      p.client.resetStreams({ streams: [0] }),
      p.client.addStreams({ outbound: 1 }),
      p.client.resetStreams({ streams: [3] }),
      p.client.resetAssociation(),
    ]);
    expect(results[1]).toEqual({ outboundStreams: 5, inboundStreams: 4 });
    const aborted = AbortSignal.abort();
    await expect(p.client.resetStreams({ signal: aborted })).rejects.toMatchObject({
      name: 'AbortError',
    });
    // The peer keeps its window closed: the reset waits for the queue, the socket closes.
    p.accepted.pause();
    for (let i = 0; i < 3000; i++) p.client.send('.'.repeat(1000), { stream: 1 });
    const waiting = p.client.resetStreams();
    // A request queued behind it gives up on its own signal, without waiting for its turn.
    const controller = new AbortController();
    const queued = p.client.resetStreams({ streams: [2], signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await expect(queued).rejects.toMatchObject({ name: 'AbortError' });
    // Lists the kernel would refuse are refused first, with what is allowed.
    expect(() => p.client.resetStreams({ streams: [] })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() =>
      p.client.resetStreams({ direction: 'both', streams: new Array(20000).fill(1) }),
    ).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    setTimeout(() => p.client.destroy(), 200);
    await expect(waiting).rejects.toMatchObject({ code: 'ERR_STREAM_DESTROYED' });
    p.accepted.destroy(); // paused: it would read the ABORT only once resumed
    await closeServer(p.server);
  });
});

describe('stream reconfiguration on one-to-many endpoints', () => {
  test('an association resets and adds streams on its own; another association of the endpoint is not touched; a peeled-off one goes on', async () => {
    const reconf = { host: '127.0.0.1', streamReconfiguration: true, streams: { out: 2, in: 2 } };
    const server = createEndpoint(reconf).listen();
    const port = server.address()!.port;
    const ups: Association[] = [];
    server.on('association', (a: Association) => ups.push(a));
    // Two peers, so two associations on the server's endpoint; each records its SSNs.
    const clients = [createEndpoint(reconf), createEndpoint(reconf)];
    const ssns: number[][] = [[], []];
    clients.forEach((c, k) =>
      c.on('message', (_d: Buffer, info: MessageInfo) => ssns[k]!.push(info.ssn)),
    );
    for (const c of clients) await c.connect({ host: '127.0.0.1', port });
    await waitFor(() => ups.length === 2, 5000, 'both associations');
    const [a, b] = ups.sort((x, y) => x.id - y.id) as [Association, Association];
    const peerOf = (x: Association) =>
      clients.findIndex((c) => c.address()!.port === x.remoteAddresses()[0]!.port);
    const sendBoth = async (text: string) => {
      const want = ssns[0]!.length + ssns[1]!.length + 2;
      a.send(text);
      b.send(text);
      await waitFor(() => ssns[0]!.length + ssns[1]!.length === want, 5000, 'the messages');
    };
    await sendBoth('1');
    await sendBoth('2');
    await a.resetStreams();
    expect(await a.addStreams({ outbound: 3 })).toEqual({ outboundStreams: 5, inboundStreams: 2 });
    expect(b.outboundStreams).toBe(2);
    await sendBoth('3');
    expect(ssns[peerOf(a)]).toEqual([0, 1, 0]);
    expect(ssns[peerOf(b)]).toEqual([0, 1, 2]);
    const socket = a.peeloff();
    expect(socket.outboundStreams).toBe(5);
    await socket.resetStreams({ direction: 'both' });
    await expect(a.resetStreams()).rejects.toMatchObject({ code: 'ERR_SOCKET_CLOSED' });
    socket.destroy();
    await Promise.all([...clients, server].map((e) => once(e.close(), 'close')));
  });
});

/** A python one-to-one SCTP peer (not kernel-sctp) with the extension on, running `body`. */
async function reconfiguringPython(body: string): Promise<{
  port: number;
  line: () => Promise<string>;
  exited: Promise<unknown>;
}> {
  const script = `
import socket, struct
IPPROTO_SCTP = 132
SCTP_RECVRCVINFO, SCTP_SNDINFO, SCTP_RCVINFO = 32, 2, 3
SCTP_RECONFIG_SUPPORTED, SCTP_ENABLE_STREAM_RESET, SCTP_RESET_STREAMS = 117, 118, 119
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP)
srv.setsockopt(IPPROTO_SCTP, SCTP_RECONFIG_SUPPORTED, struct.pack('iI', 0, 1))
srv.setsockopt(IPPROTO_SCTP, SCTP_ENABLE_STREAM_RESET, struct.pack('iI', 0, 7))
srv.setsockopt(IPPROTO_SCTP, SCTP_RECVRCVINFO, 1)
srv.bind(('127.0.0.1', 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
def send(text, stream):  # struct sctp_sndinfo: sid, flags, ppid, context, assoc_id
    conn.sendmsg([text], [(IPPROTO_SCTP, SCTP_SNDINFO, struct.pack('HHIIi', stream, 0, 0, 0, 0))])
def recv():
    data, anc, flags, _ = conn.recvmsg(65536, 256)
    for level, kind, info in anc:
        if level == IPPROTO_SCTP and kind == SCTP_RCVINFO:
            sid, ssn = struct.unpack_from('HH', info)
            return data, sid, ssn
    return data, None, None
${body}`;
  return pythonPeer(script);
}

describe('stream reconfiguration against python sockets (the kernel options used directly)', () => {
  test("our outgoing reset: python's next message on the stream has sequence number 0", async () => {
    const peer = await reconfiguringPython(`
for _ in range(4):
    data, sid, ssn = recv()
    print(data.decode(), sid, ssn, flush=True)
while conn.recv(65536): pass
`);
    const client = connect({ host: '127.0.0.1', port: peer.port, streamReconfiguration: true });
    await connected(client);
    for (const t of ['a', 'b', 'c']) client.send(t, { stream: 1 });
    const seen = [await peer.line(), await peer.line(), await peer.line()];
    await client.resetStreams({ streams: [1] });
    client.send('d', { stream: 1 });
    seen.push(await peer.line());
    expect(seen).toEqual(['a 1 0', 'b 1 1', 'c 1 2', 'd 1 0']);
    await endAndWait(client);
    await peer.exited;
  });

  test("python's own outgoing reset (SCTP_RESET_STREAMS): our socket is told which stream, and its sequence numbers start again", async () => {
    const peer = await reconfiguringPython(`
send(b'a', 2); send(b'b', 2)
print('sent', flush=True)
conn.recv(65536)  # the go-ahead
# struct sctp_reset_streams: assoc_id, flags (SCTP_STREAM_RESET_OUTGOING), 1 stream: 2
conn.setsockopt(IPPROTO_SCTP, SCTP_RESET_STREAMS, struct.pack('iHHH', 0, 2, 1, 2))
conn.recv(65536)  # the next go-ahead, once our side saw the reset
send(b'c', 2)
while conn.recv(65536): pass
`);
    const client = connect({ host: '127.0.0.1', port: peer.port, streamReconfiguration: true });
    const got: [number, number, string][] = [];
    client.on('message', (d: Buffer, info: MessageInfo) =>
      got.push([info.stream, info.ssn, d.toString()]),
    );
    await connected(client);
    expect(await peer.line()).toBe('sent');
    const told = once(client, 'streamReset');
    client.send('go');
    const [n] = await told;
    expect(n).toMatchObject({ incoming: true, outgoing: false, streams: [2] });
    client.send('go');
    await waitFor(() => got.length === 3, 5000, 'the messages');
    expect(got).toEqual([
      [2, 0, 'a'],
      [2, 1, 'b'],
      [2, 0, 'c'],
    ]);
    await endAndWait(client);
    await peer.exited;
  });
});
