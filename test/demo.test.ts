// The README's quick-start demo (scripts/sctpt-demo), the multihomed example and the
// Diameter example run and do what they say.
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { waitFor } from './helpers/net';

const root = path.join(__dirname, '..', '..');

test('the sctpt demo: multihomed server, ctraffic with the path view, the JSON summary', () => {
  const r = spawnSync('bash', [path.join(root, 'scripts', 'sctpt-demo')], {
    encoding: 'utf8',
    timeout: 120000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^server: listening on 127\.0\.0\.1,127\.0\.0\.2:\d+$/m);
  // The path view: both associations, both paths each, the primary starred.
  expect(r.stdout).toMatch(/association 1: established/);
  expect(r.stdout).toMatch(/^ {2}\* 127\.0\.0\.1 +active/m);
  expect(r.stdout).toMatch(/^ {4}127\.0\.0\.2 +(active|unconfirmed)/m);
  const json = JSON.parse(r.stdout.split('\n').find((l) => l.startsWith('{"clients"'))!);
  expect(json).toMatchObject({ clients: 2, rate: 200, lost: 0, failedAssociations: 0 });
  expect(json.sent).toBeGreaterThan(700);
  expect(json.received).toBe(json.sent);
  expect(json.rtt.count).toBe(json.sent);
  expect(
    r.stdout.match(
      /accepted: local 127\.0\.0\.1,127\.0\.0\.2:\d+ peer 127\.0\.0\.3,127\.0\.0\.4:\d+/g,
    ),
  ).toHaveLength(2);
  expect(
    r.stdout.match(/closed: peer 127\.0\.0\.3,127\.0\.0\.4:\d+, \d+ bytes received/g),
  ).toHaveLength(2);
});

test('the multihomed example exchanges its messages and shuts down cleanly', () => {
  const demo = path.join(root, 'dist', 'examples', 'multihomed-echo.js');
  const r = spawnSync(process.execPath, [demo], { encoding: 'utf8', timeout: 60000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('server: listening on 127.0.0.1, 127.0.0.2');
  expect(r.stdout).toContain('server: association up, client addresses: 127.0.0.3, 127.0.0.4');
  expect(r.stdout).toContain('client: connected, server addresses: 127.0.0.1, 127.0.0.2');
  for (const [i, word] of ['hello', 'multihomed', 'world'].entries()) {
    expect(r.stdout).toContain(`client: echo "${word}" on stream ${i}, ppid 46`);
  }
  expect(r.stdout).toContain('server: association shut down by the client');
  expect(r.stdout).toMatch(/client: closed\n(.|\n)*server: closed\n$/);
});

test('the Diameter example: client and server on loopback, as docs/diameter.md runs them', async () => {
  const dir = path.join(root, 'dist', 'examples', 'diameter');
  const server = spawn(process.execPath, [
    path.join(dir, 'server.js'),
    ...['--listen', '127.0.0.1,127.0.0.2', '--port', '0', '--once'],
  ]);
  let serverOut = '';
  server.stdout.setEncoding('utf8').on('data', (d: string) => (serverOut += d));
  server.stderr.setEncoding('utf8').on('data', (d: string) => (serverOut += d));
  try {
    await waitFor(() => /port \d+/.test(serverOut), 30000, 'the server listening');
    const port = serverOut.match(/^listening: 127\.0\.0\.1,127\.0\.0\.2 port (\d+)$/m)![1]!;
    const client = spawnSync(
      process.execPath,
      [
        path.join(dir, 'client.js'),
        ...['--connect', '127.0.0.1,127.0.0.2', '--port', port],
        ...['--watchdog', '1000', '--duration', '2', '--requests', '100'],
      ],
      { encoding: 'utf8', timeout: 60000 },
    );
    expect(client.stderr).toBe('');
    expect(client.status).toBe(0);
    expect(client.stdout).toMatch(
      /^open: peer server\.example\.test realm example\.test \(kernel-sctp Diameter example\), addresses 127\.0\.0\.1,127\.0\.0\.2$/m,
    );
    expect(client.stdout).toMatch(/^watchdog: [12] sent, [12] answered/m);
    expect(client.stdout).toMatch(
      /^requests: 100 sent over 7 streams, 100 answered, 100 with their own Session-Id, in \d+ ms; Result-Code 2001 x100$/m,
    );
    expect(client.stdout).toMatch(/closed: DPA received, association shut down\n$/);
    const [code] = await once(server, 'exit');
    expect(code).toBe(0);
    expect(serverOut).toMatch(/^peer open: client\.example\.test realm example\.test/m);
    expect(serverOut).toMatch(/sent DPR \(Disconnect-Cause 0\), answered with DPA$/m);
    expect(serverOut).toMatch(
      /^peer closed: client\.example\.test, clean disconnect; .*requests answered 100$/m,
    );
  } finally {
    server.kill();
  }
});
