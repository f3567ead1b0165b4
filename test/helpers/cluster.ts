// The container seed's cluster, in network namespaces (docs/cluster.svg):
//
//   client ──net1 192.0.2.0/24──────┐            ┌─10.1.1.0/24─ proxy1 ─10.3.1.0/24─┐
//          ──net2 198.51.100.0/24── dist (router) ┤                                   backends
//                                                 └─10.1.2.0/24─ proxy2 ─10.3.2.0/24─┘
//
// Both proxies hold both service addresses (203.0.113.1 and .2). The distributor marks each
// SCTP packet to them with a hash of its ports only (iptables' HMARK: the UML kernel has
// netfilter's x_tables but no nf_tables for IPv4) and routes it by the mark to a proxy. No
// address is translated, so the addresses inside INIT and INIT-ACK stay true, and the two
// paths of a multihomed client (different addresses, same ports) reach the same proxy.
import { execFileSync } from 'node:child_process';
import { ip } from './topology';

export const SERVICE_ADDRESSES = ['203.0.113.1', '203.0.113.2'];

export interface Cluster {
  client: string;
  dist: string;
  proxies: [string, string];
  backends: string;
  clientAddresses: [string, string];
  /** The backends' address as each proxy reaches it. */
  backendAddress: [string, string];
  /** Runs a command in a namespace. */
  exec(ns: string, args: string[]): string;
  /** Blackholes the client's net1 (netem drops every packet both ways), or restores it. */
  cutNet1(): void;
  restoreNet1(): void;
  /**
   * SCTP packets the distributor forwarded to each proxy, by the client network they came
   * from: `{ net1: [to proxy1, to proxy2], net2: [...] }` (iptables' counters).
   */
  forwarded(): Record<'net1' | 'net2', [number, number]>;
  teardown(): void;
}

export function createCluster(tag = `${process.pid}`): Cluster {
  const ns = (name: string) => `ksctp-${name}${tag}`;
  const client = ns('cl');
  const dist = ns('di');
  const proxies: [string, string] = [ns('p1'), ns('p2')];
  const backends = ns('be');
  const all = [client, dist, ...proxies, backends];
  const dev = (name: string) => `${name}${tag}`.slice(0, 15);
  const exec = (n: string, args: string[]) =>
    execFileSync('ip', ['netns', 'exec', n, ...args], { encoding: 'utf8' });
  /** A veth pair between two namespaces, each end with its address. */
  const link = (a: string, aAddr: string, b: string, bAddr: string, name: string) => {
    const [da, db] = [dev(`${name}a`), dev(`${name}b`)];
    ip(['link', 'add', da, 'netns', a, 'type', 'veth', 'peer', 'name', db, 'netns', b]);
    ip(['-n', a, 'addr', 'add', aAddr, 'dev', da]);
    ip(['-n', b, 'addr', 'add', bAddr, 'dev', db]);
    ip(['-n', a, 'link', 'set', da, 'up']);
    ip(['-n', b, 'link', 'set', db, 'up']);
  };
  const netem = (loss: boolean) => {
    for (const [n, d] of [
      [client, dev('n1a')],
      [dist, dev('n1b')],
    ] as const) {
      const args = loss
        ? ['qdisc', 'replace', 'dev', d, 'root', 'netem', 'loss', '100%']
        : ['qdisc', 'del', 'dev', d, 'root'];
      execFileSync('ip', ['netns', 'exec', n, 'tc', ...args], { stdio: 'ignore' });
    }
  };
  const cluster: Cluster = {
    client,
    dist,
    proxies,
    backends,
    clientAddresses: ['192.0.2.10', '198.51.100.10'],
    backendAddress: ['10.3.1.2', '10.3.2.2'],
    exec,
    cutNet1: () => netem(true),
    restoreNet1: () => netem(false),
    forwarded: () => {
      const rows = exec(dist, [
        'iptables-legacy',
        '-t',
        'mangle',
        '-L',
        'FORWARD',
        '-n',
        '-v',
        '-x',
      ]);
      const count = (net: string, mark: number) =>
        Number(new RegExp(`^\\s*(\\d+)\\s.*/\\* ${net}-p${mark} \\*/`, 'm').exec(rows)?.[1]);
      return {
        net1: [count('net1', 1), count('net1', 2)],
        net2: [count('net2', 1), count('net2', 2)],
      };
    },
    teardown: () => {
      for (const n of all) {
        try {
          ip(['netns', 'del', n]);
        } catch {
          /* not there */
        }
      }
    },
  };
  try {
    for (const n of all) {
      ip(['netns', 'add', n]);
      ip(['-n', n, 'link', 'set', 'lo', 'up']);
      // Replies come from the service addresses, which the distributor has no route to: no
      // reverse-path filter, set before the interfaces exist so that they inherit it (a new
      // namespace may copy the host's rp_filter=2).
      exec(n, [
        'sysctl',
        '-q',
        '-w',
        ...['all', 'default'].map((d) => `net.ipv4.conf.${d}.rp_filter=0`),
      ]);
    }
    // The client's two networks, each with the distributor as the gateway to one service address.
    link(client, '192.0.2.10/24', dist, '192.0.2.1/24', 'n1');
    link(client, '198.51.100.10/24', dist, '198.51.100.1/24', 'n2');
    ip(['-n', client, 'route', 'add', '203.0.113.1/32', 'via', '192.0.2.1']);
    ip(['-n', client, 'route', 'add', '203.0.113.2/32', 'via', '198.51.100.1']);
    // Each proxy: both service addresses, its link to the distributor, one to the backends.
    for (const [i, p] of proxies.entries()) {
      const n = i + 1;
      link(dist, `10.1.${n}.1/24`, p, `10.1.${n}.2/24`, `d${n}`);
      link(p, `10.3.${n}.1/24`, backends, `10.3.${n}.2/24`, `b${n}`);
      ip(['-n', p, 'link', 'add', dev('svc'), 'type', 'dummy']);
      for (const a of SERVICE_ADDRESSES) ip(['-n', p, 'addr', 'add', `${a}/32`, 'dev', dev('svc')]);
      ip(['-n', p, 'link', 'set', dev('svc'), 'up']);
      ip(['-n', p, 'route', 'add', 'default', 'via', `10.1.${n}.1`]);
      // The distributor sends mark n to this proxy.
      ip(['-n', dist, 'rule', 'add', 'fwmark', `${n}`, 'table', `${100 + n}`]);
      ip([
        '-n',
        dist,
        'route',
        'add',
        '203.0.113.0/24',
        'via',
        `10.1.${n}.2`,
        'table',
        `${100 + n}`,
      ]);
    }
    exec(dist, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
    // The hash: SCTP source and destination ports only, into marks 1 and 2.
    exec(dist, [
      ...[
        'iptables-legacy',
        '-t',
        'mangle',
        '-A',
        'PREROUTING',
        '-d',
        '203.0.113.0/24',
        '-p',
        'sctp',
      ],
      ...['-j', 'HMARK', '--hmark-tuple', 'sport,dport', '--hmark-mod', '2', '--hmark-offset', '1'],
      ...['--hmark-rnd', '0x5c7e'],
    ]);
    // Counters (rules without a target) of what went from each network to each proxy.
    for (const [net, from] of [
      ['net1', dev('n1b')],
      ['net2', dev('n2b')],
    ]) {
      for (const mark of [1, 2]) {
        exec(dist, [
          ...['iptables-legacy', '-t', 'mangle', '-A', 'FORWARD', '-i', from!, '-p', 'sctp'],
          ...['-m', 'mark', '--mark', `${mark}`, '-m', 'comment', '--comment', `${net}-p${mark}`],
        ]);
      }
    }
  } catch (err) {
    cluster.teardown();
    throw err;
  }
  return cluster;
}
