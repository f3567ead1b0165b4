// Small helpers shared by the tests: waiting for events, running commands.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { EventEmitter } from 'node:events';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import {
  connect,
  createServer,
  type Association,
  type ConnectOptions,
  type Endpoint,
  type Server,
  type Socket,
  type SocketOptions,
} from '../../lib';

export async function listening(server: Server): Promise<number> {
  if (!server.listening) await once(server, 'listening');
  return server.address()!.port;
}

export function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** Resolves with the first `count` events' arguments. */
export function collect<T>(
  emitter: EventEmitter,
  event: string,
  count: number,
  map: (...args: any[]) => T,
): Promise<T[]> {
  return new Promise((resolve, reject) => {
    const out: T[] = [];
    const onEvent = (...args: unknown[]) => {
      out.push(map(...args));
      if (out.length === count) {
        emitter.off(event, onEvent);
        emitter.off('error', reject);
        resolve(out);
      }
    };
    emitter.on(event, onEvent);
    emitter.once('error', reject);
  });
}

/** Spawns a process and resolves each JSON line it prints, in order. */
export class JsonLines {
  readonly child: ChildProcess;
  private lines: unknown[] = [];
  private waiters: ((v: unknown) => void)[] = [];
  /** Every line so far, whether next() has taken it or not. */
  readonly history: any[] = [];
  stderr = '';

  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let buffered = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (!line) continue;
        const value = JSON.parse(line);
        this.history.push(value);
        const waiter = this.waiters.shift();
        if (waiter) waiter(value);
        else this.lines.push(value);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
  }

  next<T = any>(timeoutMs = 60000): Promise<T> {
    if (this.lines.length > 0) return Promise.resolve(this.lines.shift() as T);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`no output within ${timeoutMs} ms; stderr: ${this.stderr}`)),
        timeoutMs,
      );
      this.waiters.push((v) => {
        clearTimeout(timer);
        resolve(v as T);
      });
    });
  }

  async exit(): Promise<number | null> {
    if (this.child.exitCode !== null) return this.child.exitCode;
    const [code] = await once(this.child, 'exit');
    return code as number | null;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** Resolves once the socket is connected, rejects on its error. */
export function connected(socket: import('../../lib').Socket): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve();
    });
    socket.once('error', reject);
  });
}

/** Rejects with the socket's first error; resolves with it. */
export function nextError(
  emitter: EventEmitter,
): Promise<Error & { code?: string; syscall?: string }> {
  return new Promise((resolve) => emitter.once('error', resolve));
}

/** Resolves on the socket's 'close', or at once if it has already closed. */
export function closed(socket: import('../../lib').Socket): Promise<void> {
  if (socket.closed) return Promise.resolve();
  // Not events.once(): that rejects on 'error', and a socket may close after an error.
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

/** Ends a socket gracefully and waits for 'close'. */
export async function endAndWait(socket: import('../../lib').Socket): Promise<void> {
  const done = closed(socket);
  socket.resume(); // let the readable side reach its end
  socket.end();
  await done;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** Polls `check` until it returns true or the time is up. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs = 30000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Reads a sysctl, or sets it when `value` is given. */
export function sysctl(name: string, value?: string): string {
  const args = value === undefined ? ['-n', name] : ['-qw', `${name}=${value}`];
  return execFileSync('sysctl', args, { encoding: 'utf8' }).trim();
}

/** The next association the endpoint sets up (ask before the peer connects). */
export function nextAssociation(server: Endpoint): Promise<Association> {
  return once(server, 'association').then(([a]) => a as Association);
}

/**
 * A python SCTP receiver (not kernel-sctp) that accepts one association with a small
 * receive buffer and reads nothing for 1.5 s, so that the sender's messages pile up in its
 * kernel; then `body` (python, with the association as `conn`) runs. Its stdout lines come
 * from `line()`; the first, the port, has been read already.
 */
export async function slowPythonReceiver(
  receiveBuffer: number,
  body: string,
): Promise<{ port: number; line: () => Promise<string>; exited: Promise<unknown> }> {
  const script = `
import socket, time
srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM, 132)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, ${receiveBuffer})
srv.bind(('127.0.0.1', 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
time.sleep(1.5)
${body}`;
  return pythonPeer(script);
}

/**
 * Runs a python script (a peer that is not kernel-sctp) whose first line of output is its
 * port; later lines come from `line()`. `prefix` runs it through another command, e.g.
 * ['ip', 'netns', 'exec', ns].
 */
export async function pythonPeer(
  script: string,
  prefix: string[] = [],
): Promise<{
  port: number;
  line: () => Promise<string>;
  exited: Promise<unknown>;
  kill: () => void;
}> {
  const [command, ...args] = [...prefix, 'python3', '-c', script];
  const peer = spawn(command!, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(peer, 'exit');
  const lines = createInterface({ input: peer.stdout! })[Symbol.asyncIterator]();
  const line = async () => String((await lines.next()).value);
  return { port: Number(await line()), line, exited, kill: () => peer.kill() };
}

/**
 * A kernel-sctp client connected to a kernel-sctp server on loopback, each with its own
 * options, and the socket the server accepted. close() ends the client and the server.
 */
export async function socketPair(
  serverOptions: SocketOptions,
  clientOptions: Omit<ConnectOptions, 'host' | 'port'>,
): Promise<{ client: Socket; accepted: Socket; server: Server; close(): Promise<void> }> {
  const server = createServer(serverOptions);
  const port = await listening(server.listen(0, '127.0.0.1'));
  const accepted = once(server, 'connection').then(([s]) => s as Socket);
  const client = connect({ ...clientOptions, host: '127.0.0.1', port });
  await connected(client);
  return {
    client,
    accepted: await accepted,
    server,
    async close() {
      (await accepted).resume(); // it reads its end, and closes, even where a test read nothing
      await endAndWait(client);
      await closeServer(server);
    },
  };
}
