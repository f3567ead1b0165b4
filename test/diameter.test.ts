// Diameter over kernel-sctp against a real Diameter stack: the example in examples/diameter
// talks to freeDiameterd (Debian's freediameterd) on the dual-path topology, as client and
// as server, through a path failure, and checks the wire with tshark's Diameter dissector.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  avp,
  Code,
  decode,
  DiameterError,
  encode,
  Flag,
  addressOf,
  type Message,
} from '../examples/diameter/message';
import { startFreeDiameter, type FreeDiameter } from './helpers/freediameter';
import { JsonLines } from './helpers/net';
import { createDualPath, type DualPath } from './helpers/topology';
import { fieldsDuring } from './helpers/wire';

const examples = path.join(__dirname, '..', 'examples', 'diameter');
const FD = 'fd.example.test';

let topo: DualPath;
let dir: string;
const running: { stop(): unknown }[] = [];

beforeAll(() => {
  topo = createDualPath(`d${process.pid}`);
  dir = mkdtempSync(path.join(tmpdir(), 'diameter-'));
});

afterEach(async () => {
  for (const p of running.splice(0)) await p.stop();
});

afterAll(() => {
  topo?.teardown();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One of the example programs in a namespace, its JSON events read in order. */
function example(ns: string, program: 'client' | 'server', args: string[]): JsonLines {
  const p = new JsonLines('ip', [
    'netns',
    'exec',
    ns,
    process.execPath,
    path.join(examples, `${program}.js`),
    '--json',
    ...args,
  ]);
  running.push({ stop: () => p.kill() });
  return p;
}

/** The next event of this name, skipping others (collected in `seen`). */
async function nextEvent<T = any>(p: JsonLines, event: string, ms = 60000, seen: any[] = []) {
  const deadline = Date.now() + ms;
  for (;;) {
    const line = await p.next(Math.max(1, deadline - Date.now()));
    seen.push(line);
    if (line.event === event) return line as T;
  }
}

async function freeDiameter(options: Partial<Parameters<typeof startFreeDiameter>[0]> = {}) {
  const fd = await startFreeDiameter({ namespace: topo.server, dir, ...options });
  running.push(fd);
  return fd;
}

/** freeDiameter's log showed the peer reach OPEN, and never suspect it. */
function expectOpenedAndNeverSuspect(fd: FreeDiameter, peer: string): void {
  expect(fd.log()).toMatch(new RegExp(`-> 'STATE_OPEN'\\s+'${peer.replace(/\./g, '\\.')}'`));
  expect(fd.log()).not.toMatch(/STATE_SUSPECT/);
}

/**
 * Tw expiries with a DWR unanswered while only watchdogs ran. (During a burst of requests a
 * loaded VM may keep freeDiameter silent for a Tw; RFC 3539 calls that SUSPECT, not down.)
 */
const suspectsBeforeTheRequests = (seen: any[]) =>
  seen
    .slice(
      0,
      seen.findIndex((e) => e.event === 'watchdogs'),
    )
    .filter((e) => e.event === 'suspect').length;

const ourClient = (args: string[]) =>
  example(topo.client, 'client', [
    '--connect',
    topo.serverAddresses.join(','),
    '--local',
    topo.clientAddresses.join(','),
    ...args,
  ]);

describe('the Diameter codec', () => {
  const message: Message = {
    flags: Flag.Request | Flag.Proxiable,
    command: 271,
    applicationId: 3,
    hopByHop: 0xfedcba98,
    endToEnd: 7,
    avps: [
      avp.text(Code.SessionId, 'a;1;2'), // 5 bytes: padded
      avp.u32(Code.ResultCode, 2001),
      avp.address(Code.HostIpAddress, '192.0.2.1'),
      avp.address(Code.HostIpAddress, '2001:db8::1'),
      { code: 1, flags: 0xc0, vendorId: 10415, data: Buffer.from([1, 2, 3]) },
    ],
  };

  test('encodes and decodes the header, padding, vendor AVPs and addresses', () => {
    const bytes = encode(message);
    expect(bytes.length % 4).toBe(0);
    expect(bytes.readUInt32BE(0)).toBe((1 << 24) | bytes.length);
    const back = decode(bytes);
    expect({ ...back, avps: [] }).toEqual({ ...message, avps: [] });
    expect(back.avps.map((a) => [a.code, a.vendorId, a.data.toString('hex')])).toEqual(
      message.avps.map((a) => [a.code, a.vendorId, a.data.toString('hex')]),
    );
    expect(back.avps.slice(2, 4).map(addressOf)).toEqual(['192.0.2.1', '2001:db8:0:0:0:0:0:1']);
    expect(back.avps[1]!.flags).toBe(0x40); // M
    expect(back.avps[4]!.flags).toBe(0xc0); // V, M
  });

  test('refuses every length that does not fit, with a DiameterError', () => {
    const bytes = encode(message);
    const bad: Buffer[] = [
      bytes.subarray(0, 19), // no header
      Buffer.concat([bytes, Buffer.alloc(4)]), // longer than the header says
      bytes.subarray(0, bytes.length - 4), // shorter
      Buffer.from(bytes).fill(2, 0, 1), // version 2
    ];
    const overrun = Buffer.from(bytes);
    overrun.writeUInt32BE((0x40 << 24) | 1000, 24); // first AVP's length past the end
    const short = Buffer.from(bytes);
    short.writeUInt32BE((0x40 << 24) | 4, 24); // shorter than an AVP header
    bad.push(overrun, short);
    for (const b of bad) expect(() => decode(b)).toThrow(DiameterError);
  });
});

describe('Diameter against freeDiameterd', () => {
  test('our client: CER/CEA, watchdogs every second, 1,000 requests over 7 streams, DPR/DPA, SHUTDOWN', async () => {
    const fd = await freeDiameter();
    let summary: any;
    let code: number | null = null;
    const seen: any[] = [];
    const wire = await fieldsDuring(
      async () => {
        const client = ourClient(['--watchdog', '1000', '--duration', '6', '--requests', '1000']);
        summary = await nextEvent(client, 'close', 120000, seen);
        code = await client.exit();
      },
      [
        'ip.src',
        'sctp.chunk_type',
        'sctp.data_tsn',
        'sctp.data_sid',
        'sctp.data_payload_proto_id',
        'diameter.cmd.code',
        'diameter.flags.request',
      ],
      { namespace: topo.server, interfaces: Object.values(topo.links).map((l) => l.server) },
    );
    expect(code).toBe(0);
    expect(summary.open).toMatchObject({
      host: FD,
      realm: 'example.test',
      productName: 'freeDiameter',
    });
    expect(summary.open.addresses.sort()).toEqual([...topo.serverAddresses].sort());
    expect(summary.watchdogs.sent).toBeGreaterThanOrEqual(4); // Tw 1 s for 6 s
    expect(summary.watchdogs.answered).toBe(summary.watchdogs.sent);
    expect(suspectsBeforeTheRequests(seen)).toBe(0);
    // freeDiameter has no accounting application loaded: it answers each request itself with
    // DIAMETER_APPLICATION_UNSUPPORTED. Every answer came back with its request's Session-Id.
    expect(summary.requests).toMatchObject({ sent: 1000, answered: 1000, matched: 1000 });
    expect(summary.requests.resultCodes).toEqual({ 3007: 1000 });
    expect(summary.disconnect).toEqual({ clean: true });
    expectOpenedAndNeverSuspect(fd, 'client.example.test');
    expect(fd.log()).toMatch(/Peer 'client\.example\.test' sent a DPR with cause: REBOOTING/);

    // On the wire: a SHUTDOWN and no ABORT. Ours: PPID 46 on every DATA chunk, the base
    // protocol on stream 0, the requests spread over streams 1-7. freeDiameter 1.2.1 sends
    // PPID 0 (later versions set 46) and picks its streams round robin, answers included.
    const chunks = wire.flatMap((row) => row[1]!.split(',').map(Number));
    expect(chunks).toEqual(expect.arrayContaining([7, 8, 14])); // SHUTDOWN, -ACK, -COMPLETE
    expect(chunks).not.toContain(6); // ABORT
    // One entry per DATA chunk (tshark gives a packet's fields as parallel lists), each
    // counted once even if it was retransmitted.
    const seenTsns = new Set<string>();
    const messages = wire.flatMap(
      ([source = '', , tsns = '', sids = '', ppids = '', codes = '', requests = '']) => {
        const [tsn, sid, ppid, cmd, req] = [tsns, sids, ppids, codes, requests].map((f) =>
          f.split(','),
        );
        return sid!.filter(Boolean).flatMap((s, i) => {
          const key = `${source} ${tsn![i]}`;
          if (seenTsns.has(key)) return [];
          seenTsns.add(key);
          return [
            {
              ours: topo.clientAddresses.includes(source),
              stream: Number(s),
              ppid: Number(ppid![i]),
              command: Number(cmd![i]),
              request: /^(1|True)$/.test(req![i] ?? ''),
            },
          ];
        });
      },
    );
    const ours = messages.filter((m) => m.ours);
    const theirs = messages.filter((m) => !m.ours);
    expect(new Set(ours.map((m) => m.ppid))).toEqual(new Set([46]));
    // Each of our requests once on the wire, and one answer to each (freeDiameter may also
    // have sent a DWR of its own, answered by ours).
    const count = (list: typeof messages, command: number, request: boolean) =>
      list.filter((m) => m.command === command && m.request === request).length;
    for (const [command, n] of [
      [257, 1], // CER, CEA
      [280, summary.watchdogs.sent], // DWR, DWA
      [282, 1], // DPR, DPA
      [271, 1000], // ACR, ACA
    ] as const) {
      expect([command, count(ours, command, true), count(theirs, command, false)]).toEqual([
        command,
        n,
        n,
      ]);
    }
    expect(new Set(ours.filter((m) => m.command !== 271).map((m) => m.stream))).toEqual(
      new Set([0]),
    );
    const perStream: Record<number, number> = {};
    for (const m of ours)
      if (m.command === 271) perStream[m.stream] = (perStream[m.stream] ?? 0) + 1;
    expect(perStream).toEqual({ 1: 143, 2: 143, 3: 143, 4: 143, 5: 143, 6: 143, 7: 142 });
  }, 180000);

  test('freeDiameter as the client: it connects to our server, its watchdogs answered, its DPR on stop', async () => {
    const server = example(topo.client, 'server', [
      '--listen',
      topo.clientAddresses.join(','),
      '--origin-host',
      'server.example.test',
      '--watchdog',
      '60000', // freeDiameter's Tw (6 s) drives the watchdog here
      '--once',
    ]);
    const { port } = await nextEvent(server, 'listening');
    const fd = await freeDiameter({
      connectTo: [{ identity: 'server.example.test', addresses: topo.clientAddresses, port }],
    });
    const seen: any[] = [];
    const open = await nextEvent(server, 'open', 60000, seen);
    expect(open.peer).toMatchObject({
      host: FD,
      realm: 'example.test',
      productName: 'freeDiameter',
    });
    expect(open.peer.addresses.sort()).toEqual([...topo.serverAddresses].sort());
    expect(open.from.split(',').sort()).toEqual([...topo.serverAddresses].sort());
    // freeDiameter's Tw is 6 s with its jitter of up to 2 s: two DWRs within 20 s.
    await nextEvent(server, 'watchdogRequest', 20000, seen);
    await nextEvent(server, 'watchdogRequest', 20000, seen);
    expect(await fd.stop()).toBe(0); // it sends DPR to its peers before it exits
    const request = await nextEvent(server, 'disconnectRequest', 30000, seen);
    expect(request.cause).toBe(0); // REBOOTING
    const closed = await nextEvent(server, 'close', 30000, seen);
    expect(closed).toMatchObject({ clean: true, disconnectCause: 0 });
    expect(closed.counters.watchdogsReceived).toBeGreaterThanOrEqual(2);
    expect(await server.exit()).toBe(0);
    expectOpenedAndNeverSuspect(fd, 'server.example.test');
  }, 180000);

  test('multihomed: the primary path cut under watchdogs, 300 requests while it is down; nothing lost, the peer stays OPEN', async () => {
    const fd = await freeDiameter();
    // Our side leaves a dead path fast (docs/diameter.md); freeDiameter sets its own timers.
    const client = ourClient([
      ...['--watchdog', '2000', '--duration', '16', '--requests', '300'],
      ...['--rto-min', '100', '--rto-max', '1000', '--heartbeat', '300', '--path-max-retrans', '2'],
    ]);
    const seen: any[] = [];
    await nextEvent(client, 'open', 60000, seen);
    await new Promise((r) => setTimeout(r, 3000));
    const before = topo.counters('client', 'b');
    topo.cut('a'); // the primary path, both directions, as a dead switch
    try {
      const summary = await nextEvent(client, 'close', 120000, seen);
      const after = topo.counters('client', 'b');
      expect(suspectsBeforeTheRequests(seen)).toBe(0);
      expect(summary.watchdogs.sent).toBeGreaterThanOrEqual(5); // Tw 2 s for 16 s
      expect(summary.watchdogs.answered).toBe(summary.watchdogs.sent);
      // A DWA lost on the dead path waits for freeDiameter's RTO (at least 1 s), then goes
      // on path b: late, but within Tw.
      expect(summary.watchdogs.longestRoundTrip).toBeLessThan(2000);
      expect(summary.requests).toMatchObject({ sent: 300, answered: 300, matched: 300 });
      expect(summary.disconnect).toEqual({ clean: true });
      expect(await client.exit()).toBe(0);
      // The watchdogs, the requests and the disconnect went over path b once a was cut.
      expect(after.tx - before.tx).toBeGreaterThan(300 * 150);
      expect(after.rx - before.rx).toBeGreaterThan(300 * 150);
      expectOpenedAndNeverSuspect(fd, 'client.example.test');
      const log = fd.log();
      // freeDiameter left OPEN only because of our DPR.
      expect(log.indexOf("'STATE_OPEN'\t-> 'STATE_CLOSING'")).toBeGreaterThan(
        log.indexOf('sent a DPR'),
      );
    } finally {
      topo.restore('a');
    }
  }, 180000);
});
