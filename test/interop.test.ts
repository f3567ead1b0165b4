// Interop with a real peer: lksctp-tools' sctp_darn, in both roles, one-to-one style (-t).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from '../lib';
import { closeServer, connected, endAndWait, listening, waitFor } from './helpers/net';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

function spawnDarn(args: string[]): { child: ChildProcess; output: () => string } {
  // sctp_darn buffers stdout when it is not a terminal: stdbuf makes it line-buffered.
  const child = spawn('stdbuf', ['-oL', 'sctp_darn', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (out += d));
  return { child, output: () => out };
}

const freePort = () => 20000 + Math.floor(Math.random() * 30000);

test('our client sends to sctp_darn -l: every payload arrives as sent', async () => {
  const port = freePort();
  const darn = spawnDarn(['-H', '127.0.0.1', '-P', String(port), '-l', '-t']);
  await waitFor(() => darn.output().includes('sctp_darn listening'), 30000, 'sctp_darn to listen');
  const c = connect({ host: '127.0.0.1', port });
  await connected(c);
  const messages = ['alpha', 'bravo-22', 'charlie-333', 'x'.repeat(1000)];
  for (const m of messages) c.send(m);
  await waitFor(
    () => (darn.output().match(/DATA\(\d+\):/g) ?? []).length >= messages.length,
    30000,
    'the messages',
  );
  const lines = darn
    .output()
    .split('\n')
    .filter((l) => l.startsWith('DATA('));
  for (const [i, m] of messages.entries()) {
    // sctp_darn prints the length and the text, less the last byte (it expects a NUL there).
    expect(lines[i]).toMatch(
      new RegExp(`^DATA\\(${m.length}\\):\\s+${m.slice(0, Math.min(40, m.length - 1))}`),
    );
  }
  await endAndWait(c);
});

test('sctp_darn -s sends to our server: every payload arrives as sent', async () => {
  const received: Buffer[] = [];
  const server = createServer((socket) => {
    socket.on('data', (d: Buffer) => received.push(d));
    socket.on('error', () => {});
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  const port = await listening(server);
  const darn = spawnDarn([
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
  const lines = ['hello', 'kernel-sctp', 'z'.repeat(500)];
  // Typed in once sctp_darn is ready, as a user would; stdin stays open until they arrived.
  await waitFor(() => darn.output().includes('ready to send'), 30000, 'sctp_darn to start');
  for (const l of lines) darn.child.stdin!.write(`${l}\n`);
  await waitFor(
    () => received.length >= lines.length,
    30000,
    `the messages; sctp_darn said: ${darn.output()}`,
  );
  darn.child.stdin!.end();
  // sctp_darn sends each line with its newline and a terminating NUL.
  expect(received.map((b) => b.toString('latin1'))).toEqual(lines.map((l) => `${l}\n\0`));
  await once(darn.child, 'exit');
  await closeServer(server);
});
