// PR-SCTP (RFC 7496) over the real kernel: messages given a policy are abandoned by the
// sender's kernel when the receiver cannot take them in time, the counters say how many,
// and messages without one still all arrive. The receivers are a python socket (not ours)
// and a kernel-sctp server; both hold their receive window closed for a while.
import { once } from 'node:events';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  Association,
  connect,
  createEndpoint,
  createServer,
  type Abandoned,
  type AbandonedCount,
  type Socket,
} from '../lib';
import {
  closeServer,
  connected,
  endAndWait,
  listening,
  pythonPeer,
  run,
  slowPythonReceiver,
  waitFor,
} from './helpers/net';

const MESSAGES = 300;
const SIZE = 200;

/** What the counters say was abandoned, sent or not. */
const total = (a: AbandonedCount) => a.unsent + a.sent;

function expectOnlyTtl(a: Abandoned): void {
  expect(a.ttl).toEqual({ unsent: a.unsent, sent: a.sent });
  expect(a.rtx).toEqual({ unsent: 0, sent: 0 });
  expect(a.prio).toEqual({ unsent: 0, sent: 0 });
}

test.each([['a socket, per message'], ['an endpoint, by its default']])(
  'TTL from %s to a python receiver that reads nothing for 1.5 s: what it gets and what the sender abandoned add up',
  async (how) => {
    // A 4 KiB receive buffer, nothing read for 1.5 s; then it counts messages until none came for 3 s (a chunk the receiver dropped while its window
    // was closed comes again after an RTO, 1 s), says how many, and waits for our EOF.
    const peer = await slowPythonReceiver(
      4096,
      `
conn.settimeout(3.0)
count = 0
try:
    while True:
        if not conn.recv(65536): break
        count += 1
except socket.timeout:
    pass
print(count, flush=True)
conn.settimeout(None)
while conn.recv(65536): pass
`,
    );
    const port = peer.port;
    const ttl = { policy: 'ttl', value: 100 } as const;
    let sender: Socket | Association;
    let finish: () => Promise<unknown>;
    if (how.startsWith('a socket')) {
      const client = connect({ host: '127.0.0.1', port });
      await connected(client);
      sender = client;
      finish = () => endAndWait(client);
    } else {
      const ep = createEndpoint({ host: '127.0.0.1', pr: ttl });
      sender = await ep.connect({ host: '127.0.0.1', port });
      finish = async () => {
        const done = once(ep, 'close');
        ep.close();
        await done;
      };
    }
    let sent = 0;
    for (let i = 0; i < MESSAGES; i++) {
      const options = sender instanceof Association ? {} : { pr: ttl };
      sender.send(Buffer.alloc(SIZE, i), options, () => sent++);
    }
    await waitFor(() => sent === MESSAGES, 10000, 'every send taken by the kernel');
    const received = Number(await peer.line());
    const abandoned = sender.abandoned();
    console.log(
      `TTL to python from ${how}: received ${received} of ${MESSAGES}, ${JSON.stringify(abandoned)}`,
    );
    expect(received).toBeLessThan(MESSAGES);
    expect(received).toBeGreaterThan(0);
    expectOnlyTtl(abandoned);
    // A message the receiver took may still be counted if its SACK came too late: at least.
    expect(total(abandoned)).toBeGreaterThanOrEqual(MESSAGES - received);
    await finish();
    await peer.exited;
  },
  60000,
);

test('a socket default policy, a reliable override and per-stream counters, kernel-sctp to kernel-sctp', async () => {
  const perStream = new Map<number, number[]>();
  let receiver: Socket | undefined;
  const server = createServer({ receiveBufferSize: 4096, readableHighWaterMark: 1 }, (s) => {
    receiver = s;
    s.pause(); // nothing is read: the window closes
    s.on('message', (data: Buffer, info) => {
      const list = perStream.get(info.stream) ?? [];
      list.push(data[0]!);
      perStream.set(info.stream, list);
    });
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  const client = connect({
    host: '127.0.0.1',
    port: await listening(server),
    streams: { out: 4, in: 4 },
    pr: { policy: 'ttl', value: 100 },
  });
  await connected(client);
  for (let i = 0; i < MESSAGES; i++) client.send(Buffer.alloc(SIZE, i % 256), { stream: 1 });
  // ttl: 0 is fully reliable, whatever the default.
  for (let i = 0; i < 20; i++) client.send(Buffer.alloc(SIZE, i), { stream: 2, ttl: 0 });
  await new Promise((r) => setTimeout(r, 1500));
  receiver!.resume();
  await waitFor(() => (perStream.get(2)?.length ?? 0) === 20, 20000, 'the reliable messages');
  const one = perStream.get(1) ?? [];
  const all = client.abandoned();
  const stream1 = client.abandoned(1);
  const stream2 = client.abandoned(2);
  console.log(
    `default TTL: stream 1 received ${one.length} of ${MESSAGES}, ${JSON.stringify({ all, stream1, stream2 })}`,
  );
  expect(perStream.get(2)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  expect(one.length).toBeLessThan(MESSAGES);
  expectOnlyTtl(all);
  expect(total(stream1)).toBeGreaterThanOrEqual(MESSAGES - one.length);
  expect(stream2).toEqual({
    unsent: 0,
    sent: 0,
    ttl: stream2.ttl,
    rtx: stream2.rtx,
    prio: stream2.prio,
  });
  expect(total(stream2.ttl)).toBe(0);
  expect(total(all)).toBe(total(stream1));
  // What arrived on stream 1 is in order (abandoned messages leave gaps, never reorder).
  const sequence = one.map((b, k) => (k === 0 ? 0 : (b - one[k - 1]! + 256) % 256));
  expect(sequence.slice(1).every((step) => step > 0)).toBe(true);
  await endAndWait(client);
  await closeServer(server);
}, 60000);

/**
 * Python that reads the association to EOF, reassembling messages by MSG_EOR, then prints
 * each message's [length, first byte] as JSON.
 */
const READ_ALL = `
import json
messages, current = [], b''
while True:
    data, _, flags, _ = conn.recvmsg(1 << 17)
    if not data and not flags & socket.MSG_EOR:
        break
    current += data
    if flags & socket.MSG_EOR:
        messages.append([len(current), current[0]])
        current = b''
print(json.dumps(messages), flush=True)
`;

test('rtx: on a path that drops everything, messages are given up after their retransmissions; reliable ones after them arrive', async () => {
  // The receiver sits in a namespace behind a veth pair, so netem can drop what we send it
  // without touching the rest of the machine.
  const tag = `pr${process.pid % 100000}`;
  const ns = `ksctp-${tag}`;
  const ip = (...args: string[]) => run('ip', args);
  ip('netns', 'add', ns);
  let peer: Awaited<ReturnType<typeof pythonPeer>> | undefined;
  try {
    ip('link', 'add', `${tag}r`, 'type', 'veth', 'peer', 'name', `${tag}x`, 'netns', ns);
    ip('addr', 'add', '203.0.113.1/24', 'dev', `${tag}r`);
    ip('link', 'set', `${tag}r`, 'up');
    ip('-n', ns, 'addr', 'add', '203.0.113.2/24', 'dev', `${tag}x`);
    ip('-n', ns, 'link', 'set', `${tag}x`, 'up');
    ip('-n', ns, 'link', 'set', 'lo', 'up');
    peer = await pythonPeer(
      `
import socket
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
srv.bind(('203.0.113.2', 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
${READ_ALL}`,
      ['ip', 'netns', 'exec', ns],
    );
    const client = connect({ host: '203.0.113.2', port: peer.port });
    await connected(client);
    // Quick timeouts, and enough retransmissions that the association outlives the cut.
    client.paths.setRetransmission({
      rtoInitial: 200,
      rtoMin: 100,
      rtoMax: 200,
      maxRetransmissions: 40,
    });
    client.paths.configure({ maxRetransmissions: 40 });
    client.send(Buffer.alloc(100, 1)); // reliable, before the cut
    await new Promise((r) => setTimeout(r, 300));

    run('tc', ['qdisc', 'add', 'dev', `${tag}r`, 'root', 'netem', 'loss', '100%']);
    const RTX = 10;
    let accepted = 0;
    for (let i = 0; i < RTX; i++) {
      client.send(Buffer.alloc(100, 2), { pr: { policy: 'rtx', value: 1 } }, () => accepted++);
    }
    // Each message goes out once and once more: the next timeout gives it up (RTO 100-200 ms).
    await waitFor(() => client.abandoned().rtx.sent === RTX, 10000, 'every rtx message given up');
    run('tc', ['qdisc', 'del', 'dev', `${tag}r`, 'root']);
    client.send(Buffer.alloc(100, 3)); // reliable, after the cut
    const abandoned = client.abandoned();
    await endAndWait(client);
    const received = JSON.parse(await peer.line()) as [number, number][];
    console.log(`rtx: received ${JSON.stringify(received)}, ${JSON.stringify(abandoned)}`);
    expect(accepted).toBe(RTX);
    expect(received).toEqual([
      [100, 1],
      [100, 3],
    ]);
    expect(abandoned.rtx).toEqual({ unsent: 0, sent: RTX });
    expect(abandoned.ttl).toEqual({ unsent: 0, sent: 0 });
    expect(abandoned.prio).toEqual({ unsent: 0, sent: 0 });
    await peer.exited;
  } finally {
    peer?.kill(); // (if the test failed before it ended)
    ip('netns', 'del', ns); // with nothing left in it, that takes the veth pair too
  }
}, 60000);

test('prio: a message that needs room drops queued messages of lower priority (a larger value), not those of higher', async () => {
  // The receiver reads nothing until told to (a file appears): its 4 KiB window closes and
  // the sender's kernel keeps the rest queued.
  const go = path.join(os.tmpdir(), `ksctp-prio-${process.pid}`);
  fs.rmSync(go, { force: true });
  const peer = await pythonPeer(`
import os, socket, time
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
srv.bind(('127.0.0.1', 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
deadline = time.time() + 60
while not os.path.exists(${JSON.stringify(go)}) and time.time() < deadline:
    time.sleep(0.02)
${READ_ALL}`);
  const client = connect({ host: '127.0.0.1', port: peer.port, sendBufferSize: 65536 });
  await connected(client);
  // Kernel-held, not kernel-sctp-held: each send is taken by the kernel at once.
  const send = (size: number, byte: number, prio: number) =>
    new Promise<void>((resolve, reject) => {
      const late = setTimeout(() => reject(new Error(`message ${byte} not taken at once`)), 2000);
      client.send(Buffer.alloc(size, byte), { pr: { policy: 'prio', value: prio } }, () => {
        clearTimeout(late);
        resolve();
      });
    });
  for (let i = 0; i < 10; i++) await send(2000, 10 + i, 1); // higher priority: kept
  for (let i = 0; i < 20; i++) await send(2000, 30 + i, 5); // lower: may be dropped
  // Far more than the room left: the kernel drops priority-5 messages to make room.
  await send(60000, 99, 3);
  const abandoned = client.abandoned();
  fs.writeFileSync(go, ''); // the receiver reads now
  await endAndWait(client);
  fs.rmSync(go, { force: true });
  const received = JSON.parse(await peer.line()) as [number, number][];
  console.log(`prio: received ${JSON.stringify(received)}, ${JSON.stringify(abandoned)}`);
  const firsts = received.map(([, first]) => first);
  expect(firsts.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => 10 + i));
  expect(received.at(-1)).toEqual([60000, 99]);
  const lower = firsts.filter((b) => b >= 30 && b < 50);
  expect(lower.length).toBeLessThan(20);
  expect(abandoned.prio.unsent + abandoned.prio.sent).toBe(20 - lower.length);
  expect(abandoned.ttl).toEqual({ unsent: 0, sent: 0 });
  expect(abandoned.rtx).toEqual({ unsent: 0, sent: 0 });
  // What arrived is in the order it was sent.
  expect(firsts).toEqual([...firsts].sort((a, b) => a - b));
  await peer.exited;
}, 60000);

test('bad PR-SCTP options are refused before anything is sent', async () => {
  const server = createServer((s) => s.resume()); // reads to the end, so that it closes
  server.listen({ host: '127.0.0.1', port: 0 });
  const client = connect({ host: '127.0.0.1', port: await listening(server) });
  await connected(client);
  const data = Buffer.from('x');
  expect(() => client.send(data, { pr: { policy: 'never' as 'ttl', value: 1 } })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
  );
  expect(() => client.send(data, { pr: { policy: 'rtx', value: -1 } })).toThrow(
    expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
  );
  expect(() => client.send(data, { pr: { policy: 'ttl', value: 5 }, ttl: 5 })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
  );
  expect(() => client.abandoned(70000)).toThrow(
    expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
  );
  expect(() => connect({ host: '127.0.0.1', port: 1, pr: { policy: 'prio' } as never })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
  );
  await endAndWait(client);
  await closeServer(server);
});
