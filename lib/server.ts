// One-to-one SCTP server, like net.Server: listens on one or several local addresses
// (multihomed) and hands out a Socket per association.
import { EventEmitter } from 'node:events';
import { codedError, systemError } from './errors';
import { applyHandleOptions, validateHandleOptions } from './handle';
import { constants, EventKind, native, type NativeSocket } from './native';
import { Socket, type AddressInfo, type SocketOptions } from './socket';
import {
  familyFor,
  validateAbortSignal,
  validateAddresses,
  validateFunction,
  validateInteger,
  validateObject,
  validatePort,
} from './validate';

export type ServerOptions = SocketOptions;

export interface ListenOptions {
  /** Local address, or several (multihoming). Default: every address ('::', or 0.0.0.0). */
  host?: string | string[];
  port?: number;
  backlog?: number;
  signal?: AbortSignal;
}

/** net.Server#address() shape, plus every bound address. */
export interface ServerAddress extends AddressInfo {
  addresses: AddressInfo[];
}

export interface Server {
  on(event: 'connection', listener: (socket: Socket) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'connection', listener: (socket: Socket) => void): this;
  once(event: 'listening' | 'close', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class Server extends EventEmitter {
  listening = false;
  private handle: NativeSocket | null = null;
  private family = constants.AF_INET;
  private readonly options: ServerOptions;
  private readonly connections = new Set<Socket>();
  private closeCallbacks: ((err?: Error) => void)[] = [];
  private unrefed = false;
  private closing = false;

  constructor(options: ServerOptions = {}, connectionListener?: (socket: Socket) => void) {
    super();
    validateObject(options, 'options');
    validateHandleOptions(options); // applied to the listening socket, before any association
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
    if (typeof options === 'object' && options !== null) {
      opts = options;
    } else {
      opts = { port: options as number };
      if (typeof rest[0] === 'string' || Array.isArray(rest[0])) opts.host = rest.shift() as string;
      if (typeof rest[0] === 'number') opts.backlog = rest.shift() as number;
    }
    if (this.listening || this.handle) {
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
        if (fd === -97 /* EAFNOSUPPORT */) {
          this.family = constants.AF_INET;
          fd = native.socket(this.family, constants.SOCK_STREAM);
        }
        hosts = [this.family === constants.AF_INET6 ? '::' : '0.0.0.0'];
      }
      if (fd < 0) throw systemError(fd, 'socket');
      const handle = new native.Socket(fd, this.family);
      this.handle = handle;
      // On the listening socket, not only the accepted ones: the kernel sets an incoming
      // association up (window from the receive buffer, streams, NODELAY) from this socket.
      applyHandleOptions(handle, this.options);
      let rc = handle.bindx(hosts, port, false);
      if (rc < 0) throw systemError(rc, 'bind', { address: hosts, port });
      rc = handle.listen(backlog);
      if (rc < 0) throw systemError(rc, 'listen', { address: hosts, port });
      handle.onevent = (kind, value) => this.onNativeEvent(kind, value);
      rc = handle.setAccepting(true);
      if (rc < 0) throw systemError(rc, 'uv_poll_start');
      if (this.unrefed) handle.unref();
    } catch (err) {
      this.handle?.close();
      this.handle = null;
      process.nextTick(() => this.emit('error', err));
      return this;
    }
    if (signal) {
      if (signal.aborted) process.nextTick(() => this.close());
      else signal.addEventListener('abort', () => this.close(), { once: true });
    }
    this.listening = true;
    process.nextTick(() => this.emit('listening'));
    return this;
  }

  private onNativeEvent(kind: EventKind, value: unknown): void {
    if (kind === EventKind.Accept) {
      // Every fd of the batch is wrapped even if a 'connection' listener throws (no fd is
      // leaked); the first exception is rethrown afterwards.
      let thrown: { error: unknown } | null = null;
      for (const fd of value as number[]) {
        try {
          this.onAccepted(fd);
        } catch (error) {
          thrown ??= { error };
        }
      }
      if (thrown) throw thrown.error;
    } else if (kind === EventKind.Error) {
      this.emit('error', systemError(value as number, 'accept'));
    }
  }

  private onAccepted(fd: number): void {
    if (!this.handle) {
      native.closeFd(fd);
      return;
    }
    const socket = new Socket(this.options);
    try {
      socket.attach(fd, this.family);
    } catch (err) {
      socket.destroy();
      this.emit('error', err);
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
    if (!this.handle) return null;
    const list = this.handle.addresses(false, 0);
    if (typeof list === 'number') throw systemError(list, 'getsockopt');
    const addresses = list.map(
      (a) =>
        ({
          address: a.address,
          family: a.family === 'IPv6' ? 'IPv6' : 'IPv4',
          port: a.port,
        }) as AddressInfo,
    );
    if (addresses.length === 0) return null;
    return { ...addresses[0]!, addresses };
  }

  /** Stops accepting; 'close' is emitted once every accepted socket has closed too. */
  close(callback?: (err?: Error) => void): this {
    if (callback !== undefined) validateFunction(callback, 'callback');
    if (!this.handle) {
      if (callback)
        process.nextTick(callback, codedError('Server is not running.', 'ERR_SERVER_NOT_RUNNING'));
      return this;
    }
    if (callback) this.closeCallbacks.push(callback);
    const handle = this.handle;
    this.handle = null;
    handle.onevent = undefined;
    handle.close();
    this.listening = false;
    this.closing = true;
    this.maybeClosed();
    return this;
  }

  private maybeClosed(): void {
    if (!this.closing || this.handle || this.connections.size > 0) return;
    this.closing = false;
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

  ref(): this {
    this.unrefed = false;
    this.handle?.ref();
    return this;
  }

  unref(): this {
    this.unrefed = true;
    this.handle?.unref();
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.handle) await new Promise<void>((resolve) => this.close(() => resolve()));
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
