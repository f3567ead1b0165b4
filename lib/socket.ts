// One-to-one SCTP socket: a stream.Duplex in which every write is one message and every
// 'data' chunk is one message, plus what SCTP has beyond TCP (streams, PPID, unordered
// delivery, multihoming, notifications).
import os from 'node:os';
import { Duplex } from 'node:stream';
import { readNegotiated, type NegotiatedFeature, type SchedulerName } from './capabilities';
import { abortError, codedError, socketClosed, systemError } from './errors';
import {
  applyHandleOptions,
  controlSend,
  Entry,
  entryAt,
  forEachEntry,
  getOption,
  messageInfoAt,
  readAddresses,
  getStreamSchedulerValue,
  readAbandoned,
  readAssociationStats,
  readScheduler,
  reservedSettings,
  readStatus,
  setScheduler,
  setStreamSchedulerValue,
  resolveDefaults,
  resolveSendOptions,
  sendMessage,
  setOption,
  toPayload,
  tooLargeError,
  updateDefaults,
  validateHandleOptions,
  type AddressInfo,
  type HandleOptions,
  type MessageInfo,
  type ResolvedSend,
  type SendOptions,
  type Status,
  type Abandoned,
  type AssociationStats,
  type PartialReliability,
  type SendDefaults,
  type SendDefaultsChange,
} from './handle';
import {
  changeSettings,
  readSettings,
  type SettingsTarget,
  type SocketSettings,
  type SocketSettingsChange,
} from './settings';
import { AuthKeys } from './auth';
import { Holder } from './holder';
import { constants, native, type NativeNotification, type NativeSocket } from './native';
import { Paths } from './paths';
import {
  emitNotification,
  lostErrno,
  LOST_WITHOUT_CAUSE,
  toNotification,
  type AssocChangeNotification,
  type AssocResetNotification,
  type Notification,
  type PeerAddrChangeNotification,
  type SendFailedNotification,
  type StreamChangeNotification,
  type AdaptationIndicationNotification,
  type AuthenticationNotification,
  type ShutdownNotification,
  type StreamResetNotification,
} from './notifications';
import {
  Reconfiguration,
  type AddStreamsOptions,
  type ResetStreamsOptions,
  type StreamCountsAfter,
} from './reconfig';
import { SendQueue, sendError, type QueuedSend, type SendCallback } from './send-queue';
import {
  familyFor,
  validateAbortSignal,
  validateAddresses,
  validateBoolean,
  validateDelay,
  validateFunction,
  validateInteger,
  validateObject,
  validatePort,
} from './validate';

export type {
  Abandoned,
  AbandonedCount,
  AddressInfo,
  MessageInfo,
  PartialReliability,
  PathInfo,
  PrPolicy,
  SendOptions,
  Status,
  StreamCounts,
} from './handle';

/**
 * Options of a one-to-one Socket (new Socket(), connect(), and createServer() for the sockets
 * it accepts): send defaults and stream buffering here, the kernel options and settings
 * below. Each is checked when given: a bad value throws ERR_INVALID_ARG_TYPE,
 * ERR_INVALID_ARG_VALUE or ERR_OUT_OF_RANGE.
 */
export interface SocketOptions extends HandleOptions {
  /** Default stream for write() and send(). */
  stream?: number;
  /** Default PPID for write() and send(), host byte order. */
  ppid?: number;
  /** Default PR-SCTP policy for write() and send() (none: every message fully reliable). */
  pr?: PartialReliability;
  /** How long end() waits for the SHUTDOWN handshake before it aborts. Default 30000 ms. */
  shutdownTimeout?: number;
  /** Messages buffered in the readable side before reading from the kernel pauses. Default 64. */
  readableHighWaterMark?: number;
  /** Messages queued by write() before it returns false. Default 64. */
  writableHighWaterMark?: number;
}

/**
 * What connect() takes: the peer, the local binding and the connect timeout, with every socket
 * option.
 */
export interface ConnectOptions extends SocketOptions {
  /**
   * Remote address, or several for a multihomed peer. Numeric IPv4/IPv6 addresses (or
   * 'localhost'); no DNS lookup is made. Default '127.0.0.1'.
   */
  host?: string | string[];
  /** The peer's SCTP port, 1 .. 65535. */
  port: number;
  /** Local address(es) to bind before connecting (multihoming). */
  localAddress?: string | string[];
  /** Local port to bind before connecting, 0 .. 65535. Default 0: the kernel picks one. */
  localPort?: number;
  /**
   * Let other one-to-one sockets that set it too bind the same local port (SCTP_REUSE_PORT,
   * RFC 6458 8.1.27): several associations from one fixed port, as SIGTRAN peers make.
   * (On a listening server or an endpoint, `reusePort` is SO_REUSEPORT instead: several
   * listeners share a port.)
   */
  reusePort?: boolean;
  /** Fail with ETIMEDOUT if the association is not up within this many milliseconds. */
  connectTimeout?: number;
  /** Aborting it destroys the socket with an AbortError (code ABORT_ERR) while it connects. */
  signal?: AbortSignal;
}

const kInfo = Symbol('kernel-sctp.messageInfo');
type Received = Buffer & { [kInfo]?: MessageInfo };

/** A message from send(), with its options, on its way through Writable's queue. */
class QueuedMessage {
  constructor(
    readonly data: Buffer,
    readonly options: SendOptions,
  ) {}
}

const { EAGAIN, ECONNRESET, EINPROGRESS, ENOTCONN, EPIPE, ETIMEDOUT } = os.constants.errno;
/** send()'s options when none are given: their resolution is worked out once. */
const NO_OPTIONS: SendOptions = Object.freeze({});
const DEFAULT_HIGH_WATER_MARK = 64;

/**
 * new → connecting → open → ending (end(): our SHUTDOWN is on its way) → ended (the
 * SHUTDOWN handshake completed, either side started it) ; any → destroyed. An accepted or
 * peeled-off socket starts open.
 */
type Phase = 'new' | 'connecting' | 'open' | 'ending' | 'ended' | 'destroyed';

/** A written chunk as a message: strings decoded, anything else refused (toPayload). */
function toMessage(chunk: unknown, encoding: unknown): QueuedMessage {
  if (chunk instanceof QueuedMessage) return chunk;
  const decoded =
    typeof chunk === 'string'
      ? Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
      : chunk;
  return new QueuedMessage(toPayload(decoded, 'chunk'), NO_OPTIONS);
}

export interface Socket {
  /**
   * 'connect' and 'ready': the association is up. 'end': the SHUTDOWN handshake completed
   * and every message was read. 'finish': end() was called and every message went to the
   * kernel. 'drain': after write() or send() returned false, the queue has emptied. 'close':
   * the socket is closed (after 'error', if there was one).
   */
  on(event: 'connect' | 'ready' | 'end' | 'close' | 'drain' | 'finish', listener: () => void): this;
  /** The socket was idle for the time setTimeout() set; it stays open. */
  on(event: 'timeout', listener: () => void): this;
  /** One whole received message, as any Readable delivers it ('message' adds its info). */
  on(event: 'data', listener: (data: Buffer) => void): this;
  /**
   * One whole received message with its stream, PPID and other receive info. A 'message'
   * listener starts the flow of messages as a 'data' listener does.
   */
  on(event: 'message', listener: (data: Buffer, info: MessageInfo) => void): this;
  /**
   * Every SCTP notification about the association (RFC 6458 section 6.1), before its typed event.
   */
  on(event: 'notification', listener: (notification: Notification) => void): this;
  /**
   * A path to the peer changed state: available, unreachable, added, removed, ...
   * (SCTP_PEER_ADDR_CHANGE).
   */
  on(
    event: 'peerAddressChange',
    listener: (notification: PeerAddrChangeNotification) => void,
  ): this;
  /**
   * The kernel gave up on a message (SCTP_SEND_FAILED_EVENT): PR-SCTP abandoned it, or the
   * association ended with it undelivered.
   */
  on(event: 'sendFailed', listener: (notification: SendFailedNotification) => void): this;
  /**
   * The peer restarted the association (SCTP_ASSOC_CHANGE, SCTP_RESTART): the same
   * association with new stream counts; messages in flight may have been lost.
   */
  on(event: 'restart', listener: (notification: AssocChangeNotification) => void): this;
  /**
   * Stream sequence numbers were reset by either side, or a reset was refused
   * (SCTP_STREAM_RESET_EVENT).
   */
  on(event: 'streamReset', listener: (notification: StreamResetNotification) => void): this;
  /** The association's TSNs were reset, or the reset was refused (SCTP_ASSOC_RESET_EVENT). */
  on(event: 'associationReset', listener: (notification: AssocResetNotification) => void): this;
  /**
   * Streams were added, or adding them was refused (SCTP_STREAM_CHANGE_EVENT);
   * outboundStreams and inboundStreams hold the new totals already.
   */
  on(event: 'streamChange', listener: (notification: StreamChangeNotification) => void): this;
  /**
   * The peer's adaptation layer indication, from its INIT or INIT ACK (SCTP_ADAPTATION_INDICATION).
   */
  on(
    event: 'adaptationIndication',
    listener: (notification: AdaptationIndicationNotification) => void,
  ): this;
  /** The peer started a graceful SHUTDOWN (SCTP_SHUTDOWN_EVENT): it sends no more messages. */
  on(event: 'shutdown', listener: (notification: ShutdownNotification) => void): this;
  /**
   * AUTH (RFC 4895): the peer's key changed, or a key may now be deleted, or the peer does
   * not support AUTH (SCTP_AUTHENTICATION_EVENT).
   */
  on(event: 'authentication', listener: (notification: AuthenticationNotification) => void): this;
  /**
   * A fatal error: the peer aborted (ECONNRESET), it stopped answering (ETIMEDOUT), a
   * received message was too large (EMSGSIZE), the send queue stalled (ERR_SCTP_STALLED), a
   * send without a callback failed; 'close' follows.
   */
  on(event: 'error', listener: (err: Error) => void): this;
  /** Any other event, as on every EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  /** Once: 'connect', 'ready', 'end', 'close', 'drain', 'finish' or 'timeout' (see on()). */
  once(
    event: 'connect' | 'ready' | 'end' | 'close' | 'drain' | 'finish' | 'timeout',
    listener: () => void,
  ): this;
  /** Once: the peer's SHUTDOWN (see on('shutdown')). */
  once(event: 'shutdown', listener: (notification: ShutdownNotification) => void): this;
  /** Once: the next received message. */
  once(event: 'data', listener: (data: Buffer) => void): this;
  /** Once: the next received message with its receive info. */
  once(event: 'message', listener: (data: Buffer, info: MessageInfo) => void): this;
  /** Once: the next SCTP notification about the association. */
  once(event: 'notification', listener: (notification: Notification) => void): this;
  /** Once: the fatal error, if one comes (see on('error')). */
  once(event: 'error', listener: (err: Error) => void): this;
  /** Once: any other event, as on every EventEmitter. */
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * A one-to-one SCTP socket, as a Duplex stream in object mode: each write() or send() is one
 * message, and each 'data' chunk one whole received message, with what SCTP has beyond TCP
 * (streams, PPIDs, unordered delivery, PR-SCTP, multihoming, notifications). Made by
 * connect(), by a Server for each association it accepts, and by Association#peeloff().
 */
export class Socket extends Duplex {
  /** The association id the kernel gave (informational on one-to-one sockets). */
  assocId = 0;
  /** Path management: per-path state, primary path, local addresses, heartbeats. */
  readonly paths = new Paths(
    () => this.holder.live(),
    () => 0,
  );
  /** AUTH's shared keys (see SocketOptions.auth). */
  readonly auth = new AuthKeys(
    () => this.holder.handle,
    () => 0,
  );
  /** Streams negotiated for the association (0 until it is up). */
  outboundStreams = 0;
  /**
   * Inbound streams negotiated: the peer sends on streams 0 .. inboundStreams - 1 (0 until it is
   * up).
   */
  inboundStreams = 0;
  /** Payload bytes of the messages received so far, as net.Socket#bytesRead. */
  bytesRead = 0;
  /** Payload bytes of the messages the kernel has taken so far, as net.Socket#bytesWritten. */
  bytesWritten = 0;

  private phase: Phase = 'new';
  /**
   * setTimeout()'s idle timeout: its length (ms), when traffic last moved, and the timer (null
   * once it fired, or on a destroyed socket).
   */
  private idle: { ms: number; last: number; timer: NodeJS.Timeout | null } | null = null;
  private readonly holder = new Holder({
    read: (count, pool, offset, extras) => {
      if (this.idle) this.touch();
      forEachEntry(count, pool, offset, extras, this.alive, this.deliverEntry);
    },
    writable: () => this.flushQueue(),
    connect: (rc) => this.onConnectOutcome(rc),
    end: () => this.onEnd(),
    error: (rc) => this.onReadError(rc),
  });
  private family = constants.AF_INET;
  private defaults: SendDefaults;
  private readonly options: SocketOptions;
  /** Messages handed over by _write/_writev that the kernel has not taken yet. */
  private readonly queue = new SendQueue((item, err) => this.settle(item, err));
  /** Reading from the kernel stopped: the readable side is full (resumed by _read). */
  private readingPaused = true;
  private shutdownTimer: NodeJS.Timeout | null = null;
  private connectTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private abortCleanup: (() => void) | null = null;
  private remote: { hosts: string[]; port: number } | null = null;
  private messageWired = false;
  /** Peeled off a one-to-many socket: it keeps that style's SHUTDOWN (an SCTP_EOF message). */
  private peeled = false;
  /** send() without options: its resolved parameters, and the stream count they were checked against. */
  private defaultSend: { outboundStreams: number; send: ResolvedSend } | null = null;
  /** Stream reconfiguration requests (made on first use). */
  private reconfig: Reconfiguration | null = null;
  /** The read batch callbacks, made once (a batch can come for every message). */
  private readonly alive = () => !this.destroyed;
  private readonly deliverEntry = (k: number, entry: unknown) => this.deliver(k, entry);

  /**
   * Makes a socket that is not connected yet: socket.connect() opens the association (the
   * connect() function does both at once). Throws on a bad option.
   */
  constructor(options: SocketOptions = {}) {
    validateObject(options, 'options');
    super({
      allowHalfOpen: false, // SCTP has no half-close: SHUTDOWN ends both directions
      readableObjectMode: true, // one chunk per message, boundaries kept
      writableObjectMode: true,
      readableHighWaterMark: options.readableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK,
      writableHighWaterMark: options.writableHighWaterMark ?? DEFAULT_HIGH_WATER_MARK,
    });
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

  /** True while the association is being set up (as net.Socket#connecting). */
  get connecting(): boolean {
    return this.phase === 'connecting';
  }

  /** True until the association is up: before connect() and while connecting (as net.Socket#pending). */
  get pending(): boolean {
    return this.phase === 'new' || this.phase === 'connecting';
  }

  /**
   * As net.Socket#readyState: 'opening' while connecting, 'open' once up, 'readOnly' after
   * end() (what the peer had in flight still arrives), 'closed' before connect() and once
   * ended or destroyed. Never 'writeOnly': SCTP has no half-close, a peer's SHUTDOWN ends
   * sending too.
   */
  get readyState(): 'opening' | 'open' | 'readOnly' | 'writeOnly' | 'closed' {
    if (this.phase === 'connecting') return 'opening';
    if (this.phase !== 'open' && this.phase !== 'ending') return 'closed';
    return this.writableEnded ? 'readOnly' : 'open';
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

  /**
   * @internal Wraps an open fd (an accepted or peeled-off association). `from: 'listener'`:
   * accepted from a listener configured with this socket's options (see applyHandleOptions).
   */
  attach(fd: number, family: number, from: 'options' | 'listener' = 'options'): void {
    this.family = family;
    applyHandleOptions(this.holder.open(fd, family), this.options, from);
  }

  /** @internal The native handle (for the endpoint's peeloff). */
  nativeHandle(): NativeSocket | null {
    return this.holder.handle;
  }

  /** @internal An accepted association: already up. */
  acceptedUp(): void {
    this.phase = 'open';
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

  /** @internal The peeled-off association's reconfiguration requests go on here. */
  adoptReconfiguration(reconfig: Reconfiguration): void {
    reconfig.rehost(this.reconfigurationHost());
    this.reconfig = reconfig;
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
    if (options.reusePort !== undefined) validateBoolean(options.reusePort, 'options.reusePort');
    const signal =
      options.signal === undefined
        ? undefined
        : validateAbortSignal(options.signal, 'options.signal');
    if (connectListener !== undefined) validateFunction(connectListener, 'connectListener');
    if (this.phase !== 'new' || this.destroyed) {
      const destroyed = this.destroyed || this.phase === 'destroyed';
      throw codedError(
        destroyed ? 'Socket is destroyed' : 'Socket is already connected or connecting',
        destroyed ? 'ERR_SOCKET_CLOSED' : 'ERR_SOCKET_CONNECTING',
      );
    }
    Object.assign(this.options, options);
    if (connectListener) this.once('connect', connectListener);
    this.phase = 'connecting';
    this.remote = { hosts, port };

    if (signal?.aborted) {
      process.nextTick(() => this.destroy(abortError(signal)));
      return this;
    }
    try {
      this.openFor(locals ? [...hosts, ...locals] : hosts);
      const handle = this.holder.live();
      if (options.reusePort) setOption(handle, 'SCTP_REUSE_PORT', { value: 1 });
      if (locals || localPort) {
        const bindHosts = locals ?? [this.family === constants.AF_INET6 ? '::' : '0.0.0.0'];
        const rc = handle.bindx(bindHosts, localPort, false);
        if (rc < 0) throw systemError(rc, 'bind', { address: bindHosts, port: localPort });
      }
      const [rc, assocId] = handle.connectx(hosts, port);
      this.assocId = assocId;
      if (rc === 0) {
        process.nextTick(() => this.onConnected());
      } else if (rc !== -EINPROGRESS) {
        throw systemError(rc, 'connect', { address: hosts, port });
      }
    } catch (err) {
      process.nextTick(() => this.destroy(err as Error));
      return this;
    }
    if (options.connectTimeout !== undefined) {
      this.connectTimer = this.holder.timer(options.connectTimeout, () => {
        this.destroy(systemError(-ETIMEDOUT, 'connect', { address: hosts, port }));
      });
    }
    if (signal) {
      const onAbort = () => this.destroy(abortError(signal));
      signal.addEventListener('abort', onAbort, { once: true });
      this.abortCleanup = () => signal.removeEventListener('abort', onAbort);
    }
    return this;
  }

  private onConnectOutcome(rc: number): void {
    if (rc === 0) return this.onConnected();
    this.clearConnectWatch();
    const remote = this.remote;
    this.destroy(
      systemError(rc, 'connect', remote ? { address: remote.hosts, port: remote.port } : undefined),
    );
  }

  private onConnected(): void {
    this.clearConnectWatch();
    if (this.destroyed || this.phase !== 'connecting') return;
    this.phase = 'open';
    this.readStatusOnce();
    this.startReading();
    this.emit('connect');
    this.emit('ready');
    this.flushQueue(); // what was written while connecting
  }

  private clearConnectWatch(): void {
    this.connectTimer = this.holder.clearTimer(this.connectTimer);
    this.abortCleanup?.();
    this.abortCleanup = null;
  }

  /** The association id and the negotiated stream counts, once the association is up. */
  private readStatusOnce(): void {
    const counts = this.holder.handle?.streamCounts();
    if (typeof counts !== 'object') return;
    this.assocId = counts[0] || this.assocId;
    this.outboundStreams = counts[1];
    this.inboundStreams = counts[2];
  }

  /** The association is up and may be written to. */
  private get writableNow(): boolean {
    return this.phase === 'open' || this.phase === 'ending';
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends one message with per-message options. Returns false when the message had to be
   * queued (the kernel's send buffer is full); wait for 'drain' before sending more.
   */
  send(
    data: string | Uint8Array,
    options: SendOptions = NO_OPTIONS,
    callback?: SendCallback,
  ): boolean {
    const payload = toPayload(data);
    if (options !== NO_OPTIONS) validateObject(options, 'options');
    if (callback !== undefined) validateFunction(callback, 'callback');
    const send = this.resolveSendOptions(options);
    const handle = this.holder.handle;
    // Fast path: nothing queued ahead of this message, so it can go to the kernel now.
    if (
      this.phase === 'open' &&
      handle &&
      this.queue.length === 0 &&
      this.writableLength === 0 &&
      !this.writableEnded &&
      !this.writableCorked
    ) {
      const n = sendMessage(handle, payload, send, 0);
      if (n >= 0) {
        if (callback) process.nextTick(callback, null);
        return true;
      }
      if (n !== -EAGAIN) {
        const err = sendError(n, { data: payload, send, assocId: 0 }, handle);
        if (callback) process.nextTick(callback, err);
        this.destroy(err);
        return false;
      }
    }
    return this.write(new QueuedMessage(payload, options), callback);
  }

  /**
   * A chunk becomes a message here, so that one that is not a message (not a string or
   * bytes, or empty once decoded) is refused at once, as net.Socket does: the stream is in
   * object mode (for send()'s messages), and an error in _write would destroy the socket.
   */
  override write(chunk: unknown, encoding?: unknown, callback?: unknown): boolean {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    return super.write(toMessage(chunk, encoding), callback as SendCallback);
  }

  /** end(chunk) writes its chunk through the same check (Writable's end skips write()). */
  override end(chunk?: unknown, encoding?: unknown, callback?: unknown): this {
    if (typeof chunk === 'function') return super.end(chunk as () => void);
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined];
    if (chunk === undefined || chunk === null) return super.end(callback as () => void);
    return super.end(toMessage(chunk, encoding), callback as () => void);
  }

  private resolveSendOptions(options: SendOptions): ResolvedSend {
    if (options !== NO_OPTIONS) {
      return resolveSendOptions(options, this.defaults, this.outboundStreams);
    }
    const cached = this.defaultSend;
    if (cached && cached.outboundStreams === this.outboundStreams) return cached.send;
    const send = resolveSendOptions(options, this.defaults, this.outboundStreams);
    this.defaultSend = { outboundStreams: this.outboundStreams, send };
    return send;
  }

  /** @internal Writable's hook: queues one written message for the kernel. */
  override _write(chunk: unknown, encoding: BufferEncoding, callback: SendCallback): void {
    // _writev's work for one message, without its arrays (this runs for every send()).
    let item: QueuedSend;
    try {
      item = this.queuedSend(chunk, encoding, callback);
    } catch (err) {
      callback(err as Error);
      return;
    }
    this.queue.push(item);
    if (this.writableNow) this.flushQueue();
  }

  /**
   * @internal Several messages queued while the kernel's buffer was full: sent in sendmmsg batches.
   * One callback for the batch (Writable's _writev contract): it goes with the last message.
   */
  override _writev(
    chunks: { chunk: unknown; encoding: BufferEncoding }[],
    callback: SendCallback,
  ): void {
    let items: QueuedSend[];
    try {
      items = chunks.map(({ chunk, encoding }, i) =>
        this.queuedSend(chunk, encoding, i === chunks.length - 1 ? callback : undefined),
      );
    } catch (err) {
      callback(err as Error);
      return;
    }
    for (const item of items) this.queue.push(item);
    if (this.writableNow) this.flushQueue();
  }

  /** A written chunk as a queued message; throws what toMessage or the options refuse. */
  private queuedSend(
    chunk: unknown,
    encoding: BufferEncoding,
    callback?: SendCallback,
  ): QueuedSend {
    const { data, options } = toMessage(chunk, encoding);
    return { data, send: this.resolveSendOptions(options), assocId: 0, callback };
  }

  /** Hands the queued messages to the kernel until they are all sent or it is full. */
  private flushQueue(): void {
    const handle = this.holder.handle;
    if (!handle || !this.writableNow || this.queue.length === 0) return;
    const written = this.bytesWritten;
    this.queue.flush(handle);
    if (this.idle && this.bytesWritten !== written) this.touch(); // once per batch, not per message
    // Not flush()'s answer: a write callback it settled may have queued (and flushed) more.
    if (this.queue.length === 0 || !this.holder.handle) {
      this.stallTimer = this.holder.clearTimer(this.stallTimer);
      return;
    }
    const rc = handle.setWatchWritable(true); // retried on a Writable event
    if (rc < 0) return void this.destroy(systemError(rc, 'uv_poll_start'));
    const stall = this.options.stallTimeout;
    if (stall && !this.stallTimer)
      this.stallTimer = this.holder.timer(stall, () => this.checkStall());
  }

  /** The stall guard: a queue the kernel has taken nothing of for stallTimeout ends the socket. */
  private checkStall(): void {
    this.stallTimer = null;
    if (this.queue.length === 0) return;
    const limit = this.options.stallTimeout!;
    const waited = Date.now() - this.queue.movedAt;
    if (waited < limit) {
      this.stallTimer = this.holder.timer(limit - waited, () => this.checkStall());
      return;
    }
    this.destroy(
      codedError(
        `the kernel took none of the ${this.queue.length} queued messages for ${limit} ms (the peer is not reading); aborted`,
        'ERR_SCTP_STALLED',
      ),
    );
  }

  /** A queued message went to the kernel or failed: the error ends the socket. */
  private settle(item: QueuedSend, err: Error | null): void {
    if (!err) this.bytesWritten += item.data.length;
    if (item.callback) item.callback(err);
    else if (err && !this.destroyed) this.destroy(err);
  }

  /** @internal Writable's hook for end(): starts the graceful SHUTDOWN once the queue is sent. */
  override _final(callback: SendCallback): void {
    const finish = () => {
      const handle = this.holder.handle;
      if (!handle || this.phase === 'ended') return callback();
      // Graceful SHUTDOWN: the kernel delivers what is queued, then runs the handshake. A
      // peeled-off socket keeps the one-to-many style, where shutdown() does nothing and an
      // empty message with SCTP_EOF does it.
      const rc = this.peeled
        ? sendMessage(handle, Buffer.alloc(0), controlSend(constants.SCTP_EOF), 0)
        : handle.shutdown(constants.SHUT_WR);
      if (rc < 0 && rc !== -ENOTCONN && rc !== -EPIPE) {
        return callback(systemError(rc, 'shutdown'));
      }
      this.phase = 'ending';
      // The handshake's end (SHUTDOWN_COMPLETE, or end of file) is read like data: reading
      // goes on even if the application stopped consuming.
      this.startReading();
      const timeout = this.options.shutdownTimeout ?? 30000;
      if (!this.readableEnded) {
        // Like net.Socket's end(): a pending shutdown does not keep the process alive.
        this.shutdownTimer = this.holder.timer(
          timeout,
          () =>
            this.destroy(
              codedError(
                `SCTP SHUTDOWN did not complete within ${timeout} ms; aborted`,
                'ETIMEDOUT',
              ),
            ),
          false,
        );
      }
      callback();
    };
    if (this.phase === 'connecting') this.once('connect', finish);
    else finish();
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  private startReading(): void {
    const handle = this.holder.handle;
    if (this.readingPaused && handle) {
      this.readingPaused = false;
      const rc = handle.setReading(true);
      if (rc < 0) this.destroy(systemError(rc, 'uv_poll_start'));
    }
  }

  /** @internal Readable's hook: reading from the kernel resumes. */
  override _read(): void {
    if (this.phase === 'open' || this.phase === 'ending') this.startReading();
  }

  private onReadError(rc: number): void {
    if (rc === -ECONNRESET || rc === -ENOTCONN) {
      // After SHUTDOWN_COMPLETE a one-to-one socket reads ENOTCONN, not end-of-file.
      return this.phase === 'ended' ? this.onEnd() : this.onLost();
    }
    this.destroy(systemError(rc, 'recvmsg'));
  }

  /** One entry of a read batch: a message pushed to the readable side, or a notification. */
  private deliver(k: number, entry: unknown): void {
    switch (entryAt(k)) {
      case Entry.Notification:
        return this.onNotification(toNotification(entry as NativeNotification));
      case Entry.TooLarge:
        return this.injectTooLarge();
      case Entry.Message:
        break;
    }
    const data = entry as Received;
    this.bytesRead += data.length;
    if (this.flowingAndEmpty()) {
      // What push() would do is emit 'data' at once; doing it directly spares the read-more
      // tick the stream schedules after each push (one tick for every batch read). Only a
      // 'message' listener reads the info of a message that is not buffered.
      if (this.messageWired) data[kInfo] = messageInfoAt(k);
      this.emit('data', data);
      return;
    }
    data[kInfo] = messageInfoAt(k); // for whoever reads it from the buffer
    if (!this.push(data) && !this.readingPaused && this.phase === 'open') {
      // The reader is behind: stop taking messages from the kernel (its receive window
      // then closes and the peer slows down). _read() resumes.
      this.readingPaused = true;
      this.holder.handle?.setReading(false);
    }
  }

  /**
   * Flowing, with nothing buffered and someone listening to 'data'. After the first message,
   * which push() delivers (so that readableDidRead says so).
   */
  private flowingAndEmpty(): boolean {
    return (
      this.readableFlowing === true &&
      this.readableLength === 0 &&
      this.readableDidRead &&
      this.listenerCount('data') > 0
    );
  }

  /** @internal The peer sent more than this application accepts: like any 'error', fatal (ABORT). */
  injectTooLarge(): void {
    this.destroy(tooLargeError(this.options.maxMessageSize));
  }

  private onNotification(n: Notification): void {
    emitNotification(this, n);
    this.reconfig?.notified(n);
    if (n.type !== 'assoc_change') return;
    if (n.state === 'shutdown_comp') this.onEnd();
    else if (n.state === 'comm_lost' || n.state === 'cant_str_assoc') this.onLost(n);
  }

  /**
   * The association failed (peer ABORT, timeout). The errno is in SO_ERROR unless a read
   * has already taken it; then the notification tells (see lostErrno).
   */
  private onLost(n?: AssocChangeNotification): void {
    if (this.destroyed) return;
    const so = this.holder.handle?.getOption('SO_ERROR');
    const fromKernel = typeof so === 'object' && (so.value as number) > 0;
    const errno = fromKernel ? -(so.value as number) : n ? lostErrno(n) : -ECONNRESET;
    const remote = this.remote;
    const err = systemError(
      errno,
      this.phase === 'connecting' ? 'connect' : 'recvmsg',
      remote ? { address: remote.hosts, port: remote.port } : undefined,
    );
    // Only a guess from the notification is ambiguous; SO_ERROR knows an ABORT from a timeout.
    if (errno === -ETIMEDOUT && !fromKernel && n && this.phase !== 'connecting') {
      err.message += `: ${LOST_WITHOUT_CAUSE}`;
    }
    this.destroy(err);
  }

  /** The association ended with a completed SHUTDOWN (either side started it). */
  private onEnd(): void {
    if (this.phase === 'ended' || this.phase === 'destroyed') return;
    this.phase = 'ended';
    this.shutdownTimer = this.holder.clearTimer(this.shutdownTimer);
    this.holder.handle?.setReading(false);
    this.readingPaused = true;
    this.reconfig?.end(codedError('Socket has ended (SHUTDOWN)', 'ERR_SOCKET_CLOSED'));
    this.push(null);
  }

  /**
   * Iterates over messages with their info: `for await (const { data, info } of socket.messages())`.
   * Leaving the loop early destroys the socket, as with any Node stream, unless
   * `destroyOnReturn` is false.
   */
  async *messages(options: { destroyOnReturn?: boolean } = {}): AsyncGenerator<{
    /** One whole received message. */
    data: Buffer;
    /** Its stream, PPID and other receive info. */
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

  /** @internal Readable's and Writable's hook for destroy(): ABORTs unless SHUTDOWN completed. */
  override _destroy(err: Error | null, callback: (err: Error | null) => void): void {
    this.clearConnectWatch();
    // Not ended by a completed SHUTDOWN: ABORT (SO_LINGER with a zero timeout).
    this.holder.close(this.phase !== 'ended');
    this.shutdownTimer = this.stallTimer = null;
    this.phase = 'destroyed';
    const reason = () => err ?? codedError('Socket was destroyed', 'ERR_STREAM_DESTROYED');
    this.queue.clear(reason);
    this.reconfig?.end(reason());
    callback(err);
  }

  // ---------------------------------------------------------------------------------------
  // Inspection and options

  /** All local addresses of the association (or of the bound socket). */
  localAddresses(): AddressInfo[] {
    return readAddresses(this.holder.handle, false, 0);
  }

  /** All addresses of the peer. */
  remoteAddresses(): AddressInfo[] {
    return readAddresses(this.holder.handle, true, 0);
  }

  /** The first local address, as net.Socket#address() gives it. */
  address(): AddressInfo | Record<string, never> {
    return this.localAddresses()[0] ?? {};
  }

  /**
   * The peer's first address (remoteAddresses()[0]), as net.Socket#remoteAddress; undefined while
   * not connected.
   */
  get remoteAddress(): string | undefined {
    return this.remoteAddresses()[0]?.address;
  }

  /** The peer's SCTP port; undefined while not connected. */
  get remotePort(): number | undefined {
    return this.remoteAddresses()[0]?.port;
  }

  /** 'IPv4' or 'IPv6', the family of remoteAddress; undefined while not connected. */
  get remoteFamily(): string | undefined {
    return this.remoteAddresses()[0]?.family;
  }

  /**
   * The first local address (localAddresses()[0]); undefined before the socket is bound or
   * connected.
   */
  get localAddress(): string | undefined {
    return this.localAddresses()[0]?.address;
  }

  /** The local SCTP port; undefined before the socket is bound or connected. */
  get localPort(): number | undefined {
    return this.localAddresses()[0]?.port;
  }

  /** 'IPv4' or 'IPv6', the family of localAddress; undefined before the socket is bound or connected. */
  get localFamily(): string | undefined {
    return this.localAddresses()[0]?.family;
  }

  /** SCTP_STATUS: association state, windows, stream counts and the primary path. */
  status(): Status {
    return readStatus(this.holder.handle, 0);
  }

  /**
   * PR-SCTP: the messages the kernel abandoned, of the association or of one outbound
   * `stream`, in all and per policy.
   */
  abandoned(stream?: number): Abandoned {
    return readAbandoned(this.holder.handle, 0, stream);
  }

  /**
   * The extensions this association uses, as the peers agreed in INIT and INIT ACK (before
   * it is up: what this side will offer): { prSctp, streamReconfiguration, interleaving,
   * auth, asconf, ecn }.
   */
  negotiated(): Record<NegotiatedFeature, boolean> {
    return readNegotiated(this.holder.live(), 0);
  }

  /** The association's counters: packets, SACKs, chunks, retransmissions (SCTP_GET_ASSOC_STATS). */
  stats(): AssociationStats {
    return readAssociationStats(this.holder.handle, 0);
  }

  /** The settings in force (see Settings); ecn, asconf and prSctp are in negotiated(). */
  settings(): SocketSettings {
    return readSettings(this.settingsTarget()) as SocketSettings;
  }

  /**
   * Changes settings of the association (or the socket's) once it is up; unset ones stay.
   * Those sent in INIT (adaptationIndication, ecn, asconf, prSctp) go in the socket's
   * options instead. A value the kernel refuses leaves every setting as it was.
   */
  setSettings(settings: Partial<SocketSettingsChange>): this {
    if (this.phase === 'connecting') {
      // The kernel has made the association from the socket's values already and finds it
      // only once it is up: a change now would go to the socket and never reach it.
      throw codedError(
        "settings change an association once it is up ('connect'); to apply them from " +
          "the start, give them in the socket's options",
        'ERR_SOCKET_CONNECTING',
      );
    }
    changeSettings(this.settingsTarget(), settings);
    return this;
  }

  private settingsTarget(): SettingsTarget {
    return {
      handle: this.holder.handle,
      assocId: 0,
      kind: 'socket',
      reserved: reservedSettings(false, this.options),
    };
  }

  /**
   * Changes what send() uses when a message's own options leave it out: the stream, the
   * PPID and the PR-SCTP policy (as SCTP_DEFAULT_SNDINFO / SCTP_DEFAULT_PRINFO would; the
   * library sends every message with its parameters). Unset ones stay.
   */
  setSendDefaults(defaults: SendDefaultsChange): this {
    this.defaults = updateDefaults(this.defaults, defaults);
    this.defaultSend = null;
    return this;
  }

  /** The stream scheduler of the association (before it is up: of the one to come). */
  getScheduler(): SchedulerName {
    return readScheduler(this.holder.handle, 0);
  }

  /** Changes the stream scheduler (see SocketOptions.scheduler). */
  setScheduler(name: SchedulerName): this {
    validateHandleOptions({ scheduler: name });
    if (!this.holder.handle) throw socketClosed();
    setScheduler(this.holder.handle, name);
    return this;
  }

  /**
   * An outbound stream's scheduler value, once the association is up: its priority under
   * 'priority' (lower goes first), its weight under 'weighted-fair'.
   */
  setStreamSchedulerValue(stream: number, value: number): this {
    setStreamSchedulerValue(this.holder.handle, 0, stream, value);
    return this;
  }

  /**
   * An outbound stream's scheduler value (SCTP_STREAM_SCHEDULER_VALUE): its priority or
   * weight, see setStreamSchedulerValue. Throws ERR_OUT_OF_RANGE for a stream outside
   * 0 .. 65535, ERR_SOCKET_CLOSED once closed, and the kernel's error otherwise.
   */
  getStreamSchedulerValue(stream: number): number {
    return getStreamSchedulerValue(this.holder.handle, 0, stream);
  }

  // ---------------------------------------------------------------------------------------
  // Stream reconfiguration (RFC 6525; both peers need the streamReconfiguration option)

  /**
   * Resets streams' sequence numbers: this side's outbound ones (default), the peer's
   * (`direction: 'incoming'`), or both; all streams or `streams`. Messages already written
   * go out first. Resolves once the peer has done it; rejects with ERR_SCTP_RECONFIG_DENIED
   * when the peer has not enabled it, ENOPROTOOPT when the association lacks the feature.
   */
  resetStreams(options?: ResetStreamsOptions): Promise<void> {
    return this.reconfiguration().resetStreams(options);
  }

  /**
   * Resets the association's TSNs and all its streams (RFC 6525 section 5.1.4), once
   * everything sent has been acknowledged. Resolves with the assoc_reset notification.
   */
  resetAssociation(options?: { signal?: AbortSignal }): Promise<AssocResetNotification> {
    return this.reconfiguration().resetAssociation(options);
  }

  /**
   * Adds outbound and/or inbound streams. Resolves with the counts afterwards (also in
   * outboundStreams and inboundStreams, which sends are checked against).
   */
  addStreams(options: AddStreamsOptions): Promise<StreamCountsAfter> {
    return this.reconfiguration().addStreams(options);
  }

  private reconfiguration(): Reconfiguration {
    return (this.reconfig ??= new Reconfiguration(this.reconfigurationHost()));
  }

  private reconfigurationHost() {
    return {
      handle: () => (this.destroyed ? null : this.holder.handle),
      assocId: 0,
      counts: this,
      queuedSends: () => this.queue.length + this.writableLength,
    };
  }

  /** Bytes of a message still arriving in pieces (native reassembly). */
  get partialBytes(): number {
    return this.holder.handle?.partialBytes() ?? 0;
  }

  /**
   * Turns the kernel's Nagle-like bundling off (true, as the noDelay option does by default)
   * or on (SCTP_NODELAY), as net.Socket#setNoDelay. Ignored once the socket is closed.
   */
  setNoDelay(noDelay = true): this {
    this.holder.handle?.setOption('SCTP_NODELAY', { value: noDelay ? 1 : 0 });
    return this;
  }

  /**
   * net.Socket#setKeepAlive for SCTP, whose heartbeats are its keep-alive: `enable` turns
   * them on for every path, with `initialDelay` (ms, when above 0) as the heartbeat interval;
   * applied once the association is up if it is not yet. `enable` false leaves heartbeats as
   * they are: they are also how a multihomed association finds a dead path (turn them off
   * with paths.configure({ heartbeat: false }) if you must).
   */
  setKeepAlive(enable = false, initialDelay = 0): this {
    validateDelay(initialDelay, 'initialDelay');
    if (!enable || this.destroyed) return this;
    const apply = () =>
      this.paths.configure({
        heartbeat: true,
        ...(initialDelay > 0 && { heartbeatInterval: Math.floor(initialDelay) }),
      });
    if (this.phase === 'open') apply();
    else this.once('connect', apply);
    return this;
  }

  /**
   * As net.Socket#setTimeout: emits 'timeout' once the socket has been idle (no message read
   * or taken by the kernel) for `timeout` ms, and again after the next idle period once
   * traffic moved; nothing is closed. 0 turns it off. `callback` is added as a once
   * 'timeout' listener (removed by 0).
   */
  setTimeout(timeout: number, callback?: () => void): this {
    validateDelay(timeout, 'timeout');
    if (callback !== undefined) validateFunction(callback, 'callback');
    if (this.idle) this.holder.clearTimer(this.idle.timer);
    if (timeout === 0) {
      this.idle = null;
      if (callback) this.removeListener('timeout', callback);
      return this;
    }
    if (callback) this.once('timeout', callback);
    this.idle = { ms: timeout, last: Date.now(), timer: null };
    if (!this.destroyed) this.armIdle();
    return this;
  }

  /** The idle timeout setTimeout() set, in ms; undefined when there is none (as net.Socket#timeout). */
  get timeout(): number | undefined {
    return this.idle?.ms;
  }

  /** As net.Socket#resetAndDestroy: ends the association with an ABORT (as destroy() does). */
  resetAndDestroy(): this {
    return this.destroy();
  }

  /** Traffic moved: the idle timer counts from now (re-armed if it had fired). */
  private touch(): void {
    this.idle!.last = Date.now();
    if (!this.idle!.timer && !this.destroyed) this.armIdle();
  }

  private armIdle(ms = this.idle!.ms): void {
    this.idle!.timer = this.holder.timer(ms, () => this.checkIdle(), false);
  }

  private checkIdle(): void {
    const idle = this.idle;
    if (!idle || this.destroyed) return;
    idle.timer = null;
    const quiet = Date.now() - idle.last;
    if (quiet < idle.ms) return this.armIdle(idle.ms - quiet);
    this.emit('timeout');
  }

  /** ref()/unref() apply to the socket and to its timers (connect timeout, stall guard). */
  ref(): this {
    this.holder.ref();
    return this;
  }

  /** Lets the process exit while this socket and its timers are still open, as net.Socket#unref. */
  unref(): this {
    this.holder.unref();
    return this;
  }

  /**
   * Reads a socket option from the kernel's table by name (e.g. 'SCTP_RTOINFO'), with
   * input fields such as assocId or address. Advanced use; see docs.
   */
  getOption(name: string, input?: Record<string, unknown>): Record<string, unknown> {
    return getOption(this.holder.handle, name, input);
  }

  /**
   * Sets a socket option from the kernel's table by name, its fields as getOption() names
   * them. Advanced use. An unknown option or field, or a value outside its field's range,
   * throws before anything reaches the kernel; options kernel-sctp depends on throw
   * ERR_SCTP_OPTION_RESERVED; a refusal by the kernel throws its system error.
   */
  setOption(name: string, value: Record<string, unknown>): void {
    setOption(this.holder.handle, name, value);
  }
}

/** Opens a one-to-one association, like net.connect(). */
export function connect(options: ConnectOptions, connectListener?: () => void): Socket {
  validateObject(options, 'options');
  return new Socket(options).connect(options, connectListener);
}
