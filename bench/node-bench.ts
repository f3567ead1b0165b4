// The Node side of the benchmarks: kernel-sctp, or Node's net over TCP with a 4-byte length
// prefix per message (what users would otherwise write). The server runs in a child process
// (as the C program's does), the client here; one JSON line with the result.
//   node node-bench.js <sctp|tcp> rate <messages> <size> [defaults|no-nodelay|tuned]
//   node node-bench.js <sctp|tcp> rate-corked <messages> <size>   the same, sent in corked
//        bursts of 64 messages
//   node node-bench.js <sctp|tcp> pingpong <round trips> <size>
//   node node-bench.js <sctp|tcp> setup <associations> [in flight] [wait|nowait]   open and
//        close associations, `in flight` at a time (default 1); wait: each close waits for
//        the SHUTDOWN (TCP: FIN) handshake to complete, nowait: end() and go on
//   node node-bench.js <sctp|tcp> many <associations> <size> [messages each]   one server
//        endpoint (sctp: a one-to-many Endpoint; tcp: a net.Server) with that many
//        associations/connections: memory per association, then that many echoed messages
//        on each (default 20), 100 outstanding at a time, the associations taking turns
//   node node-bench.js c-endpoint many <associations> <size> [messages each]   the same kernel-sctp clients
//        against the C program's one-to-many echo server (sctp-bench echo-endpoint)
//   node node-bench.js proxy <rate|pingpong> ...   kernel-sctp, the client's association
//        relayed to the server by createProxy() in a third process
// Halves, to pair with the C program's (SCTP_BENCH_SERVE / SCTP_BENCH_PORT there):
// KSCTP_BENCH_ROLE=server runs only the server (it prints its port), KSCTP_BENCH_PORT=<port>
// only the client; both sides' warm-up counts must agree (SCTP_BENCH_WARMUP there).
// Profiling: KSCTP_BENCH_PERF_CTL=<fifo> writes "enable" and "disable" to a `perf record
// --control fifo:<fifo> -D -1` around the measured part of the rate and setup scenarios.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import {
  connect,
  createEndpoint,
  createProxy,
  createServer,
  type Socket,
  type SocketOptions,
} from '../lib';

type Impl = 'sctp' | 'tcp' | 'c-endpoint' | 'proxy';
const [impl, mode, countText, sizeText, settingText] = process.argv.slice(2) as [
  Impl,
  string,
  string,
  string?,
  string?,
];
const count = Number(countText);
const size = Number(sizeText ?? 1);
// setup: its third and fourth arguments are the connects in flight and how to close; many:
// its fourth, the messages echoed on each association.
const setting = mode === 'setup' || mode === 'many' ? 'defaults' : (settingText ?? 'defaults');
const closeMode = mode === 'setup' ? (settingText ?? 'wait') : 'wait';
/**
 * Rate scenarios: messages sent (and counted by the server) before the measured ones, so
 * that what is measured is the steady state and not V8 compiling the hot paths (which on the
 * emulated CPU costs more than the 20,000 messages themselves); pingpong: round trips;
 * setup: ten times as many associations, as the paths that open and close one are many and
 * V8 was still compiling them after as many (1,000 measured after 300 first: 699 per
 * second; after 3,000: 1,049; after 10,000: 1,402). Halves paired with the C program's set
 * both sides' count alike.
 */
const WARMUP = Number(process.env.KSCTP_BENCH_WARMUP ?? (mode === 'setup' ? 10 * count : count));
/** Scenario "rate-corked": messages per cork()/uncork() burst. */
const CORKED = 64;
/** Scenario "many": messages each association sends (and gets echoed). */
const PER_ASSOCIATION = mode === 'many' ? Number(settingText ?? 20) : 0;
/** Scenario "many": echoes outstanding at once, spread over the associations in turn. */
const MANY_IN_FLIGHT = 100;
/** Scenario "setup": measured rounds of `count` associations each, after the warm-up. */
const SETUP_ROUNDS = 3;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;
/** Scenario "many": measured echo rounds on the same associations, after one unmeasured. */
const MANY_ROUNDS = 3;
/**
 * Scenario "many": the clients acknowledge each echo at once. With the kernel's delayed SACK
 * (200 ms), every echo stays in the server's one send buffer, shared by all associations,
 * until its client's SACK comes: that buffer, not the server's work, then sets the rate
 * (about 1,000 messages/s with the default buffer, for any server).
 */
const MANY_CLIENT: SocketOptions = { sackFrequency: 1 };

/** Library defaults, the same with noDelay: false (the kernel's bundling), or tuned. */
const SETTINGS: Record<string, SocketOptions> = {
  defaults: {},
  'no-nodelay': { noDelay: false },
  tuned: { noDelay: true, sendBufferSize: 4 << 20, receiveBufferSize: 4 << 20 },
};

/** A message stream over TCP: each message is a 4-byte length and the bytes. */
function tcpMessages(socket: net.Socket, onMessage: (m: Buffer) => void): void {
  let pending: Buffer = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const n = pending.readUInt32BE(0);
      if (pending.length < 4 + n) break;
      onMessage(pending.subarray(4, 4 + n));
      pending = pending.subarray(4 + n);
    }
  });
}

function frame(m: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(m.length, 0);
  return Buffer.concat([head, m]);
}

// ---------------------------------------------------------------------------------------
// Server (child process): rate -> count, then "d"; pingpong and many -> echo; setup ->
// accept. Answers "memory" with its memory use after a full GC and its association count.

function serve(): void {
  const options = SETTINGS[setting]!;
  let associations = 0;
  // rate: CPU time (user + system, µs) from the first message received to the last.
  let firstCpu: NodeJS.CpuUsage | null = null;
  let receiveCpu = NaN;
  let receiveSystemCpu = NaN;
  process.on('message', (m) => {
    if (m === 'cpu') return void process.send!({ receiveCpu, receiveSystemCpu });
    if (m !== 'memory') return;
    global.gc!();
    process.send!({ ...process.memoryUsage(), associations });
  });
  const onConnection = (send: (m: Buffer) => void, received: () => void) => {
    let got = 0;
    let warming = WARMUP > 0;
    return (m: Buffer) => {
      if (mode === 'pingpong' || mode === 'many') return send(m);
      if (warming) {
        if (++got < WARMUP) return;
        warming = false;
        got = 0;
        return send(Buffer.from('w'));
      }
      if (++got === 1) firstCpu = process.cpuUsage();
      if (got === count) {
        const used = process.cpuUsage(firstCpu!);
        receiveCpu = used.user + used.system;
        receiveSystemCpu = used.system;
        send(Buffer.from('d'));
      }
      received();
    };
  };
  const listening = (port: number) =>
    process.send ? process.send(port) : process.stdout.write(`${port}\n`);
  if (impl === 'sctp' && mode === 'many') {
    const endpoint = createEndpoint({ host: '127.0.0.1', ...options }).listen(1024);
    endpoint.on('association', (association) => {
      associations++;
      association.on('close', () => associations--);
    });
    endpoint.on('message', (data, info) => info.association!.send(data));
    listening(endpoint.address()!.port);
  } else if (impl === 'sctp' || impl === 'proxy') {
    const server = createServer(options, (socket: Socket) => {
      associations++;
      socket.on('close', () => associations--);
      socket.on('error', () => {});
      socket.on(
        'data',
        onConnection(
          (m) => socket.send(m),
          () => {},
        ),
      );
    });
    server.listen({ host: '127.0.0.1', port: 0, backlog: 1024 }, () =>
      listening(server.address()!.port),
    );
  } else {
    const server = net.createServer((socket) => {
      associations++;
      socket.on('close', () => associations--);
      socket.setNoDelay(true);
      socket.on('error', () => {});
      tcpMessages(
        socket,
        onConnection(
          (m) => socket.write(frame(m)),
          () => {},
        ),
      );
    });
    server.listen(0, '127.0.0.1', 1024, () =>
      listening((server.address() as net.AddressInfo).port),
    );
  }
}

// ---------------------------------------------------------------------------------------
// Client

interface Conn {
  send(m: Buffer): boolean;
  cork(): void;
  uncork(): void;
  onMessage(l: (m: Buffer) => void): void;
  drained(): Promise<unknown>;
  /** Ends the association and resolves once it is closed. */
  close(): Promise<unknown>;
}

async function open(port: number): Promise<Conn> {
  if (impl !== 'tcp') {
    const s = connect({
      host: '127.0.0.1',
      port,
      ...SETTINGS[setting],
      ...(mode === 'many' && MANY_CLIENT),
    });
    await once(s, 'connect');
    return {
      send: (m) => s.send(m), // the fast path: straight to the kernel unless it is full
      cork: () => s.cork(),
      uncork: () => s.uncork(),
      onMessage: (l) => s.on('data', l),
      drained: () => once(s, 'drain'),
      close: () => {
        const done = once(s, 'close');
        s.resume();
        s.end();
        return done;
      },
    };
  }
  const s = net.connect(port, '127.0.0.1');
  s.setNoDelay(true);
  await once(s, 'connect');
  const listeners: ((m: Buffer) => void)[] = [];
  tcpMessages(s, (m) => listeners.forEach((l) => l(m)));
  return {
    send: (m) => s.write(frame(m)),
    cork: () => s.cork(),
    uncork: () => s.uncork(),
    onMessage: (l) => listeners.push(l),
    drained: () => once(s, 'drain'),
    close: () => {
      const done = once(s, 'close');
      s.end();
      return done;
    },
  };
}

/** The server's memory use (after a GC) and association count, asked over IPC. */
async function serverMemory(): Promise<NodeJS.MemoryUsage & { associations: number }> {
  const reply = once(serverProcess, 'message');
  serverProcess.send('memory');
  return (await reply)[0];
}

/** The server's CPU time (all, and in the kernel) for the rate scenario's messages, µs. */
async function serverCpu(): Promise<{ receiveCpu: number; receiveSystemCpu: number }> {
  if (!serverProcess) return { receiveCpu: NaN, receiveSystemCpu: NaN };
  const reply = once(serverProcess, 'message');
  serverProcess.send('cpu');
  return (await reply)[0];
}

/** Kernel slab memory (both ends' association and socket state live there), bytes. */
function kernelSlab(): number {
  const line = readFileSync('/proc/meminfo', 'utf8').match(/^Slab:\s+(\d+) kB/m);
  return line ? Number(line[1]) * 1024 : NaN;
}

/** Runs `task` for each index, `width` at a time. */
async function inGroups<T>(
  n: number,
  width: number,
  task: (i: number) => Promise<T>,
): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i += width) {
    out.push(
      ...(await Promise.all(Array.from({ length: Math.min(width, n - i) }, (_, j) => task(i + j)))),
    );
  }
  return out;
}

async function many(port: number, base: Record<string, unknown>): Promise<Record<string, unknown>> {
  // The C server is not asked (no IPC): its clients' connects are what is waited for.
  const cServer = impl === 'c-endpoint';
  const before = cServer ? null : await serverMemory();
  const slabBefore = kernelSlab();
  const started = performance.now();
  const conns = await inGroups(count, 50, () => open(port));
  while (!cServer && (await serverMemory()).associations < count) {
    await new Promise((r) => setTimeout(r, 100));
  }
  const setupSeconds = (performance.now() - started) / 1000;
  await new Promise((r) => setTimeout(r, 1000)); // let the kernel settle (SACKs, timers)
  const after = cServer ? null : await serverMemory();
  const slabAfter = kernelSlab();
  const perAssociation = (key: 'rss' | 'heapUsed' | 'external') =>
    before && after ? (after[key] - before[key]) / count : undefined;

  const payload = Buffer.alloc(size, 0x61);
  const total = count * PER_ASSOCIATION;
  // Message k goes on association k % count, with MANY_IN_FLIGHT outstanding at a time: a
  // burst of all of them at once overflows the one-to-many endpoint's shared receive
  // buffer, and the figure then counts retransmission timeouts (seconds each), not work.
  // One round unmeasured, then MANY_ROUNDS measured on the same associations and the
  // median reported. The first echo on each association costs more and varies from run to
  // run (8,645 to 9,868 messages/s where the rounds after it gave 12,729 to 14,270 within
  // 0.5% of each other): the others are warm, as in the rate scenarios.
  let sent = 0;
  let echoed = 0;
  let roundDone = () => {};
  const sendNext = () => sent < total && conns[sent++ % count]!.send(payload);
  for (const c of conns) c.onMessage(() => (++echoed === total ? roundDone() : sendNext()));
  const rounds: number[] = [];
  for (let round = 0; round <= MANY_ROUNDS; round++) {
    sent = 0;
    echoed = 0;
    const allEchoed = new Promise<void>((resolve) => (roundDone = resolve));
    const sendStarted = performance.now();
    for (let k = 0; k < MANY_IN_FLIGHT; k++) sendNext();
    await allEchoed;
    if (round > 0) rounds.push(total / ((performance.now() - sendStarted) / 1000));
  }
  await inGroups(count, 100, (i) => conns[i]!.close());
  return {
    ...base,
    associations: count,
    size,
    messagesPerAssociation: PER_ASSOCIATION,
    inFlight: MANY_IN_FLIGHT,
    setupSeconds,
    perSecond: median(rounds),
    roundsPerSecond: rounds,
    serverRssPerAssociation: perAssociation('rss'),
    serverHeapPerAssociation: perAssociation('heapUsed'),
    serverExternalPerAssociation: perAssociation('external'),
    kernelSlabPerAssociation: (slabAfter - slabBefore) / count,
  };
}

async function client(port: number): Promise<Record<string, unknown>> {
  const names: Record<Impl, string> = {
    sctp: 'kernel-sctp',
    tcp: 'node-tcp',
    'c-endpoint': 'kernel-sctp clients, C endpoint',
    proxy: 'kernel-sctp through createProxy()',
  };
  const base = { impl: names[impl], mode, setting };
  if (mode === 'many') return many(port, base);
  if (mode === 'setup') {
    const inFlight = size;
    /** Opens and closes `n` associations in `inFlight` lanes, one after another in each. */
    const openAndClose = async (n: number) => {
      const closing: Promise<unknown>[] = [];
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(inFlight, n) }, async () => {
          while (next < n) {
            next++;
            const closed = (await open(port)).close();
            if (closeMode === 'wait') await closed;
            else closing.push(closed);
          }
        }),
      );
      return closing;
    };
    // As many unmeasured first, as in the rate scenarios (a server that runs is warm). Then
    // SETUP_ROUNDS measured, the median reported: with closes not waited for, one round
    // of 1,000 moved by 9% from run to run.
    await Promise.all(await openAndClose(WARMUP));
    const rounds: number[] = [];
    for (let round = 0; round < SETUP_ROUNDS; round++) {
      perfControl('enable');
      const started = performance.now();
      const closing = await openAndClose(count);
      rounds.push(count / ((performance.now() - started) / 1000));
      perfControl('disable');
      await Promise.all(closing); // not timed: what C's close() leaves to the kernel
    }
    return {
      ...base,
      associations: count,
      inFlight,
      close: closeMode,
      perSecond: median(rounds),
      roundsPerSecond: rounds,
    };
  }
  const conn = await open(port);
  const payload = Buffer.alloc(size, 0x61);
  let result: Record<string, unknown>;
  if (mode === 'rate' || mode === 'rate-corked') {
    let replies = 0;
    let wake: (() => void) | null = null;
    conn.onMessage(() => {
      replies++;
      wake?.();
    });
    /** Resolves once the server has answered `n` times ('w' after the warm-up, 'd' at the end). */
    const reply = (n: number) =>
      new Promise<void>((resolve) => {
        const check = () => (replies >= n ? resolve() : void (wake = check));
        check();
      });
    const sendAll = async (n: number) => {
      if (mode === 'rate') {
        for (let i = 0; i < n; i++) {
          if (!conn.send(payload)) await conn.drained();
        }
        return;
      }
      // Bursts of CORKED messages between cork() and uncork(): kernel-sctp hands each burst
      // to the kernel in one sendmmsg, Node TCP in one writev.
      for (let i = 0; i < n;) {
        conn.cork();
        let more = true;
        for (let j = 0; j < CORKED && i < n; j++, i++) more = conn.send(payload);
        conn.uncork();
        if (!more) await conn.drained();
      }
    };
    if (WARMUP > 0) {
      await sendAll(WARMUP);
      await reply(1);
    }
    perfControl('enable');
    const started = performance.now();
    const startCpu = process.cpuUsage();
    await sendAll(count);
    await reply(WARMUP > 0 ? 2 : 1);
    perfControl('disable');
    const seconds = (performance.now() - started) / 1000;
    const sendCpu = process.cpuUsage(startCpu);
    const { receiveCpu, receiveSystemCpu } = await serverCpu();
    result = {
      ...base,
      messages: count,
      size,
      seconds,
      perSecond: count / seconds,
      mbitPerS: (count * size * 8) / seconds / 1e6,
      // CPU time per message (µs, user + system) of each process: less noisy than rates.
      senderCpuPerMessage: (sendCpu.user + sendCpu.system) / count,
      receiverCpuPerMessage: receiveCpu / count,
      // The part of it spent in the kernel (system time).
      senderSystemCpuPerMessage: sendCpu.system / count,
      receiverSystemCpuPerMessage: receiveSystemCpu / count,
    };
  } else {
    const rtt: number[] = [];
    let reply: (() => void) | null = null;
    conn.onMessage(() => reply?.());
    const roundTrip = () => {
      const echoed = new Promise<void>((resolve) => (reply = resolve));
      conn.send(payload);
      return echoed;
    };
    for (let i = 0; i < WARMUP; i++) await roundTrip(); // as in the rate scenarios
    const started = performance.now();
    const startCpu = process.cpuUsage();
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      await roundTrip();
      rtt.push(performance.now() - t);
    }
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(startCpu);
    rtt.sort((a, b) => a - b);
    result = {
      ...base,
      roundTrips: count,
      size,
      seconds,
      p50Ms: rtt[Math.floor(count / 2)],
      p99Ms: rtt[Math.floor(count * 0.99)],
      // The client's CPU time per round trip (µs): one send, one wake-up, one read.
      clientCpuPerRoundTrip: (cpu.user + cpu.system) / count,
    };
  }
  await conn.close();
  return result;
}

function perfControl(what: string): void {
  const fifo = process.env.KSCTP_BENCH_PERF_CTL;
  if (fifo) writeFileSync(fifo, `${what}\n`);
}

let serverProcess: ChildProcess;
if (impl === 'c-endpoint') {
  // The C program's one-to-many echo server, built next to this file by run.ts.
  const server = spawn(path.join(__dirname, 'sctp-bench'), ['echo-endpoint', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  once(server.stdout!, 'data')
    .then(async ([line]) => {
      const r = await client(Number(String(line).trim()));
      process.stdout.write(`${JSON.stringify(r)}\n`);
      server.kill();
    })
    .catch((err) => {
      process.stderr.write(`${err.stack}\n`);
      server.kill();
      process.exit(1);
    });
} else if (process.env.KSCTP_BENCH_ROLE === 'proxy') {
  // Between the client and the server: relays the client's association to the server.
  const proxy = createProxy({
    backends: [{ host: '127.0.0.1', port: Number(process.env.KSCTP_BENCH_BACKEND) }],
    clientOptions: SETTINGS[setting],
    backendOptions: SETTINGS[setting],
  });
  proxy.listen({ host: '127.0.0.1', port: 0 }, () => process.send!(proxy.address()!.port));
  process.on('message', (m) => m === 'exit' && process.exit(0));
  process.on('disconnect', () => process.exit(1)); // the client is gone
} else if (process.env.KSCTP_BENCH_ROLE === 'server') {
  // Exits when told (not killed), so that a --cpu-prof of the server gets written.
  process.on('message', (m) => m === 'exit' && process.exit(0));
  process.on('SIGTERM', () => process.exit(0)); // standalone: killed when done
  serve();
} else {
  const env = { ...process.env, KSCTP_BENCH_ROLE: 'server' };
  const port = process.env.KSCTP_BENCH_PORT;
  const child = port
    ? null
    : fork(__filename, process.argv.slice(2), {
        env,
        execArgv: [...process.execArgv, '--expose-gc'],
      });
  if (child) serverProcess = child;
  let proxy: ChildProcess | null = null;
  (child ? once(child, 'message') : Promise.resolve([Number(port)]))
    .then(async ([serverPort]) => {
      if (impl === 'proxy') {
        proxy = fork(__filename, process.argv.slice(2), {
          env: { ...process.env, KSCTP_BENCH_ROLE: 'proxy', KSCTP_BENCH_BACKEND: `${serverPort}` },
        });
        // Its port, or its exit (which once() alone would wait past forever).
        [serverPort] = await Promise.race([
          once(proxy, 'message'),
          once(proxy, 'exit').then(([code]) => {
            throw new Error(`the proxy exited (${code}) before it listened`);
          }),
        ]);
      }
      const r = await client(serverPort as number);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      proxy?.send('exit');
      child?.send('exit');
    })
    .catch((err) => {
      process.stderr.write(`${err.stack}\n`);
      proxy?.kill();
      child?.kill();
      process.exit(1);
    });
}
