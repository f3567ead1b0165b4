// One-to-one SCTP socket: a stream.Duplex in which every write is one message and every
// 'data' chunk is one message, plus what SCTP has beyond TCP (streams, PPID, unordered
// delivery, multihoming, notifications).
import { Duplex } from 'node:stream';
import {
  abortError,
  codedError,
  invalidArgType,
  socketClosed,
  systemError,
  type SystemError,
} from './errors';
import {
  applyHandleOptions,
  controlSend,
  forEachEntry,
  getOption,
  isNotificationAt,
  messageInfoAt,
  readAddresses,
  readStatus,
  resolveDefaults,
  resolveSendOptions,
  sendMany,
  sendMessage,
  setOption,
  validateHandleOptions,
  type AddressInfo,
  type HandleOptions,
  type MessageInfo,
  type ResolvedSend,
  type SendOptions,
  type Status,
} from './handle';
import { constants, EventKind, native, type NativeNotification, NativeSocket } from './native';
import { Paths } from './paths';
import {
  lostErrno,
  toNotification,
  type AssocChangeNotification,
  type Notification,
  type PeerAddrChangeNotification,
  type SendFailedNotification,
} from './notifications';
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

export type {
  AddressInfo,
  MessageInfo,
  PathInfo,
  SendOptions,
  Status,
  StreamCounts,
} from './handle';

export interface SocketOptions extends HandleOptions {
  /** Default stream for write() and send(). */
  stream?: number;
  /** Default PPID for write() and send(), host byte order. */
  ppid?: number;
  /** How long end() waits for the SHUTDOWN handshake before it aborts. Default 30000 ms. */
  shutdownTimeout?: number;
  /** Messages buffered in the readable side before reading from the kernel pauses. Default 64. */
  readableHighWaterMark?: number;
  /** Messages queued by write() before it returns false. Default 64. */
  writableHighWaterMark?: number;
}

export interface ConnectOptions extends SocketOptions {
  /** Remote address, or several for a multihomed peer. */
  host?: string | string[];
  port: number;
  /** Local address(es) to bind before connecting (multihoming). */
  localAddress?: string | string[];
  localPort?: number;
  /** Fail with ETIMEDOUT if the association is not up within this many milliseconds. */
  connectTimeout?: number;
  signal?: AbortSignal;
}

const kInfo = Symbol('kernel-sctp.messageInfo');
type Received = Buffer & { [kInfo]?: MessageInfo };

/** Messages handed over by _write/_writev that the kernel has not taken yet, in order. */
interface Pending {
  data: Buffer[];
  options: ResolvedSend[];
  /** How many of them the kernel has taken. */
  sent: number;
  callback: (err?: Error | null) => void;
}

interface QueuedMessage {
  data: Buffer;
  options: SendOptions;
}

const DEFAULT_HIGH_WATER_MARK = 64;

/** A written chunk as a message: send()'s queued object, or bytes with the defaults. */
function toMessage(chunk: unknown, encoding: BufferEncoding): QueuedMessage | null {
  if (Buffer.isBuffer(chunk)) return { data: chunk, options: {} };
  if (typeof chunk === 'string') return { data: Buffer.from(chunk, encoding), options: {} };
  if (chunk instanceof Uint8Array) {
    return { data: Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength), options: {} };
  }
  if (chunk && typeof chunk === 'object' && Buffer.isBuffer((chunk as QueuedMessage).data)) {
    return chunk as QueuedMessage;
  }
  return null;
}
export interface Socket {
  on(event: 'connect' | 'ready' | 'end' | 'close' | 'drain' | 'finish', listener: () => void): this;
  on(event: 'data', listener: (data: Buffer) => void): this;
  on(event: 'message', listener: (data: Buffer, info: MessageInfo) => void): this;
  on(event: 'notification', listener: (notification: Notification) => void): this;
  on(
    event: 'peerAddressChange',
    listener: (notification: PeerAddrChangeNotification) => void,
  ): this;
  on(event: 'sendFailed', listener: (notification: SendFailedNotification) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(
    event: 'connect' | 'ready' | 'end' | 'close' | 'drain' | 'finish',
    listener: () => void,
  ): this;
  once(event: 'data', listener: (data: Buffer) => void): this;
  once(event: 'message', listener: (data: Buffer, info: MessageInfo) => void): this;
  once(event: 'notification', listener: (notification: Notification) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

export class Socket extends Duplex {
  /** The association id the kernel gave (informational on one-to-one sockets). */
  assocId = 0;
  /** Path management: per-path state, primary path, local addresses, heartbeats. */
  readonly paths = new Paths(
    () => this.handle ?? throwClosed(),
    () => 0,
  );
  /** True while the association is being set up. */
  connecting = false;

  private handle: NativeSocket | null = null;
  /** The handle's receive info for the read batch being delivered (see INFO_STRIDE). */
  private readInfo: Uint32Array = new Uint32Array(0);
  private family = constants.AF_INET;
  private readonly defaults: { stream: number; ppid: number };
  private readonly options: SocketOptions;
  private pending: Pending | null = null;
  private readingPaused = true;
  private established = false;
  private shutdownComplete = false;
  private shutdownTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private abortCleanup: (() => void) | null = null;
  private remote: { hosts: string[]; port: number } | null = null;
  private messageWired = false;
  private unrefed = false;
  private peeled = false;
  /** Outbound streams negotiated for the association (0 until it is up). */
  private outboundStreams = 0;

  constructor(options: SocketOptions = {}) {
    super({
      allowHalfOpen: false, // SCTP has no half-close: SHUTDOWN ends both directions
      readableObjectMode: true, // one chunk per message, boundaries kept
      writableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      writableHighWaterMark: options.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    });
    validateObject(options, 'options');
    this.options = { ...options };
    this.defaults = resolveDefaults(options);
    validateHandleOptions(options);
    if (options.shutdownTimeout !== undefined) {
      validateInteger(options.shutdownTimeout, 'options.shutdownTimeout', 0, 2 ** 31 - 1);
    }
    // A 'message' listener gets the stream flowing, exactly as a 'data' listener does (and,
    // as with 'data', messages that flow while no listener is attached are not kept).
    const forward = (chunk: Received) => this.emit('message', chunk, chunk[kInfo]);
    this.on('newListener', (event: string | symbol) => {
      if (event === 'message' && !this.messageWired) {
        this.messageWired = true;
        this.on('data', forward);
      }
    });
  }

  // ---------------------------------------------------------------------------------------
  // Setup

  /** @internal Opens a socket for `hosts` and applies the socket options. */
  openFor(hosts: string[]): void {
    this.family = familyFor(hosts) === 6 ? constants.AF_INET6 : constants.AF_INET;
    const fd = native.socket(this.family, constants.SOCK_STREAM);
    if (fd < 0) throw systemError(fd, 'socket');
    this.attach(fd, this.family);
  }

  /** @internal Wraps an open fd (an accepted or peeled-off association). */
  attach(fd: number, family: number): void {
    this.family = family;
    const handle = new native.Socket(fd, family);
    this.handle = handle;
    this.readInfo = handle.readInfo();
    handle.onevent = (kind, value, bytes, extras) => this.onNativeEvent(kind, value, bytes, extras);
    if (this.unrefed) handle.unref();
    applyHandleOptions(handle, this.options);
  }

  /** @internal An accepted association: already up. */
  acceptedUp(): void {
    this.established = true;
    this.readStatusOnce();
    this.startReading();
  }

  /** @internal An association peeled off a one-to-many endpoint: already up. */
  peeledUp(assocId: number, outboundStreams: number): void {
    this.peeled = true;
    this.assocId = assocId;
    this.acceptedUp();
    this.outboundStreams ||= outboundStreams;
  }

  /** @internal A message the endpoint had read for the association before the peeloff. */
  injectMessage(data: Buffer, info: MessageInfo): void {
    (data as Received)[kInfo] = info;
    this.push(data);
  }

  /** @internal A notification the endpoint had read for the association before the peeloff. */
  injectNotification(n: Notification): void {
    this.onNotification(n);
  }

  /** Opens the association. Usually called through `connect()`. */
  connect(options: ConnectOptions, connectListener?: () => void): this {
    validateObject(options, 'options');
    const port = validatePort(options.port, 'options.port', false);
    const hosts = validateAddresses(options.host ?? '127.0.0.1', 'options.host');
    const locals =
      options.localAddress === undefined
        ? null
        : validateAddresses(options.localAddress, 'options.localAddress');
    const localPort =
      options.localPort === undefined ? 0 : validatePort(options.localPort, 'options.localPort');
    if (options.connectTimeout !== undefined) {
      validateInteger(options.connectTimeout, 'options.connectTimeout', 1, 2 ** 31 - 1);
    }
    validateHandleOptions(options);
    const signal =
      options.signal === undefined
        ? undefined
        : validateAbortSignal(options.signal, 'options.signal');
    if (connectListener !== undefined) validateFunction(connectListener, 'connectListener');
    if (this.handle || this.connecting || this.destroyed) {
      throw codedError(
        this.destroyed ? 'Socket is destroyed' : 'Socket is already connected or connecting',
        this.destroyed ? 'ERR_SOCKET_CLOSED' : 'ERR_SOCKET_CONNECTING',
      );
    }
    Object.assign(this.options, options);
    if (connectListener) this.once('connect', connectListener);
    this.connecting = true;
    this.remote = { hosts, port };

    if (signal?.aborted) {
      process.nextTick(() => this.destroy(abortError(signal)));
      return this;
    }
    try {
      this.openFor(locals ? [...hosts, ...locals] : hosts);
      const handle = this.handle!;
      if (locals || localPort) {
        const bindHosts = locals ?? [this.family === constants.AF_INET6 ? '::' : '0.0.0.0'];
        const rc = handle.bindx(bindHosts, localPort, false);
        if (rc < 0) throw systemError(rc, 'bind', { address: bindHosts, port: localPort });
      }
      const [rc, assocId] = handle.connectx(hosts, port);
      this.assocId = assocId;
      if (rc === 0) {
        process.nextTick(() => this.onConnected());
      } else if (rc !== -115 /* EINPROGRESS */) {
        throw systemError(rc, 'connect', { address: hosts, port });
      }
    } catch (err) {
      process.nextTick(() => this.destroy(err as Error));
      return this;
    }
    if (options.connectTimeout !== undefined) {
      this.connectTimer = setTimeout(() => {
        const err = systemError(-110 /* ETIMEDOUT */, 'connect', { address: hosts, port });
        this.destroy(err);
      }, options.connectTimeout);
    }
    if (signal) {
      const onAbort = () => this.destroy(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.abortCleanup = () => signal.removeEventListener('abort', onAbort);
    }
    return this;
  }

  private onConnected(): void {
    this.clearConnectWatch();
    if (this.destroyed) return;
    this.connecting = false;
    this.established = true;
    this.readStatusOnce();
    this.startReading();
    this.emit('connect');
    this.emit('ready');
  }

  private clearConnectWatch(): void {
    if (this.connectTimer) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    this.abortCleanup?.();
    this.abortCleanup = null;
  }

  /** The association id and the negotiated stream count, once the association is up. */
  private readStatusOnce(): void {
    const s = this.handle?.getOption('SCTP_STATUS', { assocId: 0 });
    if (typeof s !== 'object') return;
    this.assocId = (s.assocId as number) || this.assocId;
    this.outboundStreams = s.outboundStreams as number;
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends one message with per-message options. Returns false when the message had to be
   * queued (the kernel's send buffer is full); wait for 'drain' before sending more.
   */
  send(
    data: string | Uint8Array,
    options: SendOptions = {},
    callback?: (err?: Error | null) => void,
  ): boolean {
    if (typeof data === 'string') data = Buffer.from(data);
    else if (!(data instanceof Uint8Array)) {
      throw invalidArgType('data', 'of type string or an instance of Buffer or Uint8Array', data);
    }
    validateObject(options, 'options');
    const resolved = this.resolveSendOptions(options);
    // Fast path: nothing queued ahead of this message, so it can go to the kernel now.
    if (
      this.established &&
      this.handle &&
      !this.pending &&
      this.writableLength === 0 &&
      !this.writableEnded &&
      !this.writableCorked
    ) {
      const n = sendMessage(this.handle, data, resolved, 0);
      if (n >= 0) {
        if (callback) process.nextTick(callback, null);
        return true;
      }
      if (n !== -11 /* EAGAIN */) {
        const err = this.sendError(n, data.byteLength);
        if (callback) process.nextTick(callback, err);
        this.destroy(err);
        return false;
      }
    }
    const msg: QueuedMessage = {
      data: Buffer.isBuffer(data)
        ? data
        : Buffer.from(data.buffer, data.byteOffset, data.byteLength),
      options,
    };
    return this.write(msg, callback);
  }

  private resolveSendOptions(options: SendOptions): ResolvedSend {
    return resolveSendOptions(options, this.defaults, this.outboundStreams);
  }

  override _write(
    chunk: unknown,
    encoding: BufferEncoding,
    callback: (err?: Error | null) => void,
  ): void {
    this._writev([{ chunk, encoding }], callback);
  }

  /** Several messages queued while the kernel's buffer was full: sent in sendmmsg batches. */
  override _writev(
    chunks: { chunk: unknown; encoding: BufferEncoding }[],
    callback: (err?: Error | null) => void,
  ): void {
    const p: Pending = { data: [], options: [], sent: 0, callback };
    for (const { chunk, encoding } of chunks) {
      const message = toMessage(chunk, encoding);
      if (!message) {
        callback(
          invalidArgType('chunk', 'of type string or an instance of Buffer or Uint8Array', chunk),
        );
        return;
      }
      try {
        p.options.push(this.resolveSendOptions(message.options));
      } catch (err) {
        callback(err as Error);
        return;
      }
      p.data.push(message.data);
    }
    this.pending = p;
    if (this.established) this.flushPending();
    else this.once('connect', () => this.flushPending());
  }

  /** Hands the pending messages to the kernel until they are all sent or it is full. */
  private flushPending(): void {
    const p = this.pending;
    if (!p || !this.handle) return;
    while (p.sent < p.data.length) {
      const left = p.data.length - p.sent;
      let n: number;
      if (left === 1) {
        n = sendMessage(this.handle, p.data[p.sent]!, p.options[p.sent]!, 0);
        if (n >= 0) n = 1;
      } else {
        const from = p.sent;
        n = sendMany(
          this.handle,
          left,
          (i) => p.data[from + i]!,
          (i) => p.options[from + i]!,
          () => 0,
        );
      }
      if (n === -11 /* EAGAIN */) {
        const rc = this.handle.setWatchWritable(true); // retried on a Writable event
        if (rc < 0) this.destroy(systemError(rc, 'uv_poll_start'));
        return;
      }
      if (n < 0) {
        // One callback for the batch (Writable's _writev contract): the messages before the
        // failed one did reach the kernel, yet their write() callbacks see the error too;
        // the error ends the socket anyway.
        this.pending = null;
        p.callback(this.sendError(n, p.data[p.sent]!.length));
        return;
      }
      p.sent += n;
    }
    this.pending = null;
    p.callback(null);
  }

  private sendError(rc: number, length: number): SystemError {
    const err = systemError(rc, 'sendmsg');
    if (rc === -90 /* EMSGSIZE */) {
      const so = this.handle?.getOption('SO_SNDBUF');
      const buffer = typeof so === 'object' ? ` (${so.value} bytes)` : '';
      err.message =
        `sendmsg EMSGSIZE: a message of ${length} bytes does not fit the socket's send buffer${buffer}; ` +
        'raise the sendBufferSize option (capped by net.core.wmem_max unless the process has CAP_NET_ADMIN)';
    }
    return err;
  }

  override _final(callback: (err?: Error | null) => void): void {
    const finish = () => {
      if (!this.handle || this.shutdownComplete) return callback();
      // Graceful SHUTDOWN: the kernel delivers what is queued, then runs the handshake. A
      // peeled-off socket keeps the one-to-many style, where shutdown() does nothing and an
      // empty message with SCTP_EOF does it.
      const rc = this.peeled
        ? sendMessage(this.handle, Buffer.alloc(0), controlSend(constants.SCTP_EOF), 0)
        : this.handle.shutdown(constants.SHUT_WR);
      if (rc < 0 && rc !== -107 /* ENOTCONN */ && rc !== -32 /* EPIPE */) {
        return callback(systemError(rc, 'shutdown'));
      }
      const timeout = this.options.shutdownTimeout ?? 30000;
      if (!this.shutdownComplete && !this.readableEnded) {
        this.shutdownTimer = setTimeout(() => {
          this.destroy(
            codedError(`SCTP SHUTDOWN did not complete within ${timeout} ms; aborted`, 'ETIMEDOUT'),
          );
        }, timeout);
        this.shutdownTimer.unref?.();
      }
      callback();
    };
    if (this.connecting) this.once('connect', finish);
    else finish();
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  private startReading(): void {
    if (this.readingPaused && this.handle) {
      this.readingPaused = false;
      const rc = this.handle.setReading(true);
      if (rc < 0) this.destroy(systemError(rc, 'uv_poll_start'));
    }
  }

  override _read(): void {
    if (this.established && !this.shutdownComplete) this.startReading();
  }

  private onNativeEvent(kind: EventKind, value: unknown, bytes?: Buffer, extras?: unknown[]): void {
    switch (kind) {
      case EventKind.Read:
        return this.onBatch(value as number, bytes, extras);
      case EventKind.Writable:
        return this.flushPending();
      case EventKind.Connect: {
        const rc = value as number;
        if (rc === 0) return this.onConnected();
        this.clearConnectWatch();
        const remote = this.remote;
        return void this.destroy(
          systemError(
            rc,
            'connect',
            remote ? { address: remote.hosts, port: remote.port } : undefined,
          ),
        );
      }
      case EventKind.End:
        return this.onEnd();
      case EventKind.Error: {
        const rc = value as number;
        if (rc === -90 /* EMSGSIZE */) {
          // The peer sent more than this application accepts: like any 'error', fatal (ABORT).
          const max = this.options.maxMessageSize ?? 64 * 1024 * 1024;
          const err = systemError(rc, 'recvmsg') as SystemError;
          err.message = `recvmsg EMSGSIZE: a received message exceeds maxMessageSize (${max} bytes)`;
          return void this.destroy(err);
        }
        if (rc === -104 /* ECONNRESET */ || rc === -107 /* ENOTCONN */) {
          // After SHUTDOWN_COMPLETE a one-to-one socket reads ENOTCONN, not end-of-file.
          return this.shutdownComplete ? this.onEnd() : this.onLost();
        }
        return void this.destroy(systemError(rc, 'recvmsg'));
      }
    }
  }

  private onBatch(count: number, bytes?: Buffer, extras?: unknown[]): void {
    forEachEntry(
      this.readInfo,
      count,
      bytes,
      extras,
      () => !this.destroyed,
      (k, entry) => this.deliver(k, entry),
    );
  }

  /** One entry of a read batch: a message pushed to the readable side, or a notification. */
  private deliver(k: number, entry: unknown): void {
    if (isNotificationAt(this.readInfo, k)) {
      this.onNotification(toNotification(entry as NativeNotification));
      return;
    }
    const data = entry as Received;
    data[kInfo] = messageInfoAt(this.readInfo, k);
    if (!this.push(data) && !this.readingPaused) {
      // The reader is behind: stop taking messages from the kernel (its receive window
      // then closes and the peer slows down). _read() resumes.
      this.readingPaused = true;
      this.handle?.setReading(false);
    }
  }

  private onNotification(n: Notification): void {
    this.emit('notification', n);
    switch (n.type) {
      case 'peer_addr_change':
        this.emit('peerAddressChange', n);
        break;
      case 'send_failed':
        this.emit('sendFailed', n);
        break;
      case 'stream_change':
        if (!n.denied && !n.failed) this.outboundStreams = n.outboundStreams;
        break;
      case 'assoc_change':
        if (n.state === 'shutdown_comp') this.onEnd();
        else if (n.state === 'comm_up' || n.state === 'restart') {
          this.outboundStreams = n.outboundStreams;
        } else if (n.state === 'comm_lost' || n.state === 'cant_str_assoc') this.onLost(n);
        break;
    }
  }

  /**
   * The association failed (peer ABORT, timeout). The errno is in SO_ERROR unless a read
   * has already taken it; then the notification tells (see lostErrno).
   */
  private onLost(n?: AssocChangeNotification): void {
    if (this.destroyed) return;
    const so = this.handle?.getOption('SO_ERROR');
    const errno =
      typeof so === 'object' && (so.value as number) > 0
        ? -(so.value as number)
        : n
          ? lostErrno(n)
          : -104; /* ECONNRESET */
    const remote = this.remote;
    this.destroy(
      systemError(
        errno,
        this.established ? 'recvmsg' : 'connect',
        remote ? { address: remote.hosts, port: remote.port } : undefined,
      ),
    );
  }

  /** The association ended with a completed SHUTDOWN (either side started it). */
  private onEnd(): void {
    if (this.shutdownComplete) return;
    this.shutdownComplete = true;
    if (this.shutdownTimer) clearTimeout(this.shutdownTimer);
    this.shutdownTimer = null;
    this.handle?.setReading(false);
    this.readingPaused = true;
    this.push(null);
  }

  /**
   * Iterates over messages with their info: `for await (const { data, info } of socket.messages())`.
   * Leaving the loop early destroys the socket, as with any Node stream, unless
   * `destroyOnReturn` is false.
   */
  async *messages(options: { destroyOnReturn?: boolean } = {}): AsyncGenerator<{
    data: Buffer;
    info: MessageInfo;
  }> {
    validateObject(options, 'options');
    const destroyOnReturn =
      options.destroyOnReturn === undefined
        ? true
        : validateBoolean(options.destroyOnReturn, 'options.destroyOnReturn');
    for await (const chunk of this.iterator({ destroyOnReturn })) {
      yield { data: chunk as Buffer, info: (chunk as Received)[kInfo]! };
    }
  }

  // ---------------------------------------------------------------------------------------
  // Teardown

  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    this.clearConnectWatch();
    if (this.shutdownTimer) clearTimeout(this.shutdownTimer);
    this.shutdownTimer = null;
    const handle = this.handle;
    this.handle = null;
    if (handle) {
      // Not ended by a completed SHUTDOWN: ABORT (SO_LINGER with a zero timeout).
      if (!this.shutdownComplete) handle.setOption('SO_LINGER', { onoff: 1, linger: 0 });
      handle.onevent = undefined;
      handle.close();
    }
    this.connecting = false;
    this.established = false;
    const p = this.pending;
    this.pending = null;
    if (p) p.callback(err ?? codedError('Socket was destroyed', 'ERR_STREAM_DESTROYED'));
    callback(err);
  }

  // ---------------------------------------------------------------------------------------
  // Inspection and options

  /** All local addresses of the association (or of the bound socket). */
  localAddresses(): AddressInfo[] {
    return this.addressList(false);
  }

  /** All addresses of the peer. */
  remoteAddresses(): AddressInfo[] {
    return this.addressList(true);
  }

  private addressList(peer: boolean): AddressInfo[] {
    return readAddresses(this.handle, peer, 0);
  }

  /** The first local address, as net.Socket#address() gives it. */
  address(): AddressInfo | Record<string, never> {
    return this.localAddresses()[0] ?? {};
  }

  get remoteAddress(): string | undefined {
    return this.remoteAddresses()[0]?.address;
  }

  get remotePort(): number | undefined {
    return this.remoteAddresses()[0]?.port;
  }

  get remoteFamily(): string | undefined {
    return this.remoteAddresses()[0]?.family;
  }

  get localAddress(): string | undefined {
    return this.localAddresses()[0]?.address;
  }

  get localPort(): number | undefined {
    return this.localAddresses()[0]?.port;
  }

  /** SCTP_STATUS: association state, windows, stream counts and the primary path. */
  status(): Status {
    return readStatus(this.handle, 0);
  }

  setNoDelay(noDelay = true): this {
    this.handle?.setOption('SCTP_NODELAY', { value: noDelay ? 1 : 0 });
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

  /**
   * Reads a socket option from the kernel's table by name (e.g. 'SCTP_RTOINFO'), with
   * input fields such as assocId or address. Advanced use; see docs.
   */
  getOption(name: string, input?: Record<string, unknown>): Record<string, unknown> {
    return getOption(this.handle, name, input);
  }

  setOption(name: string, value: Record<string, unknown>): void {
    setOption(this.handle, name, value);
  }
}

/** Opens a one-to-one association, like net.connect(). */
export function connect(options: ConnectOptions, connectListener?: () => void): Socket {
  validateObject(options, 'options');
  return new Socket(options).connect(options, connectListener);
}

function throwClosed(): never {
  throw socketClosed();
}
