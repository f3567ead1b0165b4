// User-space SCTP comparators: SCTP implemented in JavaScript over UDP (no kernel SCTP), the
// alternative kernel-sctp replaces. Same rate scenario as node-bench.ts: the client sends
// <messages> of <size> bytes pipelined on stream 0; the server (a child process) counts
// them and answers "d" when all have arrived. One JSON line with the result.
//   node userspace-bench.js <werift|sctp-js> rate <messages> <size>
// werift-sctp: the SCTP of the werift WebRTC stack; sctp-js: the `sctp` package in its UDP
// mode. Both on 127.0.0.1 over dgram sockets.
import { fork } from 'node:child_process';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createUdpTransport, SCTP } from 'werift-sctp';

type Impl = 'werift' | 'sctp-js';
const [impl, mode, countText, sizeText] = process.argv.slice(2) as [Impl, string, string, string];
const count = Number(countText);
const size = Number(sizeText);
const SCTP_PORT = 5000; // the SCTP port inside the UDP encapsulation (both ends)
interface Peer {
  /** Resolves when the message has left the implementation's queue (or at once). */
  send(m: Buffer): Promise<void> | void;
  onMessage(l: (m: Buffer) => void): void;
  /** How many sends may be unfinished at once before the client waits for the oldest. */
  window: number;
}

async function udp(): Promise<dgram.Socket> {
  const socket = dgram.createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  return socket;
}

/** Opens the implementation's association; the server learns the client's UDP port. */
async function open(role: 'client' | 'server', peerUdpPort: number | null): Promise<Peer> {
  const socket = await udp();
  if (role === 'server') process.send!(socket.address().port);
  if (impl === 'werift') {
    const transport = createUdpTransport(
      socket,
      peerUdpPort ? { address: '127.0.0.1', port: peerUdpPort } : {},
    );
    const sctp = role === 'client' ? SCTP.client(transport) : SCTP.server(transport);
    const listeners: ((m: Buffer) => void)[] = [];
    sctp.onReceive.subscribe((_stream, _ppid, data) => listeners.forEach((l) => l(data)));
    const connected = sctp.stateChanged.connected.asPromise();
    await sctp.start(SCTP_PORT);
    await connected;
    // werift queues without limit: 64 unfinished sends keep the pipe full yet bounded.
    return { send: (m) => sctp.send(0, 51, m), onMessage: (l) => listeners.push(l), window: 64 };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sctpJs = require('sctp');
  if (role === 'server') {
    // Passive: waits for the client; its UDP peer is whoever sends first.
    const [, rinfo] = await once(socket, 'message');
    peerUdpPort = rinfo.port;
  }
  const s = sctpJs.connect({
    passive: role === 'server',
    localPort: SCTP_PORT,
    port: SCTP_PORT,
    udpTransport: socket,
    udpPeer: { address: '127.0.0.1', port: peerUdpPort },
  });
  s.on('error', (err: Error) => process.stderr.write(`sctp-js: ${err.message}\n`));
  if (role === 'client') await once(s, 'connect');
  return {
    send: (m) => {
      if (!s.write(m)) return once(s, 'drain').then(() => {});
    },
    onMessage: (l) => s.on('data', l),
    window: 1, // a Duplex: wait for 'drain' whenever write() says so
  };
}

async function serve(): Promise<void> {
  const peer = await open('server', null);
  let got = 0;
  peer.onMessage(() => {
    if (++got === count) void peer.send(Buffer.from('d'));
  });
}

async function client(serverPort: number): Promise<Record<string, unknown>> {
  if (mode !== 'rate') throw new Error(`only the rate scenario is measured (got ${mode})`);
  const peer = await open('client', serverPort);
  const done = new Promise<void>((resolve) => peer.onMessage(() => resolve()));
  const payload = Buffer.alloc(size, 0x61);
  const started = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const sent = peer.send(payload);
    if (sent) pending.push(sent);
    if (pending.length >= peer.window) await pending.shift();
  }
  await done;
  const seconds = (performance.now() - started) / 1000;
  return {
    impl,
    mode,
    messages: count,
    size,
    seconds,
    perSecond: count / seconds,
    mbitPerS: (count * size * 8) / seconds / 1e6,
  };
}

if (process.env.KSCTP_BENCH_ROLE === 'server') {
  process.on('message', (m) => m === 'exit' && process.exit(0));
  serve().catch((err) => {
    process.stderr.write(`${err.stack}\n`);
    process.exit(1);
  });
} else {
  const child = fork(__filename, process.argv.slice(2), {
    env: { ...process.env, KSCTP_BENCH_ROLE: 'server' },
  });
  const limit = setTimeout(() => {
    process.stderr.write('userspace-bench: no result within 300 s\n');
    child.kill();
    process.exit(1);
  }, 300000);
  once(child, 'message')
    .then(async ([port]) => {
      const r = await client(port as number);
      process.stdout.write(`${JSON.stringify(r)}\n`);
      clearTimeout(limit);
      child.send('exit');
      process.exit(0);
    })
    .catch((err) => {
      process.stderr.write(`${err.stack}\n`);
      child.kill();
      process.exit(1);
    });
}
