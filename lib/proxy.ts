// A terminating SCTP proxy (the container seed's architecture B): each client association
// is accepted here and paired with an association of its own to a backend, chosen per
// client. Every message is relayed with its stream, PPID, unordered flag and boundaries.
// Back-pressure runs end to end per pair: a side that cannot take more pauses the other
// side's reading, so the kernel closes that peer's window; other pairs go on.
import { EventEmitter } from 'node:events';
import { codedError, invalidArgValue } from './errors';
import { validateHandleOptions } from './handle';
import { createServer, type ListenOptions, type Server, type ServerOptions } from './server';
import { connect, type MessageInfo, type Socket, type SocketOptions } from './socket';
import {
  validateAbortSignal,
  validateAddresses,
  validateFunction,
  validateObject,
  validatePort,
  validateInteger,
} from './validate';

/** A backend: where client associations are relayed to. */
export interface BackendOptions {
  /** The backend's address, or several (multihomed). */
  host: string | string[];
  /** The backend's SCTP port. */
  port: number;
  /** Local addresses of the proxy's side (multihomed). Default: the kernel's choice. */
  localAddress?: string | string[];
  /** A name for status() and events. Default `host:port`. */
  name?: string;
}

/** A backend as the proxy sees it: its health and load. */
export interface Backend {
  /** Its name (BackendOptions.name, or `host:port`). */
  readonly name: string;
  /** Where it is, as given. */
  readonly options: Readonly<BackendOptions>;
  /** False from a failure until `retryAfter` has passed. */
  readonly healthy: boolean;
  /** Client associations relayed to it now. */
  readonly associations: number;
  /** Connects that failed and associations lost, since the proxy started. */
  readonly failures: number;
}

/** What a chooser knows of a client association. */
export interface ProxyClient {
  /** The client's addresses (all of them: a multihomed client has several). */
  addresses: string[];
  /** The client's SCTP port. */
  port: number;
}

/** Picks a backend among the healthy ones (never empty), or undefined to refuse the client. */
export type BackendChooser = (
  client: ProxyClient,
  healthy: readonly Backend[],
) => Backend | undefined;

/** The built-in ways of choosing a client's backend (see ProxyOptions.policy). */
export type ProxyPolicy = 'round-robin' | 'least-associations' | 'hash-ports';

/** What createProxy() takes. */
export interface ProxyOptions {
  /** The backends client associations are relayed to (at least one). */
  backends: BackendOptions[];
  /**
   * How a client's backend is chosen: 'round-robin' (default); 'least-associations';
   * 'hash-ports', the client's port only (not its addresses, which differ per path and
   * change under NAT), so that a client that comes back from the same port lands on the
   * same backend while the set of healthy backends is the same; or a function.
   */
  policy?: ProxyPolicy | BackendChooser;
  /**
   * When a client's backend association fails: 'abort' (default) aborts the client's
   * association, so that it reconnects (perhaps to another proxy); 'reconnect' relays it to
   * another backend, for protocols without state in the backend. Messages in flight to the
   * failed backend are lost either way. A backend that shuts an association down
   * gracefully is not failing: with 'abort' its client's association is shut down
   * gracefully too; with 'reconnect' the client is moved.
   */
  onBackendFailure?: 'abort' | 'reconnect';
  /** ms a failed backend is left out. Default 5000. */
  retryAfter?: number;
  /**
   * ms a backend association may take to come up before the backend counts as failed.
   * Default 10,000 (the kernel alone would retry INIT for minutes).
   */
  connectTimeout?: number;
  /** Options of the client side (the listening server and the associations it accepts). */
  clientOptions?: ServerOptions;
  /** Options of the backend side's sockets (stream counts are set per client, see below). */
  backendOptions?: SocketOptions;
}

/** One client association and its backend association, as status() reports them. */
export interface ProxyPairStatus {
  /** 1, 2, ... in the order the client associations were accepted. */
  id: number;
  /** The client association's peer. */
  client: ProxyClient;
  /** The backend's name; null before one was chosen (or when none could be). */
  backend: string | null;
  /**
   * 'connecting': the backend association is not up yet (the client is not read meanwhile);
   * 'relaying'; 'closing': one side has ended or failed (a pair is listed until both have
   * closed).
   */
  state: 'connecting' | 'relaying' | 'closing';
  /** Messages relayed from the client to the backend. */
  toBackend: RelayCounters;
  /** Messages relayed from the backend to the client. */
  toClient: RelayCounters;
}

/** What one direction of a pair has relayed. */
export interface RelayCounters {
  /** Messages relayed. */
  messages: number;
  /** Payload bytes. */
  bytes: number;
  /** Times the receiving side's queue was full and the sending side stopped being read. */
  pauses: number;
  /**
   * Messages that could not be relayed: the receiving side was gone, or shutting down
   * (its peer had sent SHUTDOWN), or not there yet after its backend failed.
   */
  dropped: number;
}

/** A backend's health and load, as status() reports them. */
export interface BackendStatus {
  /** Its name (BackendOptions.name, or `host:port`). */
  name: string;
  /** False from a failure until `retryAfter` has passed. */
  healthy: boolean;
  /** Client associations relayed to it now. */
  associations: number;
  /** Connects that failed and associations lost, since the proxy started. */
  failures: number;
}

/** The proxy's backends and pairs, for monitoring. */
export interface ProxyStatus {
  /** Every backend, in the order given. */
  backends: BackendStatus[];
  /** Every client association being relayed, in the order they were accepted. */
  pairs: ProxyPairStatus[];
}

class BackendState implements Backend {
  associations = 0;
  failures = 0;
  /** performance.now() until which it is left out (a monotonic clock: no NTP steps). */
  downUntil = 0;
  constructor(
    readonly name: string,
    readonly options: Readonly<BackendOptions>,
  ) {}
  get healthy(): boolean {
    return performance.now() >= this.downUntil;
  }
}

/** Backend errors that say the backend is unreachable or gone (others are not its fault). */
const BACKEND_FAILURES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ERR_SCTP_CONNECT_TIMEOUT',
]);
/** Accept errors the Server reports only to someone listening (see Server's 'error'). */
const ACCEPT_ERRORS = new Set(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM']);
const codeOf = (err: unknown) => (err as { code?: string } | undefined)?.code ?? '';

export interface SctpProxy {
  /** A client association was paired with a backend association that is up. */
  on(event: 'pair', listener: (pair: ProxyPairStatus) => void): this;
  /** Both associations of a pair have closed: what it relayed, for the record. */
  on(event: 'pairClosed', listener: (pair: ProxyPairStatus) => void): this;
  /** A backend failed (a connect refused or timed out, an association lost) and is left out. */
  on(event: 'backendDown', listener: (backend: Backend, error: Error) => void): this;
  /**
   * A client association could not be relayed (no healthy backend, its backend failed, or
   * it failed itself) and was aborted.
   */
  on(event: 'clientError', listener: (client: ProxyClient, error: Error) => void): this;
  /** The client side listens, as Server's 'listening'. */
  on(event: 'listening', listener: () => void): this;
  /**
   * After close(): the listening server and every association of both sides have closed.
   */
  on(event: 'close', listener: () => void): this;
  /**
   * The listening server failed (as Server's 'error'); accept errors such as EMFILE only
   * when there is a listener.
   */
  on(event: 'error', listener: (error: Error) => void): this;
  /** Any other event, as on every EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** The options, checked and with their defaults. */
interface Settings {
  retryAfter: number;
  connectTimeout: number;
  onBackendFailure: 'abort' | 'reconnect';
  backendOptions: SocketOptions;
}

/** A terminating SCTP proxy; see createProxy(). */
export class SctpProxy extends EventEmitter {
  /** The listening server of the client side. */
  readonly server: Server;
  readonly #backends: BackendState[];
  readonly #choose: BackendChooser;
  readonly #settings: Settings;
  readonly #pairs = new Set<Pair>();
  /** 'open', then 'closing' from close(), 'closed' once 'close' was emitted. */
  #state: 'open' | 'closing' | 'closed' = 'open';
  #serverClosed = false;
  #nextPair = 1;
  #turn = 0;

  /** @internal */
  constructor(options: ProxyOptions) {
    super();
    validateObject(options, 'options');
    if (!Array.isArray(options.backends) || options.backends.length === 0) {
      throw invalidArgValue('options.backends', options.backends, 'must list at least one backend');
    }
    this.#backends = options.backends.map((b, i) => {
      const name = `options.backends[${i}]`;
      validateObject(b, name);
      const hosts = validateAddresses(b.host, `${name}.host`);
      validatePort(b.port, `${name}.port`, false);
      if (b.localAddress !== undefined) validateAddresses(b.localAddress, `${name}.localAddress`);
      return new BackendState(b.name ?? `${hosts.join(',')}:${b.port}`, { ...b });
    });
    const policy = options.policy ?? 'round-robin';
    if (typeof policy === 'function') validateFunction(policy, 'options.policy');
    else if (!['round-robin', 'least-associations', 'hash-ports'].includes(policy)) {
      throw invalidArgValue(
        'options.policy',
        policy,
        "must be 'round-robin', 'least-associations', 'hash-ports' or a function",
      );
    }
    const onBackendFailure = options.onBackendFailure ?? 'abort';
    if (onBackendFailure !== 'abort' && onBackendFailure !== 'reconnect') {
      throw invalidArgValue(
        'options.onBackendFailure',
        onBackendFailure,
        "must be 'abort' or 'reconnect'",
      );
    }
    const backendOptions = { ...options.backendOptions };
    validateHandleOptions(backendOptions); // checked now, not at the first client
    this.#settings = {
      retryAfter: validateInteger(options.retryAfter ?? 5000, 'options.retryAfter', 0, 2 ** 31 - 1),
      connectTimeout: validateInteger(
        options.connectTimeout ?? 10000,
        'options.connectTimeout',
        1,
        2 ** 31 - 1,
      ),
      onBackendFailure,
      backendOptions,
    };
    this.#choose = typeof policy === 'function' ? policy : this.#builtIn(policy);
    this.server = createServer(options.clientOptions ?? {}, (socket) => this.#accepted(socket));
    this.server.on('listening', () => this.emit('listening'));
    this.server.on('close', () => {
      this.#serverClosed = true;
      this.#maybeClosed();
    });
    this.server.on('error', (err) => {
      // Running out of fds is what many clients can cause: not a reason to crash.
      if (!ACCEPT_ERRORS.has(codeOf(err)) || this.listenerCount('error') > 0)
        this.emit('error', err);
    });
  }

  /** Listens for clients, as Server#listen; aborting `options.signal` closes the proxy. */
  listen(options: ListenOptions, callback?: () => void): this {
    if (this.#state !== 'open') {
      throw codedError('the proxy has been closed', 'ERR_SERVER_NOT_RUNNING');
    }
    validateObject(options, 'options');
    // The proxy's close(), not the server's: that one would wait for the clients forever.
    const { signal, ...listenOptions } = options;
    if (signal !== undefined) {
      validateAbortSignal(signal, 'options.signal');
      if (signal.aborted) process.nextTick(() => this.close());
      else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    this.server.listen(listenOptions, callback);
    return this;
  }

  /** The client side's listening addresses and port, as Server#address(). */
  address(): ReturnType<Server['address']> {
    return this.server.address();
  }

  /**
   * Stops accepting clients and shuts every pair down: the client's association first
   * (SHUTDOWN), its backend's once the client's has closed. `callback` and 'close' come
   * when all of them have closed (at once if it has closed already).
   */
  close(callback?: () => void): this {
    if (callback !== undefined) validateFunction(callback, 'callback');
    if (this.#state === 'closed') {
      if (callback !== undefined) process.nextTick(callback);
      return this;
    }
    if (callback !== undefined) this.once('close', callback);
    if (this.#state === 'closing') return this;
    this.#state = 'closing';
    this.server.close((err) => {
      if (err) this.#serverClosed = true; // it was not listening: it emits no 'close'
      this.#maybeClosed();
    });
    for (const pair of this.#pairs) pair.end();
    return this;
  }

  #maybeClosed(): void {
    if (this.#state !== 'closing' || !this.#serverClosed || this.#pairs.size > 0) return;
    this.#state = 'closed';
    this.emit('close');
  }

  /** The backends' health and load, and every pair's counters. */
  status(): ProxyStatus {
    return {
      backends: this.#backends.map((b) => ({
        name: b.name,
        healthy: b.healthy,
        associations: b.associations,
        failures: b.failures,
      })),
      pairs: [...this.#pairs].map((p) => p.status()),
    };
  }

  #builtIn(policy: ProxyPolicy): BackendChooser {
    switch (policy) {
      case 'round-robin':
        return (_client, healthy) => healthy[this.#turn++ % healthy.length];
      case 'least-associations':
        return (_client, healthy) =>
          healthy.reduce((best, b) => (b.associations < best.associations ? b : best));
      case 'hash-ports':
        return (client, healthy) => healthy[hashPort(client.port) % healthy.length];
    }
  }

  #accepted(client: Socket): void {
    const pair = new Pair(
      {
        settings: this.#settings,
        pick: (info, tried) => this.#pick(info, tried),
        backendFailed: (backend, error) => this.#backendFailed(backend, error),
        emit: (event, ...args) => this.emit(event, ...args),
        removed: (p) => {
          if (!this.#pairs.delete(p)) return;
          this.emit('pairClosed', p.status());
          this.#maybeClosed();
        },
      },
      this.#nextPair++,
      client,
    );
    this.#pairs.add(pair);
    pair.start();
  }

  /** A backend for a client, among the healthy ones not tried yet, or why there is none. */
  #pick(client: ProxyClient, tried: ReadonlySet<BackendState>): BackendState | Error {
    const healthy = this.#backends.filter((b) => b.healthy && !tried.has(b));
    if (healthy.length === 0) return codedError('no healthy backend left', 'ERR_SCTP_NO_BACKEND');
    let chosen: Backend | undefined;
    try {
      chosen = this.#choose(client, healthy);
    } catch (err) {
      return err as Error;
    }
    if (chosen === undefined)
      return codedError('the chooser refused the client', 'ERR_SCTP_NO_BACKEND');
    const state = healthy.find((b) => b === chosen);
    if (!state) {
      return codedError(
        'the chooser returned something not among the backends it was given',
        'ERR_INVALID_RETURN_VALUE',
      );
    }
    return state;
  }

  #backendFailed(backend: BackendState, error: Error): void {
    const wasHealthy = backend.healthy; // its other associations may report the same failure
    backend.failures++;
    backend.downUntil = performance.now() + this.#settings.retryAfter;
    if (wasHealthy) this.emit('backendDown', backend, error);
  }
}

/** What a Pair needs from its proxy. */
interface PairHost {
  settings: Settings;
  pick(client: ProxyClient, tried: ReadonlySet<BackendState>): BackendState | Error;
  backendFailed(backend: BackendState, error: Error): void;
  emit(event: string, ...args: unknown[]): void;
  removed(pair: Pair): void;
}

/** One direction of a pair: where messages come from and go, and whether it waits for 'drain'. */
interface Direction {
  counters: RelayCounters;
  /** The 'drain' listener on the receiving side while the sending side is paused. */
  waiting: (() => void) | null;
  /** The receiving side's peer sent SHUTDOWN: it takes nothing more (RFC 9260 §9.2). */
  closed: boolean;
}

/** One client association and its backend association. */
class Pair {
  private backend: Socket | null = null;
  private backendState: BackendState | null = null;
  private state: ProxyPairStatus['state'] = 'connecting';
  private readonly toBackend = direction();
  private readonly toClient = direction();
  /** Backends tried since the client was last relaying: a failover tries each at most once. */
  private readonly tried = new Set<BackendState>();
  private readonly info: ProxyClient;
  /** The client's association ended with its SHUTDOWN (not an ABORT or a failure). */
  private clientEnded = false;
  /** The client's socket has closed. */
  private clientGone = false;

  constructor(
    private readonly host: PairHost,
    readonly id: number,
    private readonly client: Socket,
  ) {
    this.info = {
      addresses: client.remoteAddresses().map((a) => a.address),
      port: client.remotePort ?? 0,
    };
    client.on('message', (data, info) =>
      this.relay(data, info, this.backend, this.toBackend, client),
    );
    // Not read until its backend association is up: what it sends meanwhile stays in the
    // kernel (beyond the few messages read before this), and a backend that fails to
    // connect loses nothing.
    client.pause();
    client.on('end', () => (this.clientEnded = true));
    client.on('shutdown', () => (this.toClient.closed = true));
    client.on('error', (err) => {
      if (this.state !== 'closing') this.host.emit('clientError', this.info, err);
    });
    client.on('close', () => this.clientClosed());
  }

  /**
   * Pairs the client with a backend not tried yet. If there is none, the client is refused
   * (aborted), or with `ifNone: 'end'` shut down gracefully.
   */
  start(ifNone: 'refuse' | 'end' = 'refuse'): void {
    if (this.client.destroyed) return;
    const chosen = this.host.pick(this.info, this.tried);
    if (chosen instanceof Error) return ifNone === 'end' ? this.endClient() : this.refuse(chosen);
    // An association aborted before it was accepted has no streams: nothing to relay.
    if (this.client.inboundStreams === 0 || this.client.outboundStreams === 0) {
      return this.refuse(codedError('the client association has no streams', 'ERR_SCTP_CLOSED'));
    }
    this.tried.add(chosen);
    const { host, port, localAddress } = chosen.options;
    let backend: Socket;
    try {
      // The backend gets as many streams as the client has: a message keeps its stream.
      backend = connect({
        ...this.host.settings.backendOptions,
        host,
        port,
        ...(localAddress !== undefined && { localAddress }),
        connectTimeout: this.host.settings.connectTimeout,
        streams: { out: this.client.inboundStreams, in: this.client.outboundStreams },
      });
    } catch (err) {
      return this.refuse(err as Error);
    }
    this.backend = backend;
    this.backendState = chosen;
    chosen.associations++;
    let up = false;
    let failure: Error | undefined;
    backend.once('connect', () => {
      if (this.state === 'closing') return;
      up = true;
      // "Each backend at most once" is per failover: a later one may come back to these.
      this.tried.clear();
      this.tried.add(chosen);
      this.state = 'relaying';
      this.client.resume();
      this.host.emit('pair', this.status());
    });
    backend.on('message', (data, info) =>
      this.relay(data, info, this.client, this.toClient, backend),
    );
    backend.on('error', (err) => (failure ??= err));
    backend.on('shutdown', () => (this.toBackend.closed = true));
    backend.on('close', () => {
      chosen.associations--;
      this.backend = null;
      this.stopWaiting();
      if (this.clientGone) return this.host.removed(this);
      if (this.state === 'closing') return this.endClient();
      // The backend went away while the client is still there. A graceful SHUTDOWN of an
      // association that was up is passed on as one, or the client is moved; a connect
      // that failed or an association the kernel lost is the backend's failure.
      const failed = !up || BACKEND_FAILURES.has(codeOf(failure));
      const error =
        failure ?? codedError('the backend shut the association down', 'ERR_SCTP_BACKEND_CLOSED');
      if (failed) this.host.backendFailed(chosen, error);
      if (this.host.settings.onBackendFailure === 'reconnect') {
        this.client.pause();
        this.state = 'connecting';
        this.toBackend.closed = false;
        return this.start(failed ? 'refuse' : 'end');
      }
      if (!failed && failure === undefined) return this.endClient();
      this.refuse(error);
    });
  }

  /** Shuts the pair down: the client first, its backend once the client's has closed. */
  end(): void {
    this.endClient();
  }

  status(): ProxyPairStatus {
    return {
      id: this.id,
      client: this.info,
      backend: this.backendState?.name ?? null,
      state: this.state,
      toBackend: { ...this.toBackend.counters },
      toClient: { ...this.toClient.counters },
    };
  }

  /**
   * One message to the other side, with its stream (folded into the streams that side has,
   * when it granted fewer), PPID and unordered flag. When that side's queue is full, the
   * side it came from stops being read until it drains.
   */
  private relay(
    data: Buffer,
    info: MessageInfo,
    to: Socket | null,
    direction: Direction,
    from: Socket,
  ): void {
    const { counters } = direction;
    if (!to || to.destroyed || to.writableEnded || direction.closed) {
      counters.dropped++;
      return;
    }
    counters.messages++;
    counters.bytes += data.length;
    const streams = to.outboundStreams;
    const stream = streams > 0 ? info.stream % streams : info.stream;
    // A message the kernel refuses (EMSGSIZE: larger than that side's send buffer) ends
    // that side with the error; its 'close' decides what the pair does.
    const more = to.send(data, { stream, ppid: info.ppid, unordered: info.unordered });
    if (!more && direction.waiting === null) {
      counters.pauses++;
      from.pause();
      direction.waiting = () => {
        direction.waiting = null;
        from.resume();
      };
      to.once('drain', direction.waiting);
    }
  }

  /** Resumes whatever waits for a 'drain' that may now never come. */
  private stopWaiting(): void {
    for (const [direction, to, from] of [
      [this.toBackend, this.backend, this.client],
      [this.toClient, this.client, this.backend],
    ] as const) {
      if (!direction.waiting) continue;
      to?.off('drain', direction.waiting);
      direction.waiting = null;
      from?.resume();
    }
  }

  /** A graceful end of the client's association (a paused socket would never see 'end'). */
  private endClient(): void {
    this.state = 'closing';
    if (this.client.destroyed || this.client.writableEnded) return;
    this.client.resume();
    this.client.end();
    // A client that does not complete its SHUTDOWN in time is aborted.
    const timer = setTimeout(
      () => this.client.resetAndDestroy(),
      this.host.settings.connectTimeout,
    );
    this.client.once('close', () => clearTimeout(timer));
  }

  private refuse(error: Error): void {
    this.state = 'closing';
    this.host.emit('clientError', this.info, error);
    this.client.resetAndDestroy();
  }

  private clientClosed(): void {
    this.state = 'closing';
    this.clientGone = true;
    this.stopWaiting();
    const backend = this.backend;
    if (!backend) return this.host.removed(this); // else when the backend's has closed too
    // A client that shut down gracefully gets its backend shut down gracefully (what it
    // sent is delivered first); one that aborted or failed, or whose backend is not up
    // yet, gets its backend aborted.
    if (!this.clientEnded || backend.connecting) backend.resetAndDestroy();
    else {
      backend.resume();
      backend.end();
    }
  }
}

function direction(): Direction {
  return {
    counters: { messages: 0, bytes: 0, pauses: 0, dropped: 0 },
    waiting: null,
    closed: false,
  };
}

/** FNV-1a over the port's two bytes: spreads neighbouring ports over the backends. */
function hashPort(port: number): number {
  let h = 0x811c9dc5;
  for (const byte of [port >> 8, port & 0xff]) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * A terminating SCTP proxy: listens for client associations (call listen()), pairs each
 * with an association to a backend chosen by `policy`, and relays messages both ways.
 */
export function createProxy(options: ProxyOptions): SctpProxy {
  return new SctpProxy(options);
}
