// Multihoming on the seed's dual-path topology: two network namespaces joined by two veth
// pairs on two separate subnets. A kernel-sctp peer runs in each namespace (the client side
// is test/fixtures/path-scenario.ts, which cuts and impairs paths while traffic flows).
import path from 'node:path';
import { connect, createServer } from '../lib';
import { createDualPath, FAST_FAILOVER, type DualPath } from './helpers/topology';
import { JsonLines } from './helpers/net';

const peer = path.join(__dirname, 'fixtures', 'peer.js');
const scenarioScript = path.join(__dirname, 'fixtures', 'path-scenario.js');
const tag = `${process.pid}`;

describe('dual-path network (namespaces, two veth pairs)', () => {
  let topo: DualPath;
  const processes: JsonLines[] = [];

  beforeAll(() => {
    topo = createDualPath(tag);
    // ASCONF (address add/remove, peer primary) is off by default; without AUTH it also
    // needs addip_noauth_enable. Both are per namespace.
    topo.sysctl({ 'net.sctp.addip_enable': 1, 'net.sctp.addip_noauth_enable': 1 });
  });

  afterAll(() => {
    for (const p of processes) p.kill();
    topo?.teardown();
  });

  function inNamespace(ns: string, args: string[]): JsonLines {
    const p = new JsonLines('ip', ['netns', 'exec', ns, process.execPath, ...args]);
    processes.push(p);
    return p;
  }

  /** An echo server on both server addresses, tuned like the scenario's client. */
  async function startServer(): Promise<{ server: JsonLines; port: number }> {
    const server = inNamespace(topo.server, [
      peer,
      'server',
      topo.serverAddresses.join(','),
      '0',
      JSON.stringify(FAST_FAILOVER),
    ]);
    const { listening: port } = await server.next<{ listening: number }>();
    return { server, port };
  }

  async function scenario<T>(name: string, port: number): Promise<T> {
    const client = inNamespace(topo.client, [scenarioScript, name, tag, String(port)]);
    const result = await client.next<T & { fatal?: string }>(300000);
    expect(result.fatal).toBeUndefined();
    return result;
  }

  test("1. both ends list both of the other side's addresses, and data flows", async () => {
    const { server, port } = await startServer();
    const client = inNamespace(topo.client, [
      peer,
      'client',
      topo.serverAddresses.join(','),
      String(port),
      topo.clientAddresses.join(','),
    ]);
    const clientUp = await client.next<{ up: { local: string[]; remote: string[] } }>();
    const serverUp = await server.next<{ up: { local: string[]; remote: string[] } }>();
    const sorted = (a: string[]) => [...a].sort();
    expect(clientUp.up.remote).toEqual(sorted(topo.serverAddresses));
    expect(clientUp.up.local).toEqual(sorted(topo.clientAddresses));
    expect(serverUp.up.remote).toEqual(sorted(topo.clientAddresses));
    expect(serverUp.up.local).toEqual(sorted(topo.serverAddresses));
    expect(await client.next()).toEqual({ echo: 'ping' });
    expect(await client.exit()).toBe(0);
    expect(await server.exit()).toBe(0);
  });

  test('2. primary path blackholed under traffic: unreachable, failover, nothing lost, back to available', async () => {
    const { server, port } = await startServer();
    const r = await scenario<{
      sent: number;
      received: number;
      duplicatesOrGaps: number;
      corrupt: number;
      maxEchoGapMs: number;
      blockedSends: number;
      primaryBefore: string;
      pathsDuringCut: { address: string; state: string }[];
      unreachableAfterMs: number | null;
      availableAfterMs: number | null;
      state: string;
    }>('failover', port);
    console.log(`failover: ${JSON.stringify(r)}`); // the stall time, for the notes
    expect(r.primaryBefore).toBe('192.0.2.1');
    expect(r.received).toBe(5000);
    expect(r.duplicatesOrGaps).toBe(0);
    expect(r.corrupt).toBe(0);
    expect(r.unreachableAfterMs).not.toBeNull();
    // Path A is down; B carries the traffic (it may be briefly 'potentially_failed' after a
    // retransmission timeout of its own under the burst of retransmissions).
    const during = Object.fromEntries(r.pathsDuringCut.map((p) => [p.address, p.state]));
    expect(during['192.0.2.1']).toBe('inactive');
    expect(['active', 'potentially_failed']).toContain(during['198.51.100.1']);
    expect(r.state).toBe('established');
    expect(r.availableAfterMs).not.toBeNull();
    server.kill();
  });

  test('2u. the same failover with every packet inside UDP (RFC 6951): nothing lost, and the server received it all as UDP', async () => {
    topo.sysctl({ 'net.sctp.udp_port': 9899 }); // each namespace's own UDP tunnel port
    try {
      const { server, port } = await startServer();
      const udpIn = () => {
        const snmp = topo.exec(topo.server, ['cat', '/proc/net/snmp']).split('\n');
        const [names, values] = snmp.filter((l) => l.startsWith('Udp:')).map((l) => l.split(/\s+/));
        return Number(values![names!.indexOf('InDatagrams')]);
      };
      const before = udpIn();
      const r = await scenario<{
        received: number;
        duplicatesOrGaps: number;
        corrupt: number;
        unreachableAfterMs: number | null;
        availableAfterMs: number | null;
        encapsulationPorts: number[];
        state: string;
      }>('udp-failover', port);
      const datagrams = udpIn() - before;
      console.log(`failover over UDP: ${JSON.stringify({ ...r, datagrams })}`);
      expect(r.encapsulationPorts).toEqual([9899, 9899]);
      expect(r.received).toBe(5000);
      expect(r.duplicatesOrGaps).toBe(0);
      expect(r.corrupt).toBe(0);
      expect(r.unreachableAfterMs).not.toBeNull();
      expect(r.availableAfterMs).not.toBeNull();
      expect(r.state).toBe('established');
      // 5000 messages in, each in a packet of its own or bundled: at least a few thousand
      // datagrams, which plain SCTP would not have counted at all.
      expect(datagrams).toBeGreaterThan(2000);
      server.kill();
    } finally {
      topo.sysctl({ 'net.sctp.udp_port': 0 });
    }
  });

  test('3. every path down: the association is lost with ETIMEDOUT within the configured bound', async () => {
    const { server, port } = await startServer();
    const r = await scenario<{ code: string; lostAfterMs: number; boundMs: number }>(
      'all-down',
      port,
    );
    console.log(`all paths down: ${JSON.stringify(r)}`);
    expect(r.code).toBe('ETIMEDOUT');
    expect(r.lostAfterMs).toBeLessThanOrEqual(r.boundMs);
    server.kill();
  });

  test("4. setting our primary and the peer's primary moves the data to path B", async () => {
    const { server, port } = await startServer();
    type Phase = { txA: number; txB: number; rxA: number; rxB: number };
    const r = await scenario<{ initial: Phase; ours: Phase; peers: Phase; primaryAfter: string }>(
      'primary',
      port,
    );
    console.log(`primary paths (client interface byte counts): ${JSON.stringify(r)}`);
    // 200 messages of 200 bytes each way per phase (they are echoed): a path that carries
    // data counts over 40,000 bytes, SACKs go back to where the data came from, and an idle
    // path carries only heartbeats (about 100 bytes each, one per 300 ms and path).
    const DATA = 200 * 200;
    const IDLE = 5000;
    expect(r.initial.txA).toBeGreaterThan(DATA);
    expect(r.initial.rxA).toBeGreaterThan(DATA);
    expect(r.initial.txB + r.initial.rxB).toBeLessThan(IDLE);
    expect(r.primaryAfter).toBe('198.51.100.1');
    expect(r.ours.txB).toBeGreaterThan(DATA); // our data now leaves on B
    expect(r.ours.rxA).toBeGreaterThan(DATA); // the peer still sends to 192.0.2.2
    // (our B address does receive the SACKs for the data sent on B, unless the peer
    // bundles them with its echoes on A: timing decides, so rxB is not checked here)
    expect(r.peers.rxB).toBeGreaterThan(DATA); // and now to 198.51.100.2
    expect(r.peers.rxA).toBeLessThan(IDLE);
    server.kill();
  });

  test('5. a local address added and removed at run time is seen by the peer', async () => {
    const { server, port } = await startServer();
    const client = inNamespace(topo.client, [scenarioScript, 'asconf', tag, String(port)]);
    type Change = { peerAddressChange?: { address: string; state: string }; remote: string[] };
    // The peer's view, skipping the association coming up and heartbeat confirmations.
    const nextChange = async (state: string) => {
      for (;;) {
        const line = await server.next<Change>();
        if (line.peerAddressChange?.state === state) return line;
      }
    };
    const added = await nextChange('added');
    expect(added.peerAddressChange).toEqual({ address: '192.0.2.3', state: 'added' });
    expect(added.remote).toEqual(['192.0.2.2', '192.0.2.3', '198.51.100.2']);
    const removed = await nextChange('removed');
    expect(removed.peerAddressChange).toEqual({ address: '192.0.2.3', state: 'removed' });
    expect(removed.remote).toEqual(['192.0.2.2', '198.51.100.2']);
    const r = await client.next<{ afterAdd: string[]; afterRemove: string[] }>();
    expect(r.afterAdd).toEqual(['192.0.2.2', '192.0.2.3', '198.51.100.2']);
    expect(r.afterRemove).toEqual(['192.0.2.2', '198.51.100.2']);
    server.kill();
  });

  test('6. 5% loss and 20 ms delay on the primary path: every payload intact and in order', async () => {
    const { server, port } = await startServer();
    const r = await scenario<{ received: number; duplicatesOrGaps: number; corrupt: number }>(
      'netem',
      port,
    );
    console.log(`netem: ${JSON.stringify(r)}`);
    expect(r.received).toBe(2000);
    expect(r.duplicatesOrGaps).toBe(0);
    expect(r.corrupt).toBe(0);
    server.kill();
  });
});

describe('the paths API on a loopback multihomed association', () => {
  test('list, primary, per-path parameters, retransmission, heartbeat; bad input rejected', async () => {
    const server = createServer((s) => s.resume());
    await new Promise<void>((r) => server.listen({ host: ['127.0.0.1', '127.0.0.2'] }, r));
    const socket = connect({
      host: ['127.0.0.1', '127.0.0.2'],
      port: server.address()!.port,
      localAddress: ['127.0.0.3', '127.0.0.4'],
    });
    await new Promise((r) => socket.once('connect', r));
    const paths = socket.paths;
    expect(paths.list().map((p) => p.address.address)).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(paths.primary().address.address).toBe('127.0.0.1');
    expect(paths.get('127.0.0.2')).toMatchObject({
      address: { address: '127.0.0.2', family: 'IPv4' },
      state: expect.stringMatching(/^(active|unconfirmed)$/),
    });
    paths.setPrimary('127.0.0.2');
    expect(paths.primary().address.address).toBe('127.0.0.2');
    expect(socket.status().primary.address.address).toBe('127.0.0.2');

    paths.configure({ address: '127.0.0.1', heartbeatInterval: 2000, maxRetransmissions: 3 });
    expect(paths.parameters('127.0.0.1')).toMatchObject({
      heartbeat: true,
      heartbeatInterval: 2000,
      maxRetransmissions: 3,
    });
    expect(paths.parameters('127.0.0.2').heartbeatInterval).not.toBe(2000);
    paths.configure({ address: '127.0.0.2', heartbeat: false });
    expect(paths.parameters('127.0.0.2').heartbeat).toBe(false);
    paths.heartbeat('127.0.0.1');

    paths.setRetransmission({ rtoMin: 200, rtoMax: 2000, maxRetransmissions: 7 });
    expect(paths.retransmission()).toMatchObject({
      rtoMin: 200,
      rtoMax: 2000,
      maxRetransmissions: 7,
    });

    const code = (c: string) => expect.objectContaining({ code: c });
    expect(() => paths.get('127.0.0.9')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => paths.get('nonsense')).toThrow(code('ERR_INVALID_ARG_VALUE'));
    expect(() => paths.configure({ mtu: 10 })).toThrow(code('ERR_OUT_OF_RANGE'));
    expect(() => paths.configure({ heartbeat: 'yes' as never })).toThrow(
      code('ERR_INVALID_ARG_TYPE'),
    );
    expect(() => paths.setPeerPrimary('127.0.0.1')).toThrow(code('ERR_INVALID_ARG_VALUE'));

    await new Promise((r) => {
      socket.on('close', r);
      socket.resume();
      socket.end();
    });
    expect(() => socket.paths.list()).toThrow(code('ERR_SOCKET_CLOSED'));
    await new Promise((r) => server.close(r));
  });
});

describe("the seed's failover recipe with sctpt", () => {
  let topo: DualPath;
  const processes: JsonLines[] = [];
  const sctpt = path.join(__dirname, '..', 'cli', 'sctpt.js');

  beforeAll(() => {
    topo = createDualPath(`${tag}f`);
    // The kernel defaults would take a minute to give up on a path; these take two seconds.
    // RTO.Min stays at 300 ms: at 200 messages/s per association, each retransmission timeout
    // then outlasts the 16 KiB send buffer (about 80 ms of messages) and the send blocks; with
    // 100 ms it sometimes did not, on a busy machine.
    topo.sysctl({
      'net.sctp.rto_initial': 500,
      'net.sctp.rto_min': 300,
      'net.sctp.rto_max': 1000,
      'net.sctp.path_max_retrans': 2,
      'net.sctp.hb_interval': 300,
    });
  });

  afterAll(() => {
    for (const p of processes) p.kill();
    topo?.teardown();
  });

  test('ctraffic while path A is cut and restored: blocked and unblocked, nothing lost', async () => {
    const inNs = (ns: string, args: string[]) => {
      const p = new JsonLines('ip', ['netns', 'exec', ns, process.execPath, sctpt, ...args]);
      processes.push(p);
      return p;
    };
    const server = inNs(topo.server, [
      'server',
      '--addr',
      topo.serverAddresses.join(','),
      '--port',
      '6000',
      '--json',
    ]);
    expect(await server.next()).toMatchObject({ event: 'listening' });
    const traffic = inNs(topo.client, [
      'ctraffic',
      '--addr',
      topo.serverAddresses.join(','),
      '--laddr',
      topo.clientAddresses.join(','),
      '--port',
      '6000',
      '--clients',
      '2',
      '--rate',
      '400',
      '--duration',
      '8',
      '--sndbuf',
      '8192',
      '--json',
      '--log',
      '6',
      '--stats-file',
      '/dev/null',
    ]);
    // The cut must come after both associations are up on path A (the tool may take seconds
    // to start in the VM; set up during the cut, an association would start on path B).
    const events: Record<string, any>[] = [];
    while (events.filter((e) => e.event === 'connected').length < 2) {
      events.push(await traffic.next<Record<string, any>>(60000));
    }
    await new Promise((r) => setTimeout(r, 1500));
    topo.cut('a');
    await new Promise((r) => setTimeout(r, 3000));
    topo.restore('a');
    for (;;) {
      const e = await traffic.next<Record<string, any>>(120000);
      events.push(e);
      if (e.event === 'summary') break;
    }
    const summary = events.at(-1)!;
    console.log(
      `sctpt failover: ${JSON.stringify({ ...summary, rtt: { ...summary.rtt, buckets: undefined } })}`,
    );
    expect(events.some((e) => e.event === 'blocked')).toBe(true);
    expect(events.some((e) => e.event === 'unblocked')).toBe(true);
    expect(summary.lost).toBe(0);
    expect(summary.failedAssociations).toBe(0);
    expect(summary.received).toBe(summary.sent);
    expect(await traffic.exit()).toBe(0);
    server.kill();
  });
});
