// A pool user (PU): resolves a pool handle through a registrar, keeps the answer for a
// while, selects an element by the pool's policy and reports elements that failed; and its
// session, which sends to one element and, when that element fails, moves to another and
// hands it the last cookie the old one left, so that the application sees an event, not an
// error.
import { EventEmitter } from 'node:events';
import { codedError } from '../errors';
import { validateBoolean, validateDelay, validateInteger, validateObject } from '../validate';
import { type ConnectOptions, type MessageInfo, type SendOptions, type Socket } from '../socket';
import { ASAP_PPID, encodeAsap, type PoolElementParameter } from './asap';
import { newSelectionState, selectElement, type SelectionState } from './policy';
import {
  decodeOrWarn,
  handleBytes,
  openAssociation,
  RegistrarClient,
  rserpoolError,
  type RegistrarOptions,
  type RserpoolError,
} from './registrar';

export interface PoolUserOptions extends RegistrarOptions {
  /**
   * Milliseconds a handle resolution's answer is used before asking again. 0: ask for every
   * selection, and (unless `items` says otherwise) for one element, so that the registrar's
   * policy chooses, as with RSPLIB's tools. Default 5000.
   */
  cacheLifetime?: number;
  /**
   * How many elements to ask for (RSPLIB's option; 0: the registrar's default, 3 for
   * RSPLIB's). Default 0, or 1 when `cacheLifetime` is 0.
   */
  items?: number;
}

interface CacheEntry {
  elements: PoolElementParameter[];
  expires: number;
  state: SelectionState;
}

/** The pool user: resolution, selection, failure reports, and sessions (connect()). */
export class PoolUser extends EventEmitter {
  readonly #options: PoolUserOptions;
  readonly #registrar: RegistrarClient;
  readonly #cache = new Map<string, CacheEntry>();

  constructor(options: PoolUserOptions) {
    super();
    validateObject(options, 'options');
    if (options.cacheLifetime !== undefined)
      validateDelay(options.cacheLifetime, 'options.cacheLifetime');
    if (options.items !== undefined) validateInteger(options.items, 'options.items', 0, 0xffffffff);
    this.#options = options;
    this.#registrar = new RegistrarClient(options);
    this.#registrar.on('warning', (err) => this.emit('warning', err));
  }

  /** The elements registered under `handle` (from the cache while it is fresh). */
  async resolve(handle: string | Buffer): Promise<PoolElementParameter[]> {
    return (await this.#entry(handleBytes(handle))).elements.slice();
  }

  /**
   * The element to use next, by the pool's policy, leaving out those in `exclude` (ids),
   * e.g. the ones a failover has tried already. Rejects with ERR_RSERPOOL_NO_ELEMENT.
   */
  async select(
    handle: string | Buffer,
    exclude: ReadonlySet<number> = new Set(),
  ): Promise<PoolElementParameter> {
    const bytes = handleBytes(handle);
    let entry = await this.#entry(bytes);
    let candidates = entry.elements.filter((e) => !exclude.has(e.id));
    if (candidates.length === 0 && entry.expires > Date.now()) {
      // The cached answer has nothing left: ask again, the pool may have changed.
      this.#cache.delete(bytes.toString('hex'));
      entry = await this.#entry(bytes);
      candidates = entry.elements.filter((e) => !exclude.has(e.id));
    }
    if (candidates.length === 0) {
      throw rserpoolError(
        'ERR_RSERPOOL_NO_ELEMENT',
        `no usable element in pool ${printable(bytes)}`,
      );
    }
    return selectElement(candidates, entry.state);
  }

  /**
   * Tells the registrar that element `id` of `handle` could not be reached (it removes an
   * element after a few such reports) and forgets it here.
   */
  async reportUnreachable(handle: string | Buffer, id: number): Promise<void> {
    const bytes = handleBytes(handle);
    const entry = this.#cache.get(bytes.toString('hex'));
    if (entry) entry.elements = entry.elements.filter((e) => e.id !== id);
    await this.#registrar.send({ type: 'endpointUnreachable', poolHandle: bytes, id });
  }

  /** A session with the pool: see PoolUserSession. */
  connect(handle: string | Buffer, options: PoolUserSessionOptions = {}): PoolUserSession {
    validateObject(options, 'options');
    for (const key of ['failoverTimeout', 'retryDelay'] as const) {
      if (options[key] !== undefined) validateDelay(options[key], `options.${key}`);
    }
    if (options.maxQueuedBytes !== undefined) {
      validateInteger(options.maxQueuedBytes, 'options.maxQueuedBytes', 0, 2 ** 31 - 1);
    }
    if (options.reportUnreachable !== undefined) {
      validateBoolean(options.reportUnreachable, 'options.reportUnreachable');
    }
    return new PoolUserSession(this, handleBytes(handle), options);
  }

  /**
   * Ends the association to the registrar. Sessions go on with their elements, but can no
   * longer fail over: one whose element fails then closes with ERR_ASAP_CLOSED.
   */
  close(): void {
    this.#registrar.close();
  }

  async #entry(handle: Buffer): Promise<CacheEntry> {
    const key = handle.toString('hex');
    const cached = this.#cache.get(key);
    if (cached && cached.expires > Date.now()) return cached;
    // With no cache, one element per question: the registrar's policy chooses (as RSPLIB's
    // tools ask); otherwise its default number, and this side's policy chooses among them.
    const items = this.#options.items ?? (this.#options.cacheLifetime === 0 ? 1 : 0);
    const response = await this.#registrar.request({
      type: 'handleResolution',
      poolHandle: handle,
      ...(items > 0 && { items }),
    });
    if (
      response.type !== 'handleResolutionResponse' ||
      response.error ||
      response.elements.length === 0
    ) {
      const causes = response.type === 'handleResolutionResponse' ? response.error : undefined;
      throw rserpoolError(
        'ERR_ASAP_NOT_FOUND',
        `pool ${printable(handle)} is not known to the registrar${causes ? ` (${causes.map((c) => c.name).join(', ')})` : ''}`,
        causes,
      );
    }
    // The selection state outlives the answer (round robin goes on across resolutions),
    // for the elements still in it: ids come from the registrar, and a pool whose elements
    // restart under new ids must not grow it.
    const elements = response.elements.filter((e) => e.transport.protocol === 'sctp');
    const state = cached?.state ?? newSelectionState();
    const ids = new Set(elements.map((e) => e.id));
    for (const map of [state.lastSelected, state.credit, state.degradation]) {
      for (const id of map.keys()) if (!ids.has(id)) map.delete(id);
    }
    const entry: CacheEntry = {
      elements,
      expires: Date.now() + (this.#options.cacheLifetime ?? 5000),
      state,
    };
    this.#cache.set(key, entry);
    return entry;
  }
}

const printable = (handle: Buffer) => JSON.stringify(handle.toString('latin1'));

/** How a PoolUserSession connects, fails over and queues. */
export interface PoolUserSessionOptions {
  /** Options for each association to an element (streams, settings, timeouts...). */
  connectOptions?: Omit<ConnectOptions, 'host' | 'port'>;
  /** Report an element that failed to the registrar. Default true. */
  reportUnreachable?: boolean;
  /** Milliseconds to keep looking for a working element before giving up. Default 15000. */
  failoverTimeout?: number;
  /** Milliseconds between handle resolutions while no element is usable. Default 500. */
  retryDelay?: number;
  /** Bytes of messages kept while no element is connected. Default 1 MiB. */
  maxQueuedBytes?: number;
}

/** What a failover reports. */
export interface Failover {
  /** The element that failed. */
  from: PoolElementParameter;
  /** Why: its association's error (null: it shut the association down). */
  reason: Error | null;
  /** The element the session uses now. */
  to: PoolElementParameter;
  /** Whether a cookie was handed to the new element. */
  cookieEchoed: boolean;
}

/** The events of a PoolUserSession, typed. */
export interface PoolUserSession {
  /** The first element is connected. */
  on(event: 'connect', listener: (element: PoolElementParameter) => void): this;
  /** The element in use failed; the session goes on with another. */
  on(event: 'failover', listener: (failover: Failover) => void): this;
  /** An application message (any PPID but ASAP's 11), and the element that sent it. */
  on(
    event: 'message',
    listener: (data: Buffer, info: MessageInfo, element: PoolElementParameter) => void,
  ): this;
  /** A cookie the element left (the session keeps the last one for a failover). */
  on(event: 'cookie', listener: (cookie: Buffer) => void): this;
  /** send() may be called again (the association's buffer or the queue has room). */
  on(event: 'drain', listener: () => void): this;
  /** The session is over; `err` if no element could be used. */
  on(event: 'close', listener: (err: Error | null) => void): this;
  /** 'error': as the error of 'close' (only if listened to); 'warning': a bad ASAP message. */
  on(event: 'error' | 'warning', listener: (err: Error) => void): this;
}

/**
 * A session with a pool: messages go to one element at a time. When its association fails
 * (or the element ends it), the session reports the element, selects another (never one
 * that failed in the same failover), connects, sends the last cookie the old element left
 * as a COOKIE_ECHO before anything else, and then what was queued meanwhile. Messages
 * already handed to the failed element's association are not resent: the cookie is how an
 * application resumes (RFC 5351). Events: 'connect' (element), 'failover' (Failover),
 * 'message' (data, info, element), 'cookie' (the cookie an element left), 'close' (with
 * the error when no element could be used within failoverTimeout; 'error' before it only
 * if listened to: a dead pool does not end the process).
 */
export class PoolUserSession extends EventEmitter {
  readonly #user: PoolUser;
  readonly #handle: Buffer;
  readonly #options: PoolUserSessionOptions;
  #socket: Socket | null = null;
  #element: PoolElementParameter | null = null;
  #cookie: Buffer | null = null;
  #queue: { data: Buffer; options?: SendOptions }[] = [];
  #queuedBytes = 0;
  #state: 'connecting' | 'open' | 'failing-over' | 'closing' | 'closed' = 'connecting';

  constructor(user: PoolUser, handle: Buffer, options: PoolUserSessionOptions) {
    super();
    this.#user = user;
    this.#handle = handle;
    this.#options = options;
    process.nextTick(() => this.#connectSomewhere(null, null));
  }

  /** The element in use (null while connecting or failing over). */
  get element(): PoolElementParameter | null {
    return this.#state === 'open' ? this.#element : null;
  }

  /** The last cookie an element left (null: none yet). */
  get cookie(): Buffer | null {
    return this.#cookie;
  }

  /**
   * Sends one message to the element in use; while there is none (connecting, failing
   * over), keeps it for the next (in order, after the cookie echo). Returns false when the
   * caller should wait for 'drain' (the association's buffer is full, or the queue has
   * reached maxQueuedBytes; beyond it send() throws ERR_RSERPOOL_QUEUE_FULL).
   */
  send(data: Buffer | string, options?: SendOptions): boolean {
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    if (this.#state === 'closing' || this.#state === 'closed') {
      throw codedError('the session is closed', 'ERR_STREAM_WRITE_AFTER_END');
    }
    if (this.#state === 'open' && this.#socket) return this.#socket.send(bytes, options);
    const max = this.#options.maxQueuedBytes ?? 1 << 20;
    if (this.#queuedBytes + bytes.length > max) {
      throw codedError(
        `more than ${max} bytes queued while no element is connected`,
        'ERR_RSERPOOL_QUEUE_FULL',
      );
    }
    this.#queue.push({ data: bytes, ...(options && { options }) });
    this.#queuedBytes += bytes.length;
    return this.#queuedBytes < max;
  }

  /** Ends the session: SCTP SHUTDOWN on the element's association. */
  close(): void {
    if (this.#state === 'closing' || this.#state === 'closed') return;
    const socket = this.#socket;
    this.#state = 'closing';
    if (socket) socket.end();
    else this.#finish();
  }

  /** Closes for good; a failure goes to 'error' if listened to, and with 'close'. */
  #finish(err: Error | null = null): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#queue = [];
    this.#queuedBytes = 0;
    process.nextTick(() => {
      if (err && this.listenerCount('error') > 0) this.emit('error', err);
      this.emit('close', err);
    });
  }

  async #connectSomewhere(
    failed: PoolElementParameter | null,
    reason: Error | null,
  ): Promise<void> {
    const deadline = Date.now() + (this.#options.failoverTimeout ?? 15000);
    const tried = new Set<number>();
    // Each element is reported once per failover: a registrar (RSPLIB's) drops an element
    // after a few reports, whoever sends them.
    const reported = new Set<number>();
    if (failed) tried.add(failed.id);
    let lastError: Error | null = reason;
    const stillLooking = () => this.#state === 'connecting' || this.#state === 'failing-over';
    while (stillLooking()) {
      let element: PoolElementParameter;
      try {
        element = await this.#user.select(this.#handle, tried);
      } catch (err) {
        lastError = err as Error;
        // The pool user was closed: nothing more to ask.
        if ((err as RserpoolError).code === 'ERR_ASAP_CLOSED' || Date.now() >= deadline) break;
        // Nothing usable yet: the pool may get elements back (the failed one restarted, too),
        // or a registrar may come.
        tried.clear();
        await new Promise((r) => setTimeout(r, this.#options.retryDelay ?? 500));
        continue;
      }
      if (!stillLooking()) break;
      tried.add(element.id);
      let socket: Socket;
      try {
        socket = await this.#open(element);
      } catch (err) {
        lastError = err as Error;
        if (!reported.has(element.id)) {
          reported.add(element.id);
          this.#report(element);
        }
        if (Date.now() >= deadline) break;
        continue;
      }
      if (!stillLooking()) {
        socket.end();
        break;
      }
      this.#adopt(socket, element, failed, reason);
      return;
    }
    if (this.#state === 'closing' || this.#state === 'closed') return this.#finish();
    const err = rserpoolError(
      'ERR_RSERPOOL_NO_ELEMENT',
      `no element of pool ${printable(this.#handle)} could be used${lastError ? `: ${lastError.message}` : ''}`,
    ) as RserpoolError & { cause?: Error };
    if (lastError) err.cause = lastError;
    this.#finish(err);
  }

  #open(element: PoolElementParameter): Promise<Socket> {
    return openAssociation({
      connectTimeout: 5000,
      ...this.#options.connectOptions,
      host: element.transport.addresses,
      port: element.transport.port,
    });
  }

  #adopt(
    socket: Socket,
    element: PoolElementParameter,
    failed: PoolElementParameter | null,
    reason: Error | null,
  ): void {
    this.#socket = socket;
    this.#element = element;
    this.#state = 'open';
    let lost: Error | null = null;
    socket.on('message', (data: Buffer, info: MessageInfo) => this.#receive(data, info, element));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err) => (lost = err));
    socket.on('close', () => this.#lost(socket, element, lost));
    // The cookie first, ordered on stream 0, where the element reads its control messages
    // (RFC 5352 §3.8); only to an element that takes control messages on its association.
    let cookieEchoed = false;
    if (failed && this.#cookie && element.transport.use === 'data+control') {
      socket.send(encodeAsap({ type: 'cookieEcho', cookie: this.#cookie }), {
        ppid: ASAP_PPID,
        stream: 0,
      });
      cookieEchoed = true;
    }
    const wasFull = this.#queuedBytes >= (this.#options.maxQueuedBytes ?? 1 << 20);
    for (const { data, options } of this.#queue.splice(0)) {
      try {
        socket.send(data, options);
      } catch (err) {
        // Options this element's association refuses (a stream beyond its count).
        this.emit('warning', err as Error);
      }
    }
    this.#queuedBytes = 0;
    // Events on the next tick: a listener that throws must not look like a failed element.
    process.nextTick(() => {
      if (failed) {
        this.emit('failover', {
          from: failed,
          reason,
          to: element,
          cookieEchoed,
        } satisfies Failover);
      } else this.emit('connect', element);
      if (wasFull) this.emit('drain');
    });
  }

  #receive(data: Buffer, info: MessageInfo, element: PoolElementParameter): void {
    if (info.ppid !== ASAP_PPID) {
      this.emit('message', data, info, element);
      return;
    }
    const message = decodeOrWarn(data, this);
    if (message?.type === 'cookie') {
      this.#cookie = Buffer.from(message.cookie);
      this.emit('cookie', this.#cookie);
    }
  }

  #lost(socket: Socket, element: PoolElementParameter, err: Error | null): void {
    if (this.#socket !== socket) return;
    this.#socket = null;
    if (this.#state === 'closing' || this.#state === 'closed') return this.#finish();
    // The element ended the association or it failed: either way, another one takes over.
    // Only a failure is reported: an element that shut down cleanly is leaving on purpose.
    this.#state = 'failing-over';
    if (err) this.#report(element);
    void this.#connectSomewhere(element, err);
  }

  #report(element: PoolElementParameter): void {
    if (this.#options.reportUnreachable === false) return;
    this.#user.reportUnreachable(this.#handle, element.id).catch(() => {});
  }
}

/** A pool user. */
export function createPoolUser(options: PoolUserOptions): PoolUser {
  return new PoolUser(options);
}
