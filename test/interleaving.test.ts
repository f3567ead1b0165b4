// Message interleaving, I-DATA (RFC 8260), over the real kernel: with it a small message on
// one stream overtakes a 10 MiB message on another that is still being sent, in I-DATA
// chunks on the wire (tshark); without it the small one waits for the large one to arrive
// whole, in DATA chunks. Interleaved pieces of ordered and
// unordered messages on several streams are reassembled each into its own message. The
// kernel allows I-DATA only with net.sctp.intl_enable=1, which these tests turn on (and
// back off, to show the error).
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, type MessageInfo, type SocketOptions } from '../lib';
import { connected, endAndWait, pythonPeer, socketPair, sysctl, waitFor } from './helpers/net';
import { chunkTypesDuring } from './helpers/wire';

const DATA = 0;
const I_DATA = 64;

const BIG = 10 << 20;
/** Python reads slowly in the VM: its large message is smaller. */
const PYTHON_BIG = 4 << 20;

let intlBefore = '0';
beforeAll(() => {
  intlBefore = sysctl('net.sctp.intl_enable');
  sysctl('net.sctp.intl_enable', '1');
});
afterAll(() => sysctl('net.sctp.intl_enable', intlBefore));

interface Arrival {
  stream: number;
  unordered: boolean;
  length: number;
  sha: string;
  /** Bytes of other messages the receiver held in pieces when this one was complete. */
  partialBytes: number;
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A kernel-sctp pair with `options` on both sides; the receiver records each message. */
async function pair(options: SocketOptions) {
  // The sender's buffer holds everything: the kernel's scheduler then chooses among all of
  // it (a message that does not fit would wait in kernel-sctp's queue, in the order sent).
  const streams = { out: 4, in: 4 };
  const p = await socketPair(
    { ...options, streams },
    { ...options, streams, sendBufferSize: 64 << 20 },
  );
  const receiver = p.accepted;
  const arrivals: Arrival[] = [];
  receiver.on('message', (data: Buffer, info: MessageInfo) =>
    arrivals.push({
      stream: info.stream,
      unordered: info.unordered,
      length: data.length,
      sha: sha(data),
      partialBytes: receiver.partialBytes,
    }),
  );
  return { ...p, receiver, arrivals };
}

describe('I-DATA between kernel-sctp sockets', () => {
  test('a small message on stream 2 arrives while a 10 MiB message on stream 1 is still in flight; both intact', async () => {
    const p = await pair({ interleaving: true, scheduler: 'round-robin' });
    expect(p.client.negotiated()).toMatchObject({ interleaving: true });
    expect(p.receiver.negotiated()).toMatchObject({ interleaving: true });
    const big = Buffer.alloc(BIG);
    for (let i = 0; i < BIG; i += 4) big.writeUInt32BE(i, i);
    const wire = await chunkTypesDuring(async () => {
      p.client.send(big, { stream: 1 });
      p.client.send('small', { stream: 2 });
      await waitFor(() => p.arrivals.length === 2, 60000, 'both messages');
    });
    expect(wire.get(I_DATA)).toBeGreaterThan(2); // the pieces of both messages
    expect(wire.get(DATA)).toBeUndefined();
    const [first, second] = p.arrivals;
    expect(first).toMatchObject({ stream: 2, length: 5 });
    // The large message was partly there when the small one came, and not whole.
    expect(first!.partialBytes).toBeGreaterThan(0);
    expect(first!.partialBytes).toBeLessThan(BIG);
    expect(second).toMatchObject({ stream: 1, length: BIG, sha: sha(big) });
    await p.close();
  });

  test('without I-DATA the same small message arrives only after the 10 MiB one', async () => {
    const p = await pair({ interleaving: false, scheduler: 'round-robin' });
    expect(p.client.negotiated()).toMatchObject({ interleaving: false });
    const wire = await chunkTypesDuring(async () => {
      p.client.send(Buffer.alloc(BIG, 1), { stream: 1 });
      p.client.send('small', { stream: 2 });
      await waitFor(() => p.arrivals.length === 2, 60000, 'both messages');
    });
    expect(wire.get(DATA)).toBeGreaterThan(2);
    expect(wire.get(I_DATA)).toBeUndefined();
    expect(p.arrivals.map((a) => a.stream)).toEqual([1, 2]);
    await p.close();
  });

  test('ordered and unordered messages of several streams, in pieces that interleave, are each reassembled whole', async () => {
    const p = await pair({ interleaving: true, scheduler: 'round-robin' });
    const sent: { stream: number; unordered: boolean; data: Buffer }[] = [];
    const plan = [
      [1, false, 3 << 20],
      [1, true, 2 << 20],
      [3, false, 2 << 20],
      [3, true, 1 << 20],
      [2, false, 100],
      [1, false, 1 << 20],
      [2, true, 50],
      [0, false, 1500],
    ] as const;
    plan.forEach(([stream, unordered, size], k) => {
      const data = Buffer.alloc(size);
      for (let i = 0; i < size; i++) data[i] = (i * 31 + k * 7) & 0xff;
      sent.push({ stream, unordered, data });
      p.client.send(data, { stream, unordered });
    });
    await waitFor(() => p.arrivals.length === plan.length, 60000, 'every message');
    const key = (a: { stream: number; unordered: boolean; sha: string }) =>
      `${a.stream}/${a.unordered}/${a.sha}`;
    expect(p.arrivals.map(key).sort()).toEqual(
      sent.map((m) => key({ ...m, sha: sha(m.data) })).sort(),
    );
    // Ordered messages of one stream still arrive in the order sent.
    const ordered1 = p.arrivals.filter((a) => a.stream === 1 && !a.unordered).map((a) => a.length);
    expect(ordered1).toEqual([3 << 20, 1 << 20]);
    // Something small overtook the first large message.
    expect(p.arrivals.findIndex((a) => a.length <= 1500)).toBeLessThan(
      p.arrivals.findIndex((a) => a.length === 3 << 20),
    );
    expect(p.receiver.partialBytes).toBe(0);
    await p.close();
  });

  test('with net.sctp.intl_enable=0 the option is refused with EPERM, and the error says what to turn on', async () => {
    sysctl('net.sctp.intl_enable', '0');
    try {
      const s = connect({ host: '127.0.0.1', port: 9, interleaving: true });
      const [err] = (await once(s, 'error').catch((e: unknown) => [e])) as [Error];
      expect(err).toMatchObject({ code: 'EPERM', syscall: 'setsockopt' });
      expect(err.message).toMatch(/net\.sctp\.intl_enable=1/);
    } finally {
      sysctl('net.sctp.intl_enable', '1');
    }
  });
});

test('I-DATA with AUTH is refused (the kernel cannot authenticate I-DATA, and a peer could make it crash): by the auth option or by net.sctp.auth_enable', async () => {
  const refusal = async (options: Record<string, unknown>) => {
    try {
      const s = connect({ host: '127.0.0.1', port: 9, interleaving: true, ...options });
      const [err] = await once(s, 'error');
      return err as Error;
    } catch (e) {
      return e as Error;
    }
  };
  const byOption = await refusal({ auth: { keys: { 1: 'k' }, activeKey: 1 } });
  expect(byOption).toMatchObject({ code: 'ERR_SCTP_UNSUPPORTED' });
  expect(byOption.message).toMatch(/cannot be used together with AUTH/);
  const authBefore = sysctl('net.sctp.auth_enable');
  sysctl('net.sctp.auth_enable', '1');
  try {
    expect(await refusal({})).toMatchObject({ code: 'ERR_SCTP_UNSUPPORTED' });
  } finally {
    sysctl('net.sctp.auth_enable', authBefore);
  }
});

describe('I-DATA against a python receiver (the kernel options used directly)', () => {
  test('python, with interleaving on, gets the small stream-2 message before the 4 MiB stream-1 one ends', async () => {
    const script = `
import socket, struct
IPPROTO_SCTP = 132
SCTP_FRAGMENT_INTERLEAVE, SCTP_INTERLEAVING_SUPPORTED, SCTP_RECVRCVINFO, SCTP_RCVINFO = 18, 125, 32, 3
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP)
srv.setsockopt(IPPROTO_SCTP, SCTP_FRAGMENT_INTERLEAVE, 1)
srv.setsockopt(IPPROTO_SCTP, SCTP_INTERLEAVING_SUPPORTED, struct.pack('iI', 0, 1))
srv.setsockopt(IPPROTO_SCTP, SCTP_RECVRCVINFO, 1)
srv.bind(('127.0.0.1', 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
sizes = {}
done = []
while len(done) < 2:
    data, anc, flags, _ = conn.recvmsg(1 << 20, 256)
    sid = next(struct.unpack_from('H', info)[0] for level, kind, info in anc
               if level == IPPROTO_SCTP and kind == SCTP_RCVINFO)
    sizes[sid] = sizes.get(sid, 0) + len(data)
    if flags & socket.MSG_EOR:
        done.append('%d:%d:%d' % (sid, sizes.pop(sid), sizes.get(1, 0)))
print(' '.join(done), flush=True)
while conn.recv(65536): pass
`;
    const { port, line, exited } = await pythonPeer(script);
    const client = connect({
      host: '127.0.0.1',
      port,
      interleaving: true,
      scheduler: 'round-robin',
      sendBufferSize: 64 << 20,
    });
    await connected(client);
    expect(client.negotiated()).toMatchObject({ interleaving: true });
    client.send(Buffer.alloc(PYTHON_BIG, 7), { stream: 1 });
    client.send('small', { stream: 2 });
    // stream:size:bytes of stream 1 python held when the message ended
    const [small, big] = (await line()).split(' ');
    const [sid, size, held] = small!.split(':').map(Number);
    expect([sid, size]).toEqual([2, 5]);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThan(PYTHON_BIG);
    expect(big).toBe(`1:${PYTHON_BIG}:0`);
    await endAndWait(client);
    await exited;
  });
});
