// RSerPool (kernel-sctp/rserpool): the ASAP codec and the selection policies on their own,
// then pool elements and pool users against RSPLIB (Debian's rsplib-registrar and
// rsplib-tools: rspregistrar, rspserver, rspterminal, hsdump) in a network namespace:
//
//   namespace rsp<pid>: dummy interface with 10.99.0.1/24 and 10.99.1.1/24 (RSPLIB refuses
//   loopback addresses in registrations), multicast on (the registrar's announces)
//     rspregistrar  ASAP 10.99.0.1:3863, ENRP 10.99.0.1:9901 (hsdump asks it there)
//     rspserver -echo (RSPLIB's pool elements)    sctpt pool register (ours)
//     rspterminal (RSPLIB's pool user)            sctpt pool use / resolve (ours)
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import {
  AsapError,
  decodeAsap,
  encodeAsap,
  type AsapMessage,
  type PoolElementParameter,
} from '../lib/rserpool/asap';
import { newSelectionState, selectElement } from '../lib/rserpool/policy';
import { JsonLines, waitFor } from './helpers/net';

const sctpt = path.join(__dirname, '..', 'cli', 'sctpt.js');

function element(id: number, policy: PoolElementParameter['policy']): PoolElementParameter {
  return {
    id,
    homeRegistrar: 0,
    registrationLife: 90000,
    transport: { protocol: 'sctp', port: 5000 + id, addresses: ['10.0.0.1'], use: 'data+control' },
    policy,
  };
}

describe('ASAP codec', () => {
  const handle = Buffer.from('EchoPool');
  const pe = {
    ...element(0x12345678, { name: 'round-robin' as const }),
    transport: {
      protocol: 'sctp' as const,
      port: 40000,
      addresses: ['10.0.0.1'],
      use: 'data+control' as const,
    },
  };

  test('a REGISTRATION has the bytes RSPLIB and tshark read (RFC 5352/5354)', () => {
    // Checked with tshark's ASAP dissector: PH "EchoPool", PE 0x12345678, life 90000 ms,
    // SCTP 10.0.0.1:40000 data+control, round robin.
    const expected =
      '01000038 0009000c 4563686f 506f6f6c 000a0028 12345678 00000000 00015f90' +
      ' 00040010 9c400001 00010008 0a000001 00080008 00000001';
    const bytes = encodeAsap({ type: 'registration', poolHandle: handle, element: pe });
    expect(bytes.toString('hex')).toBe(expected.replace(/ /g, ''));
  });

  const samples: AsapMessage[] = [
    { type: 'registration', poolHandle: handle, element: pe },
    { type: 'deregistration', poolHandle: handle, id: 7 },
    { type: 'registrationResponse', poolHandle: handle, id: 7, rejected: false },
    {
      type: 'registrationResponse',
      poolHandle: handle,
      id: 7,
      rejected: true,
      error: [{ code: 5, name: 'inconsistent pooling policy', info: Buffer.alloc(0) }],
    },
    { type: 'deregistrationResponse', poolHandle: handle, id: 7 },
    { type: 'handleResolution', poolHandle: Buffer.from('EchoPool1'), items: 1 },
    {
      type: 'handleResolutionResponse',
      poolHandle: handle,
      policy: { name: 'least-used', load: 0.25 },
      elements: [
        element(1, { name: 'least-used', load: 0.25 }),
        {
          ...element(2, { name: 'least-used', load: 0.5 }),
          transport: {
            protocol: 'sctp',
            port: 9,
            addresses: ['10.0.0.2', '2001:db8::2'],
            use: 'data',
          },
        },
      ],
    },
    { type: 'endpointKeepAlive', serverId: 0xabcdef01, poolHandle: handle, id: 7, home: true },
    { type: 'endpointKeepAliveAck', poolHandle: handle, id: 7 },
    { type: 'endpointUnreachable', poolHandle: handle, id: 7 },
    { type: 'serverAnnounce', serverId: 0xabcdef01, transports: [] },
    { type: 'cookie', cookie: Buffer.from('<PP-TD1>\0\0\0\0\0\0\0\x05', 'latin1') },
    { type: 'cookieEcho', cookie: Buffer.from('abc') },
    {
      type: 'error',
      error: [{ code: 2, name: 'unrecognized message', info: Buffer.from([1, 2]) }],
    },
  ];

  // Loads travel as 32-bit fractions of 0xffffffff: compared to 9 decimals.
  const rounded = (m: unknown) =>
    JSON.parse(JSON.stringify(m, (_k, v) => (typeof v === 'number' ? Number(v.toFixed(9)) : v)));

  test.each(samples.map((m) => [m.type, m]))('%s decodes to what was encoded', (_type, m) => {
    const decoded = decodeAsap(encodeAsap(m));
    expect(rounded(decoded)).toEqual(rounded(m));
    expect(encodeAsap(decoded).equals(encodeAsap(m))).toBe(true);
  });

  test('bad input is refused with an AsapError and its RFC 5354 cause', () => {
    const good = encodeAsap({ type: 'deregistration', poolHandle: handle, id: 7 });
    const cases: [string, Buffer, number][] = [
      ['cut short', good.subarray(0, 3), 3],
      [
        'length beyond the bytes',
        Buffer.concat([good.subarray(0, 2), Buffer.from([0xff, 0xff]), good.subarray(4)]),
        3,
      ],
      ['bytes beyond the length', Buffer.concat([good, Buffer.alloc(8)]), 3],
      ['unknown type', Buffer.from([0x42, 0, 0, 4]), 2],
      [
        'parameter longer than the message',
        Buffer.from('02000010 0009 00ff 41424344 000e0008'.replace(/ /g, ''), 'hex'),
        3,
      ],
      [
        'parameter length under 4',
        Buffer.from('0200000c 00090002 00000000'.replace(/ /g, ''), 'hex'),
        3,
      ],
      [
        'missing PE identifier',
        Buffer.from('0200000c 00090008 41424344'.replace(/ /g, ''), 'hex'),
        3,
      ],
      [
        'empty pool handle',
        Buffer.from('02000010 00090004 000e0008 00000007'.replace(/ /g, ''), 'hex'),
        3,
      ],
      [
        'unknown parameter that says stop',
        Buffer.from(
          '02000018 00090008 41424344 000e0008 00000007 00770004'.replace(/ /g, ''),
          'hex',
        ),
        1,
      ],
      [
        'PE identifier of 2 bytes',
        Buffer.from('02000014 00090008 41424344 000e0006 00070000'.replace(/ /g, ''), 'hex'),
        3,
      ],
    ];
    for (const [what, bytes, cause] of cases) {
      let caught: unknown;
      try {
        decodeAsap(bytes);
      } catch (err) {
        caught = err;
      }
      expect([what, caught]).toEqual([what, expect.any(AsapError)]);
      expect([what, (caught as AsapError).causeCode]).toEqual([what, cause]);
    }
    // An unknown parameter whose type says "skip" is skipped.
    const skipped = Buffer.from(
      '02000018 00090008 41424344 000e0008 00000007 80770004'.replace(/ /g, ''),
      'hex',
    );
    expect(decodeAsap(skipped)).toEqual({
      type: 'deregistration',
      poolHandle: Buffer.from('ABCD'),
      id: 7,
    });
  });

  test('a pool handle over 32 bytes is not sent (it aborts RSPLIB 3.4.4)', () => {
    expect(() =>
      encodeAsap({ type: 'handleResolution', poolHandle: Buffer.alloc(33, 0x41) }),
    ).toThrow(RangeError);
  });

  test('mutated messages: only AsapError, never another exception', () => {
    let seed = 1;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const encoded = samples.map((m) => encodeAsap(m));
    let refused = 0;
    for (let i = 0; i < 20000; i++) {
      const bytes = Buffer.from(encoded[i % encoded.length]!);
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) {
        bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      }
      const cut = random() < 0.2 ? bytes.subarray(0, Math.floor(random() * bytes.length)) : bytes;
      try {
        decodeAsap(cut);
      } catch (err) {
        if (!(err instanceof AsapError)) throw err;
        refused++;
      }
    }
    expect(refused).toBeGreaterThan(1000);
  });
});

describe('selection policies (RFC 5356)', () => {
  const pick = (elements: PoolElementParameter[], n: number, random?: () => number) => {
    const state = newSelectionState();
    return Array.from({ length: n }, () => selectElement(elements, state, random).id);
  };
  const counts = (ids: number[]) =>
    ids.reduce<Record<number, number>>((c, id) => ((c[id] = (c[id] ?? 0) + 1), c), {});

  test('round robin takes each element in turn', () => {
    const pool = [1, 2, 3].map((id) => element(id, { name: 'round-robin' }));
    expect(pick(pool, 7)).toEqual([1, 2, 3, 1, 2, 3, 1]);
  });

  test('weighted round robin: each element weight times per cycle, interleaved', () => {
    const pool = [
      element(1, { name: 'weighted-round-robin', weight: 3 }),
      element(2, { name: 'weighted-round-robin', weight: 1 }),
    ];
    const ids = pick(pool, 8);
    expect(counts(ids)).toEqual({ 1: 6, 2: 2 });
    // The tie at the second turn goes to the one selected longer ago.
    expect(ids.slice(0, 4)).toEqual([1, 2, 1, 1]);
  });

  test('least used takes the lowest load, equals in turn', () => {
    const pool = [
      element(1, { name: 'least-used', load: 0.5 }),
      element(2, { name: 'least-used', load: 0.1 }),
      element(3, { name: 'least-used', load: 0.1 }),
    ];
    expect(pick(pool, 4)).toEqual([2, 3, 2, 3]);
  });

  test('least used with degradation moves on as it adds load', () => {
    const pool = [
      element(1, { name: 'least-used-degradation', load: 0.1, loadDegradation: 0.3 }),
      element(2, { name: 'least-used-degradation', load: 0.3, loadDegradation: 0.3 }),
    ];
    expect(pick(pool, 4)).toEqual([1, 2, 1, 2]);
  });

  test('priority takes the highest value', () => {
    const pool = [
      element(1, { name: 'priority', priority: 1 }),
      element(2, { name: 'priority', priority: 9 }),
    ];
    expect(pick(pool, 3)).toEqual([2, 2, 2]);
  });

  test('random and weighted random spread by weight', () => {
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const uniform = counts(
      pick(
        [1, 2].map((id) => element(id, { name: 'random' })),
        10000,
        random,
      ),
    );
    expect(uniform[1]! / 10000).toBeCloseTo(0.5, 1);
    const weighted = counts(
      pick(
        [
          element(1, { name: 'weighted-random', weight: 1 }),
          element(2, { name: 'weighted-random', weight: 3 }),
        ],
        10000,
        random,
      ),
    );
    expect(weighted[2]! / 10000).toBeCloseTo(0.75, 1);
  });
});

// ---- Against RSPLIB ------------------------------------------------------------------

const NS = `rsp${process.pid}`;
const REGISTRAR = '10.99.0.1:3863';

function inNs(cmd: string, args: string[]): string[] {
  return ['netns', 'exec', NS, cmd, ...args];
}

const children: ChildProcess[] = [];
const ours: JsonLines[] = [];

/** A program of RSPLIB's in the namespace; its output collected in `log`. */
function rsplib(cmd: string, args: string[]): { child: ChildProcess; log: () => string } {
  const child = spawn('ip', inNs(cmd, [...args, '-logcolor=off']), {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (log += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (log += s));
  children.push(child);
  return { child, log: () => log };
}

/** `sctpt pool ...` in the namespace, JSON lines. */
function pool(args: string[]): JsonLines {
  const p = new JsonLines('ip', inNs(process.execPath, [sctpt, 'pool', ...args, '--json']));
  ours.push(p);
  return p;
}

/** `sctpt pool <action>` arguments for a pool, through the test's registrar. */
function viaRegistrar(
  action: 'register' | 'use' | 'resolve',
  handle: string,
  ...extra: string[]
): string[] {
  return [action, '--registrar', REGISTRAR, '--handle', handle, ...extra];
}

/** Runs `sctpt pool ...` to its end: its JSON lines and exit status. */
async function poolRun(
  args: string[],
): Promise<{ lines: any[]; code: number | null; stderr: string }> {
  const p = pool(args);
  const code = await p.exit();
  return { lines: p.history, code, stderr: p.stderr };
}

const linesOf = (p: JsonLines, event: string) => p.history.filter((l) => l.event === event);
const hex = (id: number) => `$${id.toString(16).padStart(8, '0')}`;

/** What the registrar holds, as RSPLIB's hsdump (an ENRP peer asking it) prints it. */
function hsdump(): string {
  return execFileSync('ip', inNs('timeout', ['10', 'hsdump', '10.99.0.1:9901']), {
    encoding: 'utf8',
  });
}

async function registered(p: JsonLines): Promise<any> {
  await waitFor(() => linesOf(p, 'registered').length > 0, 20000, `a registration (${p.stderr})`);
  return linesOf(p, 'registered')[0];
}

async function stop(p: JsonLines): Promise<number | null> {
  p.child.kill('SIGTERM');
  return p.exit();
}

/**
 * RSPLIB's registrar, announcing itself, with keep-alives every second (5 s by default) so
 * that unanswered ones show within the tests: after 3 s without an ACK it would abort the
 * element's association.
 */
function startRegistrar(): ReturnType<typeof rsplib> {
  return rsplib('rspregistrar', [
    '-asap=10.99.0.1:3863',
    '-enrp=10.99.0.1:9901',
    '-asapannounce=239.0.0.50:3863',
    '-enrpannounce=off',
    '-endpointkeepalivetransmissioninterval=1000',
    '-endpointkeepalivetimeoutinterval=3000',
    '-loglevel=6', // 6: each keep-alive ACK it gets
  ]);
}

describe('against RSPLIB 3.4.4 (registrar, echo elements, rspterminal)', () => {
  let registrar: ReturnType<typeof rsplib>;

  beforeAll(async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    const ns = (...args: string[]) => execFileSync('ip', ['-n', NS, ...args]);
    ns('link', 'set', 'lo', 'up');
    ns('link', 'add', 'd0', 'type', 'dummy');
    ns('link', 'set', 'd0', 'up', 'multicast', 'on');
    ns('addr', 'add', '10.99.0.1/24', 'dev', 'd0');
    ns('addr', 'add', '10.99.1.1/24', 'dev', 'd0');
    ns('route', 'add', '239.0.0.0/8', 'dev', 'd0');
    registrar = startRegistrar();
    await waitFor(
      () => execFileSync('ip', inNs('ss', ['-Sln']), { encoding: 'utf8' }).includes(':3863'),
      20000,
      'the registrar listening',
    );
  });

  afterAll(async () => {
    for (const p of ours.splice(0)) p.kill();
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, 200));
    execFileSync('ip', ['netns', 'del', NS]);
  });

  test('our pool elements register, multihomed, and RSPLIB lists them; SIGTERM deregisters', async () => {
    const a = pool(viaRegistrar('register', 'OurPool', '--id', '0x0a000001'));
    const b = pool(viaRegistrar('register', 'OurPool', '--id', '0x0a000002'));
    const [ra, rb] = await Promise.all([registered(a), registered(b)]);
    // Both addresses of the namespace: the registrar takes those its association comes from.
    expect(ra.addresses.sort()).toEqual(['10.99.0.1', '10.99.1.1']);
    expect(rb.id).toBe(0x0a000002);
    const dump = hsdump();
    expect(dump).toMatch(/Pool "OurPool", Policy "RoundRobin"/);
    expect(dump).toContain(hex(0x0a000001));
    expect(dump).toContain(hex(0x0a000002));
    expect(dump).toMatch(
      new RegExp(`\\{10\\.99\\.[01]\\.1, 10\\.99\\.[01]\\.1\\} ${ra.port}/SCTP`),
    );
    // Keep-alives every second, each answered: no association aborted, no second
    // registration (a renewal is not printed at this log level).
    await new Promise((r) => setTimeout(r, 3500));
    expect(linesOf(a, 'registered')).toHaveLength(1);
    expect(registrar.log()).toContain(
      `Got EndpointKeepAliveAck for pool element ${hex(0x0a000001)}`,
    );
    expect(registrar.log()).not.toContain(
      `Keep-alive timeout expired for pool element ${hex(0x0a000001)}`,
    );
    expect(await stop(b)).toBe(0);
    expect(linesOf(b, 'deregistering')).toHaveLength(1);
    const after = hsdump();
    expect(after).toContain(hex(0x0a000001));
    expect(after).not.toContain(hex(0x0a000002));
    expect(await stop(a)).toBe(0);
  });

  const rspEcho = new Map<number, ReturnType<typeof rsplib>>();

  test("RSPLIB's echo elements are resolved and used by our pool user", async () => {
    for (const id of [0x0b000001, 0x0b000002]) {
      const server = rsplib('rspserver', [
        '-echo',
        `-registrar=${REGISTRAR}`,
        '-asapannounce=off',
        '-poolhandle=RspEcho',
        `-identifier=0x${id.toString(16)}`,
        '-loglevel=3',
      ]);
      rspEcho.set(id, server);
    }
    let listed: any[] = [];
    await waitFor(
      async () => {
        const r = await poolRun(viaRegistrar('resolve', 'RspEcho'));
        listed = r.lines.find((l) => l.event === 'elements')?.elements ?? [];
        return listed.length === 2;
      },
      20000,
      'both echo elements registered',
    );
    expect(listed.map((e) => e.id).sort()).toEqual([0x0b000001, 0x0b000002]);
    expect(listed[0].policy).toEqual({ name: 'round-robin' });
    for (const e of listed) expect(e.addresses).toContain('10.99.0.1');
    // A session stays with its element; two sessions one after the other get the two
    // elements, as the registrar's round robin moves its list on by one per resolution.
    const used: string[] = [];
    for (let run = 0; run < 2; run++) {
      const r = await poolRun(viaRegistrar('use', 'RspEcho', '--count', '3', '--interval', '50'));
      const summary = r.lines.find((l) => l.event === 'summary');
      expect([r.code, summary.answered, summary.failovers]).toEqual([0, 3, 0]);
      expect(Object.values(summary.elements)).toEqual([3]);
      used.push(...Object.keys(summary.elements));
    }
    expect(used.sort()).toEqual([hex(0x0b000001), hex(0x0b000002)]);
  });

  test('our pool user fails over from an RSPLIB element that is killed to the other', async () => {
    const user = pool(
      viaRegistrar('use', 'RspEcho', '--count', '20', '--interval', '100', '--log', '7'),
    );
    await waitFor(() => linesOf(user, 'echo').length >= 5, 30000, '5 echoes');
    const victim = linesOf(user, 'echo').at(-1).id as number;
    rspEcho.get(victim)!.child.kill('SIGKILL');
    expect(await user.exit()).toBe(0);
    expect(linesOf(user, 'summary')[0].answered).toBe(20);
    const [failover, ...more] = linesOf(user, 'failover');
    expect(more).toHaveLength(0);
    expect(failover.from.id).toBe(victim);
    expect(failover.to.id).toBe(victim === 0x0b000001 ? 0x0b000002 : 0x0b000001);
    expect(failover.cookieEchoed).toBe(false); // RSPLIB's echo service leaves no cookie
  });

  test('least-used elements: RSPLIB lists their loads, our pool user takes the least loaded', async () => {
    const loads: [number, string][] = [
      [0x0f000001, '0.5'],
      [0x0f000002, '0.1'],
      [0x0f000003, '0.9'],
    ];
    const elements = loads.map(([id, load]) =>
      pool(viaRegistrar('register', 'LoadPool', '--id', `${id}`, '--policy', `least-used:${load}`)),
    );
    await Promise.all(elements.map(registered));
    const dump = hsdump();
    expect(dump).toMatch(/Pool "LoadPool", Policy "LeastUsed"/);
    expect(dump).toMatch(/l=10\.000%/);
    expect(dump).toMatch(/l=90\.000%/);
    const r = await poolRun(viaRegistrar('use', 'LoadPool', '--count', '3', '--interval', '10'));
    expect(r.lines.find((l) => l.event === 'summary').elements).toEqual({ [hex(0x0f000002)]: 3 });
    // The pool is least-used now: the registrar refuses an element with another policy.
    const odd = pool(viaRegistrar('register', 'LoadPool', '--policy', 'round-robin'));
    await waitFor(() => linesOf(odd, 'registrationFailed').length > 0, 20000, 'the refusal');
    expect(linesOf(odd, 'registrationFailed')[0]).toMatchObject({
      code: 'ERR_ASAP_REJECTED',
      message: expect.stringContaining('inconsistent pooling policy'),
    });
    expect(linesOf(odd, 'registered')).toHaveLength(0);
    for (const p of [...elements, odd]) expect(await stop(p)).toBe(0);
  });

  test('our pool user fails over when the element in use is killed; the cookie goes to the next', async () => {
    const elements = [0x0c000001, 0x0c000002, 0x0c000003].map((id) =>
      pool(viaRegistrar('register', 'FailPool', '--id', `${id}`, '--cookie', '--log', '7')),
    );
    await Promise.all(elements.map(registered));
    const user = pool(
      viaRegistrar('use', 'FailPool', '--count', '30', '--interval', '100', '--log', '7'),
    );
    await waitFor(() => linesOf(user, 'echo').length >= 10, 30000, '10 echoes');
    const victimId = linesOf(user, 'echo').at(-1).id;
    const victim = elements[[0x0c000001, 0x0c000002, 0x0c000003].indexOf(victimId)]!;
    victim.kill(); // SIGKILL: no deregistration, no SHUTDOWN; the kernel aborts its associations
    expect(await user.exit()).toBe(0);
    const summary = linesOf(user, 'summary')[0];
    expect(summary.answered).toBe(30);
    const failovers = linesOf(user, 'failover');
    expect(failovers).toHaveLength(1);
    expect(failovers[0].from.id).toBe(victimId);
    expect(failovers[0].to.id).not.toBe(victimId);
    expect(failovers[0].cookieEchoed).toBe(true);
    // The new element got the old one's cookie: how many it had echoed.
    const next = elements[[0x0c000001, 0x0c000002, 0x0c000003].indexOf(failovers[0].to.id)]!;
    await waitFor(() => linesOf(next, 'cookieEcho').length > 0, 5000, 'the cookie echo');
    expect(linesOf(next, 'cookieEcho')[0].echoed).toBeGreaterThanOrEqual(10);
    // ... before the message sent again after the failover.
    const order = next.history
      .map((l) => l.event)
      .filter((e) => e === 'cookieEcho' || e === 'echo');
    expect(order[0]).toBe('cookieEcho');
    expect(Object.keys(summary.elements)).toEqual([hex(victimId), hex(failovers[0].to.id)]);
  });

  test("our pool elements serve RSPLIB's pool user (rspterminal)", async () => {
    const pe = pool(viaRegistrar('register', 'TermPool', '--id', '0x0d000001', '--log', '7'));
    await registered(pe);
    const terminal = rsplib('rspterminal', [
      `-registrar=${REGISTRAR}`,
      '-asapannounce=off',
      '-poolhandle=TermPool',
    ]);
    terminal.child.stdin!.write('hello from rspterminal\n');
    await waitFor(
      () =>
        terminal.log().includes('hello from rspterminal') &&
        terminal.log().includes(hex(0x0d000001).slice(1)),
      15000,
      `the echo in rspterminal (${terminal.log()})`,
    );
    expect(linesOf(pe, 'session')).toHaveLength(1);
    terminal.child.stdin!.end();
    terminal.child.kill('SIGINT');
    await waitFor(() => linesOf(pe, 'sessionClosed').length > 0, 10000, 'the session closed');
    expect(linesOf(pe, 'sessionClosed')[0].echoed).toBe(1);
  });

  test('a pool element finds the registrar by its announces alone', async () => {
    const pe = pool(['register', '--announce', '--handle', 'AnnouncedPool', '--id', '0x0e000001']);
    const r = await registered(pe);
    expect(r.registrar).toEqual({ host: '10.99.0.1', port: 3863 });
    expect(hsdump()).toContain(hex(0x0e000001));
    // A pool user that knows no registrar either.
    const r2 = await poolRun([
      'use',
      '--announce',
      '--handle',
      'AnnouncedPool',
      '--count',
      '2',
      '--interval',
      '10',
    ]);
    expect([r2.code, r2.lines.find((l) => l.event === 'summary').answered]).toEqual([0, 2]);
    expect(await stop(pe)).toBe(0);
  });

  test('a pool element registers again with a registrar that restarted', async () => {
    const pe = pool(
      viaRegistrar('register', 'RestartPool', '--id', '0x10000001', '--reregister', '1000'),
    );
    await registered(pe);
    registrar.child.kill('SIGKILL');
    await once(registrar.child, 'exit');
    await waitFor(
      () => linesOf(pe, 'registrationFailed').length > 0,
      10000,
      'a failed registration',
    );
    registrar = startRegistrar();
    await waitFor(() => linesOf(pe, 'registered').length === 2, 20000, 'the registration again');
    expect(linesOf(pe, 'registered')[1]).toMatchObject({ id: 0x10000001, renewal: false });
    expect(hsdump()).toContain(hex(0x10000001));
    expect(await stop(pe)).toBe(0);
  });

  test("RSPLIB's registrar is still running after all of it", () => {
    expect([registrar.child.exitCode, registrar.child.signalCode]).toEqual([null, null]);
  });
});
