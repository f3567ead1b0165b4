// What one-to-one sockets, one-to-many endpoints and their associations do the same way on a
// native handle: socket options at open, per-message send options, SCTP_STATUS, address
// lists, and the option table by name. Plain functions; the classes add policy and events.
import os from 'node:os';
import { markAsUntransferable } from 'node:worker_threads';
import { invalidArgType, invalidArgValue, outOfRange, socketClosed, systemError } from './errors';
import {
  constants,
  DEFAULT_MAX_MESSAGE_SIZE,
  DEFAULT_MAX_PARTIAL_BYTES,
  INFO_EXTRA,
  INFO_NOTIFICATION,
  INFO_STRIDE,
  INFO_TOO_LARGE,
  native,
  readInfo,
  SEND_BATCH,
  SEND_FIELDS,
  type NativeAddress,
  type NativeSocket,
} from './native';
import {
  authWithInterleavingError,
  checkUdpPort,
  kernelSchedulers,
  optionError,
  schedulerError,
  SCHEDULERS,
  type SchedulerName,
} from './capabilities';
import { applyAuth, resolveAuth, type AuthOptions } from './auth';
import { checkGetOption, checkSetOption } from './options';
import {
  applyReconfiguration,
  resolveReconfiguration,
  type StreamReconfiguration,
} from './reconfig';
import { applySettings, pickSettings, type SettingName, type Settings } from './settings';
import {
  resolvePathParameters,
  resolveRetransmission,
  setPathParameters,
  setRetransmission,
  type PathDefaults,
  type RetransmissionParameters,
} from './paths';
import { validateBoolean, validateInteger, validateObject } from './validate';

/** An address and port of a socket or an association, in the shape net.Socket#address() has. */
export interface AddressInfo {
  /**
   * The IP address as text. An IPv4 peer of an IPv6 socket is shown as plain IPv4 (not
   * `::ffff:a.b.c.d`); an IPv6 link-local address carries its zone (`fe80::1%2`).
   */
  address: string;
  /** The address family, as Node's net module names it. */
  family: 'IPv4' | 'IPv6';
  /** The SCTP port, 0 .. 65535. */
  port: number;
}

/** Per-message send options. PPID is in host byte order (converted to network order inside). */
export interface SendOptions {
  /** Stream id, 0 .. negotiated outbound streams - 1. Default: the socket's `stream` (0). */
  stream?: number;
  /** Payload protocol identifier (0 .. 2^32-1), host byte order. Default: the socket's `ppid` (0). */
  ppid?: number;
  /** Deliver without regard to order within the stream. */
  unordered?: boolean;
  /** Opaque 32-bit value returned in a send_failed notification if the message is not delivered. */
  context?: number;
  /**
   * PR-SCTP timed reliability: give up on the message after this many milliseconds (0 =
   * reliable). The same as `pr: { policy: 'ttl', value: ttl }`.
   */
  ttl?: number;
  /** A PR-SCTP policy for this message (RFC 7496). Default: the socket's `pr` (none: reliable). */
  pr?: PartialReliability;
}

/**
 * A PR-SCTP policy (RFC 7496; the peer must support PR-SCTP, or the message is sent
 * reliably). `ttl`: abandoned once `value` milliseconds have passed since the send, whether
 * sent or not. `rtx`: abandoned after `value` retransmissions. `prio`: when the send buffer
 * is full, queued messages of a higher `value` (lower priority; 0 is the highest) are
 * abandoned to make room for this one.
 */
export interface PartialReliability {
  /** Which policy decides when the message is abandoned. */
  policy: PrPolicy;
  /**
   * The policy's parameter, 0 .. 2^32-1: milliseconds for 'ttl', retransmissions for 'rtx',
   * the message's priority for 'prio' (0 highest).
   */
  value: number;
}
/**
 * The PR-SCTP policies of RFC 7496: 'ttl' (timed reliability, SCTP_PR_SCTP_TTL), 'rtx'
 * (limited retransmissions, SCTP_PR_SCTP_RTX), 'prio' (priority, SCTP_PR_SCTP_PRIO).
 */
export type PrPolicy = 'ttl' | 'rtx' | 'prio';

/** The kernel's numbers for the policies. */
export const PR_POLICIES: Record<PrPolicy, number> = {
  ttl: constants.SCTP_PR_SCTP_TTL,
  rtx: constants.SCTP_PR_SCTP_RTX,
  prio: constants.SCTP_PR_SCTP_PRIO,
};

/** The PartialReliability of resolved defaults (undefined: reliable). */
export function partialReliabilityOf(d: SendDefaults): PartialReliability | undefined {
  const policy = (Object.keys(PR_POLICIES) as PrPolicy[]).find(
    (p) => PR_POLICIES[p] === d.prPolicy,
  );
  return policy === undefined ? undefined : { policy, value: d.prValue };
}

/** Checks a PartialReliability (`name` says where it came from in errors). */
export function resolvePartialReliability(
  pr: unknown,
  name: string,
): { prPolicy: number; prValue: number } {
  validateObject(pr, name);
  const { policy, value } = pr as { policy?: unknown; value?: unknown };
  if (typeof policy !== 'string' || !Object.hasOwn(PR_POLICIES, policy)) {
    throw invalidArgValue(`${name}.policy`, policy, "must be 'ttl', 'rtx' or 'prio'");
  }
  return {
    prPolicy: PR_POLICIES[policy as PrPolicy],
    prValue: validateInteger(value, `${name}.value`, 0, 0xffffffff),
  };
}

/** What came with a received message. */
export interface MessageInfo {
  /** The stream the message arrived on (rcv_sid of SCTP_RCVINFO), 0 .. inboundStreams - 1. */
  stream: number;
  /** Host byte order. */
  ppid: number;
  /**
   * The stream sequence number (rcv_ssn): the message's place in its stream's order, which
   * starts again at 0 after a stream reset. Not meaningful for an unordered message.
   */
  ssn: number;
  /** The transmission sequence number the kernel reported with the message (rcv_tsn). */
  tsn: number;
  /**
   * The peer sent the message unordered: it was delivered as it arrived, outside its stream's
   * order.
   */
  unordered: boolean;
  /**
   * The association's SCTP_CONTEXT value when the message was received (the `context`
   * setting, rcv_context): a local tag, not something the peer sent. 0 unless set.
   */
  context: number;
  /**
   * The association the message belongs to (rcv_assoc_id); informational on a one-to-one socket.
   */
  assocId: number;
}

/**
 * The stream counts asked for in INIT (SCTP_INITMSG), 1 .. 65535 each. The peer may grant
 * fewer: the counts in use are `outboundStreams` and `inboundStreams` once the association is up.
 */
export interface StreamCounts {
  /** Outbound streams to ask for in INIT (SCTP_INITMSG sinit_num_ostreams). */
  out?: number;
  /** Maximum inbound streams to accept (sinit_max_instreams). */
  in?: number;
}

/**
 * Options applied to every socket when it is opened (and again after a peeloff). The
 * settings (maxBurst, sackDelay, ecn, ...) are described at Settings.
 */
export interface HandleOptions extends Partial<Settings> {
  /**
   * Disable Nagle-like bundling (SCTP_NODELAY). Default true: message-oriented traffic
   * otherwise stalls on the kernel's 200 ms delayed SACK (see README, "Defaults").
   */
  noDelay?: boolean;
  /**
   * Streams to ask for in INIT (SCTP_INITMSG). Default: the kernel's (10 outbound, up to
   * 65535 inbound).
   */
  streams?: StreamCounts;
  /**
   * Largest message accepted when reassembling one. A larger one is discarded and its
   * association ended with an EMSGSIZE error (see README, "Isolation"). Default 64 MiB.
   */
  maxMessageSize?: number;
  /**
   * Bytes all incomplete messages of this socket may hold together while they are being
   * reassembled (many peers each sending part of a large message). A message that would go
   * past it is treated as too large. Default 128 MiB.
   */
  maxPartialBytes?: number;
  /**
   * The stall guard: milliseconds a send queue may stay blocked (the kernel takes nothing of
   * it) while the association's own data sits unacknowledged in the kernel (its peer stopped
   * reading) before the association is aborted with ERR_SCTP_STALLED. 0 (default): never.
   */
  stallTimeout?: number;
  /**
   * Socket buffer sizes (SO_RCVBUF / SO_SNDBUF), bytes. An explicit size is forced past
   * net.core.rmem_max/wmem_max where the process may (CAP_NET_ADMIN). By default the
   * receive buffer is asked for DEFAULT_RECEIVE_BUFFER, which the kernel caps at
   * net.core.rmem_max (see there); the send buffer keeps the kernel's default.
   */
  receiveBufferSize?: number;
  /**
   * Send buffer size, bytes (SO_SNDBUF, forced as above), 1 .. 2^31-1. Default: the
   * kernel's. A message larger than the send buffer fails with EMSGSIZE.
   */
  sendBufferSize?: number;
  /** INIT transmissions before the kernel gives up with ETIMEDOUT (SCTP_INITMSG; kernel default 8). */
  maxInitAttempts?: number;
  /** Largest retransmission timeout for INIT, ms (SCTP_INITMSG; kernel default 60000). */
  maxInitTimeout?: number;
  /**
   * Deliver `sender_dry` notifications (SCTP_SENDER_DRY_EVENT): one each time everything
   * sent has been acknowledged. Default false: on a fast path that is after nearly every
   * SACK, and a sender that writes without reading in between would fill its own receive
   * buffer with them, after which the kernel drops incoming SACKs and the association
   * stalls until the retransmission timer fires.
   */
  senderDry?: boolean;
  /**
   * The stream scheduler: which stream's queued message goes next (RFC 8260). 'fcfs' (the
   * kernel's default): in the order sent. 'priority': the stream with the lowest value
   * (setStreamSchedulerValue) first. 'round-robin': one message
   * per stream in turn. 'fair-capacity' and 'weighted-fair' (Linux 6.3 and later): by
   * bytes, equally or by each stream's weight. capabilities().schedulers lists the kernel's.
   */
  scheduler?: SchedulerName;
  /**
   * Stream reconfiguration (RFC 6525): offered to the peer in INIT (both must offer it,
   * unless net.sctp.reconf_enable is 1) and the request types this side may send and will
   * grant its peer. `true`: resetting streams, resetting the association and adding
   * streams; `{}`: offered, every request refused. Default: the kernel's (offered when
   * net.sctp.reconf_enable is 1, with no request type enabled).
   */
  streamReconfiguration?: StreamReconfiguration;
  /**
   * Message interleaving, I-DATA (RFC 8260): offered to the peer in INIT, so that a large
   * message no longer holds back the other streams' messages behind it (with a scheduler
   * other than 'fcfs' the sender interleaves their pieces). Both peers must offer it, and
   * the kernel allows it only when net.sctp.intl_enable is 1. Default false.
   */
  interleaving?: boolean;
  /**
   * AUTH (RFC 4895): the chunk types the peer must authenticate, the shared keys, the key
   * to use and the HMACs to accept. Both peers need it (or net.sctp.auth_enable = 1).
   * Keys can be changed later through `auth` on the socket or association.
   */
  auth?: AuthOptions;
  /**
   * UDP encapsulation (RFC 6951): the peer's UDP port to send this socket's associations to,
   * inside UDP (the IANA port is 9899). Needs net.sctp.udp_port set on this host (the
   * kernel's own UDP port, which the peer sends back to); the side that accepts learns the
   * port from the INIT and needs only udp_port. Paths#setEncapsulationPort changes it per
   * association or path.
   */
  udpEncapsulationPort?: number;
  /**
   * RTO.Initial, RTO.Min, RTO.Max and Association.Max.Retrans for this socket's
   * associations from their INIT on (SCTP_RTOINFO, SCTP_ASSOCINFO), as
   * Paths#setRetransmission sets them on one that is up. Accepted associations have their
   * server's. Default: net.sctp.rto_initial, rto_min, rto_max, association_max_retrans.
   */
  retransmission?: Partial<RetransmissionParameters>;
  /**
   * What every path of this socket's associations starts with: heartbeats and their
   * interval, Path.Max.Retrans, the thresholds... (SCTP_PEER_ADDR_PARAMS and the others
   * without an address), as Paths#configure sets them on one that is up. Accepted
   * associations have their server's. Default: the net.sctp sysctls. The SACK delay is the
   * `sackDelay` setting.
   */
  pathDefaults?: PathDefaults;
}

/** One path to the peer (SCTP_GET_PEER_ADDR_INFO; the primary path's in SCTP_STATUS). */
export interface PathInfo {
  /** The peer's address on this path, with the peer's port. */
  address: AddressInfo;
  /**
   * The path's state (spinfo_state): 'active', 'inactive' (unreachable),
   * 'potentially_failed' (RFC 7829), 'unconfirmed' (no heartbeat has confirmed it yet), or
   * 'unknown' / 'unknown(n)'.
   */
  state: string;
  /** Congestion window, bytes (spinfo_cwnd). */
  cwnd: number;
  /** Smoothed round-trip time, ms (spinfo_srtt). */
  srtt: number;
  /** Current retransmission timeout, ms (spinfo_rto). */
  rto: number;
  /** Path MTU, bytes (spinfo_mtu). */
  mtu: number;
}

/** An association's state, windows and primary path (SCTP_STATUS, RFC 6458 section 8.2.1). */
export interface Status {
  /** The association id (sstat_assoc_id). */
  assocId: number;
  /**
   * The protocol state (sstat_state): 'closed', 'cookie_wait', 'cookie_echoed',
   * 'established', 'shutdown_pending', 'shutdown_sent', 'shutdown_received',
   * 'shutdown_ack_sent' (or 'empty', 'unknown(n)').
   */
  state: string;
  /** The peer's current receive window, bytes (sstat_rwnd). */
  rwnd: number;
  /** DATA chunks sent and not yet acknowledged (sstat_unackdata). */
  unackedData: number;
  /** DATA chunks missing from the peer: gaps below the highest TSN received (sstat_penddata). */
  pendingData: number;
  /** Inbound streams of the association (sstat_instrms). */
  inboundStreams: number;
  /** Outbound streams of the association (sstat_outstrms). */
  outboundStreams: number;
  /**
   * Largest DATA chunk payload, bytes: larger messages go in pieces (sstat_fragmentation_point).
   */
  fragmentationPoint: number;
  /** The primary path, the one new data is sent on (sstat_primary). */
  primary: PathInfo;
}

/** Send options checked and resolved against the defaults: what native send() takes. */
export interface ResolvedSend {
  stream: number;
  ppid: number;
  flags: number;
  context: number;
  /** SCTP_PR_SCTP_* (0: fully reliable) and its value. */
  prPolicy: number;
  prValue: number;
}

const { EINVAL, EMSGSIZE, ENOTCONN } = os.constants.errno;

const SCTP_STATES = [
  'empty',
  'closed',
  'cookie_wait',
  'cookie_echoed',
  'established',
  'shutdown_pending',
  'shutdown_sent',
  'shutdown_received',
  'shutdown_ack_sent',
];
const PATH_STATES = ['inactive', 'potentially_failed', 'active', 'unconfirmed'];

export function toAddressInfo(a: NativeAddress): AddressInfo {
  return { address: a.address, family: a.family === 'IPv6' ? 'IPv6' : 'IPv4', port: a.port };
}

export function pathState(code: number): string {
  return code === 0xffff ? 'unknown' : (PATH_STATES[code] ?? `unknown(${code})`);
}

export function validateHandleOptions(options: HandleOptions): void {
  pickSettings(options as Record<string, unknown>, 'options');
  if (options.maxMessageSize !== undefined) {
    validateInteger(options.maxMessageSize, 'options.maxMessageSize', 1, 2 ** 31);
  }
  if (options.maxPartialBytes !== undefined) {
    validateInteger(options.maxPartialBytes, 'options.maxPartialBytes', 1, 2 ** 40);
  }
  if (options.stallTimeout !== undefined) {
    validateInteger(options.stallTimeout, 'options.stallTimeout', 0, 2 ** 31 - 1);
  }
  if (options.noDelay !== undefined) validateBoolean(options.noDelay, 'options.noDelay');
  if (options.senderDry !== undefined) validateBoolean(options.senderDry, 'options.senderDry');
  for (const key of ['receiveBufferSize', 'sendBufferSize'] as const) {
    if (options[key] !== undefined) validateInteger(options[key], `options.${key}`, 1, 2 ** 31 - 1);
  }
  if (options.streams !== undefined) {
    validateObject(options.streams, 'options.streams');
    if (options.streams.out !== undefined)
      validateInteger(options.streams.out, 'options.streams.out', 1, 65535);
    if (options.streams.in !== undefined)
      validateInteger(options.streams.in, 'options.streams.in', 1, 65535);
  }
  if (options.maxInitAttempts !== undefined) {
    validateInteger(options.maxInitAttempts, 'options.maxInitAttempts', 1, 65535);
  }
  if (options.maxInitTimeout !== undefined) {
    validateInteger(options.maxInitTimeout, 'options.maxInitTimeout', 1, 65535);
  }
  if (options.streamReconfiguration !== undefined) {
    resolveReconfiguration(options.streamReconfiguration, 'options.streamReconfiguration');
  }
  if (options.interleaving !== undefined) {
    validateBoolean(options.interleaving, 'options.interleaving');
  }
  if (options.auth !== undefined) resolveAuth(options.auth, 'options.auth');
  if (options.udpEncapsulationPort !== undefined) {
    validateInteger(options.udpEncapsulationPort, 'options.udpEncapsulationPort', 1, 65535);
  }
  if (options.retransmission !== undefined) {
    resolveRetransmission(options.retransmission, 'options.retransmission');
  }
  if (options.pathDefaults !== undefined) {
    validateObject(options.pathDefaults, 'options.pathDefaults');
    for (const key of ['address', 'sackDelay']) {
      const value = (options.pathDefaults as Record<string, unknown>)[key];
      if (value === undefined) continue;
      throw invalidArgValue(
        `options.pathDefaults.${key}`,
        value,
        key === 'address'
          ? 'is per path: use socket.paths.configure()'
          : 'is the sackDelay setting (options.sackDelay)',
      );
    }
    resolvePathParameters(options.pathDefaults, 'options.pathDefaults');
  }
  if (options.scheduler !== undefined && !SCHEDULERS.includes(options.scheduler)) {
    throw invalidArgValue(
      'options.scheduler',
      options.scheduler,
      `must be one of ${SCHEDULERS.map((s) => `'${s}'`).join(', ')}`,
    );
  }
}

/** Selects the stream scheduler of the socket's next associations (and of a current one). */
export function setScheduler(handle: NativeSocket, name: SchedulerName, assocId = 0): void {
  const rc = handle.setOption('SCTP_STREAM_SCHEDULER', {
    assocId,
    value: SCHEDULERS.indexOf(name),
  });
  if (rc === -EINVAL && !kernelSchedulers()?.includes(name)) throw schedulerError(name);
  if (rc < 0) throw optionError(rc, 'setsockopt', 'SCTP_STREAM_SCHEDULER');
}

/** The stream scheduler of an association, or of the socket's next ones. */
export function readScheduler(handle: NativeSocket | null, assocId: number): SchedulerName {
  const { value } = getOption(handle, 'SCTP_STREAM_SCHEDULER', { assocId }) as { value: number };
  return SCHEDULERS[value] ?? (`unknown(${value})` as SchedulerName);
}

/**
 * Sets one outbound stream's scheduler value: its priority under 'priority' (lower goes
 * first), its weight under 'weighted-fair'. The stream must exist: after the association is
 * up.
 */
export function setStreamSchedulerValue(
  handle: NativeSocket | null,
  assocId: number,
  stream: unknown,
  value: unknown,
): void {
  validateInteger(stream, 'stream', 0, 65535);
  validateInteger(value, 'value', 0, 65535);
  setOption(handle, 'SCTP_STREAM_SCHEDULER_VALUE', { assocId, stream, value });
}

export function getStreamSchedulerValue(
  handle: NativeSocket | null,
  assocId: number,
  stream: unknown,
): number {
  validateInteger(stream, 'stream', 0, 65535);
  const r = getOption(handle, 'SCTP_STREAM_SCHEDULER_VALUE', { assocId, stream });
  return r.value as number;
}

/**
 * A message to send as a Buffer (a string as UTF-8; a Uint8Array shared, not copied). SCTP
 * has no empty messages: the kernel would refuse one, so it is refused here.
 */
export function toPayload(data: unknown, name = 'data'): Buffer {
  let buffer: Buffer;
  if (typeof data === 'string') buffer = Buffer.from(data);
  else if (data instanceof Uint8Array) {
    // A view of a detached buffer has length 0 too: refused before it is touched.
    if (data.byteLength === 0) throw emptyMessage(name, data);
    buffer = Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  } else {
    throw invalidArgType(name, 'of type string or an instance of Buffer or Uint8Array', data);
  }
  if (buffer.length === 0) throw emptyMessage(name, data);
  return buffer;
}

function emptyMessage(name: string, data: unknown): Error {
  return invalidArgValue(name, data, 'must not be empty (SCTP has no empty messages)');
}

/**
 * The error for a received message that exceeded a reassembly bound (an INFO_TOO_LARGE
 * entry): it was discarded, and its association (`assocId`, on an endpoint) is ended.
 */
export function tooLargeError(maxMessageSize: number | undefined, assocId?: number): Error {
  const err = systemError(-EMSGSIZE, 'recvmsg');
  const who = assocId === undefined ? 'recvmsg EMSGSIZE' : `association ${assocId}`;
  err.message =
    `${who}: a received message exceeds maxMessageSize ` +
    `(${maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE} bytes) or the bytes all partial messages ` +
    'may hold (maxPartialBytes); it was discarded and the association aborted';
  return err;
}

/** What a message is sent with unless its own options say otherwise. */
export interface SendDefaults {
  stream: number;
  ppid: number;
  prPolicy: number;
  prValue: number;
}

/** The default stream, PPID and PR-SCTP policy for send(), checked. */
export function resolveDefaults(options: {
  stream?: number;
  ppid?: number;
  pr?: PartialReliability;
}): SendDefaults {
  const pr =
    options.pr === undefined
      ? { prPolicy: 0, prValue: 0 }
      : resolvePartialReliability(options.pr, 'options.pr');
  return {
    stream:
      options.stream === undefined
        ? 0
        : validateInteger(options.stream, 'options.stream', 0, 65535),
    ppid:
      options.ppid === undefined ? 0 : validateInteger(options.ppid, 'options.ppid', 0, 0xffffffff),
    ...pr,
  };
}

/** What setSendDefaults() takes: a new default stream, PPID or PR-SCTP policy (null: none). */
export interface SendDefaultsChange {
  /** The new default stream, 0 .. 65535 (a send checks it against the negotiated count). */
  stream?: number;
  /** The new default PPID, 0 .. 2^32-1, host byte order. */
  ppid?: number;
  /** The new default PR-SCTP policy; null: messages are fully reliable again. */
  pr?: PartialReliability | null;
}

/** The defaults after a setSendDefaults() change, checked. */
export function updateDefaults(current: SendDefaults, change: unknown): SendDefaults {
  validateObject(change, 'defaults');
  const c = change as SendDefaultsChange;
  for (const key of Object.keys(c)) {
    if (key !== 'stream' && key !== 'ppid' && key !== 'pr') {
      throw invalidArgValue(
        `defaults.${key}`,
        (c as Record<string, unknown>)[key],
        'is not one of stream, ppid, pr',
      );
    }
  }
  const pr =
    c.pr === undefined
      ? { prPolicy: current.prPolicy, prValue: current.prValue }
      : c.pr === null
        ? { prPolicy: 0, prValue: 0 }
        : resolvePartialReliability(c.pr, 'defaults.pr');
  return {
    stream:
      c.stream === undefined
        ? current.stream
        : validateInteger(c.stream, 'defaults.stream', 0, 65535),
    ppid:
      c.ppid === undefined ? current.ppid : validateInteger(c.ppid, 'defaults.ppid', 0, 0xffffffff),
    ...pr,
  };
}

/**
 * Visits each entry of a native read batch (see INFO_STRIDE) while `alive()`: a message as
 * a Buffer (a view of the pool when it is short), a notification as the native object. A
 * listener that throws must not cost the rest of the batch (a later COMM_LOST or
 * SHUTDOWN_COMP included): the first exception is rethrown once all are delivered.
 */
const NO_BYTES = Buffer.alloc(0);
/** The last pool seen: each is marked untransferable once. */
let lastPool: ArrayBuffer | undefined;

export function forEachEntry(
  count: number,
  pool: ArrayBuffer | undefined,
  offset: number,
  extras: unknown[] | undefined,
  alive: () => boolean,
  visit: (k: number, entry: unknown) => void,
): void {
  let thrown: { error: unknown } | null = null;
  let extra = 0;
  // Short messages are views of one pool: a listener must not detach it from under the
  // others by transferring one message's `buffer` (postMessage with a transfer list).
  if (pool && pool !== lastPool) {
    markAsUntransferable(pool);
    lastPool = pool;
  }
  for (let k = 0; k < count && alive(); k++) {
    const length = readInfo[k * INFO_STRIDE + 7]!;
    try {
      let entry: unknown;
      if (length === INFO_EXTRA) {
        entry = extras![extra++];
      } else if (length === 0) {
        entry = NO_BYTES; // an entry without payload (INFO_TOO_LARGE)
      } else {
        entry = Buffer.from(pool!, offset, length);
        offset += length;
      }
      visit(k, entry);
    } catch (error) {
      thrown ??= { error };
    }
  }
  if (thrown) throw thrown.error;
}

/** What entry k of a read batch is (see INFO_STRIDE). */
export const enum Entry {
  Message,
  Notification,
  /** A message that exceeded a reassembly bound and was discarded (no payload). */
  TooLarge,
}

export function entryAt(k: number): Entry {
  const marker = readInfo[k * INFO_STRIDE];
  return marker === INFO_NOTIFICATION
    ? Entry.Notification
    : marker === INFO_TOO_LARGE
      ? Entry.TooLarge
      : Entry.Message;
}

/** The association id of entry k of a read batch. */
export function assocIdAt(k: number): number {
  return readInfo[k * INFO_STRIDE + 6]! | 0; // sctp_assoc_t is signed
}

/** The info of message entry k: [stream, ppid, ssn, tsn, flags, context, assocId]. */
export function messageInfoAt(k: number): MessageInfo {
  const info = readInfo;
  const at = k * INFO_STRIDE;
  return {
    stream: info[at]!,
    ppid: info[at + 1]!,
    ssn: info[at + 2]!,
    tsn: info[at + 3]!,
    unordered: (info[at + 4]! & constants.SCTP_UNORDERED) !== 0,
    context: info[at + 5]!,
    assocId: info[at + 6]! | 0,
  };
}

/**
 * The receive buffer asked for when none is given. The kernel advertises half the buffer as
 * the receive window, counted in payload bytes, while each queued small message costs far
 * more than its payload in buffer memory: with the default buffer (net.core.rmem_default)
 * a receiver a few hundred 100-byte messages behind overflows before the window closes,
 * the kernel drops whole packets, and the association stalls for a retransmission timeout
 * (1 s by default). Asking for more (without forcing: the kernel grants at most twice
 * net.core.rmem_max, 416 KiB on a default Debian) absorbs that; a system default that is
 * larger already is kept. It is a limit, not memory taken up front.
 */
export const DEFAULT_RECEIVE_BUFFER = 1 << 20;

/**
 * Subscribes to the notifications (sender_dry only when asked) and applies the options;
 * throws a system error. `from: 'listener'` is a socket accepted from a listener these same
 * options were applied to: the kernel copied every socket option, subscriptions and buffer
 * sizes included, onto it (sctp_sock_migrate), so only the native side's own state is set.
 */
export function applyHandleOptions(
  handle: NativeSocket,
  o: HandleOptions,
  from: 'options' | 'listener' | 'endpoint' = 'options',
): void {
  const check = (rc: number) => {
    if (rc < 0) throw systemError(rc, from === 'listener' ? 'getsockopt' : 'setsockopt');
  };
  handle.setReassemblyLimits(
    o.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE,
    o.maxPartialBytes ?? DEFAULT_MAX_PARTIAL_BYTES,
  );
  if (from === 'listener') return check(handle.adoptSubscriptions());
  check(handle.subscribeEvents(o.senderDry === true));
  check(handle.setOption('SCTP_NODELAY', { value: o.noDelay === false ? 0 : 1 }));
  // The kernel caps SO_RCVBUF/SO_SNDBUF at net.core.rmem_max/wmem_max; a process with
  // CAP_NET_ADMIN may exceed that (the *FORCE options), so that is tried first.
  const setBuffer = (force: string, plain: string, value: number) => {
    if (handle.setOption(force, { value }) === 0) return;
    check(handle.setOption(plain, { value }));
  };
  if (o.receiveBufferSize !== undefined) {
    setBuffer('SO_RCVBUFFORCE', 'SO_RCVBUF', o.receiveBufferSize);
  } else {
    // Only ever more than the system's default (net.core.rmem_default may be large already).
    const before = (handle.getOption('SO_RCVBUF') as { value: number }).value;
    if (before < 2 * DEFAULT_RECEIVE_BUFFER) {
      check(handle.setOption('SO_RCVBUF', { value: DEFAULT_RECEIVE_BUFFER }));
      const after = (handle.getOption('SO_RCVBUF') as { value: number }).value;
      // The kernel reports (and takes back) twice what is asked for.
      if (after < before) check(handle.setOption('SO_RCVBUF', { value: before / 2 }));
    }
  }
  if (o.sendBufferSize !== undefined) setBuffer('SO_SNDBUFFORCE', 'SO_SNDBUF', o.sendBufferSize);
  if (o.streams || o.maxInitAttempts !== undefined || o.maxInitTimeout !== undefined) {
    // Zero leaves a field at the kernel's default.
    check(
      handle.setOption('SCTP_INITMSG', {
        outStreams: o.streams?.out ?? 0,
        maxInStreams: o.streams?.in ?? 0,
        maxAttempts: o.maxInitAttempts ?? 0,
        maxInitTimeout: o.maxInitTimeout ?? 0,
      }),
    );
  }
  if (o.scheduler !== undefined) setScheduler(handle, o.scheduler);
  applySettings(
    {
      handle,
      assocId: 0,
      kind: from === 'endpoint' ? 'endpoint' : 'socket',
      reserved: reservedSettings(from === 'endpoint', o),
    },
    pickSettings(o as Record<string, unknown>, 'options'),
  );
  if (o.retransmission !== undefined) {
    setRetransmission(handle, 0, resolveRetransmission(o.retransmission, 'options.retransmission'));
  }
  if (o.pathDefaults !== undefined) {
    const resolved = resolvePathParameters(o.pathDefaults, 'options.pathDefaults');
    setPathParameters(handle, 0, resolved, undefined, 'options.pathDefaults');
  }
  if (o.auth !== undefined) applyAuth(handle, resolveAuth(o.auth, 'options.auth'));
  if (o.interleaving) {
    // AUTH on this socket (the option, or net.sctp.auth_enable) and I-DATA do not work
    // together in the kernel; a peer could even crash it (see authWithInterleavingError).
    const auth = handle.getOption('SCTP_AUTH_SUPPORTED', { assocId: 0 });
    if (typeof auth === 'object' && Number(auth.value) !== 0) throw authWithInterleavingError();
    // The kernel takes I-DATA only on a socket whose partial deliveries may interleave.
    check(handle.setOption('SCTP_FRAGMENT_INTERLEAVE', { value: 1 }));
    const rc = handle.setOption('SCTP_INTERLEAVING_SUPPORTED', { assocId: 0, value: 1 });
    if (rc < 0) throw optionError(rc, 'setsockopt', 'SCTP_INTERLEAVING_SUPPORTED');
  }
  if (o.udpEncapsulationPort !== undefined) {
    checkUdpPort();
    const rc = handle.setOption('SCTP_REMOTE_UDP_ENCAPS_PORT', {
      assocId: 0,
      port: o.udpEncapsulationPort,
    });
    if (rc < 0) throw optionError(rc, 'setsockopt', 'SCTP_REMOTE_UDP_ENCAPS_PORT');
  }
  if (o.streamReconfiguration !== undefined) {
    applyReconfiguration(
      handle,
      resolveReconfiguration(o.streamReconfiguration, 'options.streamReconfiguration'),
    );
  }
}

/**
 * The settings kernel-sctp needs left as they are: an endpoint's partial deliveries must
 * interleave (isolation), and the kernel takes I-DATA only on a socket where they do.
 */
export function reservedSettings(endpoint: boolean, o: HandleOptions): SettingName[] {
  return endpoint || o.interleaving ? ['fragmentInterleave'] : [];
}

/**
 * Checks per-message options and fills in the defaults. `outboundStreams` is the count
 * negotiated for the association (0 while unknown).
 */
export function resolveSendOptions(
  options: SendOptions,
  defaults: SendDefaults,
  outboundStreams: number,
): ResolvedSend {
  validateObject(options, 'options');
  const stream =
    options.stream === undefined
      ? defaults.stream
      : validateInteger(options.stream, 'options.stream', 0, 65535);
  if (outboundStreams > 0 && stream >= outboundStreams) {
    throw outOfRange(
      'options.stream',
      `< ${outboundStreams} (the outbound streams negotiated for this association)`,
      stream,
    );
  }
  const ppid =
    options.ppid === undefined
      ? defaults.ppid
      : validateInteger(options.ppid, 'options.ppid', 0, 0xffffffff);
  const context =
    options.context === undefined
      ? 0
      : validateInteger(options.context, 'options.context', 0, 0xffffffff);
  let { prPolicy, prValue } = defaults;
  if (options.pr !== undefined) {
    if (options.ttl !== undefined) {
      throw invalidArgValue('options.ttl', options.ttl, 'cannot be given with options.pr');
    }
    ({ prPolicy, prValue } = resolvePartialReliability(options.pr, 'options.pr'));
  } else if (options.ttl !== undefined) {
    prValue = validateInteger(options.ttl, 'options.ttl', 0, 0xffffffff);
    prPolicy = prValue > 0 ? PR_POLICIES.ttl : 0;
  }
  let flags = 0;
  if (options.unordered !== undefined && validateBoolean(options.unordered, 'options.unordered')) {
    flags |= constants.SCTP_UNORDERED;
  }
  return { stream, ppid, context, prPolicy, prValue, flags };
}

const sendFields = native.sendFields;

/** Message k's send parameters into sendFields (see SEND_FIELDS). */
function putSendFields(k: number, o: ResolvedSend, assocId: number): void {
  const at = k * SEND_FIELDS;
  sendFields[at] = o.stream;
  sendFields[at + 1] = o.ppid;
  sendFields[at + 2] = o.flags;
  sendFields[at + 3] = o.context;
  sendFields[at + 4] = o.prPolicy;
  sendFields[at + 5] = o.prValue;
  sendFields[at + 6] = assocId; // the kernel's int32 comes back from the uint32 bits
}

/** An empty message that only carries `flags` (SCTP_ABORT, SCTP_EOF). */
export function controlSend(flags: number): ResolvedSend {
  return { stream: 0, ppid: 0, flags, context: 0, prPolicy: 0, prValue: 0 };
}

/** The per-message options that resolve to `send` again (a queued send moving sockets). */
export function sendOptionsOf(send: ResolvedSend): SendOptions {
  const { stream, ppid, context, prPolicy, prValue, flags } = send;
  const policy = (Object.keys(PR_POLICIES) as PrPolicy[]).find((p) => PR_POLICIES[p] === prPolicy);
  return {
    stream,
    ppid,
    context,
    unordered: (flags & constants.SCTP_UNORDERED) !== 0,
    // Fully reliable stays so, whatever the new socket's default.
    ...(policy ? { pr: { policy, value: prValue } } : { ttl: 0 }),
  };
}

/** Sends one message: the bytes the kernel took, or -errno. */
export function sendMessage(
  handle: NativeSocket,
  data: Uint8Array,
  send: ResolvedSend,
  assocId: number,
  to?: { host: string; port: number },
): number {
  putSendFields(0, send, assocId);
  return to ? handle.send(data, to.host, to.port) : handle.send(data);
}

/**
 * Hands the first `count` (at most SEND_BATCH) of a list of messages to the kernel in one
 * sendmmsg: how many it took (fewer once its buffer is full), or -errno if the first failed.
 */
export function sendMany(
  handle: NativeSocket,
  count: number,
  dataAt: (i: number) => Uint8Array,
  sendAt: (i: number) => ResolvedSend,
  assocIdAt: (i: number) => number,
): number {
  count = Math.min(count, SEND_BATCH);
  const data: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) {
    data[i] = dataAt(i);
    putSendFields(i, sendAt(i), assocIdAt(i));
  }
  return handle.sendMany(data);
}

/** Local or peer addresses of an association (assocId 0 on one-to-one sockets). */
export function readAddresses(
  handle: NativeSocket | null,
  peer: boolean,
  assocId: number,
): AddressInfo[] {
  if (!handle) return [];
  const list = handle.addresses(peer, assocId);
  if (typeof list === 'number') {
    if (list === -ENOTCONN || list === -EINVAL) return []; // not (or no longer) connected
    throw systemError(list, 'getsockopt');
  }
  return list.map(toAddressInfo);
}

/** SCTP_STATUS: association state, windows, stream counts and the primary path. */
/** Messages PR-SCTP abandoned: those never sent, and those sent but not acknowledged. */
export interface AbandonedCount {
  /** Messages abandoned before they were ever sent (abandoned_unsent). */
  unsent: number;
  /** Messages abandoned after they were sent, unacknowledged (abandoned_sent). */
  sent: number;
}

/** What PR-SCTP abandoned, in all and per policy (SCTP_PR_ASSOC_STATUS / _STREAM_STATUS). */
export interface Abandoned extends AbandonedCount {
  /** Those abandoned under the 'ttl' policy (their lifetime ran out). */
  ttl: AbandonedCount;
  /** Those abandoned under the 'rtx' policy (their retransmissions ran out). */
  rtx: AbandonedCount;
  /** Those abandoned under the 'prio' policy (to make room for a more important message). */
  prio: AbandonedCount;
}

/** The abandoned-message counters of an association, or of one of its outbound streams. */
export function readAbandoned(
  handle: NativeSocket | null,
  assocId: number,
  stream: number | undefined,
): Abandoned {
  if (!handle) throw socketClosed();
  if (stream !== undefined) validateInteger(stream, 'stream', 0, 65535);
  const name = stream === undefined ? 'SCTP_PR_ASSOC_STATUS' : 'SCTP_PR_STREAM_STATUS';
  const count = (policy: number): AbandonedCount => {
    const r = handle.getOption(name, { assocId, stream: stream ?? 0, policy });
    if (typeof r === 'number') throw optionError(r, 'getsockopt', name);
    return { unsent: r.abandonedUnsent as number, sent: r.abandonedSent as number };
  };
  return {
    ...count(constants.SCTP_PR_SCTP_ALL),
    ttl: count(PR_POLICIES.ttl),
    rtx: count(PR_POLICIES.rtx),
    prio: count(PR_POLICIES.prio),
  };
}

/**
 * An association's counters (SCTP_GET_ASSOC_STATS), since it started. The kernel's largest
 * observed RTO is left out: it comes in kernel ticks, and is reset at each read (paths.list()
 * has each path's RTO in ms).
 */
export interface AssociationStats {
  /** SCTP packets received (sas_ipackets). */
  inPackets: number;
  /** SCTP packets sent (sas_opackets). */
  outPackets: number;
  /** SACK chunks received (sas_isacks). */
  inSacks: number;
  /** SACK chunks sent (sas_osacks). */
  outSacks: number;
  /** DATA chunks sent again (timeouts and fast retransmits). */
  retransmittedChunks: number;
  /** TSNs received above the cumulative ack point (a gap before them). */
  outOfSequenceTsns: number;
  /** DATA chunks received twice. */
  duplicateChunks: number;
  /** Gap ack blocks sent. */
  gapAcks: number;
  /** Ordered DATA chunks received (sas_iodchunks). */
  inOrderedChunks: number;
  /** Ordered DATA chunks sent (sas_oodchunks). */
  outOrderedChunks: number;
  /** Unordered DATA chunks received (sas_iuodchunks). */
  inUnorderedChunks: number;
  /** Unordered DATA chunks sent (sas_ouodchunks). */
  outUnorderedChunks: number;
  /** Control chunks (every chunk but DATA and I-DATA) received (sas_ictrlchunks). */
  inControlChunks: number;
  /** Control chunks (every chunk but DATA and I-DATA) sent (sas_octrlchunks). */
  outControlChunks: number;
}

export function readAssociationStats(
  handle: NativeSocket | null,
  assocId: number,
): AssociationStats {
  const r = getOption(handle, 'SCTP_GET_ASSOC_STATS', undefined, assocId);
  delete r.assocId;
  delete r.maxRto;
  delete r.maxRtoAddress;
  return r as unknown as AssociationStats;
}

export function readStatus(handle: NativeSocket | null, assocId: number): Status {
  if (!handle) throw socketClosed();
  const s = handle.getOption('SCTP_STATUS', { assocId });
  if (typeof s === 'number') throw systemError(s, 'getsockopt');
  return {
    assocId: s.assocId as number,
    state: SCTP_STATES[s.state as number] ?? `unknown(${s.state})`,
    rwnd: s.rwnd as number,
    unackedData: s.unackedData as number,
    pendingData: s.pendingData as number,
    inboundStreams: s.inboundStreams as number,
    outboundStreams: s.outboundStreams as number,
    fragmentationPoint: s.fragmentationPoint as number,
    primary: {
      address: toAddressInfo(s.primaryAddress as NativeAddress),
      state: pathState(s.primaryState as number),
      cwnd: s.primaryCwnd as number,
      srtt: s.primarySrtt as number,
      rto: s.primaryRto as number,
      mtu: s.primaryMtu as number,
    },
  };
}

/**
 * Reads a socket option by its name in the native table. `assocId` (one-to-many) is filled
 * in unless the input names one.
 */
export function getOption(
  handle: NativeSocket | null,
  name: string,
  input: Record<string, unknown> | undefined,
  assocId?: number,
): Record<string, unknown> {
  if (!handle) throw socketClosed();
  checkGetOption(name, input);
  const r = handle.getOption(name, assocId === undefined ? input : { assocId, ...input });
  if (typeof r === 'number') throw optionError(r, 'getsockopt', name);
  return r;
}

export function setOption(
  handle: NativeSocket | null,
  name: string,
  value: Record<string, unknown>,
  assocId?: number,
): void {
  if (!handle) throw socketClosed();
  checkSetOption(name, value);
  const rc = handle.setOption(name, assocId === undefined ? value : { assocId, ...value });
  if (rc < 0) throw optionError(rc, 'setsockopt', name);
}
