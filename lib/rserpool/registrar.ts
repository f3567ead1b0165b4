// The ASAP association to a registrar (ENRP server), shared by pool elements and pool users:
// finding a registrar (a static list, and the SERVER_ANNOUNCEs registrars send to a
// multicast group), requests matched to their responses, and the messages a registrar
// sends unasked (ENDPOINT_KEEP_ALIVE) handed to whoever uses the association.
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import { isIP } from 'node:net';
import { invalidArgValue, outOfRange } from '../errors';
import { connect, type ConnectOptions, type Socket } from '../socket';
import { validateDelay, validateObject } from '../validate';
import {
  ANNOUNCE_GROUP,
  ASAP_PORT,
  ASAP_PPID,
  AsapError,
  MAX_POOL_HANDLE,
  decodeAsap,
  encodeAsap,
  type AsapMessage,
  type AsapMessageType,
} from './asap';

/** Where a registrar listens for ASAP: one address or several (multihomed), and a port. */
export interface RegistrarAddress {
  /** Its address, or its addresses when it is multihomed. */
  host: string | string[];
  /** Default 3863, ASAP's well-known port. */
  port?: number;
}

/** Where to listen for registrars' SERVER_ANNOUNCEs. */
export interface AnnounceOptions {
  /** The multicast group. Default 239.0.0.50 (RSPLIB's). */
  group?: string;
  /** The UDP port. Default 3863. */
  port?: number;
  /** The local address of the interface to join the group on. Default: the kernel's choice. */
  interface?: string;
}

/** How to find registrars, and how long to wait for them. */
export interface RegistrarOptions {
  /** Registrars to try in turn: `{ host, port }`, or text `'10.0.0.1:3863'`, `'[::1]:3863'`. */
  registrars?: (RegistrarAddress | string)[];
  /**
   * Listen for registrars' SERVER_ANNOUNCEs: true for RSPLIB's group 239.0.0.50 on port
   * 3863, or where. Announced registrars are tried after the static ones, for as long as
   * their announces keep coming (5 s each). Default false.
   */
  announce?: boolean | AnnounceOptions;
  /** Local addresses for the association to the registrar (the pool element's, usually). */
  localAddress?: string | string[];
  /** Milliseconds to wait for a registrar's response. Default 3000. */
  requestTimeout?: number;
  /** Milliseconds to wait for each registrar's association. Default 5000. */
  connectTimeout?: number;
}

/** An error of the RSerPool layer: `code` says which. */
export interface RserpoolError extends Error {
  /**
   * ERR_ASAP_NO_REGISTRAR: none reachable; ERR_ASAP_TIMEOUT: no response in time;
   * ERR_ASAP_REJECTED: the registrar refused (see `causes`); ERR_ASAP_CLOSED: closed here or
   * by the registrar; ERR_ASAP_NOT_FOUND: the pool has no element; ERR_RSERPOOL_NO_ELEMENT:
   * none of the pool's elements could be used.
   */
  code:
    | 'ERR_ASAP_NO_REGISTRAR'
    | 'ERR_ASAP_TIMEOUT'
    | 'ERR_ASAP_REJECTED'
    | 'ERR_ASAP_CLOSED'
    | 'ERR_ASAP_NOT_FOUND'
    | 'ERR_RSERPOOL_NO_ELEMENT';
  /** The registrar's error causes, where it gave some: RFC 5354's code and its name. */
  causes?: {
    /** The cause code. */ code: number;
    /** Its name ('unknown' if not RFC 5354's). */ name: string;
  }[];
}

export function rserpoolError(
  code: RserpoolError['code'],
  message: string,
  causes?: RserpoolError['causes'],
): RserpoolError {
  const err = new Error(message) as RserpoolError;
  err.code = code;
  if (causes) err.causes = causes.map(({ code, name }) => ({ code, name }));
  return err;
}

/**
 * A registrar's address from text: `host[+host...][:port]`, an IPv6 address in brackets
 * (`[2001:db8::1]+10.0.0.1:3863`); the port defaults to 3863.
 */
export function parseRegistrar(text: string, name = 'registrars'): RegistrarAddress {
  const m = /^(.*?)(?::(\d+))?$/.exec(text)!;
  const hosts = m[1]!
    .split('+')
    .map((h) => (h.startsWith('[') && h.endsWith(']') ? h.slice(1, -1) : h));
  const port = m[2] === undefined ? ASAP_PORT : Number(m[2]);
  // An unbracketed IPv6 address is refused: in "2001:db8::1:3863" the port is a guess.
  const bracketsOk = m[1]!.split('+').every((h) => !h.includes(':') || h.startsWith('['));
  if (!bracketsOk || hosts.some((h) => !isIP(h)) || port < 1 || port > 65535) {
    throw invalidArgValue(name, text, 'must be host[+host...][:port], an IPv6 address in brackets');
  }
  return { host: hosts.length === 1 ? hosts[0]! : hosts, port };
}

/** A pool handle as bytes, 1 to 32 of them (RSPLIB's limit). */
export function handleBytes(handle: string | Buffer, name = 'handle'): Buffer {
  const bytes = Buffer.isBuffer(handle) ? Buffer.from(handle) : Buffer.from(String(handle), 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_POOL_HANDLE) {
    throw outOfRange(name, `1 to ${MAX_POOL_HANDLE} bytes`, handle);
  }
  return bytes;
}

const ANNOUNCE_LIFETIME = 5000;

/** The ASAP message in `data`, or null after a 'warning' on `emitter`: peers' bytes are bounded and never thrown. */
export function decodeOrWarn(data: Buffer, emitter: EventEmitter): AsapMessage | null {
  try {
    return decodeAsap(data);
  } catch (err) {
    emitter.emit('warning', err as AsapError);
    return null;
  }
}

/** An association that is up, or the error it failed with (and nothing left open). */
export function openAssociation(options: ConnectOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(options);
    const failed = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.once('error', failed);
    socket.once('connect', () => {
      socket.off('error', failed);
      resolve(socket);
    });
  });
}

/** A registrar as text, to compare and to print. */
export const keyOf = (r: RegistrarAddress) => `${[r.host].flat().join('+')}:${r.port ?? ASAP_PORT}`;

/** The response each request waits for. */
const RESPONSE: Partial<Record<AsapMessageType, AsapMessageType>> = {
  registration: 'registrationResponse',
  deregistration: 'deregistrationResponse',
  handleResolution: 'handleResolutionResponse',
};

interface Pending {
  expect: AsapMessageType;
  resolve(m: AsapMessage): void;
  reject(e: Error): void;
  timer: NodeJS.Timeout;
}

/**
 * One association to one registrar at a time, opened when first needed and replaced by the
 * next registrar's when it fails. Events: 'connect' (the registrar's address), 'disconnect'
 * (the error, if any), 'message' (an ASAP message the registrar sent unasked), 'warning'
 * (a message that could not be decoded: ignored).
 */
export class RegistrarClient extends EventEmitter {
  readonly #options: RegistrarOptions;
  readonly #static: RegistrarAddress[];
  readonly #announced = new Map<number, { address: RegistrarAddress; expires: number }>();
  #announceSocket: dgram.Socket | null = null;
  /** Hunts waiting for a first announce. */
  #announceWaiters: (() => void)[] = [];
  /** The registrar that last failed: the next hunt tries it last. */
  #lastFailed: string | null = null;
  #socket: Socket | null = null;
  #connecting: Promise<Socket> | null = null;
  #pending: Pending[] = [];
  #closed = false;
  /** The registrar the association is with, while there is one. */
  registrar: RegistrarAddress | null = null;

  constructor(options: RegistrarOptions) {
    super();
    validateObject(options, 'options');
    for (const key of ['requestTimeout', 'connectTimeout'] as const) {
      if (options[key] !== undefined) validateDelay(options[key], `options.${key}`);
    }
    this.#options = options;
    this.#static = (options.registrars ?? []).map((r) =>
      typeof r === 'string' ? parseRegistrar(r) : { host: r.host, port: r.port ?? ASAP_PORT },
    );
    if (options.announce)
      this.#listenForAnnounces(options.announce === true ? {} : options.announce);
    if (this.#static.length === 0 && !options.announce) {
      throw invalidArgValue('options', options, 'needs registrars or announce to find a registrar');
    }
  }

  /** Sends a request and resolves with its response (rejects on timeout or loss). */
  async request(message: AsapMessage): Promise<AsapMessage> {
    const expect = RESPONSE[message.type];
    if (!expect) throw new TypeError(`${message.type} is not a request`);
    const socket = await this.#association();
    if (this.#socket !== socket)
      throw rserpoolError('ERR_ASAP_CLOSED', 'the registrar association was lost');
    return new Promise((resolve, reject) => {
      const timeout = this.#options.requestTimeout ?? 3000;
      const pending: Pending = {
        expect,
        resolve,
        reject,
        timer: setTimeout(() => {
          // As RSPLIB does: a registrar that does not answer is dropped for the next one.
          const err = rserpoolError(
            'ERR_ASAP_TIMEOUT',
            `no ${expect} from the registrar in ${timeout} ms`,
          );
          this.#drop(err);
        }, timeout),
      };
      this.#pending.push(pending);
      socket.send(encodeAsap(message), { ppid: ASAP_PPID, stream: 0 });
    });
  }

  /** Sends a message that has no response (an ACK, an unreachability report). */
  async send(message: AsapMessage): Promise<void> {
    const socket = await this.#association();
    socket.send(encodeAsap(message), { ppid: ASAP_PPID, stream: 0 });
  }

  /** The local addresses of the association to the registrar (opening it if needed). */
  async localAddresses(): Promise<string[]> {
    const socket = await this.#association();
    return socket.localAddresses().map((a) => a.address);
  }

  /** Ends the association to the registrar (SHUTDOWN) and stops listening for announces. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    // A clean SHUTDOWN: the registrar sees the end of an association, not its loss.
    this.#socket?.end();
    this.#drop(rserpoolError('ERR_ASAP_CLOSED', 'the registrar client was closed'), false);
    for (const wake of this.#announceWaiters.splice(0)) wake();
    this.#announceSocket?.close();
    this.#announceSocket = null;
  }

  #candidates(): RegistrarAddress[] {
    const now = Date.now();
    const announced = [...this.#announced.values()]
      .filter((a) => a.expires > now)
      .map((a) => a.address);
    const all = [...this.#static, ...announced];
    // The one that failed last goes last: a registrar that takes associations but does not
    // answer must not be the first tried every time.
    const failed = all.findIndex((r) => keyOf(r) === this.#lastFailed);
    return failed < 0 ? all : [...all.slice(failed + 1), ...all.slice(0, failed + 1)];
  }

  #association(): Promise<Socket> {
    if (this.#closed)
      return Promise.reject(rserpoolError('ERR_ASAP_CLOSED', 'the registrar client was closed'));
    if (this.#socket) return Promise.resolve(this.#socket);
    this.#connecting ??= this.#hunt().finally(() => (this.#connecting = null));
    return this.#connecting;
  }

  /** Tries each registrar in turn; waits for an announce if none is known yet. */
  async #hunt(): Promise<Socket> {
    const timeout = this.#options.connectTimeout ?? 5000;
    let candidates = this.#candidates();
    if (candidates.length === 0 && this.#announceSocket) {
      // Until the first announce, or for as long as one would take to come.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, Math.max(timeout, ANNOUNCE_LIFETIME));
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#announceWaiters.push(done);
      });
      candidates = this.#candidates();
    }
    const failures: string[] = [];
    for (const registrar of candidates) {
      if (this.#closed) break;
      try {
        const socket = await this.#open(registrar, timeout);
        if (this.#closed) {
          socket.end();
          break;
        }
        this.#socket = socket;
        this.registrar = registrar;
        this.emit('connect', registrar);
        return socket;
      } catch (err) {
        failures.push(
          `${[registrar.host].flat().join('+')}:${registrar.port}: ${(err as Error).message}`,
        );
      }
    }
    if (this.#closed) throw rserpoolError('ERR_ASAP_CLOSED', 'the registrar client was closed');
    throw rserpoolError(
      'ERR_ASAP_NO_REGISTRAR',
      candidates.length === 0
        ? 'no registrar known (none given, none announced)'
        : `no registrar reachable (${failures.join('; ')})`,
    );
  }

  async #open(registrar: RegistrarAddress, timeout: number): Promise<Socket> {
    const socket = await openAssociation({
      host: registrar.host,
      port: registrar.port ?? ASAP_PORT,
      ppid: ASAP_PPID,
      connectTimeout: timeout,
      // An ASAP message's length is 16 bits.
      maxMessageSize: 65536,
      ...(this.#options.localAddress && { localAddress: this.#options.localAddress }),
    });
    socket.on('message', (data, info) => {
      if (info.ppid === ASAP_PPID) this.#receive(data);
    });
    socket.on('error', (err) => this.#lost(socket, err));
    socket.on('close', () => this.#lost(socket, null));
    return socket;
  }

  #receive(data: Buffer): void {
    const message = decodeOrWarn(data, this);
    if (!message) return;
    if (message.type === 'error') {
      // The registrar could not handle a request: the oldest one, as it answers in order.
      // (An ERROR about a message that has no response, an ACK or a report, would fail the
      // oldest request instead; RSPLIB's registrar sends none for those.)
      const pending = this.#pending.shift();
      if (pending) {
        clearTimeout(pending.timer);
        pending.reject(
          rserpoolError('ERR_ASAP_REJECTED', 'the registrar answered with an ERROR', message.error),
        );
      }
      return;
    }
    const i = this.#pending.findIndex((p) => p.expect === message.type);
    if (i >= 0) {
      const [pending] = this.#pending.splice(i, 1);
      clearTimeout(pending!.timer);
      pending!.resolve(message);
    } else {
      this.emit('message', message);
    }
  }

  #lost(socket: Socket, err: Error | null): void {
    if (this.#socket !== socket) return;
    this.#drop(err ?? rserpoolError('ERR_ASAP_CLOSED', 'the registrar closed the association'));
  }

  /** Ends the association (with an ABORT unless `abort` is false), failing what waits on it. */
  #drop(err: Error, abort = true): void {
    const socket = this.#socket;
    if (socket && abort && this.registrar) this.#lastFailed = keyOf(this.registrar);
    this.#socket = null;
    this.registrar = null;
    for (const p of this.#pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    if (socket) {
      if (abort) socket.destroy();
      this.emit('disconnect', err);
    }
  }

  #listenForAnnounces(where: AnnounceOptions): void {
    const group = where.group ?? ANNOUNCE_GROUP;
    const socket = dgram.createSocket({
      type: isIP(group) === 6 ? 'udp6' : 'udp4',
      reuseAddr: true,
    });
    socket.on('error', (err) => this.emit('warning', err));
    socket.on('message', (data, rinfo) => {
      const message = decodeOrWarn(data, this);
      if (message?.type !== 'serverAnnounce') return;
      // RSPLIB announces only its identifier: its ASAP port is the announce's source port.
      const sctp = message.transports.find((t) => t.protocol === 'sctp');
      const address = sctp
        ? { host: sctp.addresses, port: sctp.port }
        : { host: rinfo.address, port: rinfo.port };
      // Bounded: a registrar is remembered by identifier, and a flood of identifiers is
      // capped at 64 (the oldest forgotten).
      this.#announced.delete(message.serverId);
      this.#announced.set(message.serverId, { address, expires: Date.now() + ANNOUNCE_LIFETIME });
      if (this.#announced.size > 64) this.#announced.delete(this.#announced.keys().next().value!);
      for (const wake of this.#announceWaiters.splice(0)) wake();
    });
    socket.bind(where.port ?? ASAP_PORT, () => {
      try {
        socket.addMembership(group, where.interface);
      } catch (err) {
        this.emit('warning', err);
      }
    });
    socket.unref();
    this.#announceSocket = socket;
  }
}
