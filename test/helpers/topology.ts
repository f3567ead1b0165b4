// The dual-path network of the seed's sctpt experiments, built from network namespaces:
//
//   client ns                          server ns
//   veth  192.0.2.2/24    <------->    192.0.2.1/24     (path A)
//   veth  198.51.100.2/24 <------->    198.51.100.1/24  (path B)
//
// Two separate subnets (documentation ranges), one veth pair each, so each remote address
// is reached through its own interface. Needs root and a kernel with netns + veth (the
// sctp-run VM provides both). Names carry the pid, so parallel runs do not collide.
import { execFileSync } from 'node:child_process';

export type PathName = 'a' | 'b';

/**
 * Retransmission settings for both ends of the scenarios: a dead path is detected in about
 * a second instead of the kernel's defaults (RTO.Min 1 s, Path.Max.Retrans 5: a minute).
 */
export const FAST_FAILOVER = {
  rtoInitial: 300,
  rtoMin: 100,
  rtoMax: 1000,
  maxRetransmissions: 6,
  path: { maxRetransmissions: 2, heartbeatInterval: 300 },
};

export interface DualPath {
  client: string;
  server: string;
  clientAddresses: [string, string];
  serverAddresses: [string, string];
  /** The veth interface of each path in the client and in the server namespace. */
  links: Record<PathName, { client: string; server: string }>;
  /** Runs a command inside a namespace: ['ip', 'netns', 'exec', ns, ...]. */
  exec(ns: string, args: string[]): string;
  /**
   * Cuts one path: 'drop' blackholes it (netem drops every packet both ways; addresses and
   * routes stay, as when a switch dies), 'down' takes the link down (the routes go too).
   */
  cut(path: PathName, how?: 'drop' | 'down'): void;
  /** Undoes cut() and impair(). */
  restore(path: PathName): void;
  /** Delay (ms) and loss (percent) on one path, both directions, with netem. */
  impair(path: PathName, options: { delay?: number; loss?: number }): void;
  /**
   * Bytes sent and received so far on one path, as one namespace's interface counts them
   * (bytes, not packets: how many chunks the kernel bundles per packet depends on timing).
   */
  counters(side: 'client' | 'server', path: PathName): { tx: number; rx: number };
  /** Sets sysctls in both namespaces (they are per namespace), e.g. net.sctp.addip_enable. */
  sysctl(settings: Record<string, string | number>): void;
  teardown(): void;
}

/** Runs `ip` with these arguments (its errors on stderr, in the exception). */
export function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function tc(ns: string, args: string[]): void {
  execFileSync('ip', ['netns', 'exec', ns, 'tc', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Builds the network; teardown() removes it. */
export function createDualPath(tag = `${process.pid}`): DualPath {
  const topo = dualPathNamed(tag);
  try {
    ip(['netns', 'add', topo.client]);
    ip(['netns', 'add', topo.server]);
    const paths: [PathName, string][] = [
      ['a', '192.0.2'],
      ['b', '198.51.100'],
    ];
    for (const [name, net] of paths) {
      const { client: c, server: s } = topo.links[name];
      ip([
        'link',
        'add',
        c,
        'netns',
        topo.client,
        'type',
        'veth',
        'peer',
        'name',
        s,
        'netns',
        topo.server,
      ]);
      ip(['-n', topo.client, 'addr', 'add', `${net}.2/24`, 'dev', c]);
      ip(['-n', topo.server, 'addr', 'add', `${net}.1/24`, 'dev', s]);
      ip(['-n', topo.client, 'link', 'set', c, 'up']);
      ip(['-n', topo.server, 'link', 'set', s, 'up']);
    }
    ip(['-n', topo.client, 'link', 'set', 'lo', 'up']);
    ip(['-n', topo.server, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    topo.teardown();
    throw err;
  }
  return topo;
}

/** The network createDualPath(tag) builds, for a process that did not build it. */
export function dualPathNamed(tag: string): DualPath {
  const client = `ksctp-c${tag}`;
  const server = `ksctp-s${tag}`;
  const topo: DualPath = {
    client,
    server,
    clientAddresses: ['192.0.2.2', '198.51.100.2'],
    serverAddresses: ['192.0.2.1', '198.51.100.1'],
    links: {
      a: { client: `ca${tag}`.slice(0, 15), server: `sa${tag}`.slice(0, 15) },
      b: { client: `cb${tag}`.slice(0, 15), server: `sb${tag}`.slice(0, 15) },
    },
    exec: (ns, args) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' }),
    cut: (path, how = 'drop') => {
      for (const [ns, dev] of ends(path)) {
        if (how === 'down') ip(['-n', ns, 'link', 'set', dev, 'down']);
        else tc(ns, ['qdisc', 'replace', 'dev', dev, 'root', 'netem', 'loss', '100%']);
      }
    },
    restore: (path) => {
      for (const [ns, dev] of ends(path)) {
        ip(['-n', ns, 'link', 'set', dev, 'up']);
        try {
          tc(ns, ['qdisc', 'del', 'dev', dev, 'root']);
        } catch {
          /* no qdisc of ours */
        }
      }
    },
    impair: (path, { delay = 0, loss = 0 }) => {
      for (const [ns, dev] of ends(path)) {
        tc(ns, [
          'qdisc',
          'replace',
          'dev',
          dev,
          'root',
          'netem',
          'delay',
          `${delay}ms`,
          'loss',
          `${loss}%`,
        ]);
      }
    },
    counters: (side, path) => {
      const ns = side === 'client' ? client : server;
      const dev = topo.links[path][side];
      const [link] = JSON.parse(
        execFileSync('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev], {
          encoding: 'utf8',
        }),
      );
      return { tx: link.stats64.tx.bytes, rx: link.stats64.rx.bytes };
    },
    sysctl: (settings) => {
      const args = Object.entries(settings).map(([k, v]) => `${k}=${v}`);
      for (const ns of [client, server]) {
        execFileSync('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', ...args]);
      }
    },
    teardown: () => {
      // Deleting a namespace deletes its veth ends, and with them their peers.
      for (const ns of [client, server]) {
        try {
          ip(['netns', 'del', ns]);
        } catch {
          /* already gone */
        }
      }
    },
  };
  const ends = (path: PathName): [string, string][] => [
    [client, topo.links[path].client],
    [server, topo.links[path].server],
  ];
  return topo;
}
