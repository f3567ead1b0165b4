// Stream reconfiguration (RFC 6525): resetting streams' sequence numbers, resetting an
// association's TSNs, adding streams. The kernel sends a request and answers it later with a
// notification (stream_reset, assoc_reset, stream_change); a Reconfiguration turns request
// and answer into one promise. The kernel has one request of an association outstanding at
// a time (a second gets EINPROGRESS), and refuses a reset while data waits to go out
// (EAGAIN): requests are queued here and retried until the association can take them.
import os from 'node:os';
import {
  abortError,
  codedError,
  invalidArgValue,
  outOfRange,
  socketClosed,
  systemError,
  type CodedError,
  type SystemError,
} from './errors';
import { optionError } from './capabilities';
import { constants, type NativeSocket } from './native';
import type {
  AssocResetNotification,
  Notification,
  StreamChangeNotification,
  StreamResetNotification,
} from './notifications';
import { validateAbortSignal, validateBoolean, validateInteger, validateObject } from './validate';

const { EAGAIN, EINPROGRESS, ENOPROTOOPT } = os.constants.errno;

/**
 * Stream reconfiguration offered to the peer, and the request types an association may send
 * and will grant its peer (the kernel uses one switch for both: SCTP_ENABLE_STREAM_RESET).
 * `true`: all three; `{}`: offered, but every request is refused; `false`: not offered.
 */
export interface StreamReconfigurationOptions {
  /** Resetting streams' sequence numbers (SCTP_ENABLE_RESET_STREAM_REQ). */
  resetStreams?: boolean;
  /** Resetting the association's TSNs and all its streams (SCTP_ENABLE_RESET_ASSOC_REQ). */
  resetAssociation?: boolean;
  /** Adding streams (SCTP_ENABLE_CHANGE_ASSOC_REQ). */
  addStreams?: boolean;
}
/**
 * The streamReconfiguration option: `true` offers it with every request type enabled,
 * `false` does not offer it, an object offers it with the request types it enables.
 */
export type StreamReconfiguration = boolean | StreamReconfigurationOptions;

const REQUEST_FLAGS: Record<keyof StreamReconfigurationOptions, number> = {
  resetStreams: constants.SCTP_ENABLE_RESET_STREAM_REQ,
  resetAssociation: constants.SCTP_ENABLE_RESET_ASSOC_REQ,
  addStreams: constants.SCTP_ENABLE_CHANGE_ASSOC_REQ,
};
const ALL_REQUESTS = Object.values(REQUEST_FLAGS).reduce((a, b) => a | b);

/** What a streamReconfiguration option asks for, checked. */
export function resolveReconfiguration(
  option: unknown,
  name: string,
): { offered: boolean; flags: number } {
  if (typeof option === 'boolean') return { offered: option, flags: option ? ALL_REQUESTS : 0 };
  validateObject(option, name);
  let flags = 0;
  for (const [key, value] of Object.entries(option as Record<string, unknown>)) {
    if (!Object.hasOwn(REQUEST_FLAGS, key)) {
      throw invalidArgValue(
        `${name}.${key}`,
        value,
        `is not a request type; they are ${Object.keys(REQUEST_FLAGS).join(', ')}`,
      );
    }
    if (value !== undefined && validateBoolean(value, `${name}.${key}`)) {
      flags |= REQUEST_FLAGS[key as keyof typeof REQUEST_FLAGS];
    }
  }
  return { offered: true, flags };
}

/**
 * Offers stream reconfiguration in the socket's next associations (SCTP_RECONFIG_SUPPORTED:
 * both peers must, unless net.sctp.reconf_enable is 1) and enables the request types for
 * them. Throws the system error, with what the feature is when the kernel lacks it.
 */
export function applyReconfiguration(
  handle: NativeSocket,
  { offered, flags }: { offered: boolean; flags: number },
): void {
  for (const [name, value] of [
    ['SCTP_RECONFIG_SUPPORTED', Number(offered)],
    ['SCTP_ENABLE_STREAM_RESET', flags],
  ] as const) {
    const rc = handle.setOption(name, { assocId: 0, value });
    if (rc < 0) throw optionError(rc, 'setsockopt', name);
  }
}

/**
 * Which streams resetStreams() resets: this side's outbound ones, the peer's outbound ones (this
 * side's inbound), or both.
 */
export type ResetDirection = 'outgoing' | 'incoming' | 'both';

/** What resetStreams() takes (RFC 6525 outgoing and incoming SSN reset requests). */
export interface ResetStreamsOptions {
  /**
   * 'outgoing' (default): this side's outbound streams start again at sequence number 0 (the
   * peer's inbound ones with them). 'incoming': the peer is asked to reset its outbound
   * streams, this side's inbound ones. 'both': both at once.
   */
  direction?: ResetDirection;
  /** The streams to reset (default: all of them). */
  streams?: number[];
  /** Stops waiting: the promise rejects with an AbortError (a request sent stays sent). */
  signal?: AbortSignal;
}

/**
 * What addStreams() takes (RFC 6525 add streams requests): at least one count above 0, and
 * no more than makes 65535 streams in a direction.
 */
export interface AddStreamsOptions {
  /** Outbound streams to add (they can be used once the peer agreed). */
  outbound?: number;
  /** Inbound streams to add (the peer is asked to add as many outbound ones). */
  inbound?: number;
  /** Stops waiting: the promise rejects with an AbortError (a request sent stays sent). */
  signal?: AbortSignal;
}

/** The stream counts an association has after streams were added. */
export interface StreamCountsAfter {
  /** Outbound streams the association has now (also its outboundStreams). */
  outboundStreams: number;
  /** Inbound streams the association has now (also its inboundStreams). */
  inboundStreams: number;
}

/** An error for a request the peer answered with "denied" or "failed". */
export interface ReconfigurationError extends CodedError {
  /** The peer's answer: the notification with `denied` or `failed` set. */
  notification: StreamResetNotification | AssocResetNotification | StreamChangeNotification;
}

/** What a Reconfiguration needs of the Socket or Association it works for. */
export interface ReconfigurationHost {
  handle(): NativeSocket | null;
  /** 0 on a one-to-one socket. */
  readonly assocId: number;
  /** The association's current stream counts (0 while unknown). */
  readonly counts: { readonly outboundStreams: number; readonly inboundStreams: number };
  /** Messages of this association the library holds to send (the kernel has not taken them). */
  queuedSends(): number;
}

type Answer = StreamResetNotification | AssocResetNotification | StreamChangeNotification;

/** The request waiting for its answers. */
interface InFlight {
  /** Whether a notification answers this request. */
  answers(n: Notification): boolean;
  /** The answers it still waits for. */
  left: number;
  got: Answer[];
  settle(err: Error | null): void;
}

const RETRY_FIRST_MS = 5;
const RETRY_MAX_MS = 200;

/** The stream reconfiguration requests of one association, one at a time. */
export class Reconfiguration {
  private inFlight: InFlight | null = null;
  /** Requests sent, then given up on (AbortSignal): their answers are swallowed. */
  private orphans: InFlight[] = [];
  private last: Promise<unknown> = Promise.resolve();
  private ended: Error | null = null;

  constructor(private host: ReconfigurationHost) {}

  /** @internal The association moved (peeloff): its requests go on from the new owner. */
  rehost(host: ReconfigurationHost): void {
    this.host = host;
  }

  resetStreams(options: ResetStreamsOptions = {}): Promise<void> {
    validateObject(options, 'options');
    const direction = options.direction ?? 'outgoing';
    if (direction !== 'outgoing' && direction !== 'incoming' && direction !== 'both') {
      throw invalidArgValue(
        'options.direction',
        direction,
        "must be 'outgoing', 'incoming' or 'both'",
      );
    }
    const out = direction !== 'incoming';
    const into = direction !== 'outgoing';
    const streams = this.streamList(options.streams, out, into);
    const signal = optionalSignal(options.signal);
    const flags =
      (out ? constants.SCTP_STREAM_RESET_OUTGOING : 0) |
      (into ? constants.SCTP_STREAM_RESET_INCOMING : 0);
    const asked = new Set(streams);
    const sameStreams = (n: StreamResetNotification) =>
      n.streams.length === streams.length && n.streams.every((s) => asked.has(s));
    return this.request(
      'SCTP_RESET_STREAMS',
      { flags, streams },
      // An answer names the streams asked for; a reset done says which side's streams.
      (n) =>
        n.type === 'stream_reset' &&
        sameStreams(n) &&
        (n.denied || n.failed || (out && n.outgoing) || (into && n.incoming)),
      Number(out) + Number(into),
      signal,
    ).then(() => undefined);
  }

  resetAssociation(options: { signal?: AbortSignal } = {}): Promise<AssocResetNotification> {
    validateObject(options, 'options');
    const signal = optionalSignal(options.signal);
    return this.request('SCTP_RESET_ASSOC', {}, (n) => n.type === 'assoc_reset', 1, signal).then(
      (got) => got[0] as AssocResetNotification,
    );
  }

  addStreams(options: AddStreamsOptions): Promise<StreamCountsAfter> {
    validateObject(options, 'options');
    const outbound = validateInteger(options.outbound ?? 0, 'options.outbound', 0, 65535);
    const inbound = validateInteger(options.inbound ?? 0, 'options.inbound', 0, 65535);
    if (outbound === 0 && inbound === 0) {
      throw invalidArgValue('options', options, 'must add outbound or inbound streams (or both)');
    }
    const { outboundStreams, inboundStreams } = this.host.counts;
    if (outboundStreams + outbound > 65535) {
      throw outOfRange('options.outbound', `<= ${65535 - outboundStreams}`, outbound);
    }
    if (inboundStreams + inbound > 65535) {
      throw outOfRange('options.inbound', `<= ${65535 - inboundStreams}`, inbound);
    }
    const signal = optionalSignal(options.signal);
    // Linux reports the number of streams added (not the new totals, as RFC 6458 has it).
    return this.request(
      'SCTP_ADD_STREAMS',
      { outStreams: outbound, inStreams: inbound },
      (n) =>
        n.type === 'stream_change' &&
        (n.denied ||
          n.failed ||
          (outbound > 0 && n.outboundStreams === outbound && n.inboundStreams === 0) ||
          (inbound > 0 && n.inboundStreams === inbound && n.outboundStreams === 0)),
      Number(outbound > 0) + Number(inbound > 0),
      signal,
    ).then(() => ({
      outboundStreams: this.host.counts.outboundStreams,
      inboundStreams: this.host.counts.inboundStreams,
    }));
  }

  /** @internal A notification of the association: an answer to the request in flight? */
  notified(n: Notification): void {
    const orphan = this.orphans.findIndex((o) => o.answers(n));
    if (orphan >= 0) {
      if (--this.orphans[orphan]!.left === 0) this.orphans.splice(orphan, 1);
      return;
    }
    const flight = this.inFlight;
    if (!flight || !flight.answers(n)) return;
    const answer = n as Answer;
    flight.got.push(answer);
    if (answer.denied || answer.failed) {
      flight.settle(answerError(answer));
    } else if (--flight.left === 0) {
      flight.settle(null);
    }
  }

  /** @internal The association is gone: waiting requests fail with `err`. */
  end(err: Error): void {
    this.ended ??= err;
    this.inFlight?.settle(err);
  }

  /** The stream ids of a reset, checked against the streams there are. */
  private streamList(list: unknown, out: boolean, into: boolean): number[] {
    if (list === undefined) return [];
    if (!Array.isArray(list)) throw invalidArgValue('options.streams', list, 'must be an array');
    // Empty means "all streams" to the kernel: that is asked for by leaving streams out.
    if (list.length === 0) {
      throw invalidArgValue(
        'options.streams',
        list,
        'must not be empty (leave it out for all streams)',
      );
    }
    // What one RECONF chunk holds: 2 bytes a stream in each request, after its header.
    const room = 65531 - (out ? 16 : 0) - (into ? 8 : 0);
    const most = Math.floor(room / (2 * (Number(out) + Number(into))));
    if (list.length > most) {
      throw outOfRange(
        'options.streams.length',
        `<= ${most} (what one RECONF chunk holds)`,
        list.length,
      );
    }
    const { outboundStreams, inboundStreams } = this.host.counts;
    // Both directions: a stream must exist both ways.
    const limit = Math.min(
      out ? outboundStreams || 65536 : 65536,
      into ? inboundStreams || 65536 : 65536,
    );
    return list.map((s, i) => validateInteger(s, `options.streams[${i}]`, 0, limit - 1));
  }

  /** Queues a request behind the earlier ones and resolves with its answers. */
  private request(
    option: string,
    value: Record<string, unknown>,
    answers: (n: Notification) => boolean,
    expected: number,
    signal: AbortSignal | undefined,
  ): Promise<Answer[]> {
    const run = () => this.attempt(option, value, answers, expected, signal);
    const result = this.last.then(run, run);
    this.last = result.catch(() => undefined);
    if (!signal) return result;
    // An abort also ends the wait for the requests queued ahead (its turn, when it comes,
    // sees the signal and sends nothing).
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(abortError(signal));
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      result.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  private attempt(
    option: string,
    value: Record<string, unknown>,
    answers: (n: Notification) => boolean,
    expected: number,
    signal: AbortSignal | undefined,
  ): Promise<Answer[]> {
    return new Promise((resolve, reject) => {
      let timer: NodeJS.Timeout | null = null;
      let delay = RETRY_FIRST_MS;
      const flight: InFlight = {
        answers,
        left: expected,
        got: [],
        settle: (err) => {
          if (timer) clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          if (this.inFlight === flight) this.inFlight = null;
          if (err) reject(err);
          else resolve(flight.got);
        },
      };
      let sent = false;
      const onAbort = () => {
        // A request already sent is still answered: its answers must not pass for the
        // next request's.
        if (sent && flight.left > 0) this.orphans.push({ ...flight, settle: () => {} });
        flight.settle(abortError(signal!));
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      const issue = () => {
        timer = null;
        if (this.ended) return flight.settle(this.ended);
        const handle = this.host.handle();
        if (!handle) return flight.settle(socketClosed());
        // Data this side still holds goes out first: a reset applies to what follows it.
        if (this.host.queuedSends() === 0) {
          this.inFlight = flight; // answers come later, from a read
          const rc = handle.setOption(option, { assocId: this.host.assocId, ...value });
          if (rc === 0) return void (sent = true);
          this.inFlight = null;
          if (rc !== -EAGAIN && rc !== -EINPROGRESS) return flight.settle(requestError(rc, option));
        }
        timer = setTimeout(issue, delay);
        timer.unref(); // the socket keeps the process alive, not a retry
        delay = Math.min(delay * 2, RETRY_MAX_MS);
      };
      issue();
    });
  }
}

function optionalSignal(signal: unknown): AbortSignal | undefined {
  return signal === undefined ? undefined : validateAbortSignal(signal, 'options.signal');
}

/** The error of a request the kernel refused at once. */
function requestError(rc: number, option: string): SystemError {
  if (rc !== -ENOPROTOOPT) return systemError(rc, 'setsockopt');
  const err = systemError(rc, 'setsockopt');
  err.message +=
    `: ${option}: stream reconfiguration is not on for this association. Both peers must ` +
    'offer it when the association starts (the streamReconfiguration option, or ' +
    '`sysctl -w net.sctp.reconf_enable=1`), and this side must enable the request type ' +
    '(streamReconfiguration: true, or { resetStreams, resetAssociation, addStreams })';
  return err;
}

function answerError(n: Answer): ReconfigurationError {
  const what =
    n.type === 'stream_reset'
      ? 'stream reset'
      : n.type === 'assoc_reset'
        ? 'association reset'
        : 'stream addition';
  const err = (
    n.denied
      ? codedError(
          `the peer denied the ${what} (it has not enabled this request type)`,
          'ERR_SCTP_RECONFIG_DENIED',
        )
      : codedError(`the peer could not perform the ${what}`, 'ERR_SCTP_RECONFIG_FAILED')
  ) as ReconfigurationError;
  err.notification = n;
  return err;
}
