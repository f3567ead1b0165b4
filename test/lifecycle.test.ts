// Lifecycle: closing at awkward moments, garbage collection, worker threads and process exit
// with open sockets. No crash, no hang, no event after close.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { connect, createServer, type Server, type Socket } from '../lib';
import { closeServer, closed, connected, listening } from './helpers/net';

const lib = path.join(__dirname, '..', 'lib');

/** Runs a script in a fresh node process (with the library at `lib`) and returns the result. */
function runNode(source: string, args: string[] = []) {
  return spawnSync(process.execPath, [...args, '-e', source, lib], {
    encoding: 'utf8',
    timeout: 90000,
  });
}

let server: Server;
let port: number;
beforeAll(async () => {
  server = createServer((s) => {
    s.on('error', () => {});
    s.on('message', (d, info) => {
      // A burst of replies, so a client closing on the first still has more in flight.
      for (let i = 0; i < 20; i++) s.send(d, { stream: info.stream });
    });
  });
  server.listen({ host: '127.0.0.1', port: 0 });
  port = await listening(server);
});
afterAll(() => closeServer(server));

test('destroy() inside a message handler: no further events', async () => {
  const c = connect({ host: '127.0.0.1', port });
  await connected(c);
  const events: string[] = [];
  c.on('message', () => {
    events.push('message');
    c.destroy();
  });
  c.on('data', () => events.push('data'));
  c.on('close', () => events.push('close'));
  c.send('burst');
  await closed(c);
  await new Promise((r) => setTimeout(r, 500)); // anything late would show up now
  expect(events.filter((e) => e === 'message')).toHaveLength(1);
  expect(events[events.length - 1]).toBe('close');
});

test('end() inside a message handler: a graceful close, no error', async () => {
  const c = connect({ host: '127.0.0.1', port });
  await connected(c);
  let errors = 0;
  c.on('error', () => errors++);
  c.once('message', () => c.end());
  c.send('burst');
  await closed(c);
  expect(errors).toBe(0);
});

test('destroy() while connecting: close without error, nothing afterwards', async () => {
  const c: Socket = connect({ host: '127.0.0.1', port });
  const events: string[] = [];
  for (const e of ['connect', 'error', 'data', 'close']) c.on(e, () => events.push(e));
  c.destroy();
  await closed(c);
  await new Promise((r) => setTimeout(r, 500));
  expect(events).toEqual(['close']);
});

test('closed sockets are garbage-collected', () => {
  const r = runNode(
    `
    const { connect, createServer } = require(process.argv[1]);
    const registry = new FinalizationRegistry(() => collected++);
    let collected = 0;
    const server = createServer((s) => { s.on('error', () => {}); s.resume(); });
    server.listen({ host: '127.0.0.1', port: 0 }, async () => {
      const { port } = server.address();
      for (let i = 0; i < 20; i++) {
        await new Promise((resolve) => {
          const c = connect({ host: '127.0.0.1', port }, () => c.destroy());
          c.on('close', resolve);
          registry.register(c, i);
        });
      }
      server.close();
      for (let i = 0; i < 10 && collected < 20; i++) {
        await new Promise((r) => setTimeout(r, 50));
        global.gc();
      }
      console.log(JSON.stringify({ collected }));
    });`,
    ['--expose-gc'],
  );
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout).collected).toBe(20);
});

test('a worker thread that exits with open sockets: no crash, the main thread goes on', () => {
  const r = runNode(`
    const { Worker } = require('node:worker_threads');
    const source = \`
      const { parentPort, workerData } = require('node:worker_threads');
      const { connect, createServer } = require(workerData);
      const server = createServer((s) => s.on('error', () => {}));
      server.listen({ host: '127.0.0.1', port: 0 }, () => {
        const c = connect({ host: '127.0.0.1', port: server.address().port }, () => {
          c.send('x');
          parentPort.postMessage('open');
        });
      });\`;
    const run = (how) => new Promise((resolve) => {
      const w = new Worker(source, { eval: true, workerData: process.argv[1] });
      w.on('message', () => (how === 'terminate' ? w.terminate() : w.postMessage('bye')));
      w.on('exit', resolve);
      if (how === 'exit') w.on('message', () => w.terminate());
    });
    (async () => {
      for (let i = 0; i < 3; i++) await run('terminate');
      console.log('main alive');
    })();`);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toBe('main alive\n');
});

test('process.exit() with open sockets and a pending connect: exits cleanly', () => {
  const r = runNode(`
    const { connect, createServer } = require(process.argv[1]);
    const server = createServer((s) => s.on('error', () => {}));
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const c = connect({ host: '127.0.0.1', port: server.address().port }, () => {
        c.send('x');
        connect({ host: '127.0.0.1', port: server.address().port }); // still connecting
        process.exit(7);
      });
    });`);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(7);
});

test('an exception thrown by a listener reaches uncaughtException; the rest of the batch is delivered', () => {
  // In its own process: jest keeps uncaught exceptions for itself.
  const r = runNode(`
    const { connect, createServer } = require(process.argv[1]);
    const server = createServer((s) => {
      s.on('error', () => {});
      s.on('message', () => { for (let i = 0; i < 20; i++) s.send('reply-' + i); });
    });
    const caught = [];
    process.on('uncaughtException', (e) => caught.push(e.message));
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const c = connect({ host: '127.0.0.1', port: server.address().port }, () => c.send('go'));
      let count = 0;
      c.on('message', () => {
        count++;
        if (count === 1) throw new Error('listener failure');
        if (count === 20) {
          // The exception is rethrown once the whole batch is delivered: look after that.
          setTimeout(() => console.log(JSON.stringify({ count, caught })), 200);
          c.end();
          c.resume();
          c.on('close', () => server.close());
        }
      });
    });`);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ count: 20, caught: ['listener failure'] });
});
