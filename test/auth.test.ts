// AUTH (RFC 4895) over the real kernel: chunks authenticated with a shared key (AUTH chunks
// on the wire), keys switched and retired while the association runs, peers whose keys
// differ (the data never gets through and the association fails), ASCONF with AUTH instead
// of net.sctp.addip_noauth_enable, and a python peer (not ours) that sets its key with the
// kernel options directly.
import { connect, type AuthenticationNotification, type AuthOptions } from '../lib';
import {
  closeServer,
  connected,
  endAndWait,
  nextError,
  pythonPeer,
  socketPair,
  sysctl,
  waitFor,
} from './helpers/net';
import { chunkTypesDuring } from './helpers/wire';

const AUTH = 15;

async function pair(clientAuth: AuthOptions | undefined, serverAuth: AuthOptions | undefined) {
  // Bound to an address, not the wildcard: addresses can then be added (ASCONF).
  const p = await socketPair({ auth: serverAuth }, { localAddress: '127.0.0.1', auth: clientAuth });
  const received: string[] = [];
  p.accepted.on('data', (d: Buffer) => received.push(d.toString()));
  return { ...p, received };
}

describe('AUTH between kernel-sctp sockets', () => {
  test('DATA authenticated with a shared key: it arrives, AUTH chunks are on the wire, both sides list the chunk', async () => {
    const auth: AuthOptions = { chunks: ['data'], keys: { 1: 'a shared secret' }, activeKey: 1 };
    const p = await pair(auth, auth);
    expect(p.client.negotiated()).toMatchObject({ auth: true });
    expect(p.client.auth.active()).toBe(1);
    expect(p.client.auth.peerChunks()).toContain(0); // the server wants DATA authenticated
    expect(p.accepted.auth.localChunks()).toContain(0);
    const wire = await chunkTypesDuring(async () => {
      for (const t of ['one', 'two', 'three']) p.client.send(t);
      await waitFor(() => p.received.length === 3, 5000, 'the messages');
    });
    expect(p.received).toEqual(['one', 'two', 'three']);
    expect(wire.get(AUTH)).toBeGreaterThanOrEqual(3);
    await p.close();
  });

  test('a new key is added and used while data flows; the peer is told; the old one is retired and deleted', async () => {
    const auth: AuthOptions = { chunks: ['data'], keys: { 1: 'first key' }, activeKey: 1 };
    const p = await pair(auth, auth);
    const events: AuthenticationNotification[] = [];
    p.accepted.on('authentication', (n) => events.push(n));
    p.client.on('authentication', (n) => events.push(n));
    p.client.send('before');
    await waitFor(() => p.received.length === 1, 5000, 'the first message');
    p.accepted.auth.set(2, 'second key');
    p.client.auth.set(2, 'second key');
    p.client.auth.use(2);
    p.client.send('after');
    await waitFor(() => p.received.length === 2, 5000, 'the message under the new key');
    await waitFor(() => events.some((e) => e.indication === 'new_key'), 5000, 'new_key');
    expect(events.find((e) => e.indication === 'new_key')).toMatchObject({ keyNumber: 2 });
    p.client.auth.deactivate(1);
    await waitFor(() => events.some((e) => e.indication === 'free_key'), 5000, 'free_key');
    expect(events.find((e) => e.indication === 'free_key')).toMatchObject({ keyNumber: 1 });
    p.client.auth.delete(1);
    p.client.send('still');
    await waitFor(() => p.received.length === 3, 5000, 'one more message');
    // The active key cannot be retired.
    expect(() => p.client.auth.deactivate(2)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    await p.close();
  });

  test('peers whose keys differ: the authenticated DATA is discarded, nothing arrives, and the association fails', async () => {
    const p = await pair(
      { chunks: ['data'], keys: { 1: 'one secret' }, activeKey: 1 },
      { chunks: ['data'], keys: { 1: 'another secret' }, activeKey: 1 },
    );
    p.client.paths.setRetransmission({
      rtoInitial: 100,
      rtoMin: 100,
      rtoMax: 200,
      maxRetransmissions: 3,
    });
    const failed = nextError(p.client);
    p.client.send('never');
    const err = await failed;
    expect(err).toMatchObject({ code: 'ETIMEDOUT' });
    expect(p.received).toEqual([]);
    p.accepted.destroy();
    await closeServer(p.server);
  });

  test('the options are checked before anything reaches the kernel', () => {
    for (const auth of [
      { chunks: ['init'] },
      { chunks: [2] },
      { chunks: [256] },
      { keys: { 1: '' } },
      { keys: { x: 'k' } },
      { keys: { 70000: 'k' } },
      { hmacs: ['md5'] },
      { hmacs: [] },
      { hmacs: ['sha256'] },
      { hmacs: ['sha1', 'sha1'] },
      { key: 'k' },
      { activeKey: -1 },
    ]) {
      expect(() => connect({ host: '127.0.0.1', port: 9, auth: auth as never })).toThrow(
        expect.objectContaining({ code: expect.stringMatching(/^ERR_/) }),
      );
    }
  });
});

describe('ASCONF with AUTH (net.sctp.addip_enable=1, addip_noauth_enable=0)', () => {
  const saved: Record<string, string> = {};
  beforeAll(() => {
    for (const name of ['net.sctp.addip_enable', 'net.sctp.addip_noauth_enable']) {
      saved[name] = sysctl(name);
    }
    sysctl('net.sctp.addip_enable', '1');
    sysctl('net.sctp.addip_noauth_enable', '0');
  });
  afterAll(() => {
    for (const [name, value] of Object.entries(saved)) sysctl(name, value);
  });

  async function addAddress(auth: AuthOptions | undefined): Promise<string[]> {
    const p = await pair(auth, auth);
    const added: string[] = [];
    p.accepted.on('peerAddressChange', (n) => {
      if (n.state === 'added') added.push(n.address.address);
    });
    p.client.paths.addLocal('127.0.0.2');
    await new Promise((r) => setTimeout(r, 1500));
    const seen = p.accepted.remoteAddresses().map((a) => a.address);
    await p.close();
    return [...added, ...seen];
  }

  test('with AUTH on both peers, an address added at run time reaches the peer', async () => {
    expect(await addAddress({})).toContain('127.0.0.2');
  });

  test('without AUTH the kernel refuses the association: an INIT that offers ASCONF without AUTH is invalid', async () => {
    await expect(addAddress(undefined)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });
});

describe('AUTH against a python peer (the kernel options used directly)', () => {
  test('python requires DATA authenticated with its key; our messages with the same key arrive', async () => {
    const script = `
import socket, struct
IPPROTO_SCTP = 132
SCTP_AUTH_CHUNK, SCTP_AUTH_KEY, SCTP_AUTH_ACTIVE_KEY, SCTP_AUTH_SUPPORTED = 21, 23, 24, 129
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, IPPROTO_SCTP)
srv.setsockopt(IPPROTO_SCTP, SCTP_AUTH_SUPPORTED, struct.pack('iI', 0, 1))
srv.setsockopt(IPPROTO_SCTP, SCTP_AUTH_CHUNK, struct.pack('B', 0))  # DATA
key = b'python and node share this'
srv.setsockopt(IPPROTO_SCTP, SCTP_AUTH_KEY, struct.pack('iHH', 0, 5, len(key)) + key)
srv.setsockopt(IPPROTO_SCTP, SCTP_AUTH_ACTIVE_KEY, struct.pack('iH', 0, 5) + b'\\0\\0')
srv.bind(('127.0.0.1', 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
for _ in range(2):
    print(conn.recv(65536).decode(), flush=True)
while conn.recv(65536): pass
`;
    const { port, line, exited } = await pythonPeer(script);
    const client = connect({
      host: '127.0.0.1',
      port,
      auth: { keys: { 5: 'python and node share this' }, activeKey: 5 },
    });
    await connected(client);
    expect(client.auth.peerChunks()).toEqual([0]);
    client.send('hello');
    client.send('python');
    expect([await line(), await line()]).toEqual(['hello', 'python']);
    await endAndWait(client);
    await exited;
  });
});
