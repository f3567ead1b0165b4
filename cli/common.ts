// Options every sctpt command shares, and opening a one-to-one client association.
import { connect, type SchedulerName, type Socket, type SocketOptions } from '../lib';
import { MAX_MS, UsageError, type OptionTable, type ParsedOptions } from './args';
import { Output } from './output';

export const DEFAULT_PORT = 6000;

export const commonOptions: OptionTable = {
  log: {
    type: 'number',
    default: 5,
    min: 0,
    max: 7,
    help: 'log level 0..7: 4 warning, 5 notice, 6 info (notifications), 7 debug',
  },
  json: { type: 'flag', help: 'print JSON lines instead of text' },
};

/** The kernel's SCTP extensions, for the commands that open associations (client and server). */
export const extensionOptions: OptionTable = {
  'udp-encap': {
    type: 'number',
    min: 1,
    max: 65535,
    help: "send in UDP to the peer's port (RFC 6951; net.sctp.udp_port must be set)",
  },
  prsctp: { type: 'string', help: 'PR-SCTP default: ttl:MS, rtx:N or prio:N (RFC 7496)' },
  scheduler: { type: 'string', help: 'stream scheduler: fcfs, priority, round-robin, ...' },
  interleave: { type: 'flag', help: 'I-DATA, message interleaving (net.sctp.intl_enable=1)' },
  'auth-key': {
    type: 'string',
    help: 'AUTH: authenticate DATA with this shared key (key number 1)',
  },
  reconfig: { type: 'flag', help: 'stream reconfiguration (RFC 6525), every request type' },
};

export const clientOptions: OptionTable = {
  addr: { type: 'list', help: 'the server address(es), required' },
  laddr: { type: 'list', help: 'local address(es) to bind (multihoming)' },
  port: { type: 'number', default: DEFAULT_PORT, min: 1, max: 65535, help: 'the server port' },
  timeout: { type: 'number', default: 5000, min: 1, max: MAX_MS, help: 'connect timeout, ms' },
  stream: { type: 'number', default: 0, min: 0, max: 65535, help: 'stream to send on' },
  ppid: {
    type: 'number',
    default: 0,
    min: 0,
    max: 2 ** 32 - 1,
    help: 'payload protocol identifier',
  },
  unordered: { type: 'flag', help: 'send unordered' },
  sndbuf: {
    type: 'number',
    min: 1,
    max: 2 ** 31 - 1,
    help: 'socket send buffer, bytes (SO_SNDBUF)',
  },
  ...extensionOptions,
};

/** The socket options the extension flags ask for (checked again by the library). */
export function extensionSocketOptions(o: ParsedOptions): SocketOptions {
  const options: SocketOptions = {};
  if (o['udp-encap'] !== undefined) options.udpEncapsulationPort = o['udp-encap'] as number;
  if (o.prsctp !== undefined) {
    const m = /^(ttl|rtx|prio):(\d+)$/.exec(o.prsctp as string);
    if (!m) throw new UsageError(`--prsctp must be ttl:MS, rtx:N or prio:N, not "${o.prsctp}"`);
    options.pr = { policy: m[1] as 'ttl' | 'rtx' | 'prio', value: Number(m[2]) };
  }
  if (o.scheduler !== undefined) options.scheduler = o.scheduler as SchedulerName;
  if (o.interleave) options.interleaving = true;
  if (o['auth-key'] !== undefined) {
    options.auth = { chunks: ['data'], keys: { 1: o['auth-key'] as string }, activeKey: 1 };
  }
  if (o.reconfig) options.streamReconfiguration = true;
  return options;
}

export function outputFor(o: ParsedOptions): Output {
  return new Output(o.log as number, o.json === true);
}

/** Connects with the client options; rejects with the connect error. */
export function openClient(o: ParsedOptions, streams?: number): Promise<Socket> {
  const socket = connect({
    host: o.addr as string[],
    port: o.port as number,
    ...(o.laddr ? { localAddress: o.laddr as string[] } : {}),
    connectTimeout: o.timeout as number,
    ...(o.sndbuf ? { sendBufferSize: o.sndbuf as number } : {}),
    ...(streams ? { streams: { out: streams, in: streams } } : {}),
    ...extensionSocketOptions(o),
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** Prints notifications at info level, in a readable form. */
export function logNotifications(
  out: Output,
  emitter: { on(event: 'notification', l: (n: { type: string }) => void): unknown },
  who: string,
): void {
  emitter.on('notification', (n) => {
    const { type, ...rest } = n as Record<string, unknown>;
    const fields = Object.entries(rest)
      .filter(([k, v]) => k !== 'flags' && v !== undefined && !Buffer.isBuffer(v))
      .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : v}`)
      .join(' ');
    out.event(
      'info',
      'notification',
      { who, ...rest, type },
      `${who}: notification ${type} ${fields}`,
    );
  });
}

/**
 * A live path view of some associations: every path's state, cwnd, srtt, rto, mtu, the
 * primary one starred. Redrawn in place on a terminal, plain lines (or JSON) otherwise.
 */
export function watchPaths(out: Output, sockets: Socket[], everyMs: number): NodeJS.Timeout {
  let drawn = 0;
  const draw = () => {
    const views = sockets
      .filter((s) => !s.destroyed && !s.connecting)
      .map((s, i) => ({ association: i, status: s.status(), paths: pathView(s) }));
    if (out.json) return views.forEach((v) => out.result('paths', v, ''));
    const lines = views.flatMap((v) => [
      `association ${v.association}: ${v.status.state}, rwnd ${v.status.rwnd}, unacked ${v.status.unackedData}, pending ${v.status.pendingData}`,
      ...v.paths.map(
        (p) =>
          `  ${p.primary ? '*' : ' '} ${p.address.padEnd(39)} ${p.state.padEnd(18)} cwnd ${String(p.cwnd).padStart(7)}  srtt ${String(p.srtt).padStart(5)} ms  rto ${String(p.rto).padStart(5)} ms  mtu ${p.mtu}`,
      ),
    ]);
    const tty = process.stdout.isTTY === true;
    if (tty && drawn) process.stdout.write(`\x1b[${drawn}A`);
    process.stdout.write(`${lines.map((l) => (tty ? `${l}\x1b[K` : l)).join('\n')}\n`);
    drawn = tty ? lines.length : 0;
  };
  draw();
  return setInterval(draw, everyMs);
}

export function pathView(socket: Socket) {
  const primary = socket.paths.primary().address.address;
  return socket.paths.list().map((p) => ({
    address: p.address.address,
    state: p.state,
    cwnd: p.cwnd,
    srtt: p.srtt,
    rto: p.rto,
    mtu: p.mtu,
    primary: p.address.address === primary,
  }));
}
