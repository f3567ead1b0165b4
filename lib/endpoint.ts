// One-to-many SCTP endpoint (SOCK_SEQPACKET): one socket carries every association, each
// represented by an Association that owns its state, queue and flow. The endpoint binds,
// sets associations up, reads the socket and routes what it reads, hands the associations
// waiting to write to WriteTurns, and tears everything down.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import {
  Association,
  type AssociationHost,
  type EndpointLimits,
  type EndpointMessageInfo,
} from './association';
import {
  abortError,
  codedError,
  invalidArgType,
  invalidArgValue,
  socketClosed,
  systemError,
} from './errors';
import {
  applyHandleOptions,
  assocIdAt,
  controlSend,
  Entry,
  entryAt,
  forEachEntry,
  getOption,
  messageInfoAt,
  partialReliabilityOf,
  readAddresses,
  reservedSettings,
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
  type SendOptions,
  type StreamCounts,
  type PartialReliability,
  type SendDefaults,
  type SendDefaultsChange,
} from './handle';
import { changeSettings, readSettings, type Settings, type SettingsTarget } from './settings';
import { Holder } from './holder';
import { iterate } from './iterate';
import { WriteTurns } from './write-turns';
import { constants, native, type NativeNotification, type NativeSocket } from './native';
import { toNotification, type AssocChangeNotification, type Notification } from './notifications';
import {
  sendError,
  sendNow,
  type Destination,
  type QueuedSend,
  type SendCallback,
} from './send-queue';
import { Socket, type SocketOptions } from './socket';
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

export { Association } from './association';
export type { AssociationState, EndpointMessageInfo } from './association';

/**
 * Options of createEndpoint(): the local binding, send defaults, the bounds on what each
 * association may queue and hold, and the kernel options and settings of its socket.
 */
export interface EndpointOptions extends HandleOptions {
  /** Local address, or several (multihoming). Default: every address ('::', or 0.0.0.0). */
  host?: string | string[];
  /** Local port; 0 (default) picks one. */
  port?: number;
  /** Default stream and PPID (host byte order) for send(). */
  stream?: number;
  /** Default PPID for send(), 0 .. 2^32-1, host byte order. Default 0. */
  ppid?: number;
  /** Default PR-SCTP policy for send() (none: every message fully reliable). */
  pr?: PartialReliability;
  /** Seconds after which the kernel gracefully closes an idle association (SCTP_AUTOCLOSE). 0: never. */
  autoClose?: number;
  /**
   * Let other endpoints that set it too, in this process or others, bind the same addresses
   * and port (SO_REUSEPORT): the kernel gives each new incoming association to one of them,
   * by a hash of the peer's address and port, and every later packet of it to the same one.
   * Every endpoint of the group must bind the same set of addresses.
   * (connect()'s `reusePort` is SCTP_REUSE_PORT: several clients from one local port.)
   */
  reusePort?: boolean;
  /** Associations this endpoint keeps at most; further incoming ones are aborted ('drop'). */
  maxAssociations?: number;
  /** Messages an association queues (kernel buffer full) before send() returns false. Default 1024. */
  highWaterMark?: number;
  /** Bytes an association queues before send() returns false. Default 1 MiB. */
  highWaterBytes?: number;
  /**
   * Bytes an association may queue at most; a send past it fails with
   * ERR_SCTP_SEND_QUEUE_FULL. Default 16 MiB.
   */
  maxQueuedBytes?: number;
  /** The same bound over all associations of the endpoint. Default 256 MiB. */
  maxTotalQueuedBytes?: number;
  /**
   * Bytes read for a paused association (pause(), an iterator that is behind) and held for
   * it; past it the association is aborted with ERR_SCTP_READ_OVERFLOW. Default 4 MiB.
   */
  maxHeldBytes?: number;
  /**
   * The same bound over all associations; past it the association holding the most is
   * aborted. Default 64 MiB.
   */
  maxTotalHeldBytes?: number;
  /** How long close() waits for the graceful SHUTDOWNs before it aborts. Default 30000 ms. */
  shutdownTimeout?: number;
}

/** What Endpoint#connect() takes. */
export interface EndpointConnectOptions {
  /** The peer's address, or several for a multihomed peer. */
  host?: string | string[];
  /** The peer's SCTP port, 1 .. 65535. */
  port: number;
  /** Streams to ask for on this association (the endpoint's `streams` otherwise). */
  streams?: StreamCounts;
  /** Reject with ETIMEDOUT if the association is not up within this many milliseconds. */
  timeout?: number;
  /** Aborting it rejects with an AbortError (ABORT_ERR) and ABORTs the half-open association. */
  signal?: AbortSignal;
}

export interface EndpointSendOptions extends SendOptions {
  /** The association to send on (or its id in `assocId`). */
  association?: Association;
  /** The id of the association to send on (Association#id), instead of `association`. */
  assocId?: number;
  /** A peer address: the kernel sets up an association implicitly if none exists. */
  to?: {
    /** The peer's numeric IPv4 or IPv6 address. */
    host: string;
    /** The peer's SCTP port, 1 .. 65535. */
    port: number;
  };
}

/** What 'drop' reports about an association refused because of `maxAssociations`. */
export interface DroppedAssociation {
  /** The id the kernel gave the refused association. */
  assocId: number;
  /** The peer's addresses, as far as they could still be read (possibly none). */
  remoteAddresses: AddressInfo[];
}

/** What an endpoint holds, for monitoring (endpoint.stats()). */
export interface EndpointStats {
  /** Associations up on the endpoint (as associationCount). */
  associations: number;
  /** Payload bytes queued behind full kernel buffers, over all associations. */
  queuedBytes: number;
  /** Payload bytes read and held for paused associations. */
  heldBytes: number;
  /** Bytes of messages still arriving in pieces (native reassembly). */
  partialBytes: number;
  /** Failed sends that had no callback and no 'error' listener to go to. */
  unreportedSendErrors: number;
}

interface PendingConnect {
  resolve: (association: Association) => void;
  reject: (err: Error) => void;
  cleanup: () => void;
  hosts: string[];
  port: number;
  started: number;
}

const { EAFNOSUPPORT, EAGAIN, ECONNREFUSED, EINPROGRESS, ETIMEDOUT } = os.constants.errno;
const MiB = 1024 * 1024;
const DEFAULT_LIMITS: EndpointLimits = {
  highWaterMark: 1024,
  highWaterBytes: 1 * MiB,
  maxQueuedBytes: 16 * MiB,
  maxTotalQueuedBytes: 256 * MiB,
  maxHeldBytes: 4 * MiB,
  maxTotalHeldBytes: 64 * MiB,
};
export interface Endpoint {
  /** A new association is up (COMM_UP), set up by a peer or by connect(). */
  on(event: 'association', listener: (association: Association) => void): this;
  /** A message of any association, with its info; `info.association` is its Association. */
  on(event: 'message', listener: (data: Buffer, info: EndpointMessageInfo) => void): this;
  /**
   * Every SCTP notification read on the socket, of any association, before the association's own
   * events.
   */
  on(event: 'notification', listener: (notification: Notification) => void): this;
  /**
   * An incoming association was ABORTed at once: maxAssociations was reached, or the endpoint is
   * closing.
   */
  on(event: 'drop', listener: (dropped: DroppedAssociation) => void): this;
  /**
   * 'drain': after a send() on the endpoint returned false, the queues have emptied.
   * 'close': the endpoint is closed, after every association's 'close'.
   */
  on(event: 'drain' | 'close', listener: () => void): this;
  /**
   * An error of the endpoint itself (its socket could not be polled), the error given to
   * destroy(err), or a failed send without a callback whose association has no 'error' listener.
   */
  on(event: 'error', listener: (err: Error) => void): this;
  /** Any other event, as on every EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/** A one-to-many SCTP socket. Create it with `createEndpoint()`. */
export class Endpoint extends EventEmitter {
  private state: 'open' | 'closing' | 'closed' = 'open';
  private readonly holder = new Holder({
    read: (count, pool, offset, extras) =>
      forEachEntry(count, pool, offset, extras, this.alive, this.deliverEntry),
    writable: () => this.turns.flush(true),
  });
  /** The read batch callbacks, made once (a batch can come for every message). */
  private readonly alive = () => this.holder.handle !== null;
  private readonly deliverEntry = (k: number, entry: unknown) => this.deliver(k, entry);
  private readonly family: number;
  private readonly options: EndpointOptions;
  private readonly associations = new Map<number, Association>();
  /** Peeled off in this turn of the event loop: what was read for them follows them. */
  private readonly peeledInBatch = new Map<number, Socket>();
  private readonly pending = new Map<number, PendingConnect>();
  /**
   * Associations we aborted before they were ours (dropped, or a connect given up): what
   * still arrives for them until their COMM_LOST/CANT_STR_ASSOC is not delivered.
   */
  private readonly refused = new Set<number>();
  /** The associations (and sends by address) waiting for the kernel to take writes. */
  private readonly turns: WriteTurns;
  private owedDrain = false;
  private userPaused = false;
  /** Endpoint iterators that are behind (each pauses once). */
  private iteratorPauses = 0;
  private reading = false;
  private unreportedSendErrors = 0;
  private closeCallbacks: (() => void)[] = [];
  /** What its associations need of it; kept apart from the public surface. */
  private readonly host: AssociationHost;

  /**
   * Opens the socket, applies the options and binds it (as createEndpoint()). Throws on a bad
   * option and on the system error of socket, setsockopt or bind.
   */
  constructor(options: EndpointOptions = {}) {
    super();
    validateObject(options, 'options');
    validateHandleOptions(options);
    this.options = { ...options };
    const hosts =
      options.host === undefined ? null : validateAddresses(options.host, 'options.host');
    const port = options.port === undefined ? 0 : validatePort(options.port, 'options.port');
    const defaults = resolveDefaults(options);
    const limits = { ...DEFAULT_LIMITS };
    for (const key of Object.keys(limits) as (keyof EndpointLimits)[]) {
      const value = options[key];
      if (value !== undefined) limits[key] = validateInteger(value, `options.${key}`, 1, 2 ** 40);
    }
    if (options.autoClose !== undefined) {
      validateInteger(options.autoClose, 'options.autoClose', 0, 2 ** 31 - 1);
    }
    if (options.reusePort !== undefined) validateBoolean(options.reusePort, 'options.reusePort');
    if (options.maxAssociations !== undefined) {
      validateInteger(options.maxAssociations, 'options.maxAssociations', 1, 2 ** 31 - 1);
    }
    if (options.shutdownTimeout !== undefined) {
      validateInteger(options.shutdownTimeout, 'options.shutdownTimeout', 0, 2 ** 31 - 1);
    }
    this.host = this.makeHost(defaults, limits);
    this.turns = new WriteTurns(
      this.holder,
      {
        associations: () => this.associations.values(),
        settleAddressed: (item, err) => this.settleAddressed(item, err),
        idle: () => this.onIdle(),
        error: (err) => this.emitError(err),
      },
      options.stallTimeout,
    );

    // Every address unless told: an IPv6 socket also takes IPv4 (v4-mapped) unless IPv6 is off.
    let family = hosts && familyFor(hosts) === 4 ? constants.AF_INET : constants.AF_INET6;
    let fd = native.socket(family, constants.SOCK_SEQPACKET);
    if (fd === -EAFNOSUPPORT && !hosts) {
      family = constants.AF_INET;
      fd = native.socket(family, constants.SOCK_SEQPACKET);
    }
    if (fd < 0) throw systemError(fd, 'socket');
    this.family = family;
    const handle = this.holder.open(fd, family);
    try {
      applyHandleOptions(handle, options, 'endpoint');
      // Partial deliveries of different associations may interleave: with the kernel's
      // default (0), one association in a partial delivery holds back every other one's
      // messages and notifications until its message is complete, which a peer can make
      // last. The reassembler keeps pieces per association and stream.
      setOption(handle, 'SCTP_FRAGMENT_INTERLEAVE', { value: 1 });
      if (options.autoClose) {
        setOption(handle, 'SCTP_AUTOCLOSE', { value: options.autoClose });
      }
      if (options.reusePort) setOption(handle, 'SO_REUSEPORT', { value: 1 });
      const bindHosts = hosts ?? [family === constants.AF_INET6 ? '::' : '0.0.0.0'];
      const rc = handle.bindx(bindHosts, port, false);
      if (rc < 0) throw systemError(rc, 'bind', { address: bindHosts, port });
    } catch (err) {
      this.holder.close(false);
      this.state = 'closed';
      throw err;
    }
    this.updateReading();
  }

  private makeHost(defaults: SendDefaults, limits: EndpointLimits) {
    const host: AssociationHost = {
      defaults,
      limits,
      queuedBytes: 0,
      heldBytes: 0,
      handleFor: (a) => this.handleFor(a),
      sendHandle: () => {
        if (this.state !== 'open') throw socketClosed();
        return this.holder.live();
      },
      sendable: () => this.state === 'open',
      waitForWritable: (a) => this.turns.wait(a),
      owesDrain: () => {
        this.owedDrain = true;
      },
      holdsAll: () => this.state === 'closing' && (this.userPaused || this.iteratorPauses > 0),
      reportSendError: (a, err) => this.reportSendError(a, err),
      emitMessage: (data, info) => this.emit('message', data, info),
      shedHeld: () => this.shedHeld(),
      forget: (a) => this.forget(a),
      peelOff: (a, options) => this.peelOff(a, options),
    };
    return host;
  }

  /** Accepts incoming associations from now on. */
  listen(backlog = 511): this {
    validateInteger(backlog, 'backlog', 1, 65535);
    const rc = this.holder.live().listen(backlog);
    if (rc < 0) throw systemError(rc, 'listen');
    return this;
  }

  /** The first bound address, with every bound address in `addresses`. */
  address():
    | (AddressInfo & {
        /** Every bound local address. */
        addresses: AddressInfo[];
      })
    | null {
    const addresses = readAddresses(this.holder.handle, false, 0);
    return addresses.length === 0 ? null : { ...addresses[0]!, addresses };
  }

  /** How many associations are up on this endpoint. */
  get associationCount(): number {
    return this.associations.size;
  }

  /** The association with this id, if it is up on this endpoint. */
  association(id: number): Association | undefined {
    return this.associations.get(validateInteger(id, 'id', -(2 ** 31), 2 ** 31 - 1));
  }

  /**
   * Reads a socket option of the endpoint's socket by name (an association's own values:
   * `association.getOption()`); see Socket#getOption.
   */
  getOption(name: string, input?: Record<string, unknown>): Record<string, unknown> {
    return getOption(this.holder.handle, name, input);
  }

  /** Sets a socket option of the endpoint's socket by name (see Socket#setOption). */
  setOption(name: string, value: Record<string, unknown>): void {
    setOption(this.holder.handle, name, value);
  }

  /**
   * The endpoint's settings (see Settings): its own, and those its associations start with
   * (each association's own: association.settings()).
   */
  settings(): Settings {
    return readSettings(this.settingsTarget()) as Settings;
  }

  /** Changes the endpoint's settings, for the associations to come; unset ones stay. */
  setSettings(settings: Partial<Settings>): this {
    changeSettings(this.settingsTarget(), settings);
    return this;
  }

  private settingsTarget(): SettingsTarget {
    return {
      handle: this.holder.handle,
      assocId: 0,
      kind: 'endpoint',
      reserved: reservedSettings(true, {}),
    };
  }

  /** Changes the stream, PPID or PR-SCTP policy send() uses by default (see Socket#setSendDefaults). */
  setSendDefaults(defaults: SendDefaultsChange): this {
    Object.assign(this.host.defaults, updateDefaults(this.host.defaults, defaults));
    return this;
  }

  /** What the endpoint holds in memory for its associations. */
  stats(): EndpointStats {
    return {
      associations: this.associations.size,
      queuedBytes: this.host.queuedBytes,
      heldBytes: this.host.heldBytes,
      partialBytes: this.holder.handle?.partialBytes() ?? 0,
      unreportedSendErrors: this.unreportedSendErrors,
    };
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
      const handle = this.holder.handle;
      if (!handle || this.state !== 'open') return reject(socketClosed());
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
        timer = this.holder.clearTimer(timer);
        signal?.removeEventListener('abort', onAbort);
      };
      this.pending.set(assocId, { resolve, reject, cleanup, hosts, port, started: Date.now() });
      if (options.timeout !== undefined) {
        timer = this.holder.timer(options.timeout, () =>
          this.failConnect(assocId, systemError(-ETIMEDOUT, 'connect', { address: hosts, port })),
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
    const handle = this.holder.handle;
    if (handle) sendMessage(handle, Buffer.alloc(0), controlSend(constants.SCTP_ABORT), assocId);
    p.reject(err);
  }

  // ---------------------------------------------------------------------------------------
  // Sending

  /**
   * Sends one message on an association (`association`/`assocId`) or to an address (`to`,
   * setting one up if needed). Returns false when it had to be queued and the queue is long:
   * wait for 'drain'. A failure goes to `callback`, or else to 'error' of the association
   * (or of the endpoint) where one is listened to; it never needs an endpoint listener.
   */
  send(data: string | Uint8Array, options: EndpointSendOptions, callback?: SendCallback): boolean {
    validateObject(options, 'options');
    const { association, assocId, to } = options;
    if (association !== undefined) {
      if (!(association instanceof Association) || association.endpoint !== this) {
        throw invalidArgType('options.association', 'an Association of this endpoint', association);
      }
      return association.send(data, options, callback);
    }
    let id = 0;
    let destination: Destination | undefined;
    if (assocId !== undefined) {
      id = validateInteger(assocId, 'options.assocId', -(2 ** 31), 2 ** 31 - 1);
      const a = this.associations.get(id);
      if (a) return a.send(data, options, callback);
    } else if (to !== undefined) {
      validateObject(to, 'options.to');
      const [host] = validateAddresses(to.host, 'options.to.host');
      destination = { host: host!, port: validatePort(to.port, 'options.to.port', false) };
    } else {
      throw invalidArgType('options', 'an object with association, assocId or to', options);
    }
    const payload = toPayload(data);
    if (callback !== undefined) validateFunction(callback, 'callback');
    const handle = this.host.sendHandle();
    const send = resolveSendOptions(options, this.host.defaults, 0);
    const item: QueuedSend = { data: payload, send, assocId: id, to: destination, callback };
    if (this.turns.addressed.length === 0) {
      const rc = sendNow(handle, item);
      if (rc !== -EAGAIN) {
        this.settleAddressed(item, rc < 0 ? sendError(rc, item, handle) : null, false);
        return true;
      }
    }
    const limits = this.host.limits;
    if (this.host.queuedBytes + payload.length > limits.maxTotalQueuedBytes) {
      const err = codedError(
        `queueing ${payload.length} more bytes would exceed maxTotalQueuedBytes ` +
          `(${limits.maxTotalQueuedBytes}); the message was not sent`,
        'ERR_SCTP_SEND_QUEUE_FULL',
      );
      this.settleAddressed(item, err, false);
      this.owedDrain = true; // queues are full: 'drain' when they have gone out
      return false;
    }
    this.host.queuedBytes += payload.length;
    this.turns.waitAddressed(item);
    const queue = this.turns.addressed;
    if (queue.length < limits.highWaterMark && queue.bytes < limits.highWaterBytes) {
      return true;
    }
    this.owedDrain = true;
    return false;
  }

  private settleAddressed(item: QueuedSend, err: Error | null, queued = true): void {
    if (queued) this.host.queuedBytes -= item.data.length;
    if (item.callback) process.nextTick(item.callback, err);
    else if (err) this.reportSendError(undefined, err);
  }

  /** A failed send without a callback: 'error' where someone listens, else only counted. */
  private reportSendError(a: Association | undefined, err: Error): void {
    const target =
      a && a.listenerCount('error') > 0 ? a : this.listenerCount('error') > 0 ? this : null;
    if (target) process.nextTick(() => target.emit('error', err));
    else this.unreportedSendErrors++;
  }

  /** Over maxTotalHeldBytes: the association holding the most is aborted. */
  private shedHeld(): void {
    let largest: Association | undefined;
    for (const a of this.associations.values()) {
      if (!largest || a.heldBytes > largest.heldBytes) largest = a;
    }
    largest?.fail(
      codedError(
        `Association ${largest.id}: the endpoint holds ${this.host.heldBytes} bytes for paused ` +
          `readers, more than maxTotalHeldBytes (${this.host.limits.maxTotalHeldBytes}); ` +
          'the association holding the most was aborted',
        'ERR_SCTP_READ_OVERFLOW',
      ),
    );
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  private deliver(k: number, entry: unknown): void {
    const kind = entryAt(k);
    if (kind === Entry.Notification) {
      this.onNotification(toNotification(entry as NativeNotification));
      return;
    }
    const assocId = assocIdAt(k);
    if (this.refused.has(assocId)) return;
    const peeled = this.peeledInBatch.get(assocId);
    if (kind === Entry.TooLarge) {
      const err = tooLargeError(this.options.maxMessageSize, assocId);
      if (peeled) peeled.destroy(err);
      else this.associations.get(assocId)?.fail(err);
      return;
    }
    const data = entry as Buffer;
    if (peeled) return peeled.injectMessage(data, messageInfoAt(k));
    const message = messageInfoAt(k) as EndpointMessageInfo;
    const a = this.associations.get(assocId);
    message.association = a;
    if (a) a.deliver(data, message);
    else this.emit('message', data, message);
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
    if (a) a.onNotification(n);
    else if (n.type === 'assoc_change' && n.state === 'cant_str_assoc') this.onCantStart(n);
  }

  private onUp(n: AssocChangeNotification): void {
    if (this.associations.has(n.assocId)) return;
    const p = this.pending.get(n.assocId);
    const max = this.options.maxAssociations;
    const full = max !== undefined && this.associations.size + this.pending.size >= max;
    if (!p && (this.state !== 'open' || full)) {
      let remoteAddresses: AddressInfo[] = [];
      try {
        remoteAddresses = readAddresses(this.holder.handle, true, n.assocId);
      } catch {
        // gone already: it is dropped all the same
      }
      const dropped: DroppedAssociation = { assocId: n.assocId, remoteAddresses };
      const reason = this.state !== 'open' ? 'endpoint closing' : 'association limit reached';
      this.refused.add(n.assocId);
      const handle = this.holder.handle;
      if (handle) {
        sendMessage(handle, Buffer.from(reason), controlSend(constants.SCTP_ABORT), n.assocId);
      }
      this.emit('drop', dropped);
      return;
    }
    const a = new Association(this, n.assocId, n, this.host);
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
    const rto = this.holder.handle?.getOption('SCTP_RTOINFO', { assocId: 0 });
    const init = this.holder.handle?.getOption('SCTP_INITMSG');
    if (typeof rto !== 'object' || typeof init !== 'object') return 0;
    const cap = (init.maxInitTimeout as number) || (rto.max as number);
    let total = 0;
    for (let k = 0, t = rto.initial as number; k <= (init.maxAttempts as number); k++, t *= 2) {
      total += Math.min(t, cap);
    }
    return total;
  }

  /** An association that closed or was peeled off is no longer ours. */
  private forget(a: Association): void {
    this.associations.delete(a.id);
    this.turns.leave(a);
    // The last queue to wait for may have gone with it.
    if (this.owedDrain && this.turns.idle && this.state !== 'closed') {
      this.owedDrain = false;
      process.nextTick(() => this.emit('drain'));
    }
    this.maybeClosed();
  }

  /** Every queue has gone to the kernel. */
  private onIdle(): void {
    if (this.owedDrain) {
      this.owedDrain = false;
      this.emit('drain');
    }
    this.maybeClosed();
  }

  /**
   * Pauses reading from the kernel: every association's window then closes (one receive
   * queue serves them all). To hold back one association only, pause that association.
   */
  pause(): this {
    this.userPaused = true;
    this.updateReading();
    return this;
  }

  /** Undoes pause(): reading from the kernel goes on (unless an iterator is behind). */
  resume(): this {
    this.userPaused = false;
    this.updateReading();
    return this;
  }

  private updateReading(): void {
    const handle = this.holder.handle;
    // While closing, reading goes on whatever the pauses say: the SHUTDOWN_COMPLETEs must be
    // read, and messages for paused readers are held per association meanwhile.
    const want =
      !!handle && (this.state === 'closing' || (!this.userPaused && this.iteratorPauses === 0));
    if (handle && want !== this.reading) {
      this.reading = want;
      const rc = handle.setReading(want);
      if (rc < 0) this.emitError(systemError(rc, 'uv_poll_start'));
    }
    // While closing, messages were held for the endpoint's pause: it may have ended now.
    if (this.state === 'closing' && !this.host.holdsAll()) {
      for (const a of [...this.associations.values()]) a.release();
    }
  }

  /** `for await (const { data, info } of endpoint.messages())`, every association's messages. */
  messages(): AsyncGenerator<{
    /** One whole received message. */
    data: Buffer;
    /** Its stream, PPID and association. */
    info: EndpointMessageInfo;
  }> {
    return iterate<{ data: Buffer; info: EndpointMessageInfo }>(
      (push, end) => {
        const onMessage = (data: Buffer, info: EndpointMessageInfo) => push({ data, info });
        const onClose = () => end();
        this.on('message', onMessage);
        this.on('close', onClose);
        if (this.state === 'closed') end();
        return () => {
          this.off('message', onMessage);
          this.off('close', onClose);
        };
      },
      {
        pause: () => {
          this.iteratorPauses++;
          this.updateReading();
        },
        resume: () => {
          this.iteratorPauses--;
          this.updateReading();
        },
      },
      64,
    );
  }

  // ---------------------------------------------------------------------------------------
  // Peeloff

  private peelOff(a: Association, options: SocketOptions): Socket {
    validateObject(options, 'options');
    for (const key of ['retransmission', 'pathDefaults'] as const) {
      if (options[key] === undefined) continue;
      // What new associations start with; this one is up (association.paths changes it).
      throw invalidArgValue(
        `options.${key}`,
        options[key],
        'is for new associations, not a peeled-off one',
      );
    }
    const handle = this.handleFor(a);
    if (a.state !== 'up') {
      throw codedError(`Association ${a.id} is ${a.state}`, 'ERR_SOCKET_CLOSED');
    }
    const o = this.options;
    const inherited: SocketOptions = {
      noDelay: o.noDelay,
      maxMessageSize: o.maxMessageSize,
      maxPartialBytes: o.maxPartialBytes,
      stallTimeout: o.stallTimeout,
      receiveBufferSize: o.receiveBufferSize,
      sendBufferSize: o.sendBufferSize,
      // What send() uses now (setSendDefaults may have changed the options' values).
      stream: this.host.defaults.stream,
      ppid: this.host.defaults.ppid,
      pr: partialReliabilityOf(this.host.defaults),
      senderDry: o.senderDry,
      // Not the scheduler: the association keeps its own (setScheduler may have changed it).
    };
    // Built (and its options checked) before the kernel moves the association: a failure
    // after that point could not give it back.
    const socket = new Socket({ ...inherited, ...options });
    const fd = handle.peeloff(a.id);
    if (fd < 0) {
      const err = systemError(fd, 'peeloff');
      // The kernel ended the association (an ABORT, a timeout) before its events were read.
      if (err.code === 'EINVAL') {
        err.message = `peeloff EINVAL: association ${a.id} has already ended in the kernel; its 'close' follows`;
      }
      throw err;
    }
    try {
      socket.attach(fd, this.family);
    } catch (err) {
      // The association now lives on an fd we could not set up: it is closed (and aborted).
      if (socket.nativeHandle()) socket.destroy();
      else native.closeFd(fd);
      a.close(err as Error);
      throw err;
    }
    handle.movePartials(a.id, socket.nativeHandle()!);
    socket.peeledUp(a.id, a.outboundStreams);
    // What the endpoint has read for it and not delivered yet (the rest of this read, which
    // may come in several batches) follows it; after this turn of the loop the kernel
    // delivers to the new socket.
    if (this.peeledInBatch.size === 0) setImmediate(() => this.peeledInBatch.clear());
    this.peeledInBatch.set(a.id, socket);
    a.movedTo(socket);
    return socket;
  }

  /** @internal The handle, for an association that is still ours. */
  handleFor(a: Association): NativeSocket {
    if (a.state === 'peeled_off') {
      throw codedError(`Association ${a.id} was peeled off`, 'ERR_SOCKET_CLOSED');
    }
    return this.holder.live();
  }

  // ---------------------------------------------------------------------------------------
  // Teardown

  /**
   * Graceful close: every association gets a SHUTDOWN after its queued messages; 'close'
   * once all have ended (or after shutdownTimeout, when the rest are aborted).
   */
  close(callback?: () => void): this {
    if (callback !== undefined) validateFunction(callback, 'callback');
    if (this.state === 'closed') {
      if (callback) process.nextTick(callback);
      return this;
    }
    if (callback) this.closeCallbacks.push(callback);
    if (this.state === 'closing') return this;
    this.state = 'closing';
    // The timer first: what follows can end the endpoint (and clear its timers) at once.
    const timeout = this.options.shutdownTimeout ?? 30000;
    this.holder.timer(timeout, () =>
      this.teardown(
        codedError(`SCTP SHUTDOWN did not complete within ${timeout} ms; aborted`, 'ETIMEDOUT'),
      ),
    );
    for (const id of [...this.pending.keys()]) this.failConnect(id, socketClosed());
    for (const a of [...this.associations.values()]) a.shutdown();
    this.updateReading();
    this.maybeClosed();
    return this;
  }

  /**
   * Closes at once: every association is aborted. With `err`, 'error' is emitted before
   * 'close' (as Node's destroy(err) does), and each association's 'close' gets it.
   */
  destroy(err?: Error): this {
    this.teardown(err ?? null, true);
    return this;
  }

  /** Closes the socket (ABORTing what is still open); with `emitError`, 'error' precedes 'close'. */
  private teardown(err: Error | null, emitError = false): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.owedDrain = false;
    this.holder.close(true); // the kernel aborts every association still open
    this.reading = false;
    for (const id of [...this.pending.keys()]) this.failConnect(id, socketClosed());
    this.turns.close(socketClosed);
    for (const a of [...this.associations.values()]) a.close(err ?? socketClosed(), true);
    const callbacks = this.closeCallbacks;
    this.closeCallbacks = [];
    process.nextTick(() => {
      if (err && emitError) this.emit('error', err);
      for (const cb of callbacks) cb();
      this.emit('close');
    });
  }

  private maybeClosed(): void {
    if (this.state !== 'closing') return;
    if (this.associations.size === 0 && this.turns.idle) this.teardown(null);
  }

  /** An error of the endpoint itself (libuv could not poll): 'error', or thrown if unheard. */
  private emitError(err: Error): void {
    process.nextTick(() => this.emit('error', err));
  }

  /**
   * Undoes unref(): the open endpoint and its timers keep the process alive again (the default).
   */
  ref(): this {
    this.holder.ref();
    return this;
  }

  /**
   * Lets the process exit while the endpoint (and its timers) is still open, as net.Server#unref.
   */
  unref(): this {
    this.holder.unref();
    return this;
  }

  /** For `await using`: close() gracefully and wait until it has closed. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.state !== 'closed') await new Promise<void>((resolve) => this.close(resolve));
  }
}

/** Creates a one-to-many endpoint bound to `options.host`/`options.port`. Throws on bind errors. */
export function createEndpoint(options: EndpointOptions = {}): Endpoint {
  return new Endpoint(options);
}
