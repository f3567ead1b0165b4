// One association of a one-to-many Endpoint. It owns its state, its send queue and its read
// flow: pause()/resume() and an iterator hold its messages without stopping the socket, which
// every other association shares. The endpoint reads the socket, routes each entry here, and
// hands this association's queue to the kernel when the kernel takes writes again.
import { EventEmitter } from 'node:events';
import os from 'node:os';
import { readNegotiated, type NegotiatedFeature, type SchedulerName } from './capabilities';
import { codedError, invalidArgType, outOfRange, socketClosed, systemError } from './errors';
import {
  controlSend,
  getOption,
  readAddresses,
  getStreamSchedulerValue,
  readAbandoned,
  readAssociationStats,
  readScheduler,
  readStatus,
  setScheduler,
  setStreamSchedulerValue,
  validateHandleOptions,
  resolveSendOptions,
  sendOptionsOf,
  sendMessage,
  setOption,
  toPayload,
  type AddressInfo,
  type MessageInfo,
  type SendOptions,
  type Status,
  type Abandoned,
  type AssociationStats,
  type SendDefaults,
} from './handle';
import {
  changeSettings,
  readSettings,
  type AssociationSettings,
  type SettingsTarget,
} from './settings';
import { AuthKeys } from './auth';
import { iterate } from './iterate';
import { constants, type NativeSocket } from './native';
import {
  emitNotification,
  lostErrno,
  LOST_WITHOUT_CAUSE,
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
import { Paths } from './paths';
import {
  Reconfiguration,
  type AddStreamsOptions,
  type ResetStreamsOptions,
  type StreamCountsAfter,
} from './reconfig';
import { SendQueue, sendError, sendNow, type QueuedSend, type SendCallback } from './send-queue';
import type { Socket, SocketOptions } from './socket';
import { validateFunction, validateObject } from './validate';
// Types only: the endpoint creates associations, an association never creates an endpoint.
import type { Endpoint } from './endpoint';

const { EAGAIN, ECONNRESET } = os.constants.errno;
const ITERATOR_HIGH_WATER_MARK = 64;
/** The longest ABORT reason: it must fit in one packet on any path (IPv6's minimum MTU is 1280). */
export const MAX_ABORT_REASON = 1024;

/**
 * up → shutting_down (shutdown(), or the peer's SHUTDOWN) → closed; up or shutting_down →
 * aborting (abort(), or a failure that ends it) → closed; up → peeled_off.
 */
export type AssociationState = 'up' | 'shutting_down' | 'aborting' | 'closed' | 'peeled_off';

/** MessageInfo with the association object the message belongs to. */
export interface EndpointMessageInfo extends MessageInfo {
  /**
   * The Association the message belongs to; undefined for one whose association the
   * endpoint does not hold (not yet announced by 'association', or already gone).
   */
  association: Association | undefined;
}

/** @internal What an association needs of its endpoint (see Endpoint). */
export interface AssociationHost {
  handleFor(a: Association): NativeSocket;
  /** The socket for sends: ERR_SOCKET_CLOSED while the endpoint closes. */
  sendHandle(): NativeSocket;
  /** False while the endpoint closes (no new sends). */
  sendable(): boolean;
  readonly defaults: SendDefaults;
  readonly limits: EndpointLimits;
  /** Payload bytes queued, and held for paused readers, over all associations. */
  queuedBytes: number;
  heldBytes: number;
  waitForWritable(a: Association): void;
  owesDrain(): void;
  holdsAll(): boolean;
  reportSendError(a: Association, err: Error): void;
  emitMessage(data: Buffer, info: EndpointMessageInfo): void;
  shedHeld(): void;
  forget(a: Association): void;
  peelOff(a: Association, options: SocketOptions): Socket;
}

/** The bounds an endpoint puts on what its associations queue and hold (EndpointOptions). */
export interface EndpointLimits {
  highWaterMark: number;
  highWaterBytes: number;
  maxQueuedBytes: number;
  maxTotalQueuedBytes: number;
  maxHeldBytes: number;
  maxTotalHeldBytes: number;
}

type HeldMessage = { data: Buffer; info: EndpointMessageInfo };
/** The held list of every association that holds nothing (never written to). */
const NO_HELD: HeldMessage[] = Object.freeze([]) as unknown as HeldMessage[];
/** The stall guard's state of an association that is not stuck (replaced, never written to). */
const NOT_STUCK = Object.freeze({ since: 0, sent: -1 });

export interface Association {
  /** A message of this association with its info (after the endpoint's own 'message'). */
  on(event: 'message', listener: (data: Buffer, info: EndpointMessageInfo) => void): this;
  /**
   * Every SCTP notification about this association (RFC 6458 section 6.1), before its typed event.
   */
  on(event: 'notification', listener: (notification: Notification) => void): this;
  /**
   * The peer restarted the association (SCTP_ASSOC_CHANGE, SCTP_RESTART): the same id with
   * new stream counts; messages in flight may have been lost.
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
  /** The peer started a graceful SHUTDOWN (state becomes 'shutting_down'; SCTP_SHUTDOWN_EVENT). */
  on(event: 'shutdown', listener: (notification: ShutdownNotification) => void): this;
  /**
   * AUTH (RFC 4895): the peer's key changed, or a key may now be deleted, or the peer does
   * not support AUTH (SCTP_AUTHENTICATION_EVENT).
   */
  on(event: 'authentication', listener: (notification: AuthenticationNotification) => void): this;
  /** After send() returned false, this association's queue has emptied. */
  on(event: 'drain', listener: () => void): this;
  /**
   * The association is gone, on a later tick. `err` says why when it ended badly: the peer
   * aborted (ECONNRESET), it stopped answering (ETIMEDOUT), EMSGSIZE, ERR_SCTP_STALLED,
   * ERR_SCTP_READ_OVERFLOW, or the endpoint was destroyed; none after a SHUTDOWN or abort().
   */
  on(event: 'close', listener: (err?: Error) => void): this;
  /** The association moved to its own one-to-one Socket (peeloff()); this object is done. */
  on(event: 'peeloff', listener: (socket: Socket) => void): this;
  /**
   * A send without a callback failed. Emitted only while someone listens: otherwise the
   * endpoint's 'error' gets it, or endpoint.stats().unreportedSendErrors counts it.
   */
  on(event: 'error', listener: (err: Error) => void): this;
  /** Any other event, as on every EventEmitter. */
  on(event: string | symbol, listener: (...args: any[]) => void): this;
}

/**
 * One association of an Endpoint. Events: 'message', 'notification' (and 'restart',
 * 'peerAddressChange', 'sendFailed', 'shutdown' when the peer starts a SHUTDOWN), 'drain',
 * 'peeloff', 'error' (only when listened to: a failed send without a callback), and 'close',
 * on the next tick, with the reason when it ended badly (peer ABORT, timeout, EMSGSIZE,
 * a stalled or overflowing queue).
 */
export class Association extends EventEmitter {
  /** Where the association is in its life (see AssociationState); 'up' when it is announced. */
  state: AssociationState = 'up';
  /** Streams negotiated (they can change on a restart or a stream reconfiguration). */
  outboundStreams: number;
  /** Inbound streams negotiated: the peer sends on streams 0 .. inboundStreams - 1. */
  inboundStreams: number;
  /** @internal Sends the kernel could not take yet. */
  readonly queue: SendQueue;
  /** Messages read while paused, delivered on resume() (NO_HELD until there are some). */
  private held: HeldMessage[] = NO_HELD;
  private heldSize = 0;
  private userPaused = false;
  /** Iterators that are behind (each pauses once). */
  private iteratorPauses = 0;
  private owedDrain = false;
  /** Why this association is being aborted, for its 'close' (null: abort() was asked for). */
  private abortError: Error | null = null;
  /**
   * @internal What the stall guard last saw (WriteTurns): since when its peer's window has
   * been closed on unacknowledged data, and how many data chunks had gone out then (-1: not
   * stuck).
   */
  stall: Readonly<{ since: number; sent: number }> = NOT_STUCK;
  /** Made on first use: an endpoint may hold many thousands of associations. */
  private pathsOf: Paths | null = null;
  private reconfig: Reconfiguration | null = null;

  /** @internal */
  constructor(
    /** The endpoint this association belongs to (and whose socket carries it). */
    readonly endpoint: Endpoint,
    /** The kernel's association id (sctp_assoc_t), unique on its endpoint while it lives. */
    readonly id: number,
    up: AssocChangeNotification,
    private readonly host: AssociationHost,
  ) {
    super();
    this.outboundStreams = up.outboundStreams;
    this.inboundStreams = up.inboundStreams;
    this.queue = new SendQueue((item, err) => this.settle(item, err));
  }

  /** Path management: per-path state, primary path, local addresses, heartbeats. */
  get paths(): Paths {
    return (this.pathsOf ??= new Paths(
      () => this.host.handleFor(this),
      () => this.id,
    ));
  }

  /** AUTH's shared keys of this association (see SocketOptions.auth). */
  get auth(): AuthKeys {
    return new AuthKeys(
      () => this.host.handleFor(this),
      () => this.id,
    );
  }

  /**
   * This association's local addresses (SCTP_GET_LOCAL_ADDRS); empty once the kernel has
   * ended it. Throws ERR_SOCKET_CLOSED once peeled off or the endpoint is closed.
   */
  localAddresses(): AddressInfo[] {
    return readAddresses(this.host.handleFor(this), false, this.id);
  }

  /**
   * The peer's addresses (SCTP_GET_PEER_ADDRS), one per path; empty once the kernel has ended it.
   */
  remoteAddresses(): AddressInfo[] {
    return readAddresses(this.host.handleFor(this), true, this.id);
  }

  /**
   * SCTP_STATUS of this association (see Socket#status); throws the kernel's error once it has
   * ended.
   */
  status(): Status {
    return readStatus(this.host.handleFor(this), this.id);
  }

  /** PR-SCTP: the messages the kernel abandoned (see Socket#abandoned). */
  abandoned(stream?: number): Abandoned {
    return readAbandoned(this.host.handleFor(this), this.id, stream);
  }

  /** This association's counters (see Socket#stats). */
  stats(): AssociationStats {
    return readAssociationStats(this.host.handleFor(this), this.id);
  }

  /** This association's settings (see Settings); the endpoint's own are on the endpoint. */
  settings(): AssociationSettings {
    return readSettings(this.settingsTarget()) as AssociationSettings;
  }

  /** Changes this association's settings; unset ones stay. */
  setSettings(settings: Partial<AssociationSettings>): this {
    changeSettings(this.settingsTarget(), settings);
    return this;
  }

  private settingsTarget(): SettingsTarget {
    return { handle: this.host.handleFor(this), assocId: this.id, kind: 'association' };
  }

  /** The extensions this association uses (see Socket#negotiated). */
  negotiated(): Record<NegotiatedFeature, boolean> {
    const handle = this.host.handleFor(this);
    if (!handle) throw socketClosed();
    return readNegotiated(handle, this.id);
  }

  /** The stream scheduler of this association (see Socket#getScheduler). */
  getScheduler(): SchedulerName {
    return readScheduler(this.host.handleFor(this), this.id);
  }

  /** Changes this association's stream scheduler (see SocketOptions.scheduler). */
  setScheduler(name: SchedulerName): this {
    validateHandleOptions({ scheduler: name });
    const handle = this.host.handleFor(this);
    if (!handle) throw socketClosed();
    setScheduler(handle, name, this.id);
    return this;
  }

  /** An outbound stream's scheduler value (see Socket#setStreamSchedulerValue). */
  setStreamSchedulerValue(stream: number, value: number): this {
    setStreamSchedulerValue(this.host.handleFor(this), this.id, stream, value);
    return this;
  }

  /** An outbound stream's scheduler value (see Socket#getStreamSchedulerValue). */
  getStreamSchedulerValue(stream: number): number {
    return getStreamSchedulerValue(this.host.handleFor(this), this.id, stream);
  }

  /** Resets stream sequence numbers (see Socket#resetStreams). */
  resetStreams(options?: ResetStreamsOptions): Promise<void> {
    return this.reconfiguration().resetStreams(options);
  }

  /** Resets the association's TSNs and streams (see Socket#resetAssociation). */
  resetAssociation(options?: { signal?: AbortSignal }): Promise<AssocResetNotification> {
    return this.reconfiguration().resetAssociation(options);
  }

  /** Adds streams (see Socket#addStreams). */
  addStreams(options: AddStreamsOptions): Promise<StreamCountsAfter> {
    return this.reconfiguration().addStreams(options);
  }

  private reconfiguration(): Reconfiguration {
    return (this.reconfig ??= new Reconfiguration({
      handle: () =>
        this.state === 'up' || this.state === 'shutting_down' ? this.host.handleFor(this) : null,
      assocId: this.id,
      counts: this,
      queuedSends: () => this.queue.length,
    }));
  }

  /** Reads a socket option for this association (assocId is filled in). */
  getOption(name: string, input?: Record<string, unknown>): Record<string, unknown> {
    return getOption(this.host.handleFor(this), name, input, this.id);
  }

  /** Sets a socket option for this association (assocId is filled in); see Socket#setOption. */
  setOption(name: string, value: Record<string, unknown>): void {
    setOption(this.host.handleFor(this), name, value, this.id);
  }

  /** Payload bytes queued behind a full kernel buffer. */
  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Payload bytes read for this association and held while it is paused. */
  get heldBytes(): number {
    return this.heldSize;
  }

  /**
   * Sends one message. Returns false when it was queued behind a full kernel buffer and the
   * queue has reached the endpoint's highWaterMark or highWaterBytes: wait for 'drain'. Only
   * this association waits; the others go on.
   */
  send(data: string | Uint8Array, options: SendOptions = {}, callback?: SendCallback): boolean {
    const payload = toPayload(data);
    validateObject(options, 'options');
    if (callback !== undefined) validateFunction(callback, 'callback');
    const send = resolveSendOptions(options, this.host.defaults, this.outboundStreams);
    const item: QueuedSend = { data: payload, send, assocId: this.id, callback };
    if (this.state === 'peeled_off') {
      throw codedError(`Association ${this.id} was peeled off`, 'ERR_SOCKET_CLOSED');
    }
    // The peer can end an association at any moment: a send that comes too late is a
    // failed send (callback, 'error'), not an exception in the middle of the application.
    if (this.state !== 'up' || !this.host.sendable()) {
      const why = this.state !== 'up' ? this.state : 'on an endpoint that is closing';
      this.report(item, codedError(`Association ${this.id} is ${why}`, 'ERR_SOCKET_CLOSED'));
      return false;
    }
    return this.enqueue(item);
  }

  /** Sends now if nothing is queued ahead, else queues (within the endpoint's bounds). */
  private enqueue(item: QueuedSend): boolean {
    const host = this.host;
    if (this.queue.length === 0) {
      const handle = host.sendHandle();
      const rc = sendNow(handle, item);
      if (rc !== -EAGAIN) {
        this.report(item, rc < 0 ? sendError(rc, item, handle) : null);
        return true;
      }
    }
    const limits = host.limits;
    const size = item.data.length;
    const ownFull = this.queue.bytes + size > limits.maxQueuedBytes;
    if (ownFull || host.queuedBytes + size > limits.maxTotalQueuedBytes) {
      const err = codedError(
        `Association ${this.id}: queueing ${size} more bytes would exceed maxQueuedBytes ` +
          `(${limits.maxQueuedBytes} per association, ${limits.maxTotalQueuedBytes} per endpoint); ` +
          "the message was not sent. Wait for 'drain' when send() returns false",
        'ERR_SCTP_SEND_QUEUE_FULL',
      );
      this.report(item, err);
      // A 'drain' comes when this queue (or, for the endpoint's bound, all) has gone out;
      // a message larger than the bound alone, with nothing queued, has nothing to wait for.
      if (this.queue.length > 0) this.owedDrain = true;
      else if (ownFull) return true;
      host.owesDrain();
      return false;
    }
    this.queue.push(item);
    host.queuedBytes += size;
    host.waitForWritable(this);
    if (this.queue.length < limits.highWaterMark && this.queue.bytes < limits.highWaterBytes) {
      return true;
    }
    this.owedDrain = true;
    host.owesDrain();
    return false;
  }

  /** A message the kernel took or refused, after it was queued. */
  private settle(item: QueuedSend, err: Error | null): void {
    this.host.queuedBytes -= item.data.length;
    // Messages dropped because the association is ending: their callbacks learn it, and
    // 'close' says it to everyone else.
    if (err && !item.callback && this.state !== 'up' && this.state !== 'shutting_down') return;
    this.report(item, err);
  }

  /** A send's outcome: its callback, or else (a failure) the association's 'error' listeners. */
  private report(item: QueuedSend, err: Error | null): void {
    if (item.callback) process.nextTick(item.callback, err);
    else if (err) this.host.reportSendError(this, err);
  }

  /** @internal Hands the queue to the kernel; true when it is empty now. */
  flush(handle: NativeSocket): boolean {
    return this.queue.flush(handle);
  }

  /** @internal The queue emptied: 'drain' if send() returned false. */
  drained(): void {
    if (!this.owedDrain || (this.state !== 'up' && this.state !== 'shutting_down')) return;
    this.owedDrain = false;
    this.emit('drain');
  }

  /** Graceful SHUTDOWN of this association only, after what is queued; 'close' follows. */
  shutdown(callback?: SendCallback): void {
    if (callback !== undefined) validateFunction(callback, 'callback');
    if (this.state !== 'up') {
      const err =
        this.state === 'shutting_down'
          ? null // already on its way
          : codedError(`Association ${this.id} is ${this.state}`, 'ERR_SOCKET_CLOSED');
      if (callback) process.nextTick(callback, err);
      return;
    }
    const handle = this.host.handleFor(this);
    // An empty message with SCTP_EOF, queued behind the association's data.
    const eof: QueuedSend = {
      data: Buffer.alloc(0),
      send: controlSend(constants.SCTP_EOF),
      assocId: this.id,
      callback,
    };
    this.state = 'shutting_down';
    if (this.queue.length === 0) {
      const rc = sendNow(handle, eof);
      // A failure means the kernel has lost the association: its COMM_LOST (read soon, or
      // being read) closes it with the real reason.
      if (rc !== -EAGAIN) return this.report(eof, rc < 0 ? systemError(rc, 'sendmsg') : null);
    }
    this.queue.push(eof);
    this.host.waitForWritable(this);
  }

  /** ABORT of this association only, with an optional reason the peer receives. */
  abort(reason?: string | Uint8Array): void {
    if (reason !== undefined && typeof reason !== 'string' && !(reason instanceof Uint8Array)) {
      throw invalidArgType('reason', 'of type string or an instance of Uint8Array', reason);
    }
    const data = typeof reason === 'string' ? Buffer.from(reason) : (reason ?? Buffer.alloc(0));
    if (data.length > MAX_ABORT_REASON) {
      throw outOfRange('reason', `at most ${MAX_ABORT_REASON} bytes`, data.length);
    }
    this.abortWith(data, null);
  }

  /**
   * @internal Ends the association because of `err` (EMSGSIZE, a stalled or overflowing
   * queue): the peer gets an ABORT with the reason, 'close' gets `err`. With `dropHeld`
   * (an overflow: what it holds is what the failure is about) held messages are dropped;
   * otherwise they are still delivered before 'close'.
   */
  fail(err: Error, dropHeld = false): void {
    if (dropHeld) this.takeHeld();
    this.abortWith(Buffer.from(err.message.slice(0, MAX_ABORT_REASON)), err);
  }

  private abortWith(data: Uint8Array, err: Error | null): void {
    if (this.state === 'closed' || this.state === 'peeled_off' || this.state === 'aborting') return;
    const handle = this.host.handleFor(this);
    this.state = 'aborting';
    this.abortError = err;
    this.owedDrain = false;
    // ABORT is immediate: what is still queued will not be sent.
    this.queue.clear(() =>
      codedError(`Association ${this.id} was aborted`, 'ERR_STREAM_DESTROYED'),
    );
    const rc = sendMessage(handle, data, controlSend(constants.SCTP_ABORT), this.id);
    if (rc < 0) this.close(err); // already gone in the kernel
  }

  /**
   * Moves the association to its own one-to-one Socket (the endpoint's options re-applied,
   * overridden by `options`). Messages the endpoint has read but not yet delivered, pieces of
   * a message still arriving, and sends still queued move with it, in order; an iterator over
   * this association ends.
   */
  peeloff(options: SocketOptions = {}): Socket {
    return this.host.peelOff(this, options);
  }

  /** @internal The peeloff happened: what this association holds goes to `socket`, in order. */
  movedTo(socket: Socket): void {
    for (const { data, info } of this.takeHeld()) socket.injectMessage(data, info);
    for (const q of this.queue.takeAll()) {
      this.host.queuedBytes -= q.data.length;
      if (q.send.flags & constants.SCTP_EOF) socket.end(q.callback);
      else socket.send(q.data, sendOptionsOf(q.send), q.callback);
    }
    if (this.reconfig) socket.adoptReconfiguration(this.reconfig);
    this.reconfig = null; // the socket's now: this association is peeled off
    this.state = 'peeled_off';
    this.host.forget(this);
    this.emit('peeloff', socket);
  }

  // ---------------------------------------------------------------------------------------
  // Receiving

  /** Stops delivering this association's messages (the others go on); they are held, up to maxHeldBytes. */
  pause(): this {
    this.userPaused = true;
    return this;
  }

  /** Undoes pause(): the held messages are delivered, in order, and delivery goes on. */
  resume(): this {
    this.userPaused = false;
    this.release();
    return this;
  }

  /**
   * True while this association's messages are held: after pause(), while an iterator is
   * behind, or while a paused endpoint closes.
   */
  isPaused(): boolean {
    return this.userPaused || this.iteratorPauses > 0 || this.host.holdsAll();
  }

  /** @internal A message the endpoint read for this association. */
  deliver(data: Buffer, info: EndpointMessageInfo): void {
    if (this.held.length > 0 || this.isPaused()) return this.hold(data, info);
    this.host.emitMessage(data, info);
    this.emit('message', data, info);
  }

  private hold(data: Buffer, info: EndpointMessageInfo): void {
    if (this.held === NO_HELD) this.held = [];
    this.held.push({ data, info });
    this.heldSize += data.length;
    this.host.heldBytes += data.length;
    const limits = this.host.limits;
    if (this.heldSize > limits.maxHeldBytes) {
      this.fail(
        codedError(
          `Association ${this.id}: ${this.heldSize} bytes received while its reader is paused ` +
            `exceed maxHeldBytes (${limits.maxHeldBytes}); aborted. Resume it, or peel it off ` +
            'for flow control by the kernel',
          'ERR_SCTP_READ_OVERFLOW',
        ),
        true,
      );
    } else if (this.host.heldBytes > limits.maxTotalHeldBytes) {
      this.host.shedHeld();
    }
  }

  /** @internal Delivers held messages until it is paused again. */
  release(): void {
    while (this.held.length > 0 && !this.isPaused()) {
      const { data, info } = this.held.shift()!;
      this.heldSize -= data.length;
      this.host.heldBytes -= data.length;
      this.host.emitMessage(data, info);
      this.emit('message', data, info);
    }
  }

  private takeHeld(): HeldMessage[] {
    const held = this.held;
    this.host.heldBytes -= this.heldSize;
    this.held = NO_HELD;
    this.heldSize = 0;
    return held;
  }

  /** `for await (const { data, info } of association.messages())`; ends when it closes. */
  messages(): AsyncGenerator<{
    /** One whole received message. */
    data: Buffer;
    /** Its stream, PPID and other receive info. */
    info: EndpointMessageInfo;
  }> {
    return iterate<{ data: Buffer; info: EndpointMessageInfo }>(
      (push, end) => {
        const onMessage = (data: Buffer, info: EndpointMessageInfo) => push({ data, info });
        const onClose = (err?: Error) => end(err);
        const onPeeloff = () => end(); // the socket carries on from here
        this.on('message', onMessage);
        this.on('close', onClose);
        this.on('peeloff', onPeeloff);
        if (this.state === 'closed' || this.state === 'peeled_off') end();
        return () => {
          this.off('message', onMessage);
          this.off('close', onClose);
          this.off('peeloff', onPeeloff);
        };
      },
      {
        pause: () => {
          this.iteratorPauses++;
        },
        resume: () => {
          this.iteratorPauses--;
          this.release();
        },
      },
      ITERATOR_HIGH_WATER_MARK,
    );
  }

  /** @internal A notification about this association: events first, then its lifecycle. */
  onNotification(n: Notification): void {
    if (n.type === 'shutdown' && this.state === 'up') this.state = 'shutting_down';
    emitNotification(this, n);
    this.reconfig?.notified(n);
    if (n.type !== 'assoc_change') return;
    if (n.state === 'shutdown_comp') {
      this.close(null);
    } else if (n.state === 'comm_lost' || n.state === 'cant_str_assoc') {
      this.close(this.state === 'aborting' ? this.abortError : lostError(n, this.id));
    }
  }

  /**
   * @internal The association is gone: what it still holds is delivered (a closed reader
   * gets its last messages), queued sends fail, 'close' follows on the next tick. With
   * `discard` (the endpoint was destroyed) held messages are dropped instead.
   */
  close(err: Error | null, discard = false): void {
    if (this.state === 'closed' || this.state === 'peeled_off') return;
    // Closed first: what listeners do below (abort(), destroy()) finds it closed.
    this.state = 'closed';
    const held = this.takeHeld();
    const reason = () => err ?? codedError(`Association ${this.id} is closed`, 'ERR_SOCKET_CLOSED');
    this.queue.clear(reason);
    this.reconfig?.end(reason());
    // Before the endpoint hears of it: an endpoint that closes now emits its 'close' after.
    process.nextTick(() => this.emit('close', err ?? undefined));
    let thrown: { error: unknown } | null = null;
    if (!discard) {
      for (const { data, info } of held) {
        try {
          this.host.emitMessage(data, info);
          this.emit('message', data, info);
        } catch (error) {
          thrown ??= { error }; // a listener's exception costs neither the rest nor the close
        }
      }
    }
    this.host.forget(this);
    if (thrown) throw thrown.error;
  }
}

/** Why an association was lost: the peer's ABORT or a timeout. */
function lostError(n: AssocChangeNotification, id: number): Error {
  const errno = lostErrno(n);
  const err = systemError(errno, 'recvmsg');
  err.message =
    errno === -ECONNRESET
      ? `association ${id} aborted by the peer (ECONNRESET)`
      : `association ${id} lost: ${LOST_WITHOUT_CAUSE} (ETIMEDOUT)`;
  return Object.assign(err, { causeCode: n.error });
}
