// close(), destroy(), abort(), shutdown(), end() and peeloff() called from inside every kind of
// event handler, on one-to-many endpoints, their associations, one-to-one sockets and
// servers. Each case: the call either works or throws an error with a code (never an internal
// TypeError, never an exception out of the library's own callbacks), 'close' comes once for
// what was closed, and an endpoint or server that was not closed goes on serving.
import { once } from 'node:events';
import {
  createServer,
  type Association,
  type Endpoint,
  type EndpointMessageInfo,
  type Socket,
} from '../lib';
import { connected, listening, waitFor } from './helpers/net';
import { tracked } from './helpers/tracked';

const open = tracked();
const { endpoint, client } = open;
afterEach(open.cleanup);

/** Runs `action`, returning what it threw (which must carry a code), if anything. */
function attempt(action: () => unknown): string | undefined {
  try {
    const r = action();
    if (r && typeof r === 'object' && 'destroy' in r) open.add(r as Socket); // a peeled socket
    return undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (!code) throw err;
    return code;
  }
}

/** Counts 'close' events, so that "once" can be checked. */
function closes(emitter: { on(e: 'close', l: () => void): unknown }): () => number {
  let n = 0;
  emitter.on('close', () => n++);
  return () => n;
}

async function echoes(port: number): Promise<void> {
  const c = client(port);
  await connected(c);
  const reply = once(c, 'message');
  c.send('still serving');
  expect(String((await reply)[0])).toBe('still serving');
}

type EndpointAction = (ep: Endpoint, a: Association) => unknown;
const endpointActions: Record<string, EndpointAction> = {
  'endpoint.close()': (ep) => ep.close(),
  'endpoint.destroy()': (ep) => ep.destroy(),
  'association.abort()': (_ep, a) => a.abort(),
  'association.shutdown()': (_ep, a) => a.shutdown(),
  'association.peeloff()': (_ep, a) => a.peeloff(),
};

/** What the server's association sends so that its queue fills and 'drain' follows. */
function fill(a: Association): void {
  const chunk = Buffer.alloc(16 * 1024, 0x66);
  while (a.send(chunk, {}, () => {}));
}

/** A client connected to the endpoint, and the endpoint's association with it. */
async function associationWith(ep: Endpoint, port: number, options = {}) {
  const up = once(ep, 'association');
  const c = client(port, options);
  await connected(c);
  const [a] = (await up) as [Association];
  return { a, c };
}

/**
 * Endpoint-side events: how each is made to happen, and which association it concerns.
 * `arm(ep, port, act)` installs the handler (calling `act(association)` once) and triggers it.
 */
const endpointEvents: Record<
  string,
  (ep: Endpoint, port: number, act: (a: Association) => void) => Promise<void>
> = {
  "endpoint 'association'": async (ep, port, act) => {
    ep.once('association', act);
    client(port); // may be refused or reset before it knows it was up
  },
  "endpoint 'message'": async (ep, port, act) => {
    ep.once('message', (_d: Buffer, info: EndpointMessageInfo) => act(info.association!));
    const c = client(port);
    await connected(c);
    c.send('hello');
  },
  "endpoint 'notification'": async (ep, port, act) => {
    ep.once('notification', (n) => act(ep.association(n.assocId)!));
    client(port);
  },
  "endpoint 'drop'": async (ep, port, act) => {
    const { a } = await associationWith(ep, port);
    ep.once('drop', () => act(a));
    client(port);
  },
  "endpoint 'drain'": async (ep, port, act) => {
    const { a, c } = await associationWith(ep, port, { receiveBufferSize: 4096 });
    c.pause();
    ep.once('drain', () => act(a));
    fill(a);
    c.resume();
  },
  "association 'message'": async (ep, port, act) => {
    const { a, c } = await associationWith(ep, port);
    a.once('message', () => act(a));
    c.send('hello');
  },
  "association 'shutdown'": async (ep, port, act) => {
    const { a, c } = await associationWith(ep, port);
    a.once('shutdown', () => act(a));
    c.end();
  },
  "association 'close'": async (ep, port, act) => {
    const { a, c } = await associationWith(ep, port);
    a.once('close', () => act(a));
    c.destroy();
  },
  "association 'drain'": async (ep, port, act) => {
    const { a, c } = await associationWith(ep, port, { receiveBufferSize: 4096 });
    c.pause();
    a.once('drain', () => act(a));
    fill(a);
    c.resume();
  },
};

describe('one-to-many: from inside each handler', () => {
  const cases = Object.keys(endpointEvents).flatMap((event) =>
    Object.keys(endpointActions).map((action) => [event, action] as const),
  );
  test.each(cases)('%s calls %s', async (event, action) => {
    const ep = endpoint({
      maxAssociations: event.includes('drop') ? 1 : undefined,
      highWaterBytes: 64 * 1024, // send() says false (and 'drain' follows) sooner
    }).listen();
    ep.on('message', (d, info) => info.association?.send(d, {}, () => {}));
    const port = ep.address()!.port;
    const endpointCloses = closes(ep);
    let target: Association | undefined;
    let targetCloses = () => 0;
    let thrown: string | undefined;
    const acted = new Promise<void>((resolve) => {
      void endpointEvents[event]!(ep, port, (a) => {
        target = a;
        targetCloses = closes(a);
        thrown = attempt(() => endpointActions[action]!(ep, a));
        resolve();
      });
    });
    await acted;
    const endpointClosed = action.startsWith('endpoint.');
    if (endpointClosed) {
      await waitFor(() => endpointCloses() === 1, 20000, "the endpoint's 'close'");
    }
    // What was asked to end ends: the association (unless it was already closed, or it
    // now lives on a peeled-off socket).
    if (target!.state !== 'closed' && thrown === undefined && action !== 'association.peeloff()') {
      await waitFor(() => target!.state === 'closed', 20000, 'the association to close');
    }
    if (thrown !== undefined) {
      // Only a peeloff of an association that is already gone may refuse.
      expect(action).toBe('association.peeloff()');
      expect(['EINVAL', 'ERR_SCTP_ASSOCIATION_CLOSED', 'ERR_SOCKET_CLOSED']).toContain(thrown);
    }
    await new Promise((r) => setTimeout(r, 200));
    // 'close' once for an association that closed (in its own 'close' handler it had come
    // already, before the count started).
    if (target!.state === 'closed' && event !== "association 'close'") {
      expect(targetCloses()).toBe(1);
    } else {
      expect(targetCloses()).toBeLessThanOrEqual(1);
    }
    expect(endpointCloses()).toBe(endpointClosed ? 1 : 0);
    if (!endpointClosed) await echoes(port);
  });
});

type SocketAction = (s: Socket) => unknown;
const socketActions: Record<string, SocketAction> = {
  'destroy()': (s) => s.destroy(),
  'destroy(err)': (s) => s.destroy(Object.assign(new Error('from a handler'), { code: 'TEST' })),
  'end()': (s) => s.end(),
};

/** One-to-one client events, against a server endpoint that echoes and ends on request. */
const socketEvents: Record<string, (s: Socket, act: () => void) => void> = {
  "'connect'": (s, act) => s.once('connect', act),
  "'message'": (s, act) => {
    s.once('message', act);
    s.once('connect', () => s.send('echo me'));
  },
  "'drain'": (s, act) => {
    s.once('drain', act);
    s.once('connect', () => {
      while (s.send(Buffer.alloc(16 * 1024, 0x64), {}, () => {}));
    });
  },
  "'shutdown'": (s, act) => {
    s.once('shutdown', act);
    s.once('connect', () => s.send('shutdown me'));
  },
  "'end'": (s, act) => {
    s.once('end', act);
    s.once('connect', () => s.send('shutdown me'));
  },
  "'error'": (s, act) => {
    s.once('error', act);
    s.once('connect', () => s.send('abort me'));
  },
  "'notification'": (s, act) => s.once('notification', act),
  "'close'": (s, act) => {
    s.once('close', act);
    s.once('connect', () => s.send('abort me'));
  },
};

describe('one-to-one: from inside each client handler', () => {
  const cases = Object.keys(socketEvents).flatMap((event) =>
    Object.keys(socketActions).map((action) => [event, action] as const),
  );
  test.each(cases)('%s calls %s', async (event, action) => {
    const ep = endpoint().listen();
    ep.on('message', (d, info) => {
      const text = d.length < 32 ? d.toString() : '';
      if (text === 'shutdown me') info.association?.shutdown();
      else if (text === 'abort me') info.association?.abort();
      else if (text) info.association?.send(d, {}, () => {});
    });
    const port = ep.address()!.port;
    const s = client(port, { sendBufferSize: 65536 });
    s.resume(); // 'close' follows 'end', which needs the readable side to flow (as with net)
    const socketCloses = closes(s);
    let thrown: string | undefined = 'not called';
    const acted = new Promise<void>((resolve) =>
      socketEvents[event]!(s, () => {
        thrown = attempt(() => socketActions[action]!(s));
        resolve();
      }),
    );
    await acted;
    expect(thrown).toBeUndefined();
    await waitFor(() => socketCloses() === 1, 20000, "the socket's 'close'");
    await new Promise((r) => setTimeout(r, 200));
    expect(socketCloses()).toBe(1);
    await echoes(port);
  });

  test.each([['socket.destroy()'], ['socket.end()'], ['server.close()']])(
    "the server's 'connection' handler calls %s",
    async (action) => {
      let accepted = 0;
      const server = createServer((socket) => {
        accepted++;
        socket.on('error', () => {});
        if (action === 'socket.destroy()') socket.destroy();
        else if (action === 'socket.end()') socket.end();
        else server.close();
        socket.on('message', (d: Buffer) => socket.send(d));
      });
      open.add(server);
      server.listen(0, '127.0.0.1');
      const port = await listening(server);
      const c = client(port);
      const cCloses = closes(c);
      c.resume();
      if (action === 'server.close()') {
        // The accepted socket lives on; the listener is gone ('close' waits for the socket).
        await connected(c);
        c.send('after close');
        const [echo] = await once(c, 'message');
        expect(String(echo)).toBe('after close');
        const serverClosed = once(server, 'close');
        c.destroy();
        await serverClosed;
      }
      await waitFor(() => cCloses() === 1, 20000, "the client's 'close'");
      if (action !== 'server.close()') {
        // It ends every socket it accepts, even before the client knows it is up: what is
        // left to check is that it still accepts.
        client(port);
        await waitFor(() => accepted === 2, 20000, 'a second connection');
      }
    },
  );
});
