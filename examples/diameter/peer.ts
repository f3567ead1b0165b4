// A Diameter peer connection over one kernel-sctp association (RFC 6733 §5): the
// capabilities exchange, the watchdog of RFC 3539, requests matched to their answers by
// hop-by-hop id, and the disconnect. SCTP as §2.1.1 asks: PPID 46 on every message (the
// socket's default `ppid`, so plain write() would carry it too), the base protocol's
// messages on stream 0, application requests spread over the other streams so that one
// slow answer does not hold up the rest.
import { EventEmitter } from 'node:events';
import { connect, type ConnectOptions, type Socket } from '../../lib';
import {
  addressOf,
  Application,
  avp,
  Code,
  Command,
  decode,
  DiameterError,
  encode,
  find,
  Flag,
  isRequest,
  MAX_MESSAGE_LENGTH,
  u32,
  Result,
  text,
  type Avp,
  type Message,
} from './message';

/** The SCTP payload protocol identifier for Diameter in clear text (RFC 6733 §2.1.1). */
export const DIAMETER_PPID = 46;

/** Disconnect-Cause values (RFC 6733 §5.4.3). */
export const DisconnectCause = { Rebooting: 0, Busy: 1, DoNotWantToTalkToYou: 2 } as const;

export interface PeerOptions {
  /** Our Diameter identity (Origin-Host) and realm (Origin-Realm). */
  originHost: string;
  originRealm: string;
  productName?: string;
  vendorId?: number;
  /** Application ids announced in CER/CEA (Auth- and Acct-Application-Id). */
  authApplications?: number[];
  acctApplications?: number[];
  /**
   * Tw (RFC 3539), ms: a DWR is sent when nothing has arrived for this long, the peer is
   * SUSPECT when its answer has not come within as long again, and down after one more.
   * Default 30,000. RFC 3539 asks for at least 6,000 and ±2 s of jitter, which is added from
   * 6,000 up; shorter values (for tests) are used as given. At least 100.
   */
  watchdogInterval?: number;
  /** How long a request waits for its answer. Default 10,000 ms. */
  answerTimeout?: number;
}

export interface RemotePeer {
  host: string;
  realm: string;
  productName: string | undefined;
  /** Host-IP-Address AVPs: the addresses the peer says it has. */
  addresses: string[];
  applications: number[];
}

export type PeerState = 'waitCapabilities' | 'open' | 'closing' | 'closed';

export interface PeerCounters {
  watchdogsSent: number;
  watchdogsAnswered: number;
  watchdogsReceived: number;
  /** Times Tw expired with our DWR unanswered (RFC 3539's SUSPECT). */
  suspects: number;
  requestsSent: number;
  answersReceived: number;
  requestsReceived: number;
  /** Answers that matched no request of ours by hop-by-hop id and command (discarded). */
  unmatchedAnswers: number;
}

/** Answers an incoming application request: a Result-Code and any other AVPs. */
export type Reply = (resultCode: number, avps?: Avp[]) => void;

/** An error with a code, as Node's are: a request that failed, or why the peer closed. */
export class PeerError extends Error {
  constructor(
    message: string,
    readonly code:
      | 'ERR_DIAMETER_TIMEOUT'
      | 'ERR_DIAMETER_CLOSED'
      | 'ERR_DIAMETER_REFUSED'
      | 'ERR_DIAMETER_PROTOCOL',
  ) {
    super(message);
    this.name = 'PeerError';
  }
}

/** A request of ours waiting for its answer. */
interface Pending {
  command: number;
  /** An application request (request()), not one of the base protocol's. */
  application: boolean;
  resolve(answer: Message): void;
  reject(err: Error): void;
  /** Settles with the request, never rejects: what disconnect() waits for. */
  settled: Promise<void>;
  timer: NodeJS.Timeout;
}

export interface DiameterPeer {
  /** The capabilities exchange succeeded: the peer is OPEN. */
  on(event: 'open', listener: (remote: RemotePeer) => void): this;
  /** An application request from the peer; call reply() once. */
  on(event: 'request', listener: (request: Message, reply: Reply) => void): this;
  /** A DWA came back; `roundTrip` in ms. */
  on(event: 'watchdog', listener: (roundTrip: number) => void): this;
  /** The peer sent a DWR; it has been answered. */
  on(event: 'watchdogRequest', listener: () => void): this;
  /**
   * Tw passed with our DWR unanswered (RFC 3539's SUSPECT; anything received ends it). One
   * more Tw without anything, and the peer is closed with ERR_DIAMETER_TIMEOUT.
   */
  on(event: 'suspect', listener: () => void): this;
  /** The peer sent DPR; we answered and it will close the association. */
  on(event: 'disconnectRequest', listener: (cause: number | undefined) => void): this;
  /** The association is gone; `error` says why when it was not a clean disconnect. */
  on(event: 'close', listener: (error?: Error) => void): this;
  on(event: string, listener: (...args: any[]) => void): this;
}

/**
 * One Diameter peer connection. Use DiameterPeer.connect() to start one (we send CER) or
 * DiameterPeer.accept() on a socket a kernel-sctp server accepted (we wait for CER).
 */
export class DiameterPeer extends EventEmitter {
  state: PeerState = 'waitCapabilities';
  remote: RemotePeer | undefined;
  readonly counters: PeerCounters = {
    watchdogsSent: 0,
    watchdogsAnswered: 0,
    watchdogsReceived: 0,
    suspects: 0,
    requestsSent: 0,
    answersReceived: 0,
    requestsReceived: 0,
    unmatchedAnswers: 0,
  };

  /** Our requests waiting for their answer, by hop-by-hop id. */
  private readonly pending = new Map<number, Pending>();
  private nextHopByHop = (Math.random() * 0x100000000) >>> 0;
  /** RFC 6733 §3: the time in the high 12 bits, random in the low 20. */
  private nextEndToEnd = (((Date.now() & 0xfff) << 20) | (Math.random() * 0x100000)) >>> 0;
  private nextStream = 0;
  private readonly watchdogInterval: number;
  private readonly answerTimeout: number;
  /**
   * RFC 3539 §3.4.1: the Tw timer, when our outstanding DWR went out (its "Pending"), and
   * whether the peer is SUSPECT.
   */
  private watchdog: {
    timer: NodeJS.Timeout | undefined;
    outstandingSince: number | undefined;
    state: 'okay' | 'suspect';
  };
  /** After end(): the peer gets answerTimeout to finish the SHUTDOWN, then an ABORT. */
  private lingerTimer: NodeJS.Timeout | undefined;
  private closeError: Error | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly options: PeerOptions,
  ) {
    super();
    this.watchdogInterval = options.watchdogInterval ?? 30000;
    if (!Number.isInteger(this.watchdogInterval) || this.watchdogInterval < 100) {
      throw new RangeError(`watchdogInterval must be a whole number of ms, at least 100`);
    }
    this.answerTimeout = options.answerTimeout ?? 10000;
    this.watchdog = { timer: undefined, outstandingSince: undefined, state: 'okay' };
    socket.on('message', (data, info) => this.receive(data, info.stream));
    socket.on('error', (err) => (this.closeError ??= err));
    socket.on('close', () => this.closed());
  }

  /** Connects, then sends CER on stream 0. Messages over MAX_MESSAGE_LENGTH end the peer. */
  static connect(sctp: ConnectOptions, options: PeerOptions): DiameterPeer {
    const socket = connect({ ppid: DIAMETER_PPID, maxMessageSize: MAX_MESSAGE_LENGTH, ...sctp });
    const peer = new DiameterPeer(socket, options);
    socket.once('connect', () => {
      if (peer.state !== 'waitCapabilities') return; // disconnect() came first
      // The CEA is handled where answers are; no CEA within answerTimeout fails the peer.
      const cer = [...peer.origin(), ...peer.capabilities()];
      peer
        .ask(Command.CapabilitiesExchange, Application.Common, cer)
        .catch((err: Error) => peer.state === 'waitCapabilities' && peer.fail(err));
    });
    return peer;
  }

  /**
   * Takes an accepted socket and waits for its CER. Create the server with
   * `maxMessageSize: MAX_MESSAGE_LENGTH` to bound what a peer can make it hold.
   */
  static accept(socket: Socket, options: PeerOptions): DiameterPeer {
    socket.setSendDefaults({ ppid: DIAMETER_PPID });
    const peer = new DiameterPeer(socket, options);
    const timer = setTimeout(() => {
      if (peer.state === 'waitCapabilities') {
        peer.fail(new PeerError(`no CER in ${peer.answerTimeout} ms`, 'ERR_DIAMETER_TIMEOUT'));
      }
    }, peer.answerTimeout);
    socket.once('close', () => clearTimeout(timer));
    return peer;
  }

  /**
   * Sends an application request on the next stream after 0 and resolves with its answer
   * (whatever its Result-Code). Rejects when no answer comes within answerTimeout, or when
   * the association ends first: the request may or may not have been processed, and RFC
   * 6733 §5.5.4 says to send it again to another peer with the T flag.
   */
  request(command: number, applicationId: number, avps: Avp[]): Promise<Message> {
    if (this.state !== 'open') {
      return Promise.reject(new PeerError(`peer is ${this.state}`, 'ERR_DIAMETER_CLOSED'));
    }
    const streams = this.socket.outboundStreams;
    const stream = streams > 1 ? 1 + (this.nextStream++ % (streams - 1)) : 0;
    this.counters.requestsSent++;
    return this.ask(command, applicationId, avps, stream, true);
  }

  /**
   * Waits for the answers to our requests still due, sends DPR, waits for DPA (or
   * answerTimeout: then 'close' reports it), and shuts the association down. Before the
   * peer is open, just shuts down.
   */
  async disconnect(cause: number = DisconnectCause.Rebooting): Promise<void> {
    const state = this.state;
    if (state === 'closing' || state === 'closed') return this.closedPromise();
    this.state = 'closing'; // request() refuses, and a CEA still to come is ignored
    this.stopWatchdog();
    if (state === 'open') {
      const due = [...this.pending.values()].filter((p) => p.application).map((p) => p.settled);
      await Promise.all(due); // each within answerTimeout
      if (this.socket.destroyed) return this.closedPromise(); // the association ended meanwhile
      const dpr = [...this.origin(), avp.u32(Code.DisconnectCause, cause)];
      await this.ask(Command.DisconnectPeer, Application.Common, dpr).catch((err: Error) => {
        this.closeError ??= err; // shut down all the same
      });
    }
    this.shutDown();
    return this.closedPromise();
  }

  /** A Diameter identity, realm and the base AVPs every message of ours starts with. */
  origin(): Avp[] {
    return [
      avp.text(Code.OriginHost, this.options.originHost),
      avp.text(Code.OriginRealm, this.options.originRealm),
    ];
  }

  private closedPromise(): Promise<void> {
    return this.state === 'closed'
      ? Promise.resolve()
      : new Promise((resolve) => this.once('close', () => resolve()));
  }

  /** What CER and CEA carry after Origin-Host and Origin-Realm: addresses, applications. */
  private capabilities(): Avp[] {
    const { vendorId = 0, productName = 'kernel-sctp Diameter example' } = this.options;
    return [
      ...this.socket.localAddresses().map((a) => avp.address(Code.HostIpAddress, a.address)),
      avp.u32(Code.VendorId, vendorId),
      avp.text(Code.ProductName, productName),
      ...(this.options.authApplications ?? []).map((id) => avp.u32(Code.AuthApplicationId, id)),
      ...(this.options.acctApplications ?? []).map((id) => avp.u32(Code.AcctApplicationId, id)),
    ];
  }

  /** Sends a request of ours and waits for the answer with its hop-by-hop id and command. */
  private ask(
    command: number,
    applicationId: number,
    avps: Avp[],
    stream = 0,
    application = false,
  ): Promise<Message> {
    const hopByHop = this.nextHopByHop;
    this.nextHopByHop = (hopByHop + 1) >>> 0;
    let entry!: Pending;
    const answer = new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(hopByHop);
        const error = `no answer to command ${command} in ${this.answerTimeout} ms`;
        reject(new PeerError(error, 'ERR_DIAMETER_TIMEOUT'));
      }, this.answerTimeout);
      entry = { command, application, resolve, reject, timer, settled: Promise.resolve() };
    });
    entry.settled = answer.then(
      () => {},
      () => {},
    );
    const flags = Flag.Request | (applicationId ? Flag.Proxiable : 0);
    if (!this.send(command, flags, avps, stream, { applicationId, hopByHop })) {
      clearTimeout(entry.timer);
      entry.reject(new PeerError('the association is closing', 'ERR_DIAMETER_CLOSED'));
    } else {
      this.pending.set(hopByHop, entry);
    }
    return answer;
  }

  /** Sends a message unless the socket is ending or gone; false if it was not sent. */
  private send(
    command: number,
    flags: number,
    avps: Avp[],
    stream: number,
    ids: { applicationId: number; hopByHop: number; endToEnd?: number },
  ): boolean {
    if (this.socket.destroyed || this.socket.writableEnded) return false;
    const { applicationId, hopByHop } = ids; // an answer passes its request as `ids`
    const endToEnd = ids.endToEnd ?? (this.nextEndToEnd = (this.nextEndToEnd + 1) >>> 0);
    const message: Message = { flags, command, applicationId, hopByHop, endToEnd, avps };
    this.socket.send(encode(message), { stream });
    return true;
  }

  /**
   * Answers a request on its stream: Session-Id first when the request has one (RFC 6733
   * §8.8), Result-Code, our origin, then `avps`. 3xxx (protocol errors) set the E bit.
   */
  private answer(request: Message, stream: number, resultCode: number, avps: Avp[] = []): void {
    const sessionId = find(request, Code.SessionId);
    const isProtocolError = resultCode >= 3000 && resultCode < 4000;
    this.send(
      request.command,
      (request.flags & Flag.Proxiable) | (isProtocolError ? Flag.Error : 0),
      [
        ...(sessionId ? [sessionId] : []),
        avp.u32(Code.ResultCode, resultCode),
        ...this.origin(),
        ...avps,
      ],
      stream % this.socket.outboundStreams,
      request,
    );
  }

  private receive(data: Buffer, stream: number): void {
    let message: Message;
    try {
      message = decode(data);
    } catch (err) {
      // Bytes we cannot frame leave nothing to answer: RFC 6733 §7.2 closes the connection.
      const error = `bad message from peer: ${(err as Error).message}`;
      return this.fail(new PeerError(error, 'ERR_DIAMETER_PROTOCOL'));
    }
    const request = isRequest(message);
    if (this.state === 'waitCapabilities' && message.command !== Command.CapabilitiesExchange) {
      // Only CER or CEA may come first (RFC 6733 §5.3).
      const error = `command ${message.command} before the capabilities exchange`;
      return this.fail(new PeerError(error, 'ERR_DIAMETER_PROTOCOL'));
    }
    this.restartWatchdog(); // any message shows the peer is alive (RFC 3539 §3.4.1)
    try {
      if (request) this.receiveRequest(message, stream);
      else this.receiveAnswer(message);
    } catch (err) {
      if (!(err instanceof DiameterError)) throw err;
      const capabilities = message.command === Command.CapabilitiesExchange;
      if (request) {
        // A CEA, error or not, carries our capabilities (RFC 6733 §5.3.2).
        const extra = capabilities ? this.capabilities() : [];
        this.answer(message, stream, err.resultCode, [
          ...extra,
          avp.text(Code.ErrorMessage, err.message),
        ]);
      }
      // A CER or CEA we cannot accept ends the connection (RFC 6733 §5.3); the SHUTDOWN
      // delivers our answer first.
      if (capabilities)
        this.shutDown(new PeerError(`peer sent ${err.message}`, 'ERR_DIAMETER_PROTOCOL'));
    }
  }

  private receiveRequest(request: Message, stream: number): void {
    switch (request.command) {
      case Command.CapabilitiesExchange: {
        if (this.state !== 'waitCapabilities') throw new DiameterError('CER on an open connection');
        this.remote = remoteOf(request);
        const ours = [
          ...(this.options.authApplications ?? []),
          ...(this.options.acctApplications ?? []),
        ];
        const common = this.remote.applications.some(
          (id) => id === Application.Relay || ours.includes(id),
        );
        if (!common) throw new DiameterError('no common application', Result.NoCommonApplication);
        this.answer(request, stream, Result.Success, this.capabilities());
        return this.opened();
      }
      case Command.DeviceWatchdog:
        this.counters.watchdogsReceived++;
        this.answer(request, stream, Result.Success);
        this.emit('watchdogRequest');
        return;
      case Command.DisconnectPeer:
        this.state = 'closing';
        this.stopWatchdog();
        this.answer(request, stream, Result.Success);
        this.emit('disconnectRequest', u32(request, Code.DisconnectCause));
        // The peer shuts the association down once it has the DPA; if it does not, we do.
        this.lingerTimer ??= setTimeout(() => this.shutDown(), this.answerTimeout);
        return;
    }
    if (this.state !== 'open') {
      throw new DiameterError(`peer is ${this.state}`, Result.UnableToDeliver);
    }
    this.counters.requestsReceived++;
    let replied = false;
    const reply: Reply = (resultCode, avps = []) => {
      if (replied) throw new Error('reply() called twice');
      replied = true;
      this.answer(request, stream, resultCode, avps); // nothing once the peer has gone
    };
    if (this.listenerCount('request') === 0) reply(Result.ApplicationUnsupported);
    else this.emit('request', request, reply);
  }

  private receiveAnswer(answer: Message): void {
    const pending = this.pending.get(answer.hopByHop);
    if (!pending || pending.command !== answer.command) {
      this.counters.unmatchedAnswers++;
      // A DWA after answerTimeout: too late for its request, but the peer is answering.
      if (answer.command === Command.DeviceWatchdog && this.watchdog.outstandingSince) {
        this.watchdogAnswered();
      }
      return;
    }
    this.pending.delete(answer.hopByHop);
    clearTimeout(pending.timer);
    pending.resolve(answer); // settled first, whatever the answer holds
    switch (answer.command) {
      case Command.CapabilitiesExchange: {
        if (this.state !== 'waitCapabilities') return; // disconnect() came first
        const result = u32(answer, Code.ResultCode);
        if (result !== Result.Success) {
          const error = new PeerError(`CEA with Result-Code ${result}`, 'ERR_DIAMETER_REFUSED');
          return this.shutDown(error);
        }
        this.remote = remoteOf(answer);
        return this.opened();
      }
      case Command.DeviceWatchdog:
        return this.watchdogAnswered();
      case Command.DisconnectPeer:
        return;
      default:
        this.counters.answersReceived++;
    }
  }

  private opened(): void {
    this.state = 'open';
    this.restartWatchdog();
    this.emit('open', this.remote!);
  }

  private watchdogAnswered(): void {
    this.counters.watchdogsAnswered++;
    this.emit('watchdog', performance.now() - this.watchdog.outstandingSince!);
    this.watchdog.outstandingSince = undefined;
  }

  /** Anything received: the peer is alive (back to OKAY), and Tw starts again. */
  private restartWatchdog(): void {
    if (this.state !== 'open') return;
    this.watchdog.state = 'okay';
    this.armWatchdog();
  }

  private armWatchdog(): void {
    clearTimeout(this.watchdog.timer);
    const tw = this.watchdogInterval;
    const jitter = tw >= 6000 ? (Math.random() * 2 - 1) * 2000 : 0; // RFC 3539 §3.4.1
    this.watchdog.timer = setTimeout(() => this.watchdogExpired(), tw + jitter);
  }

  /**
   * Tw passed with nothing received: a DWR; if one is outstanding, SUSPECT; if it still is
   * after another Tw, the connection is down and is closed (RFC 3539's failover point).
   */
  private watchdogExpired(): void {
    const { outstandingSince, state } = this.watchdog;
    if (outstandingSince !== undefined && state === 'suspect') {
      const error = `no watchdog answer in 2 x ${this.watchdogInterval} ms`;
      return this.fail(new PeerError(error, 'ERR_DIAMETER_TIMEOUT'));
    }
    if (outstandingSince !== undefined) {
      this.watchdog.state = 'suspect';
      this.counters.suspects++;
      this.emit('suspect');
    } else {
      this.watchdog.outstandingSince = performance.now();
      this.counters.watchdogsSent++;
      this.ask(Command.DeviceWatchdog, Application.Common, this.origin()).catch(() => {
        // Handled by Tw: SUSPECT, then down.
      });
    }
    this.armWatchdog();
  }

  private stopWatchdog(): void {
    clearTimeout(this.watchdog.timer);
    this.watchdog.timer = undefined;
  }

  /**
   * A graceful end: SCTP's SHUTDOWN delivers what we sent first (an answer, a DPR); a peer
   * that does not complete it within answerTimeout is aborted.
   */
  private shutDown(error?: Error): void {
    this.closeError ??= error;
    if (this.socket.destroyed) return;
    this.socket.end();
    clearTimeout(this.lingerTimer);
    this.lingerTimer = setTimeout(() => this.socket.resetAndDestroy(), this.answerTimeout);
  }

  /** An ABORT: for bytes we cannot read, and a peer that stopped answering. */
  private fail(error: Error): void {
    this.closeError ??= error;
    this.socket.resetAndDestroy();
  }

  private closed(): void {
    const error =
      this.closeError ??
      (this.state === 'closing'
        ? undefined
        : new PeerError('the association ended without DPR/DPA', 'ERR_DIAMETER_CLOSED'));
    this.state = 'closed';
    this.stopWatchdog();
    clearTimeout(this.lingerTimer);
    for (const [, pending] of this.pending) {
      clearTimeout(pending.timer);
      const reason = `association closed before the answer${error ? `: ${error.message}` : ''}`;
      pending.reject(new PeerError(reason, 'ERR_DIAMETER_CLOSED'));
    }
    this.pending.clear();
    this.emit('close', error);
  }
}

/** Who the peer says it is, from its CER or CEA. */
function remoteOf(message: Message): RemotePeer {
  const host = text(message, Code.OriginHost);
  const realm = text(message, Code.OriginRealm);
  if (!host || !realm) throw new DiameterError('no Origin-Host or Origin-Realm', Result.MissingAvp);
  const all = (code: number) =>
    message.avps.filter((a) => a.code === code && a.vendorId === undefined);
  return {
    host,
    realm,
    productName: text(message, Code.ProductName),
    addresses: all(Code.HostIpAddress).flatMap((a) => addressOf(a) ?? []),
    applications: [Code.AuthApplicationId, Code.AcctApplicationId]
      .flatMap(all)
      .filter((a) => a.data.length === 4)
      .map((a) => a.data.readUInt32BE(0)),
  };
}
