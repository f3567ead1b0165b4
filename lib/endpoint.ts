// One-to-many SCTP endpoint (SOCK_SEQPACKET): one socket carries every association, each
// represented by an Association object. Messages name their association; a peeloff moves
// one association to its own one-to-one Socket.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { abortError, codedError, invalidArgType, socketClosed, systemError } from './errors';
import {
  applyHandleOptions,
  controlSend,
  assocIdAt,
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
  type StreamCounts,
} from './handle';
import { iterate } from './iterate';
import { Paths } from './paths';
import {
  constants,
  EventKind,
  native,
  SEND_BATCH,
  type NativeNotification,
  type NativeSocket,
} from './native';
import {
  lostErrno,
  toNotification,
  type AssocChangeNotification,
  type Notification,
  type PeerAddrChangeNotification,
  type SendFailedNotification,
} from './notifications';
import { Socket, type SocketOptions } from './socket';
import {
  familyFor,
  validateAbortSignal,
  validateAddresses,
  validateFunction,
  validateInteger,
  validateObject,
  validatePort,
} from './validate';

export interface EndpointOptions extends HandleOptions {
  /** Local address, or several (multihoming). Default: every address ('::', or 0.0.0.0). */
  host?: string | string[];
  /** Local port; 0 (default) picks one. */
  port?: number;
  /** Default stream and PPID (host byte order) for send(). */
  stream?: number;
  ppid?: number;
  /** Seconds after which the kernel gracefully closes an idle association (SCTP_AUTOCLOSE). 0: never. */
  autoClose?: number;
  /** Associations this endpoint keeps at most; further incoming ones are aborted ('drop'). */
  maxAssociations?: number;
  /** Messages queued by send() (kernel buffer full) before it returns false. Default 1024. */
  highWaterMark?: number;
  /** How long close() waits for the graceful SHUTDOWNs before it aborts. Default 30000 ms. */
  shutdownTimeout?: number;
}

export interface EndpointConnectOptions {
  /** The peer's address, or several for a multihomed peer. */
  host?: string | string[];
  port: number;
  /** Streams to ask for on this association (the endpoint's `streams` otherwise). */
  streams?: StreamCounts;
  /** Reject with ETIMEDOUT if the association is not up within this many milliseconds. */
  timeout?: number;
  signal?: AbortSignal;
}

export interface EndpointSendOptions extends SendOptions {
  /** The association to send on (or its id in `assocId`). */
  association?: Association;
  assocId?: number;
  /** A peer address: the kernel sets up an association implicitly if none exists. */
  to?: { host: string; port: number };
}

/** MessageInfo with the association object the message belongs to. */
export interface EndpointMessageInfo extends MessageInfo {
  association: Association | undefined;
}

/** What 'drop' reports about an association refused because of `maxAssociations`. */
export interface DroppedAssociation {
  assocId: number;
  remoteAddresses: AddressInfo[];
}

type SendCallback = (err?: Error | null) => void;

interface QueuedSend {
  data: Buffer;
  send: ResolvedSend;
  assocId: number;
  to: { host: string; port: number } | undefined;
  callback: SendCallback | undefined;
}

interface PendingConnect {
  resolve: (association: Association) => void;
  reject: (err: Error) => void;
  cleanup: () => void;
  hosts: string[];
  port: number;
  started: number;
}

const { EAFNOSUPPORT, EAGAIN, ECONNREFUSED, EINPROGRESS, EMSGSIZE, ETIMEDOUT } = os.constants.errno;
const DEFAULT_HIGH_WATER_MARK = 1024;
const ITERATOR_HIGH_WATER_MARK = 64;

export type AssociationState = 'up' | 'shutting_down' | 'aborting' | 'closed' | 'peeled_off';

export interface Association {
  on(event: 'message', listener: (data: Buffer, info: EndpointMessageInfo) => void): this;
  on(event: 'notification', listener: (notification: Notification) => void): this;
  on(event: 'restart', listener: (notification: AssocChangeNotification) => void): this;
  on(
    event: 'peerAddressChange',
    listener: (notification: PeerAddrChangeNotification) => void,
  ): this;
  on(event: 'sendFailed', listener: (notification: SendFailedNotification) => void): this;
  on(event: 'shutdown' | 'drain', listener: () => void): this;
  on(event: 'close', listener: (err?: Error) => void): this;
  on(event: 'peeloff', listener: (socket: Socket) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * One association of an Endpoint. Events: 'message', 'notification' (and 'restart',
 * 'peerAddressChange', 'sendFailed', 'shutdown' when the peer starts a SHUTDOWN), 'drain',
 * 'peeloff', and 'close' with the reason when it ended badly (peer ABORT, timeout).
 */
export class Association extends EventEmitter {
  state: AssociationState = 'up';
  /** Streams negotiated (they can change on a restart or a stream reconfiguration). */
  outboundStreams: number;
  inboundStreams: number;
  /** @internal set by abort(): the COMM_LOST that follows is not an error. */
  aborted = false;
  /** @internal send() returned false: 'drain' is owed. */
  blocked = false;
  /** Path management: per-path state, primary path, local addresses, heartbeats. */
  readonly paths = new Paths(
    () => this.endpoint.handleFor(this),
    () => this.id,
  );

  constructor(
    readonly endpoint: Endpoint,
    readonly id: number,
    up: AssocChangeNotification,
  ) {
    super();
    this.outboundStreams = up.outboundStreams;
    this.inboundStreams = up.inboundStreams;
  }

  localAddresses(): AddressInfo[] {
    return readAddresses(this.endpoint.handleFor(this), false, this.id);
  }

  remoteAddresses(): AddressInfo[] {
    return readAddresses(this.endpoint.handleFor(this), true, this.id);
  }

  status(): Status {
    return readStatus(this.endpoint.handleFor(this), this.id);
  }

  /** Reads a socket option for this association (assocId is filled in). */
  getOption(name: string, input?: Record<string, unknown>): Record<string, unknown> {
    return getOption(this.endpoint.handleFor(this), name, input, this.id);
  }

  setOption(name: string, value: Record<string, unknown>): void {
    setOption(this.endpoint.handleFor(this), name, value, this.id);
  }

  /** Sends one message; false when it was queued behind a full kernel buffer (wait for 'drain'). */
  send(data: string | Uint8Array, options: SendOptions = {}, callback?: SendCallback): boolean {
    return this.endpoint.send(data, { ...options, association: this }, callback);
  }

  /** Graceful SHUTDOWN of this association only, after what is queued; 'close' follows. */
  shutdown(callback?: SendCallback): void {
    this.endpoint.shutdownAssociation(this, callback);
  }

  /** ABORT of this association only, with an optional reason the peer receives. */
  abort(reason?: string | Uint8Array): void {
    this.endpoint.abortAssociation(this, reason);
  }

  /**
   * Moves the association to its own one-to-one Socket (the endpoint's options re-applied,
   * overridden by `options`). Messages the endpoint has read but not yet delivered, and
   * sends still queued, move with it, in order; an iterator over this association ends.
   */
  peeloff(options: SocketOptions = {}): Socket {
    return this.endpoint.peelOff(this, options);
  }

  /** `for await (const { data, info } of association.messages())`; ends when it closes. */
  messages(): AsyncGenerator<{ data: Buffer; info: EndpointMessageInfo }> {
    return this.endpoint.iterateOver(this);
  }
}

export interface Endpoint {
  on(event: 'association', listener: (association: Association) => void): this;
  on(event: 'message', listener: (data: Buffer, info: EndpointMessageInfo) => void): this;
  on(event: 'notification', listener: (notification: Notification) => void): this;
  on(event: 'drop', listener: (dropped: DroppedAssociation) => void): this;
  on(event: 'drain' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** A one-to-many SCTP socket. Create it with `createEndpoint()`. */
export class Endpoint extends EventEmitter {
  private handle: NativeSocket | null;
  /** The handle's receive info for the read batch being delivered (see INFO_STRIDE). */
  private readInfo: Uint32Array;
  private readonly family: number;
  private readonly options: EndpointOptions;
  private readonly defaults: { stream: number; ppid: number };
  private readonly highWaterMark: number;
  private readonly associations = new Map<number, Association>();
  /** Peeled off while a read batch is being delivered: the rest of the batch follows them. */
  private readonly peeledInBatch = new Map<number, Socket>();
  private readonly pending = new Map<number, PendingConnect>();
  /**
   * Associations we aborted before they were ours (dropped, or a connect given up): what
   * still arrives for them until their COMM_LOST/CANT_STR_ASSOC is not delivered.
   */
  private readonly refused = new Set<number>();
  private inBatch = false;
  private queue: QueuedSend[] = [];
  private blocked = false;
  private pausedBy = 0;
  private userPaused = false;
  private reading = false;
  private unrefed = false;
  private closing: { timer: NodeJS.Timeout | null; callbacks: (() => void)[] } | null = null;

  constructor(options: EndpointOptions = {}) {
    super();
    validateObject(options, 'options');
    validateHandleOptions(options);
    this.options = { ...options };
    const hosts =
      options.host === undefined ? null : validateAddresses(options.host, 'options.host');
    const port = options.port === undefined ? 0 : validatePort(options.port, 'options.port');
    this.defaults = resolveDefaults(options);
    this.highWaterMark =
      options.highWaterMark === undefined
        ? DEFAULT_HIGH_WATER_MARK
        : validateInteger(options.highWaterMark, 'options.highWaterMark', 1, 2 ** 31 - 1);
    if (options.autoClose !== undefined) {
      validateInteger(options.autoClose, 'options.autoClose', 0, 2 ** 31 - 1);
    }
    if (options.maxAssociations !== undefined) {
      validateInteger(options.maxAssociations, 'options.maxAssociations', 1, 2 ** 31 - 1);
    }
    if (options.shutdownTimeout !== undefined) {
      validateInteger(options.shutdownTimeout, 'options.shutdownTimeout', 0, 2 ** 31 - 1);
    }

    // Every address unless told: an IPv6 socket also takes IPv4 (v4-mapped) unless IPv6 is off.
    let family = hosts && familyFor(hosts) === 4 ? constants.AF_INET : constants.AF_INET6;
    let fd = native.socket(family, constants.SOCK_SEQPACKET);
    if (fd === -EAFNOSUPPORT && !hosts) {
      family = constants.AF_INET;
      fd = native.socket(family, constants.SOCK_SEQPACKET);
    }
    if (fd < 0) throw systemError(fd, 'socket');
    this.family = family;
    const handle = new native.Socket(fd, family);
    this.handle = handle;
    this.readInfo = handle.readInfo();
    try {
      applyHandleOptions(handle, options);
      if (options.autoClose) {
        setOption(handle, 'SCTP_AUTOCLOSE', { value: options.autoClose });
      }
      const bindHosts = hosts ?? [family === constants.AF_INET6 ? '::' : '0.0.0.0'];
      const rc = handle.bindx(bindHosts, port, false);
      if (rc < 0) throw systemError(rc, 'bind', { address: bindHosts, port });
    } catch (err) {
      handle.close();
      this.handle = null;
      throw err;
    }
    handle.onevent = (kind, value, bytes, extras) => this.onNativeEvent(kind, value, bytes, extras);
    this.updateReading();
  }

  /** Accepts incoming associations from now on. */
  listen(backlog = 511): this {
    validateInteger(backlog, 'backlog', 1, 65535);
    const rc = this.liveHandle().listen(backlog);
    if (rc < 0) throw systemError(rc, 'listen');
    return this;
  }

  /** The first bound address, with every bound address in `addresses`. */
  address(): (AddressInfo & { addresses: AddressInfo[] }) | null {
    const addresses = readAddresses(this.handle, false, 0);
    return addresses.length === 0 ? null : { ...addresses[0]!, addresses };
  }

  /** How many associations are up on this endpoint. */
  get associationCount(): number {
    return this.associations.size;
  }

  /** The association with this id, if it is up on this endpoint. */
  association(id: number): Association | undefined {
    return this.associations.get(id);
  }

  /** Sets up an association; resolves once it is up (COMM_UP). */
  connect(options: EndpointConnectOptions): Promise<Association> {
    validateObject(options, 'options');
    const port = validatePort(options.port, 'options.port', false);
    const hosts = validateAddresses(options.host ?? '127.0.0.1', 'options.host');
    if (options.streams !== undefined) validateHandleOptions({ streams: options.streams });
    if (options.timeout !== undefined) {
      validateInteger(options.timeout, 'options.timeout', 1, 2 ** 31 - 1);
    }
    const signal =
      options.signal === undefined
        ? undefined
        : validateAbortSignal(options.signal, 'options.signal');
    return new Promise((resolve, reject) => {
      const handle = this.handle;
      if (!handle || this.closing) return reject(socketClosed());
      if (signal?.aborted) return reject(abortError(signal));
      const max = this.options.maxAssociations;
      if (max !== undefined && this.associations.size + this.pending.size >= max) {
        return reject(
          codedError(
            `The endpoint already has maxAssociations (${max}) associations`,
            'ERR_SCTP_ASSOCIATION_LIMIT',
          ),
        );
      }
      // INITMSG is per socket: set it for this INIT only, then put the exact old values back
      // (zero fields mean "unchanged" to the kernel, so the old ones must be read first).
      let saved: Record<string, unknown> | null = null;
      if (options.streams) {
        try {
          saved = getOption(handle, 'SCTP_INITMSG', undefined);
          setOption(handle, 'SCTP_INITMSG', {
            outStreams: options.streams.out ?? saved.outStreams,
            maxInStreams: options.streams.in ?? saved.maxInStreams,
          });
        } catch (err) {
          return reject(err);
        }
      }
      const [rc, assocId] = handle.connectx(hosts, port);
      if (saved) handle.setOption('SCTP_INITMSG', saved);
      if (rc < 0 && rc !== -EINPROGRESS) {
        return reject(systemError(rc, 'connect', { address: hosts, port }));
      }
      let timer: NodeJS.Timeout | null = null;
      const onAbort = () => this.failConnect(assocId, abortError(signal!));
      const cleanup = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(assocId, { resolve, reject, cleanup, hosts, port, started: Date.now() });
      if (options.timeout !== undefined) {
        timer = setTimeout(
          () =>
            this.failConnect(assocId, systemError(-ETIMEDOUT, 'connect', { address: hosts, port })),
          options.timeout,
        );
      }
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** A connect given up by us (timeout, signal): the half-open association is aborted. */
  private failConnect(assocId: number, err: Error): void {
    const p = this.pending.get(assocId);
    if (!p) return;
    this.pending.delete(assocId);
    p.cleanup();
    this.refused.add(assocId);
    if (this.handle) {
      sendMessage(this.handle, Buffer.alloc(0), controlSend(constants.SCTP_ABORT), assocId);
    }
    p.reject(err);
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends one message on an association (`association`/`assocId`) or to an address (`to`,
   * setting one up if needed). Returns false when it had to be queued behind a full kernel
   * buffer: wait for 'drain'. A failure goes to `callback`, or else to 'error' (of the
   * association if it listens for it, of the endpoint when there is no association).
   */
  send(data: string | Uint8Array, options: EndpointSendOptions, callback?: SendCallback): boolean {
    if (typeof data === 'string') data = Buffer.from(data);
    else if (!(data instanceof Uint8Array)) {
      throw invalidArgType('data', 'of type string or an instance of Buffer or Uint8Array', data);
    }
    validateObject(options, 'options');
    if (callback !== undefined) validateFunction(callback, 'callback');
    const { association, assocId, to } = options;
    let target: Association | undefined;
    let id = 0;
    let destination: { host: string; port: number } | undefined;
    if (association !== undefined) {
      if (!(association instanceof Association) || association.endpoint !== this) {
        throw invalidArgType('options.association', 'an Association of this endpoint', association);
      }
      target = association;
    } else if (assocId !== undefined) {
      id = validateInteger(assocId, 'options.assocId', -(2 ** 31), 2 ** 31 - 1);
      target = this.associations.get(id);
    } else if (to !== undefined) {
      validateObject(to, 'options.to');
      const [host] = validateAddresses(to.host, 'options.to.host');
      destination = { host: host!, port: validatePort(to.port, 'options.to.port', false) };
    } else {
      throw invalidArgType('options', 'an object with association, assocId or to', options);
    }
    if (target) {
      if (target.state !== 'up') {
        throw codedError(`Association ${target.id} is ${target.state}`, 'ERR_SOCKET_CLOSED');
      }
      id = target.id;
    }
    if (!this.handle || this.closing) throw socketClosed();
    const resolved = resolveSendOptions(options, this.defaults, target?.outboundStreams ?? 0);
    const buffer = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.enqueue(target, {
      data: buffer,
      send: resolved,
      assocId: id,
      to: destination,
      callback,
    });
  }

  /** Sends now if nothing is queued ahead, else queues; false once the queue is long. */
  private enqueue(target: Association | undefined, item: QueuedSend): boolean {
    if (this.queue.length === 0 && this.trySend(item)) return true;
    this.queue.push(item);
    this.handle!.setWatchWritable(true);
    if (this.queue.length < this.highWaterMark) return true;
    this.blocked = true;
    if (target) target.blocked = true;
    return false;
  }

  /** Hands one message to the kernel; false when the kernel buffer is full (EAGAIN). */
  private trySend(item: QueuedSend): boolean {
    const n = sendMessage(this.handle!, item.data, item.send, item.assocId, item.to);
    if (n === -EAGAIN) return false;
    if (n >= 0) {
      if (item.callback) process.nextTick(item.callback, null);
    } else {
      this.reportSendError(
        item,
        systemError(n, 'sendmsg', item.to && { address: item.to.host, port: item.to.port }),
      );
    }
    return true;
  }

  private reportSendError(item: QueuedSend, err: Error): void {
    if (item.callback) return void process.nextTick(item.callback, err);
    const target = this.associations.get(item.assocId);
    if (target) {
      // The association's 'close' says what happened to it; 'error' only if someone listens.
      if (target.listenerCount('error') > 0) process.nextTick(() => target.emit('error', err));
      return;
    }
    process.nextTick(() => this.emit('error', err));
  }

  private flushQueue(): void {
    let sent = 0;
    while (sent < this.queue.length && this.handle) {
      // Consecutive messages to existing associations go out in one sendmmsg.
      let run = 0;
      while (run < SEND_BATCH && sent + run < this.queue.length && !this.queue[sent + run]!.to) {
        run++;
      }
      if (run > 1) {
        const from = sent;
        const at = (i: number) => this.queue[from + i]!;
        const n = sendMany(
          this.handle,
          run,
          (i) => at(i).data,
          (i) => at(i).send,
          (i) => at(i).assocId,
        );
        if (n === -EAGAIN) break;
        for (let i = 0; i < n; i++) {
          const callback = at(i).callback;
          if (callback) process.nextTick(callback, null);
        }
        if (n > 0) {
          sent += n;
          continue;
        }
        // The first one failed: trySend below sends it alone and reports its error.
      }
      if (!this.trySend(this.queue[sent]!)) break;
      sent++;
    }
    this.queue.splice(0, sent);
    if (this.queue.length > 0) {
      this.handle?.setWatchWritable(true);
      return;
    }
    this.maybeClosed();
    if (this.blocked) {
      this.blocked = false;
      for (const a of this.associations.values()) {
        if (a.blocked) {
          a.blocked = false;
          a.emit('drain');
        }
      }
      this.emit('drain');
    }
  }

  /** @internal */
  shutdownAssociation(a: Association, callback?: SendCallback): void {
    if (a.state !== 'up') {
      if (callback) process.nextTick(callback, null);
      return;
    }
    if (!this.handle) throw socketClosed();
    // An empty message with SCTP_EOF, queued behind the association's data.
    const eof = { stream: 0, ppid: 0, flags: constants.SCTP_EOF, context: 0, ttl: 0 };
    const empty = Buffer.alloc(0);
    this.enqueue(a, { data: empty, send: eof, assocId: a.id, to: undefined, callback });
    a.state = 'shutting_down';
  }

  /** @internal */
  abortAssociation(a: Association, reason?: string | Uint8Array): void {
    if (a.state === 'closed' || a.state === 'peeled_off' || !this.handle) return;
    const data =
      reason === undefined
        ? Buffer.alloc(0)
        : typeof reason === 'string'
          ? Buffer.from(reason)
          : reason;
    a.aborted = true;
    a.state = 'aborting';
    // ABORT is immediate: what is still queued for it will not be sent.
    this.dropQueued(a.id, codedError('Association was aborted', 'ERR_STREAM_DESTROYED'));
    const rc = sendMessage(this.handle, data, controlSend(constants.SCTP_ABORT), a.id);
    if (rc < 0) this.closeAssociation(a, null); // already gone in the kernel
  }

  /** Takes an association's queued sends out; their callbacks get `err` (EOFs go quietly). */
  private dropQueued(assocId: number, err: Error): void {
    if (!this.queue.some((q) => q.assocId === assocId)) return;
    const dropped = this.queue.filter((q) => q.assocId === assocId);
    this.queue = this.queue.filter((q) => q.assocId !== assocId);
    for (const q of dropped) {
      if (q.callback && !(q.send.flags & constants.SCTP_EOF)) process.nextTick(q.callback, err);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  private onNativeEvent(kind: EventKind, value: unknown, bytes?: Buffer, extras?: unknown[]): void {
    switch (kind) {
      case EventKind.Read:
        return this.onBatch(value as number, bytes, extras);
      case EventKind.Writable:
        return this.flushQueue();
      case EventKind.Error: {
        const rc = value as number;
        const err = systemError(rc, 'recvmsg');
        if (rc === -EMSGSIZE) {
          err.message = `recvmsg EMSGSIZE: a received message exceeds maxMessageSize (${
            this.options.maxMessageSize ?? 64 * 1024 * 1024
          } bytes); it was discarded`;
        }
        this.emit('error', err);
      }
    }
  }

  private onBatch(count: number, bytes?: Buffer, extras?: unknown[]): void {
    this.inBatch = true;
    try {
      forEachEntry(
        this.readInfo,
        count,
        bytes,
        extras,
        () => this.handle !== null,
        (k, entry) => this.deliver(k, entry),
      );
    } finally {
      this.inBatch = false;
      this.peeledInBatch.clear();
    }
  }

  private deliver(k: number, entry: unknown): void {
    if (isNotificationAt(this.readInfo, k)) {
      this.onNotification(toNotification(entry as NativeNotification));
      return;
    }
    const data = entry as Buffer;
    const assocId = assocIdAt(this.readInfo, k);
    if (this.refused.has(assocId)) return;
    const peeled = this.peeledInBatch.get(assocId);
    if (peeled) return peeled.injectMessage(data, messageInfoAt(this.readInfo, k));
    const info = messageInfoAt(this.readInfo, k) as EndpointMessageInfo;
    info.association = this.associations.get(assocId);
    this.emit('message', data, info);
    info.association?.emit('message', data, info);
  }

  private onNotification(n: Notification): void {
    const peeled = this.peeledInBatch.get(n.assocId);
    if (peeled) return peeled.injectNotification(n);
    if (this.refused.has(n.assocId)) {
      const gone = n.type === 'assoc_change' && n.state !== 'comm_up' && n.state !== 'restart';
      if (gone) this.refused.delete(n.assocId);
      return;
    }
    if (n.type === 'assoc_change' && n.state === 'comm_up') this.onUp(n);
    const a = this.associations.get(n.assocId);
    this.emit('notification', n);
    if (!a) {
      if (n.type === 'assoc_change' && n.state === 'cant_str_assoc') this.onCantStart(n);
      return;
    }
    a.emit('notification', n);
    switch (n.type) {
      case 'peer_addr_change':
        a.emit('peerAddressChange', n);
        break;
      case 'send_failed':
        a.emit('sendFailed', n);
        break;
      case 'shutdown':
        if (a.state === 'up') a.state = 'shutting_down';
        a.emit('shutdown');
        break;
      case 'stream_change':
        if (!n.denied && !n.failed) {
          a.outboundStreams = n.outboundStreams;
          a.inboundStreams = n.inboundStreams;
        }
        break;
      case 'assoc_change':
        if (n.state === 'restart') {
          // The peer restarted: same association (and id), new streams, possibly lost data.
          a.outboundStreams = n.outboundStreams;
          a.inboundStreams = n.inboundStreams;
          a.emit('restart', n);
        } else if (n.state === 'shutdown_comp') {
          this.closeAssociation(a, null);
        } else if (n.state === 'comm_lost' || n.state === 'cant_str_assoc') {
          this.closeAssociation(a, a.aborted ? null : lostError(n, a));
        }
        break;
    }
  }

  private onUp(n: AssocChangeNotification): void {
    if (this.associations.has(n.assocId)) return;
    const p = this.pending.get(n.assocId);
    const max = this.options.maxAssociations;
    const full = max !== undefined && this.associations.size + this.pending.size >= max;
    if (!p && (this.closing || full)) {
      const dropped: DroppedAssociation = {
        assocId: n.assocId,
        remoteAddresses: readAddresses(this.handle, true, n.assocId),
      };
      const reason = this.closing ? 'endpoint closing' : 'association limit reached';
      this.refused.add(n.assocId);
      if (this.handle) {
        sendMessage(this.handle, Buffer.from(reason), controlSend(constants.SCTP_ABORT), n.assocId);
      }
      this.emit('drop', dropped);
      return;
    }
    const a = new Association(this, n.assocId, n);
    this.associations.set(n.assocId, a);
    if (p) {
      this.pending.delete(n.assocId);
      p.cleanup();
      p.resolve(a);
    }
    this.emit('association', a);
  }

  private onCantStart(n: AssocChangeNotification): void {
    const p = this.pending.get(n.assocId);
    if (!p) return;
    this.pending.delete(n.assocId);
    p.cleanup();
    // On a one-to-many socket the kernel gives no errno here: sac_error is the ABORT's cause
    // code, 0 both for a plain refusal and for a timeout, and SO_ERROR is not set. A timeout
    // comes only once every INIT retransmission timer has run out, so a failure well before
    // that was the peer's ABORT: a refusal.
    const refused = Date.now() - p.started < 0.9 * this.initGiveUpMs();
    const errno = refused ? -ECONNREFUSED : -ETIMEDOUT;
    p.reject(systemError(errno, 'connect', { address: p.hosts, port: p.port }));
  }

  /** How long the kernel retransmits INIT before it gives up (the T1-init backoff). */
  private initGiveUpMs(): number {
    const rto = this.handle?.getOption('SCTP_RTOINFO', { assocId: 0 });
    const init = this.handle?.getOption('SCTP_INITMSG');
    if (typeof rto !== 'object' || typeof init !== 'object') return 0;
    const cap = (init.maxInitTimeout as number) || (rto.max as number);
    let total = 0;
    for (let k = 0, t = rto.initial as number; k <= (init.maxAttempts as number); k++, t *= 2) {
      total += Math.min(t, cap);
    }
    return total;
  }

  private closeAssociation(a: Association, err: Error | null): void {
    if (a.state === 'closed' || a.state === 'peeled_off') return;
    a.state = 'closed';
    this.associations.delete(a.id);
    this.dropQueued(a.id, err ?? codedError(`Association ${a.id} is closed`, 'ERR_SOCKET_CLOSED'));
    a.emit('close', err ?? undefined);
    this.maybeClosed();
  }

  /** Pauses reading from the kernel (every association's window then closes). */
  pause(): this {
    this.userPaused = true;
    this.updateReading();
    return this;
  }

  resume(): this {
    this.userPaused = false;
    this.updateReading();
    return this;
  }

  private updateReading(): void {
    const want = !!this.handle && !this.userPaused && this.pausedBy === 0;
    if (want === this.reading || !this.handle) return;
    this.reading = want;
    const rc = this.handle.setReading(want);
    if (rc < 0) this.emit('error', systemError(rc, 'uv_poll_start'));
  }

  /** `for await (const { data, info } of endpoint.messages())`, every association's messages. */
  messages(): AsyncGenerator<{ data: Buffer; info: EndpointMessageInfo }> {
    return this.iterateOver(this);
  }

  /** @internal Iterates over the 'message' events of the endpoint or of one association. */
  iterateOver(source: EventEmitter): AsyncGenerator<{ data: Buffer; info: EndpointMessageInfo }> {
    return iterate<{ data: Buffer; info: EndpointMessageInfo }>(
      (push, end) => {
        const onMessage = (data: Buffer, info: EndpointMessageInfo) => push({ data, info });
        const onClose = (err?: Error) => end(err);
        const onPeeloff = () => end(); // the socket carries on from here
        source.on('message', onMessage);
        source.on('close', onClose);
        source.on('peeloff', onPeeloff);
        const state = (source as Association).state;
        if ((source === this && !this.handle) || state === 'closed' || state === 'peeled_off') {
          end();
        }
        return () => {
          source.off('message', onMessage);
          source.off('close', onClose);
          source.off('peeloff', onPeeloff);
        };
      },
      {
        pause: () => {
          this.pausedBy++;
          this.updateReading();
        },
        resume: () => {
          this.pausedBy--;
          this.updateReading();
        },
      },
      ITERATOR_HIGH_WATER_MARK,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Peeloff

  /** @internal */
  peelOff(a: Association, options: SocketOptions): Socket {
    validateObject(options, 'options');
    const handle = this.handleFor(a);
    if (a.state !== 'up') {
      throw codedError(`Association ${a.id} is ${a.state}`, 'ERR_SOCKET_CLOSED');
    }
    const fd = handle.peeloff(a.id);
    if (fd < 0) throw systemError(fd, 'getsockopt');
    const o = this.options;
    const inherited: SocketOptions = {
      noDelay: o.noDelay,
      maxMessageSize: o.maxMessageSize,
      receiveBufferSize: o.receiveBufferSize,
      sendBufferSize: o.sendBufferSize,
      stream: o.stream,
      ppid: o.ppid,
    };
    const socket = new Socket({ ...inherited, ...options });
    try {
      socket.attach(fd, this.family);
    } catch (err) {
      socket.destroy();
      throw err;
    }
    socket.peeledUp(a.id, a.outboundStreams);
    // Sends still queued for the association go to the socket, in order, ahead of new ones.
    const moving = this.queue.filter((q) => q.assocId === a.id);
    this.queue = this.queue.filter((q) => q.assocId !== a.id);
    for (const q of moving) {
      const { stream, ppid, context, ttl, flags } = q.send;
      socket.send(
        q.data,
        { stream, ppid, context, ttl, unordered: (flags & constants.SCTP_UNORDERED) !== 0 },
        q.callback,
      );
    }
    a.state = 'peeled_off';
    this.associations.delete(a.id);
    if (this.inBatch) this.peeledInBatch.set(a.id, socket);
    a.emit('peeloff', socket);
    this.maybeClosed();
    return socket;
  }

  /** @internal The handle, for an association that is still ours. */
  handleFor(a: Association): NativeSocket {
    if (!this.handle) throw socketClosed();
    if (a.state === 'peeled_off') {
      throw codedError(`Association ${a.id} was peeled off`, 'ERR_SOCKET_CLOSED');
    }
    return this.handle;
  }

  private liveHandle(): NativeSocket {
    if (!this.handle) throw socketClosed();
    return this.handle;
  }

  // ---------------------------------------------------------------------------------------
  // Teardown

  /**
   * Graceful close: every association gets a SHUTDOWN after its queued messages; 'close'
   * once all have ended (or after shutdownTimeout, when the rest are aborted).
   */
  close(callback?: () => void): this {
    if (callback !== undefined) validateFunction(callback, 'callback');
    if (!this.handle) {
      if (callback) process.nextTick(callback);
      return this;
    }
    if (this.closing) {
      if (callback) this.closing.callbacks.push(callback);
      return this;
    }
    this.closing = { timer: null, callbacks: callback ? [callback] : [] };
    for (const id of [...this.pending.keys()]) this.failConnect(id, socketClosed());
    for (const a of this.associations.values()) this.shutdownAssociation(a);
    const timeout = this.options.shutdownTimeout ?? 30000;
    this.closing.timer = setTimeout(
      () =>
        this.destroy(
          codedError(`SCTP SHUTDOWN did not complete within ${timeout} ms; aborted`, 'ETIMEDOUT'),
        ),
      timeout,
    );
    if (this.unrefed) this.closing.timer.unref();
    this.maybeClosed();
    return this;
  }

  /** Closes at once: every association is aborted ('close' gets `err`, if given). */
  destroy(err?: Error): this {
    const handle = this.handle;
    if (!handle) return this;
    this.handle = null;
    this.reading = false;
    for (const id of [...this.pending.keys()]) this.failConnect(id, socketClosed());
    handle.setOption('SO_LINGER', { onoff: 1, linger: 0 }); // close() aborts every association
    handle.onevent = undefined;
    handle.close();
    const queued = this.queue;
    this.queue = [];
    for (const q of queued) if (q.callback) process.nextTick(q.callback, socketClosed());
    for (const a of [...this.associations.values()]) {
      a.state = 'closed';
      this.associations.delete(a.id);
      a.emit('close', err);
    }
    const closing = this.closing;
    this.closing = null;
    if (closing?.timer) clearTimeout(closing.timer);
    process.nextTick(() => {
      for (const cb of closing?.callbacks ?? []) cb();
      this.emit('close');
    });
    return this;
  }

  private maybeClosed(): void {
    if (this.closing && this.associations.size === 0 && this.queue.length === 0) this.destroy();
  }

  ref(): this {
    this.unrefed = false;
    this.handle?.ref();
    this.closing?.timer?.ref();
    return this;
  }

  unref(): this {
    this.unrefed = true;
    this.handle?.unref();
    this.closing?.timer?.unref();
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (this.handle) await new Promise<void>((resolve) => this.close(resolve));
  }
}

/** Why an association was lost: the peer's ABORT or a timeout. */
function lostError(n: AssocChangeNotification, a: Association): Error {
  const errno = lostErrno(n);
  const err = systemError(errno, 'recvmsg');
  err.message =
    errno === -104
      ? `association ${a.id} aborted by the peer (ECONNRESET)`
      : `association ${a.id} lost: the peer stopped answering (ETIMEDOUT)`;
  return Object.assign(err, { causeCode: n.error });
}

/** Creates a one-to-many endpoint bound to `options.host`/`options.port`. Throws on bind errors. */
export function createEndpoint(options: EndpointOptions = {}): Endpoint {
  return new Endpoint(options);
}
