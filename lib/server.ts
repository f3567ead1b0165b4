// One-to-one SCTP server, like net.Server: listens on one or several local addresses
// (multihomed) and hands out a Socket per association.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { codedError, invalidArgType, systemError } from './errors';
import {
  applyHandleOptions,
  readAddresses,
  resolveDefaults,
  setOption,
  validateHandleOptions,
} from './handle';
import { Holder } from './holder';
import { constants, native } from './native';
import { Socket, type AddressInfo, type SocketOptions } from './socket';
import {
  familyFor,
  validateAbortSignal,
  validateAddresses,
  validateBoolean,
  validateFunction,
  validateInteger,
  validateObject,
  validatePort,
} from './validate';

/**
 * Options of createServer(): the socket options, applied to the listening socket and so to
 * every association it accepts, and a connection limit.
 */
export interface ServerOptions extends SocketOptions {
  /**
   * Accepted associations kept at most (as net.Server#maxConnections); one more is aborted
   * as soon as it is accepted, and reported as 'drop'. Default: no limit.
   */
  maxConnections?: number;
}

/** What 'drop' reports about an association refused because of maxConnections. */
export interface DroppedConnection {
  /** The local address the association was accepted on (as Socket#localAddress). */
  localAddress?: string;
  /** The local SCTP port. */
  localPort?: number;
  /** The peer's first address (as Socket#remoteAddress); undefined if it could not be read. */
  remoteAddress?: string;
  /** The peer's SCTP port. */
  remotePort?: number;
  /** 'IPv4' or 'IPv6', the family of remoteAddress. */
  remoteFamily?: string;
}

const { EAFNOSUPPORT, EMFILE, ENFILE, ENOBUFS, ENOMEM } = os.constants.errno;
/** Out of fds or memory: accepting pauses for this long at first, doubling up to the max. */
const ACCEPT_BACKOFF_MIN_MS = 50;
const ACCEPT_BACKOFF_MAX_MS = 1000;

/** What Server#listen() takes. */
export interface ListenOptions {
  /** Local address, or several (multihoming). Default: every address ('::', or 0.0.0.0). */
  host?: string | string[];
  /** Local SCTP port, 0 .. 65535. Default 0: the kernel picks one (see address()). */
  port?: number;
  /** Associations the kernel queues for accepting (listen()'s backlog), 0 .. 65535. Default 511. */
  backlog?: number;
  /** Aborting it closes the server, as close() does. */
  signal?: AbortSignal;
  /**
   * Let other listening sockets that set it too, in this process or others, bind the same
   * addresses and port (SO_REUSEPORT, as net.Server#listen's `reusePort`): the kernel spreads
   * new associations over them by a hash of the peer's address and port. Every socket of the
   * group must bind the same set of addresses.
   * (connect()'s `reusePort` is SCTP_REUSE_PORT: several clients from one local port.)
   */
  reusePort?: boolean;
}

/** net.Server#address() shape, plus every bound address. */
export interface ServerAddress extends AddressInfo {
  /** Every bound local address (the first is the one above). */
  addresses: AddressInfo[];
}

export interface Server {
  /** An association was accepted: its Socket, already connected. */
  on(event: 'connection', listener: (socket: Socket) => void): this;
  /** An accepted association was ABORTed at once because maxConnections was reached. */
  on(event: 'drop', listener: (dropped: DroppedConnection) => void): this;
  /**
   * 'listening': listen() bound the socket and accepts associations. 'close': close() was
   * called and every accepted socket has closed.
   */
  on(event: 'listening' | 'close', listener: () => void): this;
  /**
   * listen() failed (EADDRINUSE, ...), or accept() did. Out of file descriptors or memory
   * (EMFILE, ENFILE, ENOBUFS, ENOMEM), accepting pauses and retries, and this is emitted
   * only when listened to.
   */
  on(event: 'error', listener: (err: Error) => void): this;
  /** Any other event, as on every EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  /** Once: the next accepted association's Socket. */
  once(event: 'connection', listener: (socket: Socket) => void): this;
  /** Once: 'listening' or 'close' (see on()). */
  once(event: 'listening' | 'close', listener: () => void): this;
  /** Once: the next error (see on('error')). */
  once(event: 'error', listener: (err: Error) => void): this;
  /** Once: any other event, as on every EventEmitter. */
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * A one-to-one SCTP server, like net.Server: it listens on one or several local addresses
 * (one multihomed SCTP endpoint) and emits a connected Socket for each association it
 * accepts. Create it with createServer().
 */
export class Server extends EventEmitter {
  /** idle → listening → closing (accepting no more; accepted sockets may still be open) → idle. */
  private state: 'idle' | 'listening' | 'closing' = 'idle';
  /** True while accepting associations (as net.Server#listening). */
  get listening(): boolean {
    return this.state === 'listening';
  }

  /** As net.Server#maxConnections; may be changed at any time. */
  maxConnections: number | undefined;
  private readonly holder = new Holder({
    accept: (fds) => this.onAccept(fds),
    error: (rc) => this.onAcceptError(rc),
  });
  private family = constants.AF_INET;
  private readonly options: ServerOptions;
  private readonly connections = new Set<Socket>();
  private closeCallbacks: ((err?: Error) => void)[] = [];
  private acceptBackoff = ACCEPT_BACKOFF_MIN_MS;

  /**
   * A server that is not listening yet (as createServer()); `connectionListener` is added to
   * 'connection'. Throws on a bad option.
   */
  constructor(options: ServerOptions = {}, connectionListener?: (socket: Socket) => void) {
    super();
    validateObject(options, 'options');
    validateHandleOptions(options); // applied to the listening socket, before any association
    resolveDefaults(options); // each accepted socket's stream, PPID and PR-SCTP defaults
    if (options.maxConnections !== undefined) {
      validateInteger(options.maxConnections, 'options.maxConnections', 0, 2 ** 31 - 1);
    }
    this.maxConnections = options.maxConnections;
    this.options = options;
    if (connectionListener !== undefined) {
      validateFunction(connectionListener, 'connectionListener');
      this.on('connection', connectionListener);
    }
  }

  /**
   * listen({ host, port, backlog }, cb) or listen(port, host?, backlog?, cb?).
   * `host` may be an array: the server is then bound to all of them (one SCTP endpoint).
   */
  listen(options?: ListenOptions | number, ...rest: unknown[]): this {
    let opts: ListenOptions;
    let callback: (() => void) | undefined;
    if (typeof rest[rest.length - 1] === 'function') callback = rest.pop() as () => void;
    if (Array.isArray(options)) {
      throw invalidArgType('options', 'a port number or an object', options);
    } else if (typeof options === 'object' && options !== null) {
      opts = options;
    } else {
      opts = { port: options as number };
      if (typeof rest[0] === 'string' || Array.isArray(rest[0])) opts.host = rest.shift() as string;
      if (typeof rest[0] === 'number') opts.backlog = rest.shift() as number;
    }
    if (this.holder.handle) {
      throw codedError(
        'Listen method has been called more than once without closing.',
        'ERR_SERVER_ALREADY_LISTEN',
      );
    }
    const port = opts.port === undefined ? 0 : validatePort(opts.port, 'options.port');
    const backlog =
      opts.backlog === undefined ? 511 : validateInteger(opts.backlog, 'options.backlog', 0, 65535);
    const signal =
      opts.signal === undefined ? undefined : validateAbortSignal(opts.signal, 'options.signal');
    let hosts = opts.host === undefined ? null : validateAddresses(opts.host, 'options.host');
    if (opts.reusePort !== undefined) validateBoolean(opts.reusePort, 'options.reusePort');
    if (callback) this.once('listening', callback);

    try {
      let fd: number;
      if (hosts) {
        this.family = familyFor(hosts) === 6 ? constants.AF_INET6 : constants.AF_INET;
        fd = native.socket(this.family, constants.SOCK_STREAM);
      } else {
        // Every address: an IPv6 socket also takes IPv4 (v4-mapped) unless IPv6 is off.
        this.family = constants.AF_INET6;
        fd = native.socket(this.family, constants.SOCK_STREAM);
        if (fd === -EAFNOSUPPORT) {
          this.family = constants.AF_INET;
          fd = native.socket(this.family, constants.SOCK_STREAM);
        }
        hosts = [this.family === constants.AF_INET6 ? '::' : '0.0.0.0'];
      }
      if (fd < 0) throw systemError(fd, 'socket');
      const handle = this.holder.open(fd, this.family);
      // On the listening socket, not only the accepted ones: the kernel sets an incoming
      // association up (window from the receive buffer, streams, NODELAY) from this socket.
      applyHandleOptions(handle, this.options);
      if (opts.reusePort) setOption(handle, 'SO_REUSEPORT', { value: 1 });
      let rc = handle.bindx(hosts, port, false);
      if (rc < 0) throw systemError(rc, 'bind', { address: hosts, port });
      rc = handle.listen(backlog);
      if (rc < 0) throw systemError(rc, 'listen', { address: hosts, port });
      rc = handle.setAccepting(true);
      if (rc < 0) throw systemError(rc, 'uv_poll_start');
    } catch (err) {
      this.holder.close(false);
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    if (signal) {
      if (signal.aborted) process.nextTick(() => this.close());
      else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    this.state = 'listening';
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  private onAccept(fds: number[]): void {
    this.acceptBackoff = ACCEPT_BACKOFF_MIN_MS;
    // Every fd of the batch is wrapped even if a 'connection' listener throws (no fd is
    // leaked); the first exception is rethrown afterwards.
    let thrown: { error: unknown } | null = null;
    for (const fd of fds) {
      try {
        this.onAccepted(fd);
      } catch (error) {
        thrown ??= { error };
      }
    }
    if (thrown) throw thrown.error;
  }

  /**
   * accept() failed. Out of fds or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM), the pending
   * association stays queued and the listening socket stays readable: polling on would spin.
   * Accepting pauses instead and is retried on a timer (50 ms, doubling up to 1 s) until fds
   * are free again. The error goes to 'error' listeners, if any: a peer that connects while
   * the process is short of fds must not end it.
   */
  private onAcceptError(rc: number): void {
    const err = systemError(rc, 'accept');
    if ([EMFILE, ENFILE, ENOBUFS, ENOMEM].includes(-rc)) {
      const handle = this.holder.live();
      handle.setAccepting(false);
      this.holder.timer(this.acceptBackoff, () => this.holder.handle?.setAccepting(true));
      this.acceptBackoff = Math.min(this.acceptBackoff * 2, ACCEPT_BACKOFF_MAX_MS);
      if (this.listenerCount('error') > 0) this.emit('error', err);
      return;
    }
    this.emit('error', err);
  }

  private onAccepted(fd: number): void {
    if (!this.holder.handle) {
      native.closeFd(fd);
      return;
    }
    const socket = new Socket(this.options);
    try {
      socket.attach(fd, this.family, 'listener');
    } catch (err) {
      socket.destroy();
      this.emit('error', err);
      return;
    }
    if (this.maxConnections !== undefined && this.connections.size >= this.maxConnections) {
      const dropped: DroppedConnection = {
        localAddress: socket.localAddress,
        localPort: socket.localPort,
        remoteAddress: socket.remoteAddress,
        remotePort: socket.remotePort,
        remoteFamily: socket.remoteFamily,
      };
      socket.destroy(); // an ABORT: the association was up
      this.emit('drop', dropped);
      return;
    }
    this.connections.add(socket);
    socket.once('close', () => {
      this.connections.delete(socket);
      this.maybeClosed();
    });
    socket.acceptedUp();
    this.emit('connection', socket);
  }

  /** The first bound address (as net.Server#address()), with every bound address in `addresses`. */
  address(): ServerAddress | null {
    if (!this.holder.handle) return null;
    const addresses = readAddresses(this.holder.handle, false, 0);
    if (addresses.length === 0) return null;
    return { ...addresses[0]!, addresses };
  }

  /** Stops accepting; 'close' is emitted once every accepted socket has closed too. */
  close(callback?: (err?: Error) => void): this {
    if (callback !== undefined) validateFunction(callback, 'callback');
    if (!this.holder.handle) {
      if (callback)
        process.nextTick(callback, codedError('Server is not running.', 'ERR_SERVER_NOT_RUNNING'));
      return this;
    }
    if (callback) this.closeCallbacks.push(callback);
    this.holder.close(false);
    this.state = 'closing';
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (this.state !== 'closing' || this.connections.size > 0) return;
    this.state = 'idle';
    const callbacks = this.closeCallbacks;
    this.closeCallbacks = [];
    process.nextTick(() => {
      for (const cb of callbacks) cb();
      this.emit('close');
    });
  }

  /** Number of open accepted sockets. */
  getConnections(callback: (err: Error | null, count: number) => void): this {
    process.nextTick(callback, null, this.connections.size);
    return this;
  }

  /** Undoes unref(): the listening server keeps the process alive again (the default). */
  ref(): this {
    this.holder.ref();
    return this;
  }

  /** Lets the process exit while the server is still listening, as net.Server#unref. */
  unref(): this {
    this.holder.unref();
    return this;
  }

  /** For `await using`: close() and wait until every accepted socket has closed too. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.holder.handle) await new Promise<void>((resolve) => this.close(() => resolve()));
  }
}

/** Creates a one-to-one SCTP server, like net.createServer(). */
export function createServer(
  options?: ServerOptions | ((socket: Socket) => void),
  connectionListener?: (socket: Socket) => void,
): Server {
  if (typeof options === 'function') return new Server({}, options);
  return new Server(options ?? {}, connectionListener);
}
