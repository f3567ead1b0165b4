// One-to-one echo over the kernel's SCTP on 127.0.0.1: 1,000 messages of varying sizes and
// contents, every payload checked, and the message metadata that comes with them.
import { connect, createServer, type MessageInfo, type Server } from '../lib';
import { collect, endAndWait, listening } from './helpers/net';

/** Message i: 1..2000 bytes whose contents depend on i, so a mix-up cannot go unnoticed. */
function payload(i: number): Buffer {
  const size = 1 + ((i * 7919) % 2000);
  const buf = Buffer.alloc(size);
  for (let j = 0; j < size; j++) buf[j] = (i * 31 + j * 7) & 0xff;
  return buf;
}

describe('one-to-one echo on 127.0.0.1', () => {
  let server: Server;
  let port: number;

  beforeAll(async () => {
    server = createServer((socket) => {
      socket.on('message', (data, info) =>
        socket.send(data, { stream: info.stream, ppid: info.ppid }),
      );
      socket.on('error', () => {});
    });
    server.listen({ host: '127.0.0.1', port: 0 });
    port = await listening(server);
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('1,000 messages come back intact, in order, with their stream and PPID', async () => {
    const client = connect({ host: '127.0.0.1', port, streams: { out: 8, in: 8 } });
    await new Promise<void>((resolve, reject) =>
      client.once('connect', resolve).once('error', reject),
    );
    const count = 1000;
    const echoes = collect(client, 'message', count, (data: Buffer, info: MessageInfo) => ({
      data,
      info,
    }));
    for (let i = 0; i < count; i++) client.send(payload(i), { stream: i % 8, ppid: 1000 + i });
    const received = await echoes;

    // Per stream, order is preserved; across streams it need not be.
    const byStream = new Map<number, number[]>();
    for (const { data, info } of received) {
      const i = info.ppid - 1000;
      expect(i).toBeGreaterThanOrEqual(0);
      expect(i).toBeLessThan(count);
      expect(info.stream).toBe(i % 8);
      expect(data.equals(payload(i))).toBe(true);
      expect(info.unordered).toBe(false);
      const list = byStream.get(info.stream) ?? [];
      list.push(i);
      byStream.set(info.stream, list);
    }
    const seen = received.map(({ info }) => info.ppid - 1000).sort((a, b) => a - b);
    expect(seen).toEqual([...Array(count).keys()]);
    for (const list of byStream.values()) expect(list).toEqual([...list].sort((a, b) => a - b));
    await endAndWait(client);
  });

  test('write() and data events keep message boundaries', async () => {
    const client = connect({ host: '127.0.0.1', port });
    const chunks = collect(client, 'data', 3, (d: Buffer) => d.toString());
    client.write('one');
    client.write(Buffer.from('two'));
    client.write(new Uint8Array([0x74, 0x68, 0x72, 0x65, 0x65]));
    expect(await chunks).toEqual(['one', 'two', 'three']);
    await endAndWait(client);
  });
});
