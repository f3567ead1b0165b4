// freeDiameterd (Debian's freediameterd 1.2.1) started in a network namespace with a
// generated configuration, for the Diameter interop tests. What it needs, found by trying:
// - it accepts only known peers: ConnectPeer entries, or the acl_wl extension's list
//   (ALLOW_IPSEC: the peer may talk without TLS);
// - SecPort = 0 lets it start without TLS credentials, No_TCP keeps it on SCTP;
// - it refuses to start on a host with no address but loopback (a namespace of the
//   dual-path topology has two);
// - it forces its own SCTP timers on each association: RTO.Min 1 s, RTO.Max 5 s,
//   Association.Max.Retrans 4 (libfdcore/sctp.c).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';

export interface FreeDiameterOptions {
  namespace: string;
  /** Where the configuration files go. */
  dir: string;
  identity?: string;
  realm?: string;
  port?: number;
  /** Tw in seconds (freeDiameter's minimum is 6). */
  twTimer?: number;
  streams?: number;
  /** Peers it connects to itself (ConnectPeer), by Diameter identity. */
  connectTo?: { identity: string; addresses: string[]; port: number }[];
  /** Peers it accepts (acl_wl); default every host in the realm. */
  allow?: string;
}

export interface FreeDiameter {
  readonly child: ChildProcess;
  /** Everything it has printed so far (its log goes to stdout). */
  log(): string;
  /** Resolves when the log matches, rejects after `ms` with the log's end. */
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  /** SIGTERM (it sends DPR to its open peers first), then its exit code. */
  stop(): Promise<number | null>;
}

export async function startFreeDiameter(options: FreeDiameterOptions): Promise<FreeDiameter> {
  const {
    namespace,
    dir,
    identity = 'fd.example.test',
    realm = 'example.test',
    port = 3868,
    twTimer = 6,
    streams = 8,
    connectTo = [],
    allow = `*.${realm}`,
  } = options;
  const acl = path.join(dir, 'acl_wl.conf');
  writeFileSync(acl, `ALLOW_IPSEC ${allow}\n`);
  const conf = path.join(dir, 'freeDiameter.conf');
  const peers = connectTo.map(
    (p) =>
      `ConnectPeer = "${p.identity}" { ${p.addresses.map((a) => `ConnectTo = "${a}"; `).join('')}` +
      `Port = ${p.port}; No_TLS; No_TCP; };`,
  );
  writeFileSync(
    conf,
    [
      `Identity = "${identity}";`,
      `Realm = "${realm}";`,
      `Port = ${port};`,
      'SecPort = 0;',
      'No_TCP;',
      'No_IPv6;',
      `SCTP_streams = ${streams};`,
      `TwTimer = ${twTimer};`,
      `LoadExtension = "/usr/lib/freeDiameter/acl_wl.fdx" : "${acl}";`,
      // Errors on one line each (not a tree per message): a burst of answered errors stays readable.
      'LoadExtension = "/usr/lib/freeDiameter/dbg_msg_dumps.fdx" : "0x0002";',
      ...peers,
      '',
    ].join('\n'),
  );
  const child = spawn('ip', ['netns', 'exec', namespace, 'freeDiameterd', '-c', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const waiters = new Set<() => void>();
  const append = (chunk: Buffer) => {
    log += chunk.toString();
    for (const check of waiters) check();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const fd: FreeDiameter = {
    child,
    log: () => log,
    waitFor: (pattern, ms = 30000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = log.match(pattern);
          if (match) {
            done();
            resolve(match);
          } else if (child.exitCode !== null) {
            done();
            reject(
              new Error(
                `freeDiameterd exited (${child.exitCode}) before ${pattern}:\n${log.slice(-3000)}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(`freeDiameterd did not print ${pattern} in ${ms} ms:\n${log.slice(-3000)}`),
          );
        }, ms);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', check);
        };
        waiters.add(check);
        child.on('exit', check);
        check();
      }),
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      return child.exitCode;
    },
  };
  await fd.waitFor(/freeDiameterd daemon initialized/);
  return fd;
}
