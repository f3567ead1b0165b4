// A terminating SCTP proxy (the container seed's architecture B): each client association
// is accepted here and paired with an association of its own to a backend, chosen per
// client. Every message is relayed with its stream, PPID, unordered flag and boundaries.
// Back-pressure runs end to end per pair: a side that cannot take more pauses the other
// side's reading, so the kernel closes that peer's window; other pairs go on.
import { EventEmitter } from 'node:events';
import { codedError, invalidArgValue } from './errors';
import { createServer, type ListenOptions, type Server, type ServerOptions } from './server';
import { connect, type MessageInfo, type Socket, type SocketOptions } from './socket';
import {
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
   * 'relaying'; 'closing': one side has ended or failed.
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
  downUntil = 0;
  constructor(
    readonly name: string,
    readonly options: Readonly<BackendOptions>,
  ) {}
  get healthy(): boolean {
    return Date.now() >= this.downUntil;
  }
}

export interface Proxy {
  /** A client association was paired with a backend association that is up. */
  on(event: 'pair', listener: (pair: ProxyPairStatus) => void): this;
  /** A backend failed (a connect refused or timed out, an association lost). */
  on(event: 'backendDown', listener: (backend: Backend, error: Error) => void): this;
  /** A client association could not be relayed (no healthy backend, or its backend failed). */
  on(event: 'clientError', listener: (client: ProxyClient, error: Error) => void): this;
  /** The client side listens ('listening'), or has closed ('close'), as Server's. */
  on(event: 'listening' | 'close', listener: () => void): this;
  /** The listening server failed (as Server's 'error'). */
  on(event: 'error', listener: (error: Error) => void): this;
  /** Any other event, as on every EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** A terminating SCTP proxy; see createProxy(). */
export class Proxy extends EventEmitter {
  /** The listening server of the client side. */
  readonly server: Server;
  private readonly backends: BackendState[];
  private readonly choose: BackendChooser;
  private readonly pairs = new Set<Pair>();
  private nextPair = 1;
  private turn = 0;

  /** @internal */
  constructor(
    /** The options it was created with. */
    readonly options: ProxyOptions,
  ) {
    super();
    validateObject(options, 'options');
    if (!Array.isArray(options.backends) || options.backends.length === 0) {
      throw invalidArgValue('options.backends', options.backends, 'must list at least one backend');
    }
    this.backends = options.backends.map((b, i) => {
      const name = `options.backends[${i}]`;
      validateObject(b, name);
      const hosts = validateAddresses(b.host, `${name}.host`);
      validatePort(b.port, `${name}.port`, false);
      if (b.localAddress !== undefined) validateAddresses(b.localAddress, `${name}.localAddress`);
      return new BackendState(b.name ?? `${hosts.join(',')}:${b.port}`, { ...b });
    });
    if (options.retryAfter !== undefined) {
      validateInteger(options.retryAfter, 'options.retryAfter', 0, 2 ** 31 - 1);
    }
    const policy = options.policy ?? 'round-robin';
    if (typeof policy === 'function') validateFunction(policy, 'options.policy');
    else if (!['round-robin', 'least-associations', 'hash-ports'].includes(policy)) {
      throw invalidArgValue(
        'options.policy',
        policy,
        "must be 'round-robin', 'least-associations', 'hash-ports' or a function",
      );
    }
    const failure = options.onBackendFailure ?? 'abort';
    if (failure !== 'abort' && failure !== 'reconnect') {
      throw invalidArgValue('options.onBackendFailure', failure, "must be 'abort' or 'reconnect'");
    }
    this.choose = typeof policy === 'function' ? policy : this.builtIn(policy);
    this.server = createServer(options.clientOptions ?? {}, (socket) => this.accepted(socket));
    this.server.on('listening', () => this.emit('listening'));
    this.server.on('close', () => this.emit('close'));
    this.server.on('error', (err) => this.emit('error', err));
  }

  /** Listens for clients, as Server#listen. */
  listen(options: ListenOptions, callback?: () => void): this {
    this.server.listen(options, callback);
    return this;
  }

  /** The client side's listening addresses and port, as Server#address(). */
  address(): ReturnType<Server['address']> {
    return this.server.address();
  }

  /** Stops accepting clients and shuts every pair down gracefully (SHUTDOWN both ways). */
  close(callback?: () => void): this {
    this.server.close(callback);
    for (const pair of this.pairs) pair.end();
    return this;
  }

  /** The backends' health and load, and every pair's counters. */
  status(): ProxyStatus {
    return {
      backends: this.backends.map((b) => ({
        name: b.name,
        healthy: b.healthy,
        associations: b.associations,
        failures: b.failures,
      })),
      pairs: [...this.pairs].map((p) => p.status()),
    };
  }

  private builtIn(policy: ProxyPolicy): BackendChooser {
    switch (policy) {
      case 'round-robin':
        return (_client, healthy) => healthy[this.turn++ % healthy.length];
      case 'least-associations':
        return (_client, healthy) =>
          healthy.reduce((best, b) => (b.associations < best.associations ? b : best));
      case 'hash-ports':
        return (client, healthy) => healthy[hashPort(client.port) % healthy.length];
    }
  }

  /** @internal A backend for a client, or an error naming why there is none. */
  pick(client: ProxyClient, except?: BackendState): BackendState | Error {
    const healthy = this.backends.filter((b) => b.healthy && b !== except);
    if (healthy.length === 0) return codedError('no healthy backend', 'ERR_SCTP_NO_BACKEND');
    const chosen = this.choose(client, healthy);
    if (chosen === undefined)
      return codedError('the chooser refused the client', 'ERR_SCTP_NO_BACKEND');
    const state = this.backends.find((b) => b === chosen);
    if (!state)
      return codedError('the chooser returned something not a backend', 'ERR_INVALID_RETURN_VALUE');
    return state;
  }

  /** @internal */
  backendFailed(backend: BackendState, error: Error): void {
    const wasHealthy = backend.healthy; // its other associations may report the same failure
    backend.failures++;
    backend.downUntil = Date.now() + (this.options.retryAfter ?? 5000);
    if (wasHealthy) this.emit('backendDown', backend, error);
  }

  /** @internal */
  removed(pair: Pair): void {
    this.pairs.delete(pair);
  }

  private accepted(client: Socket): void {
    const pair = new Pair(this, this.nextPair++, client);
    this.pairs.add(pair);
    pair.start();
  }
}

/** One client association and its backend association. */
class Pair {
  private backend: Socket | null = null;
  private backendState: BackendState | null = null;
  private state: ProxyPairStatus['state'] = 'connecting';
  private readonly toBackend: RelayCounters = { messages: 0, bytes: 0, pauses: 0 };
  private readonly toClient: RelayCounters = { messages: 0, bytes: 0, pauses: 0 };
  private readonly info: ProxyClient;

  constructor(
    private readonly proxy: Proxy,
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
    // Nothing is read from the client until its backend association is up: what it sends
    // meanwhile waits in the kernel, and a backend that fails to connect loses nothing.
    client.pause();
    client.on('error', () => {}); // its 'close' ends the pair
    client.on('close', () => this.clientClosed());
  }

  start(except?: BackendState): void {
    const chosen = this.proxy.pick(this.info, except);
    if (chosen instanceof Error) return this.refuse(chosen);
    this.backendState = chosen;
    chosen.associations++;
    const { host, port, localAddress } = chosen.options;
    // The backend gets as many streams as the client has: a message keeps its stream number.
    const backend = connect({
      ...this.proxy.options.backendOptions,
      host,
      port,
      ...(localAddress !== undefined && { localAddress }),
      streams: { out: this.client.inboundStreams, in: this.client.outboundStreams },
    });
    this.backend = backend;
    let up = false;
    backend.once('connect', () => {
      up = true;
      this.state = 'relaying';
      this.client.resume();
      this.proxy.emit('pair', this.status());
    });
    backend.on('message', (data, info) =>
      this.relay(data, info, this.client, this.toClient, backend),
    );
    let failure: Error | undefined;
    backend.on('error', (err) => (failure ??= err));
    backend.on('close', () => {
      chosen.associations--;
      if (this.backend !== backend) return; // replaced already
      this.backend = null;
      if (this.state === 'closing') return this.client.end();
      // The backend went away while the client is still there. A graceful SHUTDOWN from
      // an association that was up is passed on as one (unless the client is to be moved);
      // anything else is the backend's failure.
      const error =
        failure ?? codedError('the backend shut the association down', 'ERR_SCTP_BACKEND_CLOSED');
      const failed = !up || failure !== undefined;
      if (failed) this.proxy.backendFailed(chosen, error);
      if (this.proxy.options.onBackendFailure === 'reconnect' && !this.client.destroyed) {
        this.client.pause();
        this.state = 'connecting';
        return this.start(chosen);
      }
      if (!failed) {
        this.state = 'closing';
        return this.client.end();
      }
      this.proxy.emit('clientError', this.info, error);
      this.client.resetAndDestroy();
    });
  }

  /** Shuts both sides down gracefully. */
  end(): void {
    this.state = 'closing';
    this.client.end();
    this.backend?.end();
  }

  status(): ProxyPairStatus {
    return {
      id: this.id,
      client: this.info,
      backend: this.backendState?.name ?? null,
      state: this.state,
      toBackend: { ...this.toBackend },
      toClient: { ...this.toClient },
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
    count: RelayCounters,
    from: Socket,
  ): void {
    if (!to || to.destroyed || to.writableEnded) return;
    count.messages++;
    count.bytes += data.length;
    const streams = to.outboundStreams;
    const stream = streams > 0 ? info.stream % streams : info.stream;
    const more = to.send(data, { stream, ppid: info.ppid, unordered: info.unordered });
    if (!more && !from.isPaused()) {
      count.pauses++;
      from.pause();
      to.once('drain', () => from.resume());
    }
  }

  private refuse(error: Error): void {
    this.proxy.emit('clientError', this.info, error);
    this.client.resetAndDestroy();
  }

  private clientClosed(): void {
    this.state = 'closing';
    this.proxy.removed(this);
    const backend = this.backend;
    if (!backend) return;
    // A client that shut down gracefully gets its backend shut down gracefully (what it
    // sent is delivered first); one that aborted, or whose backend is not up yet, gets its
    // backend aborted.
    if (this.client.errored || backend.connecting) backend.resetAndDestroy();
    else backend.end();
  }
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
export function createProxy(options: ProxyOptions): Proxy {
  return new Proxy(options);
}
