// Stream schedulers over the real kernel: a queue of low-priority messages on stream 1 and a
// few high-priority ones on stream 2 behind it, sent while the receiver (a python socket, not
// ours) keeps its window closed; the order in which they reach it says what the sender's
// scheduler did.
import { capabilities, connect, type SchedulerName } from '../lib';
import { connected, endAndWait, nextError, slowPythonReceiver, waitFor } from './helpers/net';

const LOW = 200;
const HIGH = 20;

/** The streams of the messages in the order python received them (byte 0 is the stream). */
async function arrivalOrder(
  scheduler: SchedulerName,
  values: Record<number, number>,
): Promise<number[]> {
  const peer = await slowPythonReceiver(
    16384,
    `
order = []
while len(order) < ${LOW + HIGH}:
    data = conn.recv(65536)
    if not data: break
    order.append(data[0])
print(' '.join(map(str, order)), flush=True)
while conn.recv(65536): pass
`,
  );
  const port = peer.port;
  // A send buffer that holds every message: the kernel's scheduler then sees them all (what
  // does not fit waits in kernel-sctp's own queue, in the order sent).
  const client = connect({
    host: '127.0.0.1',
    port,
    scheduler,
    streams: { out: 4, in: 4 },
    sendBufferSize: 4 << 20,
  });
  await connected(client);
  expect(client.getScheduler()).toBe(scheduler);
  for (const [stream, value] of Object.entries(values)) {
    client.setStreamSchedulerValue(Number(stream), value);
    expect(client.getStreamSchedulerValue(Number(stream))).toBe(value);
  }
  let sent = 0;
  // 1000 bytes: small messages take far more receive buffer than window, and the receiver
  // would drop packets (their retransmissions would come out of order across streams).
  for (let i = 0; i < LOW; i++) client.send(Buffer.alloc(1000, 1), { stream: 1 }, () => sent++);
  for (let i = 0; i < HIGH; i++) client.send(Buffer.alloc(1000, 2), { stream: 2 }, () => sent++);
  await waitFor(() => sent === LOW + HIGH, 10000, 'every send taken by the kernel');
  const order = (await peer.line()).split(' ').map(Number);
  await endAndWait(client);
  return order;
}

/** Where the stream-2 messages came, as positions in the arrival order. */
const positionsOf = (order: number[], stream: number) =>
  order.flatMap((s, k) => (s === stream ? [k] : []));

describe('stream schedulers, seen from a python receiver', () => {
  test('fcfs: the stream-2 messages come after every stream-1 message sent before them', async () => {
    const order = await arrivalOrder('fcfs', {});
    console.log(`fcfs: stream-2 messages arrived at ${JSON.stringify(positionsOf(order, 2))}`);
    expect(order).toHaveLength(LOW + HIGH);
    expect(positionsOf(order, 2)).toEqual(Array.from({ length: HIGH }, (_, k) => LOW + k));
  }, 60000);

  test('priority: stream 2 (value 0) overtakes the queue of stream 1 (value 10)', async () => {
    const order = await arrivalOrder('priority', { 1: 10, 2: 0 });
    const high = positionsOf(order, 2);
    console.log(`priority: stream-2 messages arrived at ${JSON.stringify(high)}`);
    expect(order).toHaveLength(LOW + HIGH);
    // Only what was already in flight when the window closed comes before them: they arrive
    // together, long before the end of the stream-1 queue.
    expect(high[HIGH - 1]! - high[0]!).toBe(HIGH - 1);
    expect(high[HIGH - 1]!).toBeLessThan(LOW / 2);
  }, 60000);

  test('round-robin: once the window opens, streams 1 and 2 take turns', async () => {
    const order = await arrivalOrder('round-robin', {});
    const high = positionsOf(order, 2);
    console.log(`round-robin: stream-2 messages arrived at ${JSON.stringify(high)}`);
    expect(order).toHaveLength(LOW + HIGH);
    expect(high[HIGH - 1]!).toBeLessThan(LOW / 2);
    // In turn: a stream-1 message between consecutive stream-2 ones.
    for (let k = 1; k < HIGH; k++) expect(high[k]! - high[k - 1]!).toBeGreaterThanOrEqual(2);
  }, 60000);
});

test('a scheduler the kernel lacks or a bad name is refused with what there is', async () => {
  const caps = capabilities();
  for (const name of ['fair-capacity', 'weighted-fair'] as const) {
    // As any failure to set a socket up: the socket is destroyed with it ('error').
    const socket = connect({ host: '127.0.0.1', port: 9, scheduler: name });
    const err = await nextError(socket);
    if (caps.schedulers.includes(name)) {
      expect(err).toMatchObject({ code: 'ECONNREFUSED' }); // it got as far as connecting
    } else {
      expect(err).toMatchObject({
        code: 'ERR_SCTP_UNSUPPORTED',
        message: expect.stringMatching(/'fcfs', 'priority', 'round-robin'.*6\.3/),
      });
    }
  }
  expect(() => connect({ host: '127.0.0.1', port: 9, scheduler: 'lifo' as never })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
  );
});
