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

export interface DualPath {
  client: string;
  server: string;
  clientAddresses: [string, string];
  serverAddresses: [string, string];
  /** Runs a command inside a namespace: ['ip', 'netns', 'exec', ns, ...]. */
  exec(ns: string, args: string[]): string;
  teardown(): void;
}

function ip(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

export function createDualPath(tag = `${process.pid}`): DualPath {
  const client = `ksctp-c${tag}`;
  const server = `ksctp-s${tag}`;
  const topo: DualPath = {
    client,
    server,
    clientAddresses: ['192.0.2.2', '198.51.100.2'],
    serverAddresses: ['192.0.2.1', '198.51.100.1'],
    exec: (ns, args) => execFileSync('ip', ['netns', 'exec', ns, ...args], { encoding: 'utf8' }),
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
  try {
    ip(['netns', 'add', client]);
    ip(['netns', 'add', server]);
    const paths: [string, string, string][] = [
      ['a', '192.0.2', '24'],
      ['b', '198.51.100', '24'],
    ];
    for (const [name, net, len] of paths) {
      const c = `c${name}${tag}`.slice(0, 15);
      const s = `s${name}${tag}`.slice(0, 15);
      ip(['link', 'add', c, 'netns', client, 'type', 'veth', 'peer', 'name', s, 'netns', server]);
      ip(['-n', client, 'addr', 'add', `${net}.2/${len}`, 'dev', c]);
      ip(['-n', server, 'addr', 'add', `${net}.1/${len}`, 'dev', s]);
      ip(['-n', client, 'link', 'set', c, 'up']);
      ip(['-n', server, 'link', 'set', s, 'up']);
    }
    ip(['-n', client, 'link', 'set', 'lo', 'up']);
    ip(['-n', server, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    topo.teardown();
    throw err;
  }
  return topo;
}
