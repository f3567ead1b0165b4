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
  optionalU32,
  isRequest,
  Result,
  text,
  u32,
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
   * Tw (RFC 3539): a DWR is sent when nothing has arrived for this long, and the peer is
   * suspect when its answer has not come within as long again. Default 30,000 ms.
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
  /** Answers whose hop-by-hop id matched no request (discarded, RFC 6733 §6.2). */
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

interface Pending {
  resolve(answer: Message): void;
  reject(err: Error): void;
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

  private readonly pending = new Map<number, Pending>();
  /** Our application requests still waiting for their answer (settled, never rejecting). */
  private readonly inFlight = new Set<Promise<unknown>>();
  private nextHopByHop = (Math.random() * 0x100000000) >>> 0;
  private nextEndToEnd = ((Date.now() & 0xfff) << 20) >>> 0; // RFC 6733 §3: time in the high bits
  private nextStream = 0;
  private readonly watchdogInterval: number;
  private readonly answerTimeout: number;
  /** RFC 3539 §3.4.1: the Tw timer, when our DWR went out (if it is unanswered), the state. */
  private watchdog: {
    timer: NodeJS.Timeout | undefined;
    sentAt: number | undefined;
    state: 'okay' | 'suspect';
  };
  private closeError: Error | undefined;

  private constructor(
    readonly socket: Socket,
    private readonly options: PeerOptions,
  ) {
    super();
    this.watchdogInterval = options.watchdogInterval ?? 30000;
    this.answerTimeout = options.answerTimeout ?? 10000;
    this.watchdog = { timer: undefined, sentAt: undefined, state: 'okay' };
    socket.on('message', (data, info) => this.receive(data, info.stream));
    socket.on('error', (err) => (this.closeError ??= err));
    socket.on('close', () => this.closed());
  }

  /** Connects, then sends CER on stream 0. */
  static connect(sctp: ConnectOptions, options: PeerOptions): DiameterPeer {
    const socket = connect({ ppid: DIAMETER_PPID, ...sctp });
    const peer = new DiameterPeer(socket, options);
    socket.once('connect', () => {
      // The CEA is handled where answers are; no CEA in answerTimeout fails the peer.
      peer
        .ask(Command.CapabilitiesExchange, Application.Common, [
          ...peer.origin(),
          ...peer.capabilities(),
        ])
        .catch((err: Error) => peer.state === 'waitCapabilities' && peer.fail(err));
    });
    return peer;
  }

  /** Takes an accepted socket and waits for its CER. */
  static accept(socket: Socket, options: PeerOptions): DiameterPeer {
    socket.setSendDefaults({ ppid: DIAMETER_PPID });
    const peer = new DiameterPeer(socket, options);
    peer.expectCapabilitiesWithin(peer.answerTimeout); // a CER must come soon
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
    const answer = this.ask(command, applicationId, avps, stream);
    const settled: Promise<unknown> = answer.then(
      () => this.inFlight.delete(settled),
      () => this.inFlight.delete(settled),
    );
    this.inFlight.add(settled);
    return answer;
  }

  /**
   * Waits for the answers to our requests still due, sends DPR, waits for DPA (or
   * answerTimeout), then shuts the association down.
   */
  async disconnect(cause: number = DisconnectCause.Rebooting): Promise<void> {
    if (this.state !== 'open') return this.closedPromise();
    this.state = 'closing'; // request() refuses from here on
    this.stopWatchdog();
    await Promise.all(this.inFlight); // the answers still due, each within answerTimeout
    if (this.socket.destroyed) return this.closedPromise(); // the association ended meanwhile
    try {
      await this.ask(Command.DisconnectPeer, Application.Common, [
        ...this.origin(),
        avp.u32(Code.DisconnectCause, cause),
      ]);
    } catch {
      // No DPA: shut down all the same.
    }
    this.socket.end();
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

  private ask(command: number, applicationId: number, avps: Avp[], stream = 0): Promise<Message> {
    const hopByHop = this.nextHopByHop;
    this.nextHopByHop = (this.nextHopByHop + 1) >>> 0;
    return new Promise<Message>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(hopByHop);
        reject(
          new PeerError(
            `no answer to command ${command} in ${this.answerTimeout} ms`,
            'ERR_DIAMETER_TIMEOUT',
          ),
        );
      }, this.answerTimeout);
      this.pending.set(hopByHop, { resolve, reject, timer });
      this.send(command, Flag.Request | (applicationId ? Flag.Proxiable : 0), avps, stream, {
        applicationId,
        hopByHop,
      });
    });
  }

  private send(
    command: number,
    flags: number,
    avps: Avp[],
    stream: number,
    ids: { applicationId?: number; hopByHop?: number; endToEnd?: number } = {},
  ): void {
    if (this.socket.destroyed) return;
    const message: Message = {
      flags,
      command,
      applicationId: ids.applicationId ?? Application.Common,
      hopByHop: ids.hopByHop ?? this.nextHopByHop++ >>> 0,
      endToEnd: ids.endToEnd ?? (this.nextEndToEnd = (this.nextEndToEnd + 1) >>> 0),
      avps,
    };
    this.socket.send(encode(message), { stream });
  }

  private answer(request: Message, stream: number, resultCode: number, avps: Avp[] = []): void {
    this.send(
      request.command,
      (request.flags & Flag.Proxiable) | (resultCode >= 3000 && resultCode < 4000 ? Flag.Error : 0),
      [avp.u32(Code.ResultCode, resultCode), ...this.origin(), ...avps],
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
      return this.fail(
        new PeerError(`bad message from peer: ${(err as Error).message}`, 'ERR_DIAMETER_PROTOCOL'),
      );
    }
    this.restartWatchdog(); // any message shows the peer is alive (RFC 3539 §3.4.1)
    try {
      if (isRequest(message)) this.receiveRequest(message, stream);
      else this.receiveAnswer(message);
    } catch (err) {
      if (!(err instanceof DiameterError)) throw err;
      if (isRequest(message)) {
        this.answer(message, stream, err.resultCode, [avp.text(Code.ErrorMessage, err.message)]);
      }
      // A CER or CEA we cannot accept ends the connection (RFC 6733 §5.3).
      if (!isRequest(message) || message.command === Command.CapabilitiesExchange) {
        this.fail(new PeerError(`peer sent ${err.message}`, 'ERR_DIAMETER_PROTOCOL'));
      }
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
        this.answer(
          request,
          stream,
          common ? Result.Success : Result.NoCommonApplication,
          this.capabilities(),
        );
        if (!common)
          return this.fail(new PeerError('no common application', 'ERR_DIAMETER_REFUSED'));
        return this.opened();
      }
      case Command.DeviceWatchdog:
        this.counters.watchdogsReceived++;
        this.answer(request, stream, Result.Success);
        this.emit('watchdogRequest');
        return;
      case Command.DisconnectPeer: {
        this.state = 'closing';
        this.stopWatchdog();
        this.answer(request, stream, Result.Success);
        this.emit('disconnectRequest', optionalU32(request, Code.DisconnectCause));
        return; // the peer shuts the association down once it has the DPA
      }
    }
    if (this.state !== 'open')
      throw new DiameterError('request before the capabilities exchange', Result.UnknownPeer);
    this.counters.requestsReceived++;
    let replied = false;
    const reply: Reply = (resultCode, avps = []) => {
      if (replied) throw new Error('reply() called twice');
      replied = true;
      const sessionId = find(request, Code.SessionId);
      this.answer(request, stream, resultCode, [...(sessionId ? [sessionId] : []), ...avps]);
    };
    if (this.listenerCount('request') === 0) reply(Result.ApplicationUnsupported);
    else this.emit('request', request, reply);
  }

  private receiveAnswer(answer: Message): void {
    const pending = this.pending.get(answer.hopByHop);
    if (!pending) {
      this.counters.unmatchedAnswers++;
      // A DWA after answerTimeout: too late for its request, but the peer is answering.
      if (answer.command === Command.DeviceWatchdog) this.watchdog.sentAt = undefined;
      return;
    }
    this.pending.delete(answer.hopByHop);
    clearTimeout(pending.timer);
    switch (answer.command) {
      case Command.CapabilitiesExchange: {
        const result = resultCode(answer);
        if (result !== Result.Success) {
          return this.fail(new PeerError(`CEA with Result-Code ${result}`, 'ERR_DIAMETER_REFUSED'));
        }
        this.remote = remoteOf(answer);
        this.opened();
        break;
      }
      case Command.DeviceWatchdog:
        this.counters.watchdogsAnswered++;
        this.emit('watchdog', performance.now() - (this.watchdog.sentAt ?? performance.now()));
        this.watchdog.sentAt = undefined;
        break;
      case Command.DisconnectPeer:
        break;
      default:
        this.counters.answersReceived++;
    }
    pending.resolve(answer);
  }

  private opened(): void {
    this.state = 'open';
    this.restartWatchdog();
    this.emit('open', this.remote!);
  }

  /** Anything received: the peer is alive (back to OKAY), and Tw starts again. */
  private restartWatchdog(): void {
    if (this.state !== 'open') return;
    this.watchdog.state = 'okay';
    clearTimeout(this.watchdog.timer);
    this.watchdog.timer = setTimeout(() => this.watchdogExpired(), this.watchdogInterval);
  }

  /**
   * Tw passed with nothing received: a DWR; if one is unanswered, SUSPECT; if it still is
   * after another Tw, the connection is down and is closed (RFC 3539's failover point).
   */
  private watchdogExpired(): void {
    if (this.watchdog.sentAt !== undefined && this.watchdog.state === 'suspect') {
      const error = new PeerError(
        `no watchdog answer in 2 x ${this.watchdogInterval} ms`,
        'ERR_DIAMETER_TIMEOUT',
      );
      return this.fail(error);
    }
    if (this.watchdog.sentAt !== undefined) {
      this.watchdog.state = 'suspect';
      this.counters.suspects++;
      this.emit('suspect');
    } else {
      this.watchdog.sentAt = performance.now();
      this.counters.watchdogsSent++;
      this.ask(Command.DeviceWatchdog, Application.Common, this.origin()).catch(() => {
        // Handled by Tw: SUSPECT, then down.
      });
    }
    clearTimeout(this.watchdog.timer);
    this.watchdog.timer = setTimeout(() => this.watchdogExpired(), this.watchdogInterval);
  }

  private stopWatchdog(): void {
    clearTimeout(this.watchdog.timer);
    this.watchdog.timer = undefined;
  }

  /** The CER did not come in time. */
  private expectCapabilitiesWithin(ms: number): void {
    const timer = setTimeout(() => {
      if (this.state === 'waitCapabilities') {
        this.fail(new PeerError(`no capabilities exchange in ${ms} ms`, 'ERR_DIAMETER_TIMEOUT'));
      }
    }, ms);
    this.socket.once('close', () => clearTimeout(timer));
  }

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
    for (const [, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(
        new PeerError(
          `association closed before the answer${error ? `: ${error.message}` : ''}`,
          'ERR_DIAMETER_CLOSED',
        ),
      );
    }
    this.pending.clear();
    this.emit('close', error);
  }
}

function resultCode(answer: Message): number {
  return u32(answer, Code.ResultCode);
}

/** Who the peer says it is, from its CER or CEA. */
function remoteOf(message: Message): RemotePeer {
  const host = text(message, Code.OriginHost);
  const realm = text(message, Code.OriginRealm);
  if (!host || !realm) throw new DiameterError('no Origin-Host or Origin-Realm', 5005);
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
