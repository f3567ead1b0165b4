// `sctpt proxy` between multihomed clients and backends, in network namespaces. First on the
// dual-path topology:
//
//   client ns: 20 clients,            server ns: two proxies (ports 6001, 6002) on both
//   each on 192.0.2.2 + 198.51.100.2   192.0.2.1 + 198.51.100.1; three echo backends
//                                      (sctpt server) on 127.0.0.1 + 127.0.0.2, ports 7001-7003
//
// Proxy 1 is round-robin and aborts the clients of a failed backend; proxy 2 hashes on the
// client's port and moves them to another backend. Then on the seed's cluster: two proxies
// behind a distributor that hashes on SCTP ports (test/helpers/cluster.ts). Every message is
// checked end to end (test/fixtures/proxy-clients.ts).
import path from 'node:path';
import { createCluster, SERVICE_ADDRESSES, type Cluster } from './helpers/cluster';
import { createDualPath, type DualPath } from './helpers/topology';
import { JsonLines, waitFor } from './helpers/net';

const sctpt = path.join(__dirname, '..', 'cli', 'sctpt.js');
const clientsScript = path.join(__dirname, 'fixtures', 'proxy-clients.js');
const tag = `${process.pid}`;
const BACKEND_PORTS = [7001, 7002, 7003];
const backendName = (port: number) => `127.0.0.1,127.0.0.2:${port}`;

interface Pair {
  id: number;
  client: { addresses: string[]; port: number };
  backend: string;
}
interface ClientResult {
  index: number;
  localPort: number;
  sent: number;
  echoed: number;
  missing: number;
  bad: string[];
  badCount: number;
  ended: string | null;
}

/** The lines of one event that a process printed so far, from the `from`-th on. */
const linesOf = (p: JsonLines, event: string, from = 0) =>
  p.history.filter((l) => l.event === event).slice(from);

async function waitForLine(p: JsonLines, event: string): Promise<void> {
  await waitFor(() => linesOf(p, event).length > 0, 30000, `a "${event}" line`);
}

// One retry per test in this file (jest applies it file-wide). Once, in the cluster test,
// in one CI run of about six under parallel load, one client's association was reset
// (ECONNRESET) before it sent anything; the cause is not found. The first failure is printed
// before the retry, with the proxies' clientError lines where the test checks them.
jest.retryTimes(1, { logErrorsBeforeRetry: true });

const processes: JsonLines[] = [];
/** Kills what inNs() started (before its namespaces go). */
function killAll(): void {
  for (const p of processes.splice(0)) p.kill();
}
afterAll(killAll);

/** `node args...` in a namespace, killed after the tests. */
function inNs(ns: string, args: string[]): JsonLines {
  const p = new JsonLines('ip', ['netns', 'exec', ns, process.execPath, ...args]);
  processes.push(p);
  return p;
}

/** Runs the clients' fixture in a namespace; `during` runs once their traffic has started. */
async function runClients(
  ns: string,
  plan: Record<string, unknown>,
  during: () => Promise<void> | void = () => {},
): Promise<{ ports: number[]; result: ClientResult[] }> {
  const run = inNs(ns, [clientsScript, JSON.stringify({ rate: 40, grace: 15000, ...plan })]);
  const { up, fatal } = await run.next<{ up: { localPort: number }[]; fatal?: string }>();
  expect(fatal).toBeUndefined();
  expect(await run.next()).toEqual({ traffic: 'started' });
  await during();
  const last = await run.next<{ result?: ClientResult[]; fatal?: string }>(120000);
  expect(last.fatal).toBeUndefined();
  expect(await run.exit()).toBe(0);
  return { ports: up.map((u) => u.localPort), result: last.result! };
}

/** Nothing lost, nothing changed, the association still up when the traffic ended. */
const intact = (r: ClientResult) =>
  expect({ ...r, localPort: 0, sent: 0 }).toEqual({
    ...r,
    localPort: 0,
    sent: 0,
    ended: null,
    missing: 0,
    bad: [],
    badCount: 0,
    echoed: r.sent,
  });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Failover in about a second (the kernel's defaults take a minute), set per namespace. */
const FAST_FAILOVER_SYSCTLS = [
  'net.sctp.rto_min=100',
  'net.sctp.rto_initial=300',
  'net.sctp.rto_max=1000',
  'net.sctp.path_max_retrans=2',
  'net.sctp.hb_interval=300',
];

describe('sctpt proxy: 20 multihomed clients, two proxies, three backends', () => {
  let topo: DualPath;
  const backends = new Map<number, JsonLines>();
  let roundRobin: JsonLines; // proxy 1: round-robin, 'abort'
  let hashPorts: JsonLines; // proxy 2: hash-ports, 'reconnect'

  async function startBackend(port: number): Promise<void> {
    const b = inNs(topo.server, [
      ...[sctpt, 'server', '--addr', '127.0.0.1,127.0.0.2', '--port', `${port}`, '--json'],
    ]);
    await waitForLine(b, 'listening');
    backends.set(port, b);
  }

  async function startProxy(port: number, policy: string, onFailure: string): Promise<JsonLines> {
    const p = inNs(topo.server, [
      sctpt,
      'proxy',
      '--laddr',
      topo.serverAddresses.join(','),
      '--port',
      `${port}`,
      '--backends',
      BACKEND_PORTS.map((b) => `127.0.0.1+127.0.0.2:${b}`).join(','),
      '--policy',
      policy,
      '--on-backend-failure',
      onFailure,
      '--json',
      '--log',
      '6',
    ]);
    await waitForLine(p, 'listening');
    return p;
  }

  /**
   * Runs the clients (client i through proxy i mod 2); `during` runs once their traffic has
   * started. Returns their results, and the pairs each proxy formed in this run.
   */
  async function clients(
    plan: { duration: number; localPorts?: number[] },
    during: () => Promise<void> | void = () => {},
  ): Promise<{ ports: number[]; result: ClientResult[]; pairs: [Pair[], Pair[]] }> {
    const from = [linesOf(roundRobin, 'pair').length, linesOf(hashPorts, 'pair').length];
    const { ports, result } = await runClients(
      topo.client,
      {
        proxies: [6001, 6002].map((port) => ({ host: topo.serverAddresses, port })),
        clients: 20,
        localAddress: topo.clientAddresses,
        localPorts: plan.localPorts,
        duration: plan.duration,
      },
      during,
    );
    return {
      ports,
      result,
      pairs: [linesOf(roundRobin, 'pair', from[0]), linesOf(hashPorts, 'pair', from[1])],
    };
  }

  beforeAll(async () => {
    topo = createDualPath(tag);
    // A dead path is found in about a second (the kernel's defaults take a minute).
    topo.sysctl(Object.fromEntries(FAST_FAILOVER_SYSCTLS.map((s) => s.split('='))));
    for (const port of BACKEND_PORTS) await startBackend(port);
    roundRobin = await startProxy(6001, 'round-robin', 'abort');
    hashPorts = await startProxy(6002, 'hash-ports', 'reconnect');
  }, 120000);

  afterAll(() => {
    killAll();
    topo?.teardown();
  });

  let firstPorts: number[] = [];
  /** The backend hash-ports chose for each client port in the first run. */
  let hashed = new Map<number, string>();

  test('every message arrives intact both ways; round-robin in accept order; hash-ports spreads', async () => {
    const { ports, result, pairs } = await clients({ duration: 4000 });
    expect([roundRobin, hashPorts].flatMap((p) => linesOf(p, 'clientError'))).toEqual([]);
    expect(result).toHaveLength(20);
    for (const r of result) intact(r);
    // The clients send by the clock: 40 a second each for 4 s (3 s: a late last timer).
    expect(result.reduce((n, r) => n + r.sent, 0)).toBeGreaterThanOrEqual(20 * 40 * 3);
    firstPorts = ports;
    const [viaRR, viaHash] = pairs;
    // Each proxy paired its ten clients, and saw both of each client's addresses.
    expect(viaRR.map((p) => p.client.port).sort()).toEqual(
      ports.filter((_, i) => i % 2 === 0).sort(),
    );
    expect(viaHash.map((p) => p.client.port).sort()).toEqual(
      ports.filter((_, i) => i % 2 === 1).sort(),
    );
    for (const p of [...viaRR, ...viaHash]) {
      expect([...p.client.addresses].sort()).toEqual([...topo.clientAddresses].sort());
    }
    // Round-robin: the k-th client accepted goes to backend k mod 3 (4, 3 and 3 clients).
    for (const p of viaRR) expect(p.backend).toBe(backendName(BACKEND_PORTS[(p.id - 1) % 3]!));
    // Hash on ports: ten random ports are not all on one backend.
    hashed = new Map(viaHash.map((p) => [p.client.port, p.backend]));
    expect(new Set(hashed.values()).size).toBeGreaterThan(1);
  }, 120000);

  test('a backend killed under traffic: its clients ended (proxy 1) or moved (proxy 2), the others lose nothing; hash-ports gives a returning client the same backend', async () => {
    const killed = backendName(7002);
    const { ports, result, pairs } = await clients(
      { duration: 5000, localPorts: firstPorts },
      async () => {
        await new Promise((r) => setTimeout(r, 1500));
        backends.get(7002)!.kill();
      },
    );
    expect(ports).toEqual(firstPorts);
    const [viaRR, viaHash] = pairs;
    // Each port's first pair of this run is its original one; a moved client has a second.
    const first = (list: Pair[], port: number) => list.find((p) => p.client.port === port)!;
    const last = (list: Pair[], port: number) => list.filter((p) => p.client.port === port).pop()!;
    for (const [port, backend] of hashed) expect(first(viaHash, port).backend).toBe(backend);
    let affected = 0;
    for (const r of result) {
      const list = r.index % 2 === 0 ? viaRR : viaHash;
      if (first(list, r.localPort).backend !== killed) {
        intact(r); // nothing lost on the other associations
        continue;
      }
      affected++;
      expect(r.badCount).toBe(0);
      if (list === viaRR) {
        // 'abort': the proxy ended this client's association (the backend's end passed on).
        expect(r.ended).not.toBeNull();
      } else {
        // 'reconnect': the association goes on with another backend; what was in flight to
        // the killed one is lost, and what came after was answered.
        expect(r.ended).toBeNull();
        expect(last(list, r.localPort).backend).not.toBe(killed);
        expect(r.missing).toBeLessThan(r.sent / 4);
        expect(r.echoed + r.missing).toBe(r.sent);
      }
    }
    expect(affected).toBeGreaterThan(0);
    await startBackend(7002);
  }, 180000);

  test('the primary path cut on the client side: failover through the proxy, nothing lost', async () => {
    const before = topo.counters('client', 'b');
    try {
      const { result } = await clients({ duration: 8000 }, async () => {
        await new Promise((r) => setTimeout(r, 2000));
        topo.cut('a');
      });
      for (const r of result) intact(r);
    } finally {
      topo.restore('a');
    }
    const after = topo.counters('client', 'b');
    // Path B carried the traffic after the cut, both ways: not just heartbeats.
    expect(after.tx - before.tx).toBeGreaterThan(100000);
    expect(after.rx - before.rx).toBeGreaterThan(100000);
  }, 180000);

  test('SIGTERM: the proxy prints its status, shuts down and exits 0', async () => {
    roundRobin.child.kill('SIGTERM');
    expect(await roundRobin.exit()).toBe(0);
    const [status] = linesOf(roundRobin, 'status');
    expect(status.backends.map((b: { name: string }) => b.name)).toEqual(
      BACKEND_PORTS.map(backendName),
    );
    expect(status.backends.every((b: { healthy: boolean }) => b.healthy)).toBe(true);
  });
});

describe("the seed's cluster: two proxies behind a distributor that hashes on SCTP ports", () => {
  let cluster: Cluster;
  const proxies: JsonLines[] = [];

  beforeAll(async () => {
    cluster = createCluster(tag);
    for (const ns of [cluster.client, ...cluster.proxies]) {
      cluster.exec(ns, ['sysctl', '-q', '-w', ...FAST_FAILOVER_SYSCTLS]);
    }
    for (const port of BACKEND_PORTS) {
      const b = inNs(cluster.backends, [sctpt, 'server', '--port', `${port}`, '--json']);
      await waitForLine(b, 'listening');
    }
    for (const [i, ns] of cluster.proxies.entries()) {
      const p = inNs(ns, [
        ...[sctpt, 'proxy', '--laddr', SERVICE_ADDRESSES.join(','), '--port', '6000'],
        '--backends',
        BACKEND_PORTS.map((port) => `${cluster.backendAddress[i]}:${port}`).join(','),
        // Its own address towards the backends only: unbound, its INIT would list every
        // address of the node, the service addresses that both proxies share included.
        ...['--backend-laddr', `10.3.${i + 1}.1`],
        ...['--json', '--log', '6'],
      ]);
      await waitForLine(p, 'listening');
      proxies.push(p);
    }
  }, 120000);

  afterAll(() => {
    killAll();
    cluster?.teardown();
  });

  test('every path of a client reaches the same proxy: both networks used, net1 cut under traffic, nothing lost', async () => {
    // Fixed client ports: the hash (and so each client's proxy) is the same on every run.
    const localPorts = Array.from({ length: 16 }, (_, i) => 41000 + i);
    // What each proxy prints from now on (a retry starts from here again).
    const from = proxies.map((p) => p.history.length);
    const printed = (k: number, event: string) =>
      proxies[k]!.history.slice(from[k]).filter((l) => l.event === event);
    const { ports, result } = await runClients(
      cluster.client,
      {
        proxies: [{ host: SERVICE_ADDRESSES, port: 6000 }],
        clients: 16,
        localAddress: cluster.clientAddresses,
        localPorts,
        duration: 8000,
      },
      async () => {
        await sleep(2500); // both paths confirmed by heartbeats, traffic on the primary (net1)
        cluster.cutNet1();
      },
    ).finally(() => cluster.restoreNet1());
    expect(ports).toEqual(localPorts);
    // No client refused, no backend failed (if any, what the proxies said is shown here).
    expect(
      [0, 1].flatMap((k) => [...printed(k, 'clientError'), ...printed(k, 'backendDown')]),
    ).toEqual([]);
    // Nothing lost: a path landing on the other proxy would have had the association aborted
    // (an out-of-the-blue packet is answered with ABORT).
    for (const r of result) intact(r);
    // Each client was paired on exactly one proxy, which saw both of its addresses.
    const pairs = [0, 1].map((k) => printed(k, 'pair') as Pair[]);
    expect(
      pairs
        .flat()
        .map((p) => p.client.port)
        .sort(),
    ).toEqual(localPorts);
    for (const p of pairs.flat()) {
      expect([...p.client.addresses].sort()).toEqual([...cluster.clientAddresses].sort());
    }
    // Both proxies got clients, and each was reached from both networks.
    const forwarded = cluster.forwarded();
    for (const k of [0, 1]) {
      expect(pairs[k]!.length).toBeGreaterThan(0);
      expect(forwarded.net1[k]).toBeGreaterThan(0);
      expect(forwarded.net2[k]).toBeGreaterThan(0);
    }
    // After the cut everything went over net2: far more than the heartbeats before it.
    expect(forwarded.net2[0]! + forwarded.net2[1]!).toBeGreaterThan(16 * 40 * 4);
  }, 180000);
});
