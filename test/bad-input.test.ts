// The bad-input catalogue: every public entry point crossed with hostile values. Each case
// must end in a Node-style error (an Error whose code is ERR_*), change nothing and crash
// nothing, unless the value is one the entry point accepts (listed per entry). After the
// cases of each live object, a message still goes through it: nothing is wedged.
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { types } from 'node:util';
import {
  connect,
  createEndpoint,
  createServer,
  type Association,
  type Endpoint,
  type Server,
  type Socket,
} from '../lib';
import { sctpt as runSctpt } from '../cli/sctpt';

jest.setTimeout(600_000);

// ---- the hostile values --------------------------------------------------------------------

/** Thrown by the throwing Proxy: a caller's own exception may come back as it is. */
const proxyError = new Error('the Proxy throws');
const throwingProxy = () =>
  new Proxy(
    {},
    {
      get: () => {
        throw proxyError;
      },
      has: () => {
        throw proxyError;
      },
      ownKeys: () => {
        throw proxyError;
      },
      getOwnPropertyDescriptor: () => {
        throw proxyError;
      },
    },
  );

function detachedView(): Uint8Array {
  const buffer = new ArrayBuffer(16);
  const view = new Uint8Array(buffer);
  structuredClone(buffer, { transfer: [buffer] }); // the view now has length 0
  return view;
}

const hugeString = 'x'.repeat(100 * 1024 * 1024);

// Each value is made afresh per case; `close` ends the live object the case runs against.
const values: Record<string, (close: () => void) => unknown> = {
  undefined: () => undefined,
  null: () => null,
  NaN: () => NaN,
  Infinity: () => Infinity,
  '-Infinity': () => -Infinity,
  '-0': () => -0,
  '1.5': () => 1.5,
  '2^31': () => 2 ** 31,
  '2^32': () => 2 ** 32,
  '2^53': () => 2 ** 53,
  "'80'": () => '80',
  "''": () => '',
  '[]': () => [],
  '{}': () => ({}),
  Symbol: () => Symbol('hostile'),
  BigInt: () => 10n,
  'throwing Proxy': throwingProxy,
  'closing getter': (close) =>
    new Proxy(
      {},
      {
        get: () => {
          close();
          return undefined;
        },
      },
    ),
  'detached view': detachedView,
  'SharedArrayBuffer view': () => new Uint8Array(new SharedArrayBuffer(16)),
  'empty Buffer': () => Buffer.alloc(0),
  '100 MB string': () => hugeString,
  'fake AbortSignal': () => ({ aborted: false, addEventListener() {}, removeEventListener() {} }),
};
const valueNames = Object.keys(values);

// ---- the live objects the cases run against -----------------------------------------------

interface World {
  echo: Server; // an echo server the sockets connect to
  socket: Socket; // connected to echo
  peer: Endpoint; // an echoing endpoint the endpoint's association goes to
  endpoint: Endpoint;
  association: Association; // endpoint -> peer
  server: Server; // listening, no connections
}

const opened: Array<{ destroy?: () => void; close?: () => void }> = [];
function track<T extends object>(thing: T): T {
  opened.push(thing as never);
  if ('on' in thing) (thing as unknown as Socket).on('error', () => {});
  return thing;
}

async function listeningServer(echo: boolean): Promise<Server> {
  const server = track(
    createServer((s) => {
      s.on('error', () => {});
      if (echo) s.on('data', (d: Buffer) => s.write(d));
    }),
  );
  server.listen({ host: '127.0.0.1', port: 0 });
  await once(server, 'listening');
  return server;
}

async function openWorld(): Promise<World> {
  const echo = await listeningServer(true);
  const socket = track(connect({ host: '127.0.0.1', port: echo.address()!.port }));
  await once(socket, 'connect');
  const peer = track(createEndpoint({ host: '127.0.0.1' }));
  peer.listen();
  peer.on('message', (data: Buffer, info: { association?: Association }) => {
    if (info.association) peer.send(data, { association: info.association });
  });
  const endpoint = track(createEndpoint({ host: '127.0.0.1' }));
  const association = await endpoint.connect({ host: '127.0.0.1', port: peer.address()!.port });
  association.on('error', () => {});
  const server = await listeningServer(false);
  return { echo, socket, peer, endpoint, association, server };
}

function closeWorld(w: World): void {
  for (const s of [w.socket]) s.destroy();
  for (const ep of [w.endpoint, w.peer]) ep.destroy();
  for (const server of [w.echo, w.server]) server.close();
}

/** What must not change when a call is refused. */
function snapshot(w: World): string {
  return JSON.stringify({
    socket: [w.socket.destroyed, w.socket.writable, w.socket.readable, w.socket.remotePort],
    endpoint: [w.endpoint.associationCount, w.endpoint.stats().queuedBytes],
    association: [w.association.state, w.association.queuedBytes],
    server: [w.server.listening],
  });
}

/** Resolves when `emitter` emits `event` with text `expected` (earlier echoes are skipped). */
function until(emitter: Socket | Association, event: string, expected: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, check);
      reject(new Error(`no "${expected}" ${event} in 10 s`));
    }, 10_000);
    const check = (data: Buffer) => {
      if (!String(data).includes(expected)) return;
      clearTimeout(timer);
      emitter.off(event, check);
      resolve();
    };
    emitter.on(event, check);
  });
}

/** A message goes through the socket and through the association: nothing is wedged. */
async function roundTrips(w: World): Promise<void> {
  const socketEcho = until(w.socket, 'data', 'still alive');
  w.socket.write('still alive');
  await socketEcho;
  const associationEcho = until(w.association, 'message', 'still alive');
  w.association.send('still alive');
  await associationEcho;
}

// ---- the entry points ----------------------------------------------------------------------

type Target = keyof World | 'none';
interface Entry {
  name: string;
  on: Target;
  call(w: World, v: unknown): unknown;
  /** Values this entry accepts (the call may then succeed; what it opened is closed). */
  accepts?: string[];
}

const PORT = 9; // connect cases that are accepted try the discard port and fail there
const optional = ['undefined'];
const numberish = ['undefined', '-0'];
/** Objects with none of the option's fields: an options argument takes any object. */
const anyObject = [
  '{}',
  'closing getter', // an object that no property was read from
  'detached view',
  'SharedArrayBuffer view',
  'empty Buffer',
  'fake AbortSignal',
];
const options = optional.concat(anyObject);
/** Objects without any own enumerable property (a table of flags takes only its own keys). */
const emptyObjects = ['{}', 'closing getter', 'detached view', 'empty Buffer'];
/** Valid message payloads among the hostile values. */
const payloads = ["'80'", 'SharedArrayBuffer view', '100 MB string'];
/** Sizes and caps that take large integers. */
const large = ['2^31', '2^32'];

const entries: Entry[] = [
  // connect() and its options
  { name: 'connect(options)', on: 'none', call: (_w, v) => connect(v as never) },
  {
    name: 'connect({ port })',
    on: 'none',
    call: (_w, v) => connect({ host: '127.0.0.1', port: v as never }),
    accepts: ["'80'"],
  },
  ...(
    [
      ['host', optional.concat('null')],
      ['localAddress', optional],
      ['localPort', numberish.concat("'80'")],
      ['streams', options],
      ['connectTimeout', numberish],
      ['signal', optional],
      ['noDelay', optional],
      ['stream', numberish],
      ['ppid', numberish.concat('2^31')],
      ['maxMessageSize', optional.concat(large)],
      ['maxPartialBytes', optional.concat(large)],
      ['stallTimeout', numberish],
      ['receiveBufferSize', optional],
      ['shutdownTimeout', numberish],
      ['readableHighWaterMark', numberish.concat('null', large, '2^53')],
      ['scheduler', optional],
      ['streamReconfiguration', optional.concat(emptyObjects)],
      ['interleaving', optional],
      ['auth', optional.concat(emptyObjects)],
      ['udpEncapsulationPort', optional],
      ['reusePort', optional],
      ['maxBurst', numberish.concat('2^31')],
      ['sackDelay', optional],
      ['partialDeliveryPoint', numberish],
      ['ecn', optional],
    ] as Array<[string, string[]]>
  ).map(([key, accepts]): Entry => ({
    name: `connect({ ${key} })`,
    on: 'none',
    call: (_w, v) => connect({ host: '127.0.0.1', port: PORT, [key]: v }),
    accepts,
  })),
  {
    name: 'connect({ streams: { out } })',
    on: 'none',
    call: (_w, v) => connect({ host: '127.0.0.1', port: PORT, streams: { out: v as never } }),
    accepts: optional,
  },
  {
    name: 'connect(options, listener)',
    on: 'none',
    call: (_w, v) => connect({ host: '127.0.0.1', port: PORT }, v as never),
    accepts: optional,
  },
  // createServer() and listen()
  {
    name: 'createServer(options)',
    on: 'none',
    call: (_w, v) => createServer(v as never),
    accepts: options.concat('null'),
  },
  {
    name: 'createServer(options, listener)',
    on: 'none',
    call: (_w, v) => createServer({}, v as never),
    accepts: optional,
  },
  {
    name: 'createServer({ maxConnections })',
    on: 'none',
    call: (_w, v) => createServer({ maxConnections: v as never }),
    accepts: numberish.concat(large, '2^53', 'Infinity'),
  },
  {
    name: 'server.listen(port)',
    on: 'none',
    call: (_w, v) => track(createServer()).listen(v as never),
    accepts: numberish.concat("'80'", anyObject),
  },
  ...(
    [
      ['port', numberish.concat("'80'")],
      ['host', optional],
      ['backlog', numberish.concat('2^31')],
      ['signal', optional],
      ['reusePort', optional],
    ] as Array<[string, string[]]>
  ).map(([key, accepts]): Entry => ({
    name: `server.listen({ ${key} })`,
    on: 'none',
    call: (_w, v) => track(createServer()).listen({ host: '127.0.0.1', [key]: v }),
    accepts,
  })),
  // createEndpoint() and its options
  {
    name: 'createEndpoint(options)',
    on: 'none',
    call: (_w, v) => createEndpoint(v as never),
    accepts: options,
  },
  ...(
    [
      ['port', numberish.concat("'80'")],
      ['host', optional],
      ['stream', numberish],
      ['ppid', numberish.concat('2^31')],
      ['autoClose', numberish],
      ['maxAssociations', optional],
      ['highWaterMark', optional.concat(large)],
      ['highWaterBytes', optional.concat(large)],
      ['maxQueuedBytes', optional.concat(large)],
      ['maxTotalQueuedBytes', optional.concat(large)],
      ['maxMessageSize', optional.concat(large)],
      ['stallTimeout', numberish],
      ['reusePort', optional],
    ] as Array<[string, string[]]>
  ).map(([key, accepts]): Entry => ({
    name: `createEndpoint({ ${key} })`,
    on: 'none',
    call: (_w, v) => createEndpoint({ host: '127.0.0.1', [key]: v }),
    accepts,
  })),

  // a connected Socket
  {
    name: 'socket.send(data)',
    on: 'socket',
    call: (w, v) => w.socket.send(v as never),
    accepts: payloads,
  },
  {
    name: 'socket.send(data, options)',
    on: 'socket',
    call: (w, v) => w.socket.send('x', v as never),
    accepts: options,
  },
  ...(
    [
      ['stream', numberish],
      ['ppid', numberish.concat('2^31')],
      ['ttl', numberish.concat('2^31')],
      ['context', numberish.concat('2^31')],
      ['unordered', optional],
      ['pr', optional],
    ] as Array<[string, string[]]>
  ).map(([key, accepts]): Entry => ({
    name: `socket.send(data, { ${key} })`,
    on: 'socket',
    call: (w, v) => w.socket.send('x', { [key]: v }),
    accepts,
  })),
  {
    name: "socket.send(data, { pr: { policy: 'ttl', value } })",
    on: 'socket',
    call: (w, v) => w.socket.send('x', { pr: { policy: 'ttl', value: v as never } }),
    accepts: ['-0', '2^31'],
  },
  {
    name: 'socket.send(data, { pr: { policy, value: 1 } })',
    on: 'socket',
    call: (w, v) => w.socket.send('x', { pr: { policy: v as never, value: 1 } }),
    accepts: [],
  },
  // stream reconfiguration: refused before anything is sent (this socket has not the
  // extension, so whatever is accepted is rejected by the kernel with ENOPROTOOPT)
  ...(
    [
      ['resetStreams', (w: World, v: unknown) => w.socket.resetStreams(v as never), options],
      [
        'resetStreams({ direction })',
        (w: World, v: unknown) => w.socket.resetStreams({ direction: v as never }),
        optional,
      ],
      [
        'resetStreams({ streams })',
        (w: World, v: unknown) => w.socket.resetStreams({ streams: v as never }),
        optional.concat('[]'),
      ],
      [
        'resetStreams({ signal })',
        (w: World, v: unknown) => w.socket.resetStreams({ signal: v as never }),
        optional,
      ],
      [
        'resetAssociation',
        (w: World, v: unknown) => w.socket.resetAssociation(v as never),
        options,
      ],
      ['addStreams', (w: World, v: unknown) => w.socket.addStreams(v as never), []],
      [
        'addStreams({ outbound })',
        (w: World, v: unknown) => w.socket.addStreams({ outbound: v as never }),
        [],
      ],
      [
        'addStreams({ inbound: 1, outbound })',
        (w: World, v: unknown) => w.socket.addStreams({ inbound: 1, outbound: v as never }),
        numberish,
      ],
    ] as Array<[string, (w: World, v: unknown) => unknown, string[]]>
  ).map(([method, call, accepts]): Entry => ({
    name: `socket.${method.includes('(') ? method : `${method}(options)`}`,
    on: 'socket',
    call,
    accepts,
  })),
  {
    name: 'connect({ auth: { chunks } })',
    on: 'none',
    call: (_w, v) => connect({ host: '127.0.0.1', port: PORT, auth: { chunks: v as never } }),
    accepts: optional.concat('[]'),
  },
  {
    name: 'connect({ auth: { keys } })',
    on: 'none',
    call: (_w, v) => connect({ host: '127.0.0.1', port: PORT, auth: { keys: v as never } }),
    accepts: optional.concat(emptyObjects, '[]'),
  },
  // AUTH keys and UDP encapsulation (the socket has neither: the kernel refuses what passes)
  {
    name: 'socket.auth.set(keyNumber, key)',
    on: 'socket',
    call: (w, v) => w.socket.auth.set(v as never, 'key'),
    accepts: ['-0'],
  },
  {
    name: 'socket.auth.set(1, key)',
    on: 'socket',
    call: (w, v) => w.socket.auth.set(1, v as never),
    accepts: ["'80'", 'SharedArrayBuffer view'],
  },
  {
    name: 'socket.auth.use(keyNumber)',
    on: 'socket',
    call: (w, v) => w.socket.auth.use(v as never),
    accepts: ['-0'],
  },
  {
    name: 'socket.paths.setEncapsulationPort(port)',
    on: 'socket',
    call: (w, v) => w.socket.paths.setEncapsulationPort(v as never),
    accepts: ['-0'],
  },
  {
    name: 'socket.setSettings(settings)',
    on: 'socket',
    call: (w, v) => w.socket.setSettings(v as never),
    accepts: emptyObjects,
  },
  ...(
    [
      ['maxBurst', numberish.concat('2^31')],
      ['sackFrequency', optional.concat('2^31')],
      ['context', numberish.concat('2^31')],
      ['fragmentInterleave', optional],
      ['adaptationIndication', optional],
    ] as Array<[string, string[]]>
  ).map(([key, accepts]): Entry => ({
    name: `socket.setSettings({ ${key} })`,
    on: 'socket',
    call: (w, v) => w.socket.setSettings({ [key]: v }),
    accepts,
  })),
  {
    name: 'socket.setSendDefaults(defaults)',
    on: 'socket',
    call: (w, v) => w.socket.setSendDefaults(v as never),
    accepts: emptyObjects,
  },
  ...(
    [
      ['stream', numberish],
      ['ppid', numberish.concat('2^31')],
      ['pr', optional.concat('null')],
    ] as Array<[string, string[]]>
  ).map(([key, accepts]): Entry => ({
    name: `socket.setSendDefaults({ ${key} })`,
    on: 'socket',
    call: (w, v) => w.socket.setSendDefaults({ [key]: v }),
    accepts,
  })),
  {
    name: 'socket.setScheduler(name)',
    on: 'socket',
    call: (w, v) => w.socket.setScheduler(v as never),
    accepts: [],
  },
  {
    name: 'socket.setStreamSchedulerValue(stream, value)',
    on: 'socket',
    call: (w, v) => w.socket.setStreamSchedulerValue(0, v as never),
    accepts: ['-0'],
  },
  {
    name: 'socket.send(data, options, callback)',
    on: 'socket',
    call: (w, v) => w.socket.send('x', {}, v as never),
    accepts: optional,
  },
  {
    name: 'socket.write(chunk)',
    on: 'socket',
    call: (w, v) => w.socket.write(v as never),
    accepts: payloads,
  },
  {
    name: "socket.write(chunk, 'hex')",
    on: 'socket',
    call: (w, v) => w.socket.write(v as never, 'hex'),
    accepts: ["'80'", 'SharedArrayBuffer view'], // 'x...' decodes to nothing: refused
  },
  {
    name: 'socket.end(chunk)',
    on: 'socket',
    call: (w, v) => w.socket.end(v as never),
    accepts: optional.concat('null', payloads),
  },
  { name: 'socket.getOption(name)', on: 'socket', call: (w, v) => w.socket.getOption(v as never) },
  {
    name: 'socket.getOption(name, input)',
    on: 'socket',
    call: (w, v) => w.socket.getOption('SCTP_STATUS', v as never),
    accepts: options,
  },
  {
    name: 'socket.setOption(name, value)',
    on: 'socket',
    call: (w, v) => w.socket.setOption(v as never, { value: 1 }),
  },
  {
    name: 'socket.setOption(SCTP_NODELAY, value)',
    on: 'socket',
    call: (w, v) => w.socket.setOption('SCTP_NODELAY', v as never),
  },
  {
    name: 'socket.setOption(SCTP_NODELAY, { value })',
    on: 'socket',
    call: (w, v) => w.socket.setOption('SCTP_NODELAY', { value: v }),
    accepts: ['-0'],
  },
  {
    name: 'socket.setNoDelay(on)',
    on: 'socket',
    call: (w, v) => w.socket.setNoDelay(v as never),
    accepts: valueNames, // like net.Socket: any value, for its truth
  },
  // its Paths
  ...(['get', 'setPrimary', 'setPeerPrimary', 'addLocal', 'removeLocal', 'heartbeat'] as const).map(
    (method): Entry => ({
      name: `socket.paths.${method}(address)`,
      on: 'socket',
      call: (w, v) => w.socket.paths[method](v as never),
    }),
  ),
  {
    name: 'socket.paths.parameters(address)',
    on: 'socket',
    call: (w, v) => w.socket.paths.parameters(v as never),
    accepts: optional,
  },
  {
    name: 'socket.paths.configure(options)',
    on: 'socket',
    call: (w, v) => w.socket.paths.configure(v as never),
    accepts: anyObject,
  },
  ...(
    [
      'heartbeatInterval',
      'maxRetransmissions',
      'mtu',
      'sackDelay',
      'heartbeat',
      'address',
      'potentiallyFailedThreshold',
      'primaryChangeThreshold',
      'probeInterval',
    ] as const
  ).map((key): Entry => ({
    name: `socket.paths.configure({ ${key} })`,
    on: 'socket',
    call: (w, v) => w.socket.paths.configure({ [key]: v }),
    accepts: optional.concat(
      key === 'heartbeatInterval' || key === 'probeInterval' // milliseconds, u32
        ? ['-0', '2^31']
        : key.endsWith('Threshold')
          ? ['-0']
          : [],
    ),
  })),
  {
    name: 'socket.paths.setRetransmission(options)',
    on: 'socket',
    call: (w, v) => w.socket.paths.setRetransmission(v as never),
    accepts: anyObject,
  },
  ...(['rtoInitial', 'rtoMin', 'rtoMax', 'maxRetransmissions'] as const).map((key): Entry => ({
    name: `socket.paths.setRetransmission({ ${key} })`,
    on: 'socket',
    call: (w, v) => w.socket.paths.setRetransmission({ [key]: v }),
    // milliseconds as the kernel's u32; it refuses (EINVAL) what contradicts the others
    accepts: optional.concat(key === 'maxRetransmissions' ? [] : ['2^31']),
  })),

  // an Endpoint with an association
  {
    name: 'endpoint.send(data, ...)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.send(v as never, { association: w.association }),
    accepts: payloads,
  },
  {
    name: 'endpoint.send(data, options)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.send('x', v as never),
  },
  {
    name: 'endpoint.send(data, { association })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.send('x', { association: v as never }),
  },
  {
    name: 'endpoint.send(data, { assocId })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.send('x', { assocId: v as never }),
    accepts: ['-0'], // no association 0: the send fails later, as for any unknown id
  },
  {
    name: 'endpoint.send(data, { to })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.send('x', { to: v as never }),
  },
  {
    name: 'endpoint.send(data, { association, stream })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.send('x', { association: w.association, stream: v as never }),
    accepts: numberish,
  },
  {
    name: 'endpoint.connect(options)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.connect(v as never),
  },
  {
    name: 'endpoint.connect({ port })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.connect({ host: '127.0.0.1', port: v as never }),
    accepts: ["'80'"],
  },
  ...(
    [
      ['host', optional.concat('null')],
      ['timeout', numberish],
      ['streams', options],
      ['signal', optional],
    ] as Array<[string, string[]]>
  ).map(([key, accepts]): Entry => ({
    name: `endpoint.connect({ ${key} })`,
    on: 'endpoint',
    call: (w, v) => w.endpoint.connect({ host: '127.0.0.1', port: PORT, [key]: v }),
    accepts,
  })),
  {
    name: 'endpoint.association(id)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.association(v as never),
    accepts: ['-0'], // an integer: no association has id 0
  },
  {
    name: 'endpoint.listen(backlog)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.listen(v as never),
    accepts: numberish.concat('2^31'),
  },
  {
    name: 'endpoint.getOption(name)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.getOption(v as never),
  },
  {
    name: 'endpoint.setOption(SCTP_NODELAY, value)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.setOption('SCTP_NODELAY', v as never),
  },
  {
    name: 'endpoint.setOption(SCTP_NODELAY, { value })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.setOption('SCTP_NODELAY', { value: v }),
    accepts: ['-0'],
  },
  {
    name: 'endpoint.setSettings(settings)',
    on: 'endpoint',
    call: (w, v) => w.endpoint.setSettings(v as never),
    accepts: emptyObjects,
  },
  {
    name: 'endpoint.setSettings({ fragmentInterleave })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.setSettings({ fragmentInterleave: v as never }),
    accepts: optional,
  },
  {
    name: 'endpoint.setSendDefaults({ ppid })',
    on: 'endpoint',
    call: (w, v) => w.endpoint.setSendDefaults({ ppid: v as never }),
    accepts: numberish.concat('2^31'),
  },

  // the Association
  {
    name: 'association.send(data)',
    on: 'association',
    call: (w, v) => w.association.send(v as never),
    accepts: payloads,
  },
  {
    name: 'association.send(data, options)',
    on: 'association',
    call: (w, v) => w.association.send('x', v as never),
    accepts: options,
  },
  {
    name: 'association.send(data, { stream })',
    on: 'association',
    call: (w, v) => w.association.send('x', { stream: v as never }),
    accepts: numberish,
  },
  {
    name: 'association.send(data, options, callback)',
    on: 'association',
    call: (w, v) => w.association.send('x', {}, v as never),
    accepts: optional,
  },
  {
    name: 'association.getOption(name, input)',
    on: 'association',
    call: (w, v) => w.association.getOption('SCTP_STATUS', v as never),
    accepts: options,
  },
  {
    name: 'association.setOption(SCTP_NODELAY, { value })',
    on: 'association',
    call: (w, v) => w.association.setOption('SCTP_NODELAY', { value: v }),
    accepts: ['-0'],
  },
  {
    name: 'association.setSettings(settings)',
    on: 'association',
    call: (w, v) => w.association.setSettings(v as never),
    accepts: emptyObjects,
  },
  {
    name: 'association.setSettings({ sackDelay })',
    on: 'association',
    call: (w, v) => w.association.setSettings({ sackDelay: v as never }),
    accepts: optional,
  },
  {
    name: 'association.paths.setPrimary(address)',
    on: 'association',
    call: (w, v) => w.association.paths.setPrimary(v as never),
  },
  {
    name: 'association.paths.configure(options)',
    on: 'association',
    call: (w, v) => w.association.paths.configure(v as never),
    accepts: anyObject,
  },
  {
    name: 'association.abort(reason)',
    on: 'association',
    call: (w, v) => w.association.abort(v as never),
    accepts: optional.concat(
      "'80'",
      "''",
      'SharedArrayBuffer view',
      'empty Buffer',
      'detached view',
    ),
  },
  {
    name: 'association.shutdown(callback)',
    on: 'association',
    call: (w, v) => w.association.shutdown(v as never),
    accepts: optional,
  },
  {
    name: 'association.resetStreams(options)',
    on: 'association',
    call: (w, v) => w.association.resetStreams(v as never),
    accepts: options,
  },
  {
    name: 'association.addStreams(options)',
    on: 'association',
    call: (w, v) => w.association.addStreams(v as never),
    accepts: [],
  },
  {
    name: 'association.peeloff(options)',
    on: 'association',
    call: (w, v) => w.association.peeloff(v as never),
    accepts: options,
  },

  // a listening Server
  {
    name: 'server.getConnections(callback)',
    on: 'server',
    call: (w, v) => w.server.getConnections(v as never),
  },
  {
    name: 'server.close(callback)',
    on: 'server',
    call: (w, v) => w.server.close(v as never),
    accepts: optional,
  },
];

// ---- running a case ------------------------------------------------------------------------

type Outcome = { ok: true; result: unknown } | { ok: false; error: unknown };

async function run(entry: Entry, w: World, v: unknown): Promise<Outcome> {
  try {
    let result = entry.call(w, v);
    if (result instanceof Promise) {
      // A promise must settle: refused at once, or (accepted) connecting to a closed port.
      result = await Promise.race([
        result,
        new Promise((_r, reject) => setTimeout(() => reject(new Error('did not settle')), 10_000)),
      ]);
    }
    return { ok: true, result };
  } catch (error) {
    return { ok: false, error };
  }
}

function dispose(result: unknown): void {
  const thing = result as { destroy?: () => void; close?: () => void; on?: unknown };
  if (thing && typeof thing === 'object' && typeof thing.on === 'function') {
    (thing as Socket).on('error', () => {});
    if (typeof thing.destroy === 'function') thing.destroy();
    else if (typeof thing.close === 'function') thing.close();
  }
}

const isError = (e: unknown) => e instanceof Error || types.isNativeError(e); // any realm
/** An argument error (ERR_*), or a system error (code, errno, syscall) from the kernel. */
function isNodeError(e: unknown): boolean {
  if (!isError(e)) return false;
  const { code, errno, syscall } = e as { code?: unknown; errno?: unknown; syscall?: unknown };
  if (typeof code !== 'string') return false;
  if (/^ERR_[A-Z0-9_]+$/.test(code)) return true;
  return /^E[A-Z0-9]+$/.test(code) && typeof errno === 'number' && typeof syscall === 'string';
}

const liveTargets: Target[] = ['socket', 'endpoint', 'association', 'server'];

test('every public entry point refuses hostile values with a Node error and no change', async () => {
  let w = await openWorld();
  const problems: string[] = [];
  let cases = 0;
  let refused = 0;
  for (const entry of entries) {
    for (const name of valueNames) {
      cases++;
      let closed = false;
      const close = () => {
        if (entry.on === 'none') return; // nothing live to close
        closed = true;
        if (entry.on === 'socket') w.socket.destroy();
        else if (entry.on === 'endpoint') w.endpoint.destroy();
        else if (entry.on === 'association') w.association.abort();
        else if (entry.on === 'server') w.server.close();
      };
      const before = snapshot(w);
      const outcome = await run(entry, w, values[name]!(close));
      if (outcome.ok) dispose(outcome.result); // before its errors can come
      await new Promise((r) => setImmediate(r)); // an error emitted a tick later shows now
      const label = `${entry.name} with ${name}`;
      const accepted = (entry.accepts ?? []).includes(name) || closed;
      if (outcome.ok) {
        if (!accepted) problems.push(`${label}: accepted`);
      } else if (
        !isNodeError(outcome.error) &&
        !(name === 'throwing Proxy' && outcome.error === proxyError)
      ) {
        problems.push(`${label}: threw ${String(outcome.error)}`);
      } else if (!accepted) {
        refused++;
        if (snapshot(w) !== before) {
          problems.push(`${label}: refused, but the state changed: ${before} -> ${snapshot(w)}`);
        }
      }
      // What an accepted (or self-closing) case used up is opened again.
      if (closed || snapshot(w) !== before) {
        closeWorld(w);
        w = await openWorld();
      }
    }
    if (liveTargets.includes(entry.on)) {
      await roundTrips(w).catch((err: Error) => {
        problems.push(`${entry.name}: no round trip after its cases: ${err.message}`);
      });
    }
  }
  expect(problems).toEqual([]);
  expect(cases).toBeGreaterThanOrEqual(300);
  console.log(
    `${cases} cases over ${entries.length} entry points: ${refused} refused, ` +
      `${cases - refused} accepted as listed`,
  );
});

// ---- the sctpt command line ----------------------------------------------------------------

const sctpt = path.join(__dirname, '..', 'cli', 'sctpt.js');
const cli: string[][] = [
  [],
  ['nonsense'],
  ['client'],
  ['client', '--addr'],
  ['client', '--addr', 'example.com'],
  ['client', '--addr', '127.0.0.1', '--port', 'NaN'],
  ['client', '--addr', '127.0.0.1', '--port', '-1'],
  ['client', '--addr', '127.0.0.1', '--port', '1.5'],
  ['client', '--addr', '127.0.0.1', '--port', '65536'],
  ['client', '--addr', '127.0.0.1', '--port', `${2 ** 53}`],
  ['client', '--addr', '127.0.0.1', '--size', '-1'],
  ['client', '--addr', '127.0.0.1', '--size', '1e300'],
  ['client', '--addr', '127.0.0.1', '--size', '0'],
  ['client', '--addr', ',,,'],
  ['client', '--addr', '127.0.0.1,127.0.0.1'],
  ['client', '--addr=', ''],
  ['client', '--unknown'],
  ['client', '--json=yes'],
  ['server', '--addr', 'fe80::1%no-such-interface-name-too-long'],
  ['server', '--port', '1e6'],
  ['ctraffic', '--addr', '127.0.0.1', '--clients', '-5'],
  ['ctraffic', '--addr', '127.0.0.1', '--rate', 'Infinity'],
  ['ctraffic', '--addr', '127.0.0.1', '--timeout', '1e300'],
  ['stats', 'nonsense'],
  ['status', '--addr', '1.2.3.4.5'],
  ['throughput', '--addr', '127.0.0.1', '--size', '99999999999'],
];

/** Runs a command line in this process, its words captured, bounded in time. */
async function sctptHere(args: string[]): Promise<{ status: number | string; output: string }> {
  let output = '';
  const out = {
    stdout: { write: (t: string) => (output += t) },
    stderr: { write: (t: string) => (output += t) },
  };
  const timeout = new Promise<string>((r) => setTimeout(() => r('did not end'), 10_000).unref());
  const status = await Promise.race([runSctpt([...args], out), timeout]);
  return { status, output };
}

test('sctpt: bad arguments are usage errors (exit 2, one line, no stack trace)', async () => {
  const problems: string[] = [];
  // Every case in this process (a Node start costs seconds under TCG)...
  for (const args of cli) {
    const label = `sctpt ${args.join(' ')}`;
    const r = await sctptHere(args);
    if (r.status !== 2) problems.push(`${label}: exit ${r.status} (${r.output.trim()})`);
    if (/^\s+at /m.test(r.output)) problems.push(`${label}: a stack trace`);
    if (!/^(sctpt: |usage: )/.test(r.output)) problems.push(`${label}: ${r.output}`);
  }
  // ...and two through the real executable: its exit status and streams are the same.
  for (const args of [[], ['client', '--addr', '127.0.0.1', '--port', 'NaN']]) {
    // Generous: a Node start under TCG with the churn test's workers beside it once took > 20 s.
    const r = spawnSync(process.execPath, [sctpt, ...args], { encoding: 'utf8', timeout: 120_000 });
    const here = await sctptHere(args);
    const label = `sctpt ${args.join(' ')} (executable)`;
    if (r.error) problems.push(`${label}: ${r.error.message} (signal ${r.signal})`);
    else if (r.status !== 2) problems.push(`${label}: exit ${r.status} (${r.stderr.trim()})`);
    if (r.stdout + r.stderr !== here.output) problems.push(`${label}: ${r.stdout}${r.stderr}`);
  }
  expect(problems).toEqual([]);
});

afterAll(() => {
  for (const thing of opened) {
    if (typeof thing.destroy === 'function') thing.destroy();
    else thing.close?.();
  }
});
