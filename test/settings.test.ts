// The typed settings (maxBurst, maxSegment, the delayed SACK, context, the adaptation
// indication, ECN/ASCONF/PR-SCTP offered in INIT, the partial delivery point...), the
// association's counters, the path thresholds, SCTP_REUSE_PORT and the send defaults, over
// the real kernel: each shown by what it changes (chunks counted by the kernel, SACKs sent,
// what the peer negotiated or received), not only read back. One peer is a python socket.
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import {
  connect,
  createEndpoint,
  createServer,
  type Association,
  type Endpoint,
  type MessageInfo,
  type Socket,
} from '../lib';
import {
  closeServer,
  connected,
  endAndWait,
  listening,
  nextAssociation,
  nextError,
  pythonPeer,
  socketPair,
  waitFor,
} from './helpers/net';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Resolves with the next `count` messages the socket receives. */
function messages(socket: Socket, count: number): Promise<{ data: Buffer; info: MessageInfo }[]> {
  return new Promise((resolve) => {
    const out: { data: Buffer; info: MessageInfo }[] = [];
    const on = (data: Buffer, info: MessageInfo) => {
      out.push({ data, info });
      if (out.length === count) {
        socket.off('message', on);
        resolve(out);
      }
    };
    socket.on('message', on);
  });
}

/** A listening endpoint, a client connected to it, and the endpoint's association. */
async function endpointWithClient(): Promise<{
  server: Endpoint;
  client: Socket;
  association: Association;
  close(): Promise<void>;
}> {
  const server = createEndpoint({ host: '127.0.0.1' }).listen();
  const client = connect({ host: '127.0.0.1', port: server.address()!.port });
  const up = nextAssociation(server);
  await connected(client);
  const association = await up;
  return {
    server,
    client,
    association,
    close: async () => {
      await endAndWait(client);
      server.destroy();
    },
  };
}

test('settings read back as set, on the association and the socket', async () => {
  const p = await socketPair({}, {});
  try {
    const before = p.client.settings();
    expect(before).toEqual({
      maxBurst: 4, // net.sctp.max_burst
      maxSegment: p.client.status().fragmentationPoint,
      sackDelay: 200, // net.sctp.sack_timeout
      sackFrequency: 2,
      context: 0,
      exposePotentiallyFailed: false,
      partialDeliveryPoint: 0,
      fragmentInterleave: false,
      adaptationIndication: 0,
    });
    p.client.setSettings({ maxBurst: 8, sackDelay: 100, context: 7, partialDeliveryPoint: 4096 });
    p.client.setSettings({ exposePotentiallyFailed: true, fragmentInterleave: true });
    expect(p.client.settings()).toMatchObject({
      maxBurst: 8,
      sackDelay: 100, // a multiple of the kernel's tick (4 ms at HZ=250): 50 reads back as 52
      sackFrequency: 2, // left as it was
      context: 7,
      partialDeliveryPoint: 4096,
      exposePotentiallyFailed: true,
      fragmentInterleave: true,
    });
    // Frequency 1: a SACK for every packet, which the kernel reports as no delay at all.
    p.client.setSettings({ sackFrequency: 1 });
    expect(p.client.settings()).toMatchObject({ sackDelay: 0, sackFrequency: 1 });
  } finally {
    await p.close();
  }
});

test('context: what received messages carry in info.context', async () => {
  const p = await socketPair({}, {});
  try {
    p.accepted.setSettings({ context: 0xfeed });
    const got = messages(p.accepted, 1);
    p.client.write('x');
    expect((await got)[0]!.info.context).toBe(0xfeed);
  } finally {
    await p.close();
  }
});

test('maxSegment: a message is cut into DATA chunks of at most that, counted by the kernel', async () => {
  const p = await socketPair({}, {});
  try {
    const SIZE = 6000;
    const chunksFor = async (expected: number) => {
      const sent = p.client.stats().outOrderedChunks;
      const received = p.accepted.stats().inOrderedChunks;
      const got = messages(p.accepted, 1);
      p.client.write(Buffer.alloc(SIZE, 1));
      expect((await got)[0]!.data.length).toBe(SIZE);
      expect(p.client.stats().outOrderedChunks - sent).toBe(expected);
      expect(p.accepted.stats().inOrderedChunks - received).toBe(expected);
    };
    // Loopback's MTU is 65536: one chunk.
    await chunksFor(1);
    p.client.setSettings({ maxSegment: 1000 });
    const point = p.client.status().fragmentationPoint;
    expect(point).toBeLessThanOrEqual(1000);
    expect(p.client.settings().maxSegment).toBe(point);
    await chunksFor(Math.ceil(SIZE / point));
  } finally {
    await p.close();
  }
});

test('sackFrequency 1 makes the receiver SACK every packet; by default it SACKs every second one', async () => {
  const p = await socketPair({}, {});
  try {
    const MESSAGES = 20;
    const sacksFor = async () => {
      const before = p.accepted.stats().outSacks;
      for (let i = 0; i < MESSAGES; i++) {
        const got = messages(p.accepted, 1);
        p.client.write('m');
        await got;
        await sleep(5); // one packet each: nothing bundled
      }
      await sleep(400); // the delayed SACK timer (200 ms) of the last one
      return p.accepted.stats().outSacks - before;
    };
    const delayed = await sacksFor();
    p.accepted.setSettings({ sackFrequency: 1 });
    const each = await sacksFor();
    expect(each).toBeGreaterThanOrEqual(MESSAGES);
    expect(delayed).toBeLessThanOrEqual(MESSAGES / 2 + 2);
  } finally {
    await p.close();
  }
});

test('stats(): packets, SACKs and chunks of both kinds, on a socket and an association', async () => {
  const { server, client, association, close } = await endpointWithClient();
  try {
    const got = new Promise<void>((resolve) => {
      let n = 0;
      server.on('message', () => ++n === 10 && resolve());
    });
    for (let i = 0; i < 5; i++) client.write('o');
    for (let i = 0; i < 5; i++) client.send('u', { unordered: true });
    await got;
    await waitFor(() => client.stats().inSacks > 0, 5000, 'a SACK');
    const sent = client.stats();
    const received = association.stats();
    expect(sent.outOrderedChunks).toBe(5);
    expect(sent.outUnorderedChunks).toBe(5);
    expect(received.inOrderedChunks).toBe(5);
    expect(received.inUnorderedChunks).toBe(5);
    expect(sent.outPackets).toBeGreaterThan(0);
    // INIT and COOKIE ECHO arrive before the server has the association that counts.
    expect(received.inPackets).toBeGreaterThanOrEqual(sent.outPackets - 2);
    expect(received.inPackets).toBeLessThanOrEqual(sent.outPackets);
    expect(sent.retransmittedChunks).toBe(0);
    expect(received.duplicateChunks).toBe(0);
    // INIT, COOKIE ECHO and the SACKs are control chunks.
    expect(sent.outControlChunks).toBeGreaterThanOrEqual(2);
    // The kernel's max RTO is in ticks and reset at each read: not part of stats().
    expect(Object.keys(sent).sort()).toEqual(
      [
        'inPackets',
        'outPackets',
        'inSacks',
        'outSacks',
        'retransmittedChunks',
        'outOfSequenceTsns',
        'duplicateChunks',
        'gapAcks',
        'inOrderedChunks',
        'outOrderedChunks',
        'inUnorderedChunks',
        'outUnorderedChunks',
        'inControlChunks',
        'outControlChunks',
      ].sort(),
    );
  } finally {
    await close();
  }
});

test('ecn and prSctp: what one side leaves out of INIT, the association does without', async () => {
  const p = await socketPair({}, { ecn: false, asconf: false, prSctp: false });
  try {
    for (const side of [p.client, p.accepted]) {
      // (asconf is off by default already: net.sctp.addip_enable = 0.)
      expect(side.negotiated()).toMatchObject({ ecn: false, asconf: false, prSctp: false });
    }
  } finally {
    await p.close();
  }
  const q = await socketPair({}, {});
  try {
    // The sysctls' defaults: ECN and PR-SCTP on; ASCONF off (net.sctp.addip_enable = 0).
    expect(q.client.negotiated()).toMatchObject({ ecn: true, prSctp: true });
  } finally {
    await q.close();
  }
});

test('an endpoint: its settings for the associations to come, and each association its own', async () => {
  const server = createEndpoint({ host: '127.0.0.1', maxBurst: 6, ecn: false }).listen();
  let client: Socket | undefined;
  try {
    expect(server.settings()).toMatchObject({
      maxBurst: 6,
      ecn: false,
      fragmentInterleave: true, // kernel-sctp's, for isolation
    });
    server.setSettings({ sackDelay: 100 });
    const up = nextAssociation(server);
    client = connect({ host: '127.0.0.1', port: server.address()!.port });
    await connected(client);
    const association = await up;
    expect(client.negotiated().ecn).toBe(false);
    expect(association.settings()).toMatchObject({ maxBurst: 6, sackDelay: 100 });
    association.setSettings({ maxBurst: 2 });
    expect(association.settings().maxBurst).toBe(2);
    expect(server.settings().maxBurst).toBe(6);
  } finally {
    if (client) await endAndWait(client);
    server.destroy();
  }
});

test('settings refused: unknown, out of range, on the wrong object, or needed by kernel-sctp', async () => {
  const { server, client, association, close } = await endpointWithClient();
  try {
    expect(() => client.setSettings({ maxBursts: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(() => client.setSettings({ sackDelay: 501 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
    expect(() => client.setSettings({ fragmentInterleave: 1 as never })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_TYPE' }),
    );
    expect(() => client.setSettings({ adaptationIndication: 1 } as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_SCTP_SETTING_SCOPE',
        message: expect.stringMatching(/INIT/),
      }),
    );
    expect(() => association.setSettings({ partialDeliveryPoint: 1 } as never)).toThrow(
      expect.objectContaining({
        code: 'ERR_SCTP_SETTING_SCOPE',
        message: expect.stringMatching(/endpoint/),
      }),
    );
    expect(() => server.setSettings({ fragmentInterleave: false })).toThrow(
      expect.objectContaining({ code: 'ERR_SCTP_OPTION_RESERVED' }),
    );
    expect(() => createEndpoint({ fragmentInterleave: false })).toThrow(
      expect.objectContaining({ code: 'ERR_SCTP_OPTION_RESERVED' }),
    );
    // The kernel's own bound (at most half the receive buffer), after a setting it took:
    // that one is put back, so the refused call changed nothing.
    expect(() => client.setSettings({ maxBurst: 9, partialDeliveryPoint: 2 ** 31 - 1 })).toThrow(
      expect.objectContaining({ code: 'EINVAL', syscall: 'setsockopt' }),
    );
    expect(client.settings()).toMatchObject({ maxBurst: 4, partialDeliveryPoint: 0 });
    // While connecting, the association is out of reach: refused, not lost.
    const early = connect({ host: '127.0.0.1', port: server.address()!.port });
    expect(() => early.setSettings({ maxBurst: 2 })).toThrow(
      expect.objectContaining({ code: 'ERR_SOCKET_CONNECTING' }),
    );
    await connected(early);
    await endAndWait(early);
  } finally {
    await close();
  }
});

test('adaptationIndication: sent in INIT by kernel-sctp, received from a python peer', async () => {
  const server = createServer({ adaptationIndication: 0x0a0b0c0d });
  const port = await listening(server.listen(0, '127.0.0.1'));
  // python (not ours) connects and reads the adaptation indication event off its socket:
  // SCTP_EVENT (127) for SCTP_ADAPTATION_INDICATION (0x8007), then recvmsg with MSG_NOTIFICATION.
  const peer = await pythonPeer(`
import socket, struct
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
s.setsockopt(132, 127, struct.pack('iHB', 0, 0x8007, 1) + b'\\0')
s.setsockopt(132, 7, struct.pack('I', 0x01020304))  # SCTP_ADAPTATION_LAYER
print(0, flush=True)
s.connect(('127.0.0.1', ${port}))
while True:
    data, anc, flags, addr = s.recvmsg(4096)
    if flags & 0x8000:  # MSG_NOTIFICATION
        kind, = struct.unpack_from('H', data)
        if kind == 0x8007:
            print(struct.unpack_from('I', data, 8)[0], flush=True)
            break
s.recv(10)
`);
  try {
    const [accepted] = (await once(server, 'connection')) as [Socket];
    accepted.resume(); // notifications are read with the messages
    const [indication] = await once(accepted, 'adaptationIndication');
    expect(indication.adaptationIndication).toBe(0x01020304);
    expect(Number(await peer.line())).toBe(0x0a0b0c0d);
    accepted.end();
    await peer.exited;
  } finally {
    await closeServer(server);
  }
});

test('reusePort: two sockets connect from one local port; without it the second cannot bind', async () => {
  const servers = [createServer((s) => s.resume()), createServer((s) => s.resume())];
  const ports = await Promise.all(servers.map((s) => listening(s.listen(0, '127.0.0.1'))));
  const sockets: Socket[] = [];
  try {
    const first = connect({ host: '127.0.0.1', port: ports[0]!, reusePort: true });
    sockets.push(first);
    await connected(first);
    const localPort = first.localPort!;
    const second = connect({ host: '127.0.0.1', port: ports[1]!, localPort, reusePort: true });
    sockets.push(second);
    await connected(second);
    expect(second.localPort).toBe(localPort);
    const third = connect({ host: '127.0.0.1', port: ports[1]!, localPort });
    expect(await nextError(third)).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind' });
  } finally {
    await Promise.all(sockets.map(endAndWait));
    await Promise.all(servers.map(closeServer));
  }
});

test('setSendDefaults: the stream, PPID and PR-SCTP policy of messages sent without them', async () => {
  const p = await socketPair({}, { streams: { out: 4, in: 4 } });
  try {
    const first = messages(p.accepted, 1);
    p.client.write('0'); // a send with the old defaults first: they are not kept
    expect((await first)[0]!.info).toMatchObject({ stream: 0, ppid: 0 });
    p.client.setSendDefaults({ stream: 2, ppid: 46 });
    const got = messages(p.accepted, 2);
    p.client.write('a');
    p.client.send('b', { stream: 1 });
    const [a, b] = await got;
    expect(a!.info).toMatchObject({ stream: 2, ppid: 46 });
    expect(b!.info).toMatchObject({ stream: 1, ppid: 46 });
    expect(() => p.client.setSendDefaults({ streams: 1 } as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
  } finally {
    await p.close();
  }
  const { server, client, association, close } = await endpointWithClient();
  try {
    server.setSendDefaults({ ppid: 3 });
    const [, info] = (await new Promise((resolve) => {
      client.once('message', (...args) => resolve(args));
      association.send('x');
    })) as [Buffer, MessageInfo];
    expect(info.ppid).toBe(3);
  } finally {
    await close();
  }
});

test('path thresholds and the PLPMTUD probe interval, per path and for all', async () => {
  const p = await socketPair({}, {});
  try {
    const paths = p.client.paths;
    expect(paths.parameters()).toMatchObject({
      potentiallyFailedThreshold: 0, // net.sctp.pf_retrans
      primaryChangeThreshold: 65535, // net.sctp.ps_retrans
      probeInterval: 0, // net.sctp.plpmtud_probe_interval
    });
    paths.configure({ potentiallyFailedThreshold: 2, primaryChangeThreshold: 4 });
    paths.configure({ address: '127.0.0.1', potentiallyFailedThreshold: 1, probeInterval: 6000 });
    expect(paths.parameters('127.0.0.1')).toMatchObject({
      potentiallyFailedThreshold: 1,
      primaryChangeThreshold: 4,
      probeInterval: 6000,
    });
    expect(() => paths.configure({ potentiallyFailedThreshold: 5 })).toThrow(
      expect.objectContaining({
        code: 'ERR_INVALID_ARG_VALUE',
        message: expect.stringMatching(/primaryChangeThreshold/),
      }),
    );
    expect(() => paths.configure({ probeInterval: 1000 })).toThrow(
      expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }),
    );
  } finally {
    await p.close();
  }
});

test('retransmission and pathDefaults: what associations start with, accepted ones too; heartbeats come at the interval', async () => {
  // Multiples of the kernel's tick (4 ms at HZ=250, 10 ms at HZ=100): they read back as set.
  const tuned = {
    retransmission: { rtoInitial: 200, rtoMin: 100, rtoMax: 800, maxRetransmissions: 7 },
    pathDefaults: { heartbeatInterval: 200, maxRetransmissions: 3, potentiallyFailedThreshold: 1 },
  };
  const server = createServer(tuned);
  const endpoint = createEndpoint({ host: '127.0.0.1', ...tuned }).listen();
  const untuned = createEndpoint({ host: '127.0.0.1' }).listen();
  const sockets: Socket[] = [];
  const open = async (port: number, options = {}) => {
    const s = connect({ host: '127.0.0.1', port, ...options });
    sockets.push(s);
    await connected(s);
    return s;
  };
  try {
    const port = await listening(server.listen({ host: '127.0.0.1', port: 0 }));
    const accepted = once(server, 'connection') as Promise<[Socket]>;
    const association = nextAssociation(endpoint);
    const toServer = await open(port);
    await open(endpoint.address()!.port);
    // A tuned client and a plain one, each with an untuned peer: only the client's own
    // heartbeats (and the peer's HEARTBEAT ACKs) go over each association.
    const client = await open(untuned.address()!.port, tuned);
    const plain = await open(untuned.address()!.port);
    const [serverSide] = await accepted;
    sockets.push(serverSide);
    for (const paths of [client.paths, serverSide.paths, (await association).paths]) {
      expect(paths.retransmission()).toEqual(tuned.retransmission);
      expect(paths.parameters()).toMatchObject(tuned.pathDefaults);
      expect(paths.parameters('127.0.0.1')).toMatchObject(tuned.pathDefaults);
    }
    expect(toServer.paths.parameters()).toMatchObject({ heartbeatInterval: 30000 });
    // Idle for 2 s: heartbeats every 200 ms plus an RTO (about 200 ms, with the kernel's
    // jitter) from the tuned client; none from the plain one, with the kernel's 30 s.
    const before = [client.stats().outControlChunks, plain.stats().outControlChunks];
    await sleep(2000);
    expect(client.stats().outControlChunks - before[0]!).toBeGreaterThanOrEqual(3);
    expect(plain.stats().outControlChunks - before[1]!).toBe(0);
  } finally {
    await Promise.all(sockets.map(endAndWait));
    await closeServer(server);
    endpoint.destroy();
    untuned.destroy();
  }
});

test('retransmission and pathDefaults are checked before a socket is opened', async () => {
  const refused: [object, string][] = [
    [{ retransmission: { rtoMin: 0 } }, 'ERR_OUT_OF_RANGE'],
    [{ retransmission: { rtoMin: 500, rtoMax: 400 } }, 'ERR_INVALID_ARG_VALUE'],
    [{ retransmission: { maxRetransmissions: 70000 } }, 'ERR_OUT_OF_RANGE'],
    [{ retransmission: 5 }, 'ERR_INVALID_ARG_TYPE'],
    [{ pathDefaults: null }, 'ERR_INVALID_ARG_TYPE'],
    [{ pathDefaults: { heartbeatInterval: -1 } }, 'ERR_OUT_OF_RANGE'],
    [{ pathDefaults: { heartbeat: 'yes' } }, 'ERR_INVALID_ARG_TYPE'],
    [{ pathDefaults: { heartbeat: false, heartbeatInterval: 100 } }, 'ERR_INVALID_ARG_VALUE'],
    [{ pathDefaults: { mtuDiscovery: true, mtu: 1200 } }, 'ERR_INVALID_ARG_VALUE'],
    [
      { pathDefaults: { potentiallyFailedThreshold: 3, primaryChangeThreshold: 2 } },
      'ERR_INVALID_ARG_VALUE',
    ],
    [{ pathDefaults: { address: '127.0.0.1' } }, 'ERR_INVALID_ARG_VALUE'],
    [{ pathDefaults: { sackDelay: 100 } }, 'ERR_INVALID_ARG_VALUE'],
  ];
  const fds = () => readdirSync('/proc/self/fd').length;
  const before = fds();
  for (const [options, code] of refused) {
    for (const open of [
      () => createServer(options),
      () => createEndpoint({ host: '127.0.0.1', ...options }),
      () => connect({ host: '127.0.0.1', port: 9, ...options }),
    ]) {
      expect(open).toThrow(expect.objectContaining({ code }));
    }
  }
  expect(fds()).toBe(before); // nothing was opened
  // A peeled-off association is up already: these are refused there too.
  const { association, close } = await endpointWithClient();
  try {
    expect(() => association.peeloff({ retransmission: { rtoMin: 100 } })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }),
    );
    expect(association.state).toBe('up');
  } finally {
    await close();
  }
});
