// The implementations the benchmarks compare, each behind one interface: given a
// measurement, run it and return the program's JSON result (null: not offered). Each one
// turns a measurement into its own program's arguments: node-bench.ts (kernel-sctp and Node
// TCP), sctp-bench.c (the kernel's SCTP API from C), userspace-bench.ts (SCTP in JavaScript
// over UDP) and iperf3.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
export const cBinary = path.join(root, 'dist', 'bench', 'sctp-bench');
const nodeBench = path.join(__dirname, 'node-bench.js');
const userspaceBench = path.join(__dirname, 'userspace-bench.js');

export type Result = Record<string, any>;

/** Library settings for kernel-sctp (node-bench.ts SETTINGS); C and TCP: their equivalent. */
export type Settings = 'defaults' | 'no-nodelay' | 'tuned';

export type Measurement =
  /** `messages` of `size` bytes pipelined on one association, after as many unmeasured. */
  | { kind: 'rate'; messages: number; size: number; settings?: Settings }
  /** The same, sent in bursts (kernel-sctp: cork()/uncork(), one sendmmsg; C: sendmmsg). */
  | { kind: 'rate-batched'; messages: number; size: number }
  | { kind: 'pingpong'; roundTrips: number; size: number }
  /**
   * Associations opened and closed, `inFlight` at a time; `close`: wait for the SHUTDOWN
   * handshake to end before the next (wait), or close and go on (nowait).
   */
  | { kind: 'setup'; associations: number; inFlight: number; close: 'wait' | 'nowait' }
  /** One server endpoint with `associations` at once: memory per association, then echoes. */
  /** `associations` on one endpoint, then `messagesEach` echoed on each, all at once. */
  | { kind: 'many'; associations: number; size: number; messagesEach: number };

export interface Comparator {
  readonly name: string;
  run(m: Measurement): Promise<Result | null>;
}

function runJson(cmd: string, args: (string | number)[], env?: NodeJS.ProcessEnv): Result {
  const out = execFileSync(cmd, args.map(String), {
    encoding: 'utf8',
    timeout: 900000,
    env: env && { ...process.env, ...env },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

export function buildC(): void {
  mkdirSync(path.dirname(cBinary), { recursive: true });
  execFileSync('cc', ['-O2', '-o', cBinary, path.join(root, 'bench', 'sctp-bench.c')]);
}

const BIG_BUFFER = 4 << 20;

/** kernel-sctp, client and server in two Node processes (node-bench.ts). */
export function kernelSctp(settings: Settings = 'defaults', name = 'kernel-sctp'): Comparator {
  const node = (...args: (string | number)[]) =>
    runJson(process.execPath, [nodeBench, 'sctp', ...args]);
  return {
    name,
    async run(m) {
      switch (m.kind) {
        case 'rate':
          return node('rate', m.messages, m.size, m.settings ?? settings);
        case 'rate-batched':
          return node('rate-corked', m.messages, m.size, settings);
        case 'pingpong':
          return node('pingpong', m.roundTrips, m.size, settings);
        case 'setup':
          return node('setup', m.associations, m.inFlight, m.close);
        case 'many':
          return node('many', m.associations, m.size, m.messagesEach);
      }
    },
  };
}

/** kernel-sctp with createProxy() in a third process between client and server. */
export function kernelSctpProxied(): Comparator {
  const node = (...args: (string | number)[]) =>
    runJson(process.execPath, [nodeBench, 'proxy', ...args]);
  return {
    name: 'kernel-sctp through createProxy()',
    async run(m) {
      switch (m.kind) {
        case 'rate':
          return node('rate', m.messages, m.size, m.settings ?? 'defaults');
        case 'pingpong':
          return node('pingpong', m.roundTrips, m.size);
        default:
          return null;
      }
    },
  };
}

/** Node's net over TCP with a 4-byte length prefix per message (node-bench.ts). */
export function nodeTcp(): Comparator {
  const node = (...args: (string | number)[]) =>
    runJson(process.execPath, [nodeBench, 'tcp', ...args]);
  return {
    name: 'Node TCP',
    async run(m) {
      switch (m.kind) {
        case 'rate':
          return node('rate', m.messages, m.size);
        case 'rate-batched':
          return node('rate-corked', m.messages, m.size);
        case 'pingpong':
          return node('pingpong', m.roundTrips, m.size);
        case 'setup':
          return node('setup', m.associations, m.inFlight, m.close);
        case 'many':
          return node('many', m.associations, m.size, m.messagesEach);
      }
    },
  };
}

/**
 * The C program (sctp-bench.c): blocking sockets, or a non-blocking sender that waits in
 * epoll on EAGAIN as an event loop does. No warm-up: nothing to compile.
 */
export function c(
  options: {
    sender?: 'blocking' | 'nonblocking';
    noDelay?: boolean;
    settings?: Settings;
    /** Messages with what kernel-sctp's carry: SCTP_SNDINFO out, SCTP_RCVINFO and NXTINFO in. */
    info?: boolean;
    /** pingpong only: the same C over TCP (what the protocol costs, next to Node TCP). */
    tcp?: boolean;
  } = {},
  name = 'C',
): Comparator {
  const nodelay = options.noDelay === false || options.settings === 'no-nodelay' ? 0 : 1;
  const buffer = options.settings === 'tuned' ? BIG_BUFFER : 0;
  const env = {
    ...(options.info && { SCTP_BENCH_INFO: '1' }),
    ...(options.tcp && { SCTP_BENCH_PROTO: 'tcp' }),
  };
  return {
    name,
    async run(m) {
      switch (m.kind) {
        case 'rate': {
          const mode = options.sender === 'nonblocking' ? 'rate-nb' : 'rate';
          const tuned = m.settings === 'tuned' ? BIG_BUFFER : buffer;
          return runJson(cBinary, [mode, m.messages, m.size, nodelay, tuned], env);
        }
        case 'rate-batched':
          return runJson(cBinary, ['rate-mmsg', m.messages, m.size, nodelay, buffer]);
        case 'pingpong':
          return runJson(cBinary, ['pingpong', m.roundTrips, m.size], env);
        case 'setup':
          return runJson(cBinary, ['setup', m.associations, m.inFlight, m.close]);
        case 'many':
          // The same kernel-sctp clients against the C one-to-many echo server.
          return runJson(process.execPath, [
            nodeBench,
            'c-endpoint',
            'many',
            m.associations,
            m.size,
            m.messagesEach,
          ]);
      }
    },
  };
}

/**
 * Half kernel-sctp, half C, for the rate: which side's costs are whose. `sender` says which
 * side kernel-sctp is; both sides warm up with `messages` first, as kernel-sctp alone does.
 */
export function mixed(sender: 'kernel-sctp' | 'C'): Comparator {
  return {
    name:
      sender === 'kernel-sctp'
        ? 'kernel-sctp sender, C receiver'
        : 'C sender, kernel-sctp receiver',
    async run(m) {
      if (m.kind !== 'rate') return null;
      const warmup = {
        SCTP_BENCH_WARMUP: String(m.messages),
        KSCTP_BENCH_WARMUP: String(m.messages),
      };
      // The other side is the server: it prints its port, then the client runs against it.
      const [cmd, args, serverEnv] =
        sender === 'kernel-sctp'
          ? [cBinary, ['rate', m.messages, m.size, 1], { SCTP_BENCH_SERVE: '1' }]
          : [
              process.execPath,
              [nodeBench, 'sctp', 'rate', m.messages, m.size],
              { KSCTP_BENCH_ROLE: 'server' },
            ];
      const child = spawn(cmd, args.map(String), {
        env: { ...process.env, ...warmup, ...serverEnv },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      try {
        const port = await new Promise<string>((resolve, reject) => {
          child.stdout!.once('data', (line) => resolve(String(line).trim().split('\n')[0]!));
          child.once('exit', () => reject(new Error(`${cmd} exited before it listened`)));
        });
        return sender === 'kernel-sctp' ? nodeClient(m, port, warmup) : cClient(m, port, warmup);
      } finally {
        child.kill();
      }
    },
  };
}

function nodeClient(m: { messages: number; size: number }, port: string, env: NodeJS.ProcessEnv) {
  return runJson(process.execPath, [nodeBench, 'sctp', 'rate', m.messages, m.size], {
    ...env,
    KSCTP_BENCH_PORT: port,
  });
}

function cClient(m: { messages: number; size: number }, port: string, env: NodeJS.ProcessEnv) {
  const r = runJson(cBinary, ['rate', m.messages, m.size, 1], { ...env, SCTP_BENCH_PORT: port });
  // The C client reads its receiver's CPU time from a C server's reply: not from this one.
  delete r.receiverCpuPerMessage;
  delete r.receiverSystemCpuPerMessage;
  return r;
}

/** SCTP implemented in JavaScript over UDP (userspace-bench.ts); a failure is reported, not fatal. */
export function userSpace(impl: 'werift' | 'sctp-js', name: string): Comparator {
  return {
    name,
    async run(m) {
      if (m.kind !== 'rate') return null;
      try {
        return runJson(process.execPath, [userspaceBench, impl, 'rate', m.messages, m.size]);
      } catch (err) {
        return { failed: (err as Error).message.split('\n')[0] };
      }
    },
  };
}

/** iperf3 --sctp for bulk transfer (64 KiB writes for 3 s); `tuned`: -w 4M. */
export function iperf3(settings: Settings = 'defaults'): Comparator {
  return {
    name: settings === 'tuned' ? 'iperf3 --sctp -w 4M' : 'iperf3 --sctp',
    async run(m) {
      if (m.kind !== 'rate' || m.size < 65536) return null;
      if (spawnSync('sh', ['-c', 'command -v iperf3']).status !== 0) {
        return { failed: 'not installed' };
      }
      const extra = settings === 'tuned' ? '-w 4M' : '';
      // A port of its own, and the server killed whatever the client did.
      const run = spawnSync(
        'sh',
        [
          '-c',
          `p=$((20000 + $$ % 10000)); iperf3 -s -1 -p $p >/dev/null 2>&1 & s=$!; sleep 1; ` +
            `iperf3 --sctp -c 127.0.0.1 -p $p -t 3 -l ${m.size} -J ${extra}; kill $s 2>/dev/null`,
        ],
        { encoding: 'utf8', timeout: 60000 },
      );
      try {
        return { mbitPerS: JSON.parse(run.stdout).end.sum_received.bits_per_second / 1e6 };
      } catch {
        return { failed: 'no result' };
      }
    },
  };
}
