// The sctpt command-line tool, run as users run it (a child process each), against the real
// kernel: server and client (interactive through stdin, and --size), ctraffic and stats,
// the one-to-many server, exit codes and errors, and interop with sctp_darn both ways.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { waitFor } from './helpers/net';

const sctpt = path.join(__dirname, '..', 'cli', 'sctpt.js');
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** The JSON lines printed so far (with --json). */
  events: () => Record<string, any>[];
  exit: () => Promise<number>;
}

function start(cmd: string, args: string[]): Running {
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(child, 'exit').then(([code]) => code as number);
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    events: () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l)),
    exit: () => exited,
  };
}

const run = (args: string[]) => start(process.execPath, [sctpt, ...args]);
const freePort = () => 20000 + Math.floor(Math.random() * 30000);

async function server(extra: string[] = []): Promise<{ s: Running; port: number }> {
  const port = freePort();
  const s = run([
    'server',
    '--addr',
    '127.0.0.1,127.0.0.2',
    '--port',
    String(port),
    '--json',
    ...extra,
  ]);
  await waitFor(() => s.events().some((e) => e.event === 'listening'), 30000, 'the server');
  return { s, port };
}

test('server and client --size: one message and its echo; the server reports both ends', async () => {
  const { s, port } = await server();
  expect(s.events()[0]).toMatchObject({
    event: 'listening',
    addresses: [
      { address: '127.0.0.1', port },
      { address: '127.0.0.2', port },
    ],
  });
  const c = run([
    'client',
    '--addr',
    '127.0.0.1,127.0.0.2',
    '--laddr',
    '127.0.0.3,127.0.0.4',
    '--port',
    String(port),
    '--size',
    '1453',
  ]);
  expect(await c.exit()).toBe(0);
  expect(c.stdout()).toContain('connected: local 127.0.0.3,127.0.0.4:');
  expect(c.stdout()).toContain(`peer 127.0.0.1,127.0.0.2:${port}`);
  expect(c.stdout()).toContain('echo: 1453 bytes, intact');
  await waitFor(() => s.events().some((e) => e.event === 'closed'));
  const accepted = s.events().find((e) => e.event === 'accepted')!;
  expect(accepted.local.map((a: { address: string }) => a.address)).toEqual([
    '127.0.0.1',
    '127.0.0.2',
  ]);
  expect(accepted.peer.map((a: { address: string }) => a.address)).toEqual([
    '127.0.0.3',
    '127.0.0.4',
  ]);
  s.child.kill('SIGTERM');
  expect(await s.exit()).toBe(0);
});

test('interactive client: typed lines come back; end of input ends with a SHUTDOWN', async () => {
  const { s, port } = await server(['--log', '7']);
  const c = run([
    'client',
    '--addr',
    '127.0.0.1',
    '--port',
    String(port),
    '--stream',
    '3',
    '--ppid',
    '99',
  ]);
  await waitFor(() => c.stdout().includes('connected'), 30000, 'the client');
  c.child.stdin!.write('hello\nkernel sctp\n');
  await waitFor(() => c.stdout().includes('kernel sctp'), 30000, 'the echoes');
  c.child.stdin!.end();
  expect(await c.exit()).toBe(0);
  expect(c.stdout().split('\n')).toEqual(
    expect.arrayContaining(['hello', 'kernel sctp', 'closed']),
  );
  const messages = s.events().filter((e) => e.event === 'message');
  expect(messages).toEqual([
    { event: 'message', stream: 3, ppid: 99, bytes: 5 },
    { event: 'message', stream: 3, ppid: 99, bytes: 11 },
  ]);
  await waitFor(() => s.events().some((e) => e.event === 'closed'));
});

test('ctraffic: every message echoed, RTT histogram in the JSON summary; stats shows and clears it', async () => {
  const { port } = await server(['--one-to-many']);
  const statsFile = path.join(mkdtempSync(path.join(tmpdir(), 'sctpt-')), 'stats.json');
  const t = run([
    'ctraffic',
    '--addr',
    '127.0.0.1,127.0.0.2',
    '--port',
    String(port),
    '--clients',
    '3',
    '--rate',
    '300',
    '--duration',
    '2',
    '--streams',
    '4',
    '--json',
    '--stats-file',
    statsFile,
  ]);
  expect(await t.exit()).toBe(0);
  const summary = t.events().find((e) => e.event === 'summary')!;
  expect(summary).toMatchObject({
    clients: 3,
    rate: 300,
    size: 1024,
    lost: 0,
    failedAssociations: 0,
  });
  expect(summary.sent).toBeGreaterThan(300);
  expect(summary.received).toBe(summary.sent);
  expect(summary.rtt.count).toBe(summary.received);
  expect(summary.rtt.buckets.reduce((n: number, b: { count: number }) => n + b.count, 0)).toBe(
    summary.received,
  );

  const show = spawnSync(process.execPath, [sctpt, 'stats', 'show', '--stats-file', statsFile], {
    encoding: 'utf8',
  });
  expect(show.status).toBe(0);
  expect(show.stdout).toContain(`${summary.received} samples`);
  expect(show.stdout).toMatch(/<= [\d.]+ ms\s+\d+ #+/);
  const json = spawnSync(process.execPath, [sctpt, 'stats', 'json', '--stats-file', statsFile], {
    encoding: 'utf8',
  });
  expect(JSON.parse(json.stdout)).toMatchObject({
    sent: summary.sent,
    received: summary.received,
    lost: 0,
    rtt: { count: summary.received },
  });
  spawnSync(process.execPath, [sctpt, 'stats', 'clear', '--stats-file', statsFile]);
  const cleared = spawnSync(process.execPath, [sctpt, 'stats', 'json', '--stats-file', statsFile], {
    encoding: 'utf8',
  });
  expect(JSON.parse(cleared.stdout)).toMatchObject({ rtt: { count: 0 } });
});

test('status shows the association and both paths; throughput reports defaults and tuned', async () => {
  const { s, port } = await server(['--sink']);
  const st = run(['status', '--addr', '127.0.0.1,127.0.0.2', '--port', String(port), '--json']);
  expect(await st.exit()).toBe(0);
  const view = st.events().find((e) => e.event === 'paths')!;
  expect(view.status).toMatchObject({ state: 'established' });
  expect(view.paths.map((p: { address: string }) => p.address)).toEqual(['127.0.0.1', '127.0.0.2']);
  expect(view.paths.filter((p: { primary: boolean }) => p.primary)).toHaveLength(1);

  const t = run([
    'throughput',
    '--addr',
    '127.0.0.1',
    '--port',
    String(port),
    '--duration',
    '1',
    '--json',
  ]);
  expect(await t.exit()).toBe(0);
  const { results } = t.events().find((e) => e.event === 'throughput')!;
  console.log(
    `sctpt throughput (1 KiB messages, 1 s each, emulated VM): ${JSON.stringify(results)}`,
  );
  expect(results.map((r: { setting: string }) => r.setting)).toEqual(['kernel defaults', 'tuned']);
  for (const r of results) {
    expect(r.bytes).toBeGreaterThan(0);
    expect(r.mbitPerS).toBeGreaterThan(0);
  }
  // The sink counted exactly what was sent (both associations, then closed).
  await waitFor(() => s.events().filter((e) => e.event === 'closed').length === 3);
  const received = s
    .events()
    .filter((e) => e.event === 'closed')
    .map((e) => e.bytes as number);
  expect(received.slice(1)).toEqual(results.map((r: { bytes: number }) => r.bytes));
});

test('exit codes and errors: usage 2, refused 1, port in use 1, bad address 2', async () => {
  const usage = run(['client', '--port', 'x']);
  expect(await usage.exit()).toBe(2);
  expect(usage.stderr()).toContain('--port must be a number');
  const refused = run(['client', '--addr', '127.0.0.1', '--port', '9', '--size', '10']);
  expect(await refused.exit()).toBe(1);
  expect(refused.stderr()).toContain('ECONNREFUSED');
  const { port } = await server();
  const busy = run(['server', '--addr', '127.0.0.1', '--port', String(port)]);
  expect(await busy.exit()).toBe(1);
  expect(busy.stderr()).toContain('EADDRINUSE');
  const bad = run(['client', '--addr', 'not-an-address']);
  expect(await bad.exit()).toBe(2);
  expect(bad.stderr()).toContain('numeric IPv4 or IPv6');
});

test('capabilities: the table and the JSON list every extension and the schedulers', async () => {
  const text = run(['capabilities']);
  expect(await text.exit()).toBe(0);
  expect(text.stdout()).toMatch(
    /^streamReconfiguration\s+yes\s+(on|off)\s+net\.sctp\.reconf_enable/m,
  );
  expect(text.stdout()).toMatch(/stream schedulers: fcfs, priority, round-robin/);
  const json = run(['capabilities', '--json']);
  expect(await json.exit()).toBe(0);
  const [caps] = json.events();
  expect(caps).toMatchObject({
    event: 'capabilities',
    features: { prSctp: { supported: true }, udpEncapsulation: { sysctl: 'net.sctp.udp_port' } },
  });
  expect(caps!.sysctls).toHaveProperty('intl_enable');
});

test('the extension flags: reconfiguration, AUTH, a scheduler and PR-SCTP on both ends, I-DATA on another pair (not with AUTH); /reset-streams and /add-streams in the interactive client; notifications at --log 6', async () => {
  const flags = ['--reconfig', '--auth-key', 'operator key'];
  const intl = spawnSync('sysctl', ['-n', 'net.sctp.intl_enable'], {
    encoding: 'utf8',
  }).stdout.trim();
  spawnSync('sysctl', ['-qw', 'net.sctp.intl_enable=1']);
  try {
    const { s, port } = await server([...flags, '--log', '6']);
    const c = run([
      'client',
      '--addr',
      '127.0.0.1',
      '--port',
      String(port),
      '--json',
      '--log',
      '6',
      '--scheduler',
      'round-robin',
      '--prsctp',
      'ttl:5000',
      ...flags,
    ]);
    await waitFor(() => c.events().some((e) => e.event === 'connected'), 30000, 'the client');
    c.child.stdin!.write('hello\n/reset-streams\n');
    await waitFor(() => c.events().some((e) => e.event === 'reset-streams'), 30000, 'the reset');
    c.child.stdin!.write('/add-streams 2 1\n//slash\n/nonsense\n');
    await waitFor(() => c.events().filter((e) => e.event === 'echo').length === 2, 30000, 'echoes');
    c.child.stdin!.end();
    expect(await c.exit()).toBe(0);
    const events = c.events();
    expect(events.filter((e) => e.event === 'echo').map((e) => e.text)).toEqual([
      'hello',
      '/slash',
    ]);
    expect(events.find((e) => e.event === 'add-streams')).toMatchObject({
      outboundStreams: expect.any(Number),
    });
    expect(events).toContainEqual(
      expect.objectContaining({ event: 'notification', type: 'stream_reset', outgoing: true }),
    );
    expect(c.stderr()).toContain('unknown command /nonsense');
    // The server saw the peer's reset of its inbound streams (its own --log 6 output).
    expect(s.events()).toContainEqual(
      expect.objectContaining({ event: 'notification', type: 'stream_reset', incoming: true }),
    );
    // I-DATA: an echo over an interleaving pair; with AUTH it is refused.
    const i = await server(['--interleave']);
    const size = run([
      'client',
      '--addr',
      '127.0.0.1',
      '--port',
      String(i.port),
      '--interleave',
      '--size',
      '100000',
    ]);
    expect(await size.exit()).toBe(0);
    expect(size.stdout()).toContain('echo: 100000 bytes, intact');
    const both = run(['client', '--addr', '127.0.0.1', '--interleave', '--auth-key', 'k']);
    expect(await both.exit()).toBe(1);
    expect(both.stderr()).toContain('cannot be used together with AUTH');
  } finally {
    spawnSync('sysctl', ['-qw', `net.sctp.intl_enable=${intl}`]);
  }
  for (const bad of [
    ['--prsctp', 'often:3'],
    ['--scheduler', 'nope'],
    ['--udp-encap', '70000'],
  ]) {
    const r = run(['client', '--addr', '127.0.0.1', ...bad]);
    expect(await r.exit()).toBe(2);
  }
});

test('proxy: a client through it to a server, the status in JSON, bad backends refused', async () => {
  const { port } = await server();
  const proxyPort = freePort();
  const proxy = run([
    'proxy',
    '--laddr',
    '127.0.0.1,127.0.0.2',
    '--port',
    String(proxyPort),
    '--backends',
    `127.0.0.1+127.0.0.2:${port}`,
    '--status',
    '200',
    '--json',
    '--log',
    '6',
  ]);
  await waitFor(() => proxy.events().some((e) => e.event === 'listening'));
  const client = run([
    'client',
    '--addr',
    '127.0.0.1',
    '--port',
    String(proxyPort),
    '--size',
    '5000',
  ]);
  expect(await client.exit()).toBe(0);
  expect(client.stdout()).toContain('echo: 5000 bytes, intact');
  const pair = proxy.events().find((e) => e.event === 'pair');
  expect(pair).toMatchObject({ backend: `127.0.0.1,127.0.0.2:${port}`, state: 'relaying' });
  // The pair's record when it closed: the message counted both ways.
  await waitFor(() => proxy.events().some((e) => e.event === 'pairClosed'));
  expect(proxy.events().find((e) => e.event === 'pairClosed')).toMatchObject({
    toBackend: { messages: 1, bytes: 5000, dropped: 0 },
    toClient: { messages: 1, bytes: 5000, dropped: 0 },
  });
  await waitFor(() => proxy.events().some((e) => e.event === 'status'));
  const status = proxy
    .events()
    .filter((e) => e.event === 'status')
    .pop()!;
  expect(status.backends).toEqual([
    {
      name: `127.0.0.1,127.0.0.2:${port}`,
      healthy: true,
      associations: expect.any(Number),
      failures: 0,
    },
  ]);
  // The same port again: the command fails at once (exit 1), even with --status.
  const busy = run([
    ...['proxy', '--laddr', '127.0.0.1,127.0.0.2', '--port', String(proxyPort)],
    ...['--backends', `127.0.0.1:${port}`, '--status', '100'],
  ]);
  expect(await busy.exit()).toBe(1);
  expect(busy.stderr()).toContain('EADDRINUSE');
  proxy.child.kill('SIGTERM');
  expect(await proxy.exit()).toBe(0);
  for (const [bad, message] of [
    [[], '--backends is required'],
    [['--backends', '127.0.0.1'], 'must be host[+host...]:port'],
    [['--backends', '127.0.0.1:70000'], 'must be host[+host...]:port'],
    [['--backends', '127.0.0.1++127.0.0.2:7'], 'has an empty address'],
    [['--backends', 'nowhere:7'], 'numeric IPv4 or IPv6'],
    [['--backends', '127.0.0.1:7', '--policy', 'random'], "must be 'round-robin'"],
    [['--backends', '2001:db8::5:3868'], 'put an IPv6 address in brackets'],
    [['--backends', '[2001:db8::5]+198.51.100.1:7+'], 'must be host[+host...]:port'],
    [['--backends', '[]:7'], 'has an empty address'],
  ] as const) {
    const r = run(['proxy', '--port', '0', ...bad]);
    expect(await r.exit()).toBe(2);
    expect(r.stderr()).toContain(message);
  }
});

describe('interop with sctp_darn', () => {
  test('sctp_darn -s as the client of sctpt server: its lines arrive and are echoed', async () => {
    const { s, port } = await server(['--log', '7']);
    const darn = start('stdbuf', [
      '-oL',
      'sctp_darn',
      '-H',
      '127.0.0.1',
      '-P',
      String(freePort()),
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-s',
      '-t',
    ]);
    await waitFor(() => darn.stdout().includes('ready to send'), 30000, 'sctp_darn');
    darn.child.stdin!.write('from darn\n');
    await waitFor(() => s.events().some((e) => e.event === 'message'), 30000, 'the message');
    // sctp_darn sends the line with its newline and a NUL.
    expect(s.events().find((e) => e.event === 'message')).toMatchObject({
      bytes: 'from darn'.length + 2,
    });
    darn.child.stdin!.end();
    await darn.exit();
  });

  test('sctpt client to sctp_darn -l: every typed line arrives as typed', async () => {
    const port = freePort();
    const darn = start('stdbuf', [
      '-oL',
      'sctp_darn',
      '-H',
      '127.0.0.1',
      '-P',
      String(port),
      '-l',
      '-t',
    ]);
    await waitFor(() => darn.stdout().includes('sctp_darn listening'), 30000, 'sctp_darn');
    const c = run(['client', '--addr', '127.0.0.1', '--port', String(port)]);
    await waitFor(() => c.stdout().includes('connected'), 30000, 'the client');
    c.child.stdin!.end('first line\nsecond\n');
    expect(await c.exit()).toBe(0);
    await waitFor(() => (darn.stdout().match(/DATA\(\d+\):/g) ?? []).length >= 2, 30000, 'DATA');
    // sctp_darn prints the length and the text less its last byte (it expects a NUL there).
    const lines = darn
      .stdout()
      .split('\n')
      .filter((l) => l.startsWith('DATA('));
    expect(lines[0]).toMatch(/^DATA\(10\):\s+first lin/);
    expect(lines[1]).toMatch(/^DATA\(6\):\s+secon/);
  });
});
