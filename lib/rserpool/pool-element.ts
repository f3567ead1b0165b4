// A pool element (PE): a server that registers itself under a pool handle with a
// registrar, renews the registration, answers the registrar's keep-alives, and deregisters
// when closed. Pool users' associations arrive as sessions, on which ASAP's COOKIE and
// COOKIE_ECHO (PPID 11) travel beside the application's messages.
import { EventEmitter } from 'node:events';
import { isIPv4 } from 'node:net';
import { invalidArgValue, outOfRange } from '../errors';
import { createServer, type Server, type ServerOptions } from '../server';
import type { MessageInfo, SendOptions, Socket } from '../socket';
import {
  ASAP_PORT,
  ASAP_PPID,
  POLICIES,
  encodeAsap,
  type AsapMessage,
  type Policy,
  type PolicyName,
} from './asap';
import { validateInteger, validateObject } from '../validate';
import {
  decodeOrWarn,
  handleBytes,
  keyOf,
  RegistrarClient,
  rserpoolError,
  type RegistrarAddress,
  type RegistrarOptions,
  type RserpoolError,
} from './registrar';

export interface PoolElementOptions extends RegistrarOptions {
  /** The pool handle to register under (at most 32 bytes: RSPLIB's limit). */
  poolHandle: string | Buffer;
  /** The selection policy and its parameters announced to pool users. Default round robin. */
  policy?: Policy;
  /** The PE identifier (1 to 0xffffffff). Default: random. */
  identifier?: number;
  /** Milliseconds between registrations; the registration lasts three times as long. Default 30000. */
  reregistrationInterval?: number;
  /** Addresses to listen on for pool users. Default: every address. */
  host?: string | string[];
  /** Port to listen on for pool users. Default: any free port. */
  port?: number;
  /** Options for the server that accepts pool users (streams, buffers, settings...). */
  serverOptions?: ServerOptions;
}

/** What a successful registration reports. */
export interface Registration {
  /** The PE identifier. */
  id: number;
  /** The registrar that accepted it. */
  registrar: RegistrarAddress;
  /** The addresses registered for pool users. */
  addresses: string[];
  /** The port registered for pool users. */
  port: number;
  /** False for the first registration with this registrar, true for a renewal. */
  renewal: boolean;
}

const isUsable = (a: string) =>
  !(
    a.startsWith('127.') ||
    a === '::1' ||
    a.toLowerCase().startsWith('fe80:') ||
    a.startsWith('169.254.')
  );

/**
 * The application's side of one pool user's association: its messages ('message'), the
 * cookie a failed-over pool user brings back ('cookieEcho', before any message of the
 * session), and sendCookie() to leave state with the pool user for the next element.
 * 'close' carries the error if the association failed ('error' only if listened to).
 */
export class PoolElementSession extends EventEmitter {
  /** The association itself (addresses, status, options). */
  readonly socket: Socket;

  constructor(socket: Socket) {
    super();
    this.socket = socket;
    socket.on('message', (data: Buffer, info: MessageInfo) => {
      if (info.ppid !== ASAP_PPID) {
        this.emit('message', data, info);
        return;
      }
      const message = decodeOrWarn(data, this);
      if (message?.type === 'cookieEcho') this.emit('cookieEcho', message.cookie);
    });
    // As an endpoint's Association: a pool user that aborts must not end the process, so
    // 'error' goes only to a listener, and 'close' carries it.
    let failure: Error | null = null;
    socket.on('error', (err) => {
      failure = err;
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    socket.on('close', () => this.emit('close', failure));
  }

  /** Sends one application message (as Socket#send). */
  send(data: Buffer | string, options?: SendOptions): boolean {
    return this.socket.send(data, options);
  }

  /**
   * Leaves `cookie` with the pool user: should this element fail, the pool user hands it to
   * the next one as a COOKIE_ECHO. Use a length that is a multiple of 4 for RSPLIB's users.
   */
  sendCookie(cookie: Buffer): boolean {
    return this.socket.send(encodeAsap({ type: 'cookie', cookie }), { ppid: ASAP_PPID, stream: 0 });
  }

  /** Ends the session gracefully (SCTP SHUTDOWN). */
  end(): void {
    this.socket.end();
  }
}

/** The events of a PoolElement, typed. */
export interface PoolElement {
  /** A pool user's association: its session. */
  on(event: 'session', listener: (session: PoolElementSession) => void): this;
  /** A registration (or renewal) the registrar accepted. */
  on(event: 'registered', listener: (registration: Registration) => void): this;
  /** A registration that failed (no registrar, no answer, refused); retried at the next interval. */
  on(event: 'registrationFailed', listener: (err: RserpoolError) => void): this;
  /** 'listening': the server is up (registration follows); 'close': all closed. */
  on(event: 'listening' | 'close', listener: () => void): this;
  /** 'error': the server failed; 'warning': a registrar's message that could not be decoded. */
  on(event: 'error' | 'warning', listener: (err: Error) => void): this;
  /** As on('session'), once. */
  once(event: 'session', listener: (session: PoolElementSession) => void): this;
  /** As on('registered'), once. */
  once(event: 'registered', listener: (registration: Registration) => void): this;
  /** As on('registrationFailed'), once. */
  once(event: 'registrationFailed', listener: (err: RserpoolError) => void): this;
  /** As on('listening') and on('close'), once. */
  once(event: 'listening' | 'close', listener: () => void): this;
  /** As on('error') and on('warning'), once. */
  once(event: 'error' | 'warning', listener: (err: Error) => void): this;
}

/** The events of a PoolElementSession, typed. */
export interface PoolElementSession {
  /** An application message (any PPID but ASAP's 11). */
  on(event: 'message', listener: (data: Buffer, info: MessageInfo) => void): this;
  /** The cookie a failed-over pool user brings from the element it used before. */
  on(event: 'cookieEcho', listener: (cookie: Buffer) => void): this;
  /** The association is gone; `err` if it failed. */
  on(event: 'close', listener: (err: Error | null) => void): this;
  /** 'error': the association failed (only if listened to); 'warning': a bad ASAP message. */
  on(event: 'error' | 'warning', listener: (err: Error) => void): this;
}

/**
 * A pool element. listen() starts its server and registers it; events: 'listening',
 * 'registered' (Registration), 'registrationFailed' (an RserpoolError: it retries at the
 * next interval), 'session' (PoolElementSession), 'close'.
 */
export class PoolElement extends EventEmitter {
  /** The PE identifier it registers with. */
  readonly id: number;
  /** The pool handle it registers under. */
  readonly poolHandle: Buffer;
  #policy: Policy;
  readonly #options: PoolElementOptions;
  readonly #server: Server;
  readonly #registrar: RegistrarClient;
  #timer: NodeJS.Timeout | null = null;
  #registeredWith: string | null = null;
  #closed = false;
  /** 'close' has been emitted. */
  #done = false;

  constructor(options: PoolElementOptions) {
    super();
    validateObject(options, 'options');
    this.#options = options;
    this.poolHandle = handleBytes(options.poolHandle, 'options.poolHandle');
    this.#policy = checkPolicy(options.policy ?? { name: 'round-robin' });
    this.id =
      options.identifier === undefined
        ? 1 + Math.floor(Math.random() * 0xfffffffe)
        : validateInteger(options.identifier, 'options.identifier', 1, 0xffffffff);
    validateInteger(
      options.reregistrationInterval ?? 30000,
      'options.reregistrationInterval',
      100,
      Math.floor(0xffffffff / 3),
    );
    this.#registrar = new RegistrarClient(options);
    this.#registrar.on('message', (m: AsapMessage) => this.#fromRegistrar(m));
    this.#registrar.on('warning', (err) => this.emit('warning', err));
    // A lost registrar: register with the next one soon (a second: not in a loop with a
    // registrar that takes associations and aborts them), not at the next interval.
    this.#registrar.on('disconnect', () => {
      this.#registeredWith = null;
      if (this.#closed || !this.#timer) return;
      clearTimeout(this.#timer);
      this.#timer = setTimeout(() => void this.#register(), 1000);
    });
    this.#server = createServer(options.serverOptions ?? {}, (socket) => {
      this.emit('session', new PoolElementSession(socket));
    });
    this.#server.on('error', (err) => this.emit('error', err));
  }

  /** The policy announced, as last registered. */
  get policy(): Policy {
    return { ...this.#policy };
  }

  /** Starts the server, then registers (and keeps registering). */
  listen(callback?: () => void): this {
    if (callback) this.once('listening', callback);
    const host = this.#options.host;
    this.#server.listen(
      { ...(host !== undefined && { host }), port: this.#options.port ?? 0 },
      () => {
        if (this.#closed) return; // closed before it listened: nothing to register
        this.emit('listening');
        void this.#register();
      },
    );
    return this;
  }

  /** The server's address (as Server#address). */
  address(): ReturnType<Server['address']> {
    return this.#server.address();
  }

  /**
   * Changes the announced policy (a least-used element's load, say) and registers again
   * at once, as RFC 5352 has an element do when its policy parameters change.
   */
  setPolicy(policy: Policy): void {
    this.#policy = checkPolicy(policy);
    if (this.#timer) void this.#register();
  }

  /**
   * Deregisters, then stops accepting pool users (sessions already open go on until they
   * end, as with net.Server#close). `callback` runs once the server has closed.
   */
  close(callback?: (err?: Error) => void): void {
    if (this.#done) {
      if (callback) process.nextTick(callback);
      return;
    }
    if (callback) this.once('close', callback);
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const registered = this.#registeredWith !== null;
    const finish = () => {
      this.#registrar.close();
      this.#server.close(() => {
        this.#done = true;
        this.emit('close');
      });
    };
    if (!registered) return finish();
    this.#registrar
      .request({ type: 'deregistration', poolHandle: this.poolHandle, id: this.id })
      .catch(() => {}) // the registrar forgets the element anyway when its life runs out
      .finally(finish);
  }

  async #register(): Promise<void> {
    if (this.#closed) return;
    if (this.#timer) clearTimeout(this.#timer);
    const interval = this.#options.reregistrationInterval ?? 30000;
    this.#timer = setTimeout(() => void this.#register(), interval);
    let registration: Registration;
    try {
      registration = await this.#registerOnce(interval);
    } catch (err) {
      if (!this.#closed) this.emit('registrationFailed', err as RserpoolError);
      return;
    }
    // Outside the try: a listener that throws is not a failed registration.
    if (!this.#closed) this.emit('registered', registration);
  }

  async #registerOnce(interval: number): Promise<Registration> {
    const { port, addresses: listening } = this.#server.address()!;
    // Wildcard: the addresses the registrar sees this element's association come from,
    // which are what it accepts (RSPLIB also drops loopback and link-local ones).
    const bound = listening.map((a) => a.address);
    const wildcard = bound.every((a) => a === '0.0.0.0' || a === '::');
    const addresses = (wildcard ? await this.#registrar.localAddresses() : bound)
      .map((a) => (a.startsWith('::ffff:') && isIPv4(a.slice(7)) ? a.slice(7) : a))
      .filter(isUsable);
    if (addresses.length === 0) {
      throw rserpoolError(
        'ERR_ASAP_REJECTED',
        'no address to register: RSerPool needs a site-local or global one (not loopback)',
      );
    }
    const registrar = this.#registrar.registrar;
    const response = await this.#registrar.request({
      type: 'registration',
      poolHandle: this.poolHandle,
      element: {
        id: this.id,
        homeRegistrar: 0,
        registrationLife: 3 * interval,
        transport: { protocol: 'sctp', port, addresses, use: 'data+control' },
        policy: this.#policy,
      },
    });
    if (response.type !== 'registrationResponse' || response.rejected || response.error) {
      const causes = response.type === 'registrationResponse' ? response.error : undefined;
      throw rserpoolError(
        'ERR_ASAP_REJECTED',
        `the registrar refused the registration (${causes?.map((c) => c.name).join(', ') ?? 'no cause given'})`,
        causes,
      );
    }
    const via = registrar ?? this.#registrar.registrar ?? { host: '', port: ASAP_PORT };
    const renewal = this.#registeredWith === keyOf(via);
    this.#registeredWith = keyOf(via);
    return {
      id: this.id,
      registrar: { host: via.host, port: via.port ?? ASAP_PORT },
      addresses,
      port,
      renewal,
    };
  }

  #fromRegistrar(m: AsapMessage): void {
    if (m.type !== 'endpointKeepAlive' || !m.poolHandle.equals(this.poolHandle)) return;
    if (m.id !== undefined && m.id !== this.id) return;
    this.#registrar
      .send({ type: 'endpointKeepAliveAck', poolHandle: this.poolHandle, id: this.id })
      .catch(() => {}); // a lost association is handled by 'disconnect'
  }
}

function checkPolicy(policy: Policy): Policy {
  validateObject(policy, 'options.policy');
  if (typeof policy.name !== 'string' || !Object.hasOwn(POLICIES, policy.name)) {
    throw invalidArgValue(
      'options.policy.name',
      policy.name,
      `must be one of ${Object.keys(POLICIES).join(', ')}`,
    );
  }
  for (const f of POLICIES[policy.name as PolicyName].fields) {
    const v = policy[f] ?? 0;
    const fraction = f === 'load' || f === 'loadDegradation';
    if (!fraction) validateInteger(v, `options.policy.${f}`, 0, 0xffffffff);
    else if (typeof v !== 'number' || !(v >= 0 && v <= 1))
      throw outOfRange(`options.policy.${f}`, 'from 0 to 1', v);
  }
  return { ...policy };
}

/** A pool element; call listen() to serve and register. */
export function createPoolElement(
  options: PoolElementOptions,
  sessionListener?: (session: PoolElementSession) => void,
): PoolElement {
  const pe = new PoolElement(options);
  if (sessionListener) pe.on('session', sessionListener);
  return pe;
}
