// UDP encapsulation (RFC 6951) over the real kernel on loopback: with net.sctp.udp_port set
// and a remote encapsulation port, every packet of the association travels inside UDP
// (tshark), the accepting side learns the port from the INIT, messages arrive; without the
// sysctl the option fails with what to set. (The failover over encapsulated paths is in
// test/multihoming.test.ts, on the dual-path topology.)
import { once } from 'node:events';
import { connect, createServer, type Socket } from '../lib';
import { closeServer, connected, endAndWait, listening, sysctl, waitFor } from './helpers/net';
import { packetsDuring } from './helpers/wire';

const PORT = 9899;
const DATA = 0;

describe('UDP encapsulation on loopback', () => {
  let before = '0';
  beforeAll(() => {
    before = sysctl('net.sctp.udp_port');
    sysctl('net.sctp.udp_port', String(PORT)); // before the sockets: each copies it
  });
  afterAll(() => sysctl('net.sctp.udp_port', before));

  test('every packet goes in UDP to port 9899; the server learns the port from the INIT; messages arrive', async () => {
    const server = createServer();
    const port = await listening(server.listen(0, '127.0.0.1'));
    const received: string[] = [];
    let accepted: Socket | undefined;
    server.on('connection', (s: Socket) => {
      accepted = s;
      s.on('data', (d: Buffer) => received.push(d.toString()));
    });
    let client: Socket | undefined;
    const packets = await packetsDuring(async () => {
      client = connect({ host: '127.0.0.1', port, udpEncapsulationPort: PORT });
      await connected(client);
      for (const t of ['one', 'two', 'three']) client.send(t);
      await waitFor(() => received.length === 3, 5000, 'the messages');
    }, `sctp or udp port ${PORT}`);
    expect(received).toEqual(['one', 'two', 'three']);
    const sctp = packets.filter((p) => p.chunkTypes.length > 0);
    expect(sctp.length).toBeGreaterThan(5); // the handshake, the data, the SACKs
    expect(sctp.every((p) => p.ipProtocol === 17)).toBe(true); // all inside UDP
    expect(sctp.filter((p) => p.chunkTypes.includes(DATA)).length).toBeGreaterThanOrEqual(1);
    expect(client!.paths.encapsulationPort()).toBe(PORT);
    expect(accepted!.paths.encapsulationPort()).toBe(PORT); // learnt from the INIT
    // Switched off for the association: plain SCTP again.
    client!.paths.setEncapsulationPort(0);
    accepted!.paths.setEncapsulationPort(0);
    const plain = await packetsDuring(async () => {
      for (const t of ['four', 'five', 'six']) {
        client!.send(t);
        await waitFor(() => received.includes(t), 5000, 'the plain message');
      }
    }, `sctp or udp port ${PORT}`);
    const withData = plain.filter((p) => p.chunkTypes.includes(DATA));
    expect(withData.length).toBeGreaterThanOrEqual(1);
    expect(withData.every((p) => p.ipProtocol === 132)).toBe(true);
    await endAndWait(client!);
    await closeServer(server);
  });

  test('with net.sctp.udp_port=0 the option fails with ERR_SCTP_FEATURE_OFF and says what to set', async () => {
    sysctl('net.sctp.udp_port', '0');
    try {
      let err: unknown;
      try {
        const s = connect({ host: '127.0.0.1', port: 9, udpEncapsulationPort: PORT });
        [err] = await once(s, 'error');
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ code: 'ERR_SCTP_FEATURE_OFF' });
      expect(String((err as Error).message)).toMatch(/net\.sctp\.udp_port=9899/);
    } finally {
      sysctl('net.sctp.udp_port', String(PORT));
    }
  });
});
