// SCTP notifications (RFC 6458 section 6.1) as a typed, discriminated union. The native
// parser gives field values as numbers; the names of states and flags are given here.
import type { EventEmitter } from 'node:events';
import os from 'node:os';
import type { NativeAddress, NativeNotification } from './native';

const { ECONNRESET, ETIMEDOUT } = os.constants.errno;

export type AssocChangeState =
  'comm_up' | 'comm_lost' | 'restart' | 'shutdown_comp' | 'cant_str_assoc';
export type PeerAddrState =
  | 'available'
  | 'unreachable'
  | 'removed'
  | 'added'
  | 'made_primary'
  | 'confirmed'
  | 'potentially_failed';

interface Base {
  /** The association the notification is about. */
  assocId: number;
  /** sn_flags as the kernel set them. */
  flags: number;
}

export interface AssocChangeNotification extends Base {
  type: 'assoc_change';
  state: AssocChangeState | `unknown(${number})`;
  error: number;
  outboundStreams: number;
  inboundStreams: number;
  /** sac_info: supported features on COMM_UP/RESTART, the ABORT chunk on COMM_LOST. */
  info?: Buffer;
}

export interface PeerAddrChangeNotification extends Base {
  type: 'peer_addr_change';
  address: NativeAddress;
  state: PeerAddrState | `unknown(${number})`;
  error: number;
}

export interface RemoteErrorNotification extends Base {
  type: 'remote_error';
  /** The error cause code of the peer's ERROR chunk (host byte order). */
  error: number;
  data?: Buffer;
}

export interface SendFailedNotification extends Base {
  type: 'send_failed';
  /** true when the message was never put on the wire (SCTP_DATA_UNSENT). */
  unsent: boolean;
  error: number;
  stream: number;
  ppid: number;
  context: number;
  sendFlags: number;
  /** The undelivered payload. */
  data?: Buffer;
}

export interface ShutdownNotification extends Base {
  type: 'shutdown';
}

export interface AdaptationIndicationNotification extends Base {
  type: 'adaptation_indication';
  adaptationIndication: number;
}

export interface PartialDeliveryNotification extends Base {
  type: 'partial_delivery';
  /** 0: the partial delivery was aborted. */
  indication: number;
  stream: number;
  sequence: number;
}

export interface AuthenticationNotification extends Base {
  type: 'authentication';
  keyNumber: number;
  altKeyNumber: number;
  indication: 'new_key' | 'free_key' | 'no_auth' | `unknown(${number})`;
}

export interface SenderDryNotification extends Base {
  type: 'sender_dry';
}

/**
 * Streams' sequence numbers were reset (or a request to was refused). `incoming`: this
 * side's inbound streams (the peer reset its outbound ones); `outgoing`: this side's
 * outbound ones. A denied or failed request says neither. `streams`: empty for all.
 */
export interface StreamResetNotification extends Base {
  type: 'stream_reset';
  incoming: boolean;
  outgoing: boolean;
  denied: boolean;
  failed: boolean;
  streams: number[];
}

export interface AssocResetNotification extends Base {
  type: 'assoc_reset';
  denied: boolean;
  failed: boolean;
  localTsn: number;
  remoteTsn: number;
}

/**
 * Streams were added (or a request to add them was refused). Linux gives the number of
 * streams added in each direction here (RFC 6458 has the new totals); the Socket's or
 * Association's outboundStreams and inboundStreams hold the totals when it is emitted.
 */
export interface StreamChangeNotification extends Base {
  type: 'stream_change';
  denied: boolean;
  failed: boolean;
  inboundStreams: number;
  outboundStreams: number;
}

/**
 * A notification type this library does not know (a newer kernel), passed through raw; or a
 * malformed one (shorter than its type's structure, or longer than `tooLarge` bytes, the
 * most the library reassembles: then it has no data).
 */
export interface UnknownNotification {
  type: 'unknown' | 'malformed';
  typeCode: number;
  flags: number;
  assocId: number;
  data?: Buffer;
  tooLarge?: number;
}

export type Notification =
  | AssocChangeNotification
  | PeerAddrChangeNotification
  | RemoteErrorNotification
  | SendFailedNotification
  | ShutdownNotification
  | AdaptationIndicationNotification
  | PartialDeliveryNotification
  | AuthenticationNotification
  | SenderDryNotification
  | StreamResetNotification
  | AssocResetNotification
  | StreamChangeNotification
  | UnknownNotification;

const ASSOC_STATES: AssocChangeState[] = [
  'comm_up',
  'comm_lost',
  'restart',
  'shutdown_comp',
  'cant_str_assoc',
];
const PEER_ADDR_STATES: PeerAddrState[] = [
  'available',
  'unreachable',
  'removed',
  'added',
  'made_primary',
  'confirmed',
  'potentially_failed',
];
const AUTH_INDICATIONS = ['new_key', 'free_key', 'no_auth'] as const;

function named<T extends string>(table: readonly T[], value: number): T | `unknown(${number})` {
  return table[value] ?? `unknown(${value})`;
}

const num = (n: NativeNotification, field: string): number => (n[field] as number) ?? 0;

/** Turns the native parser's output into the public, typed notification. */
export function toNotification(n: NativeNotification): Notification {
  const flags = n.flags ?? 0;
  const assocId = num(n, 'assocId');
  const base = { assocId, flags };
  switch (n.type) {
    case 'assoc_change':
      return {
        type: 'assoc_change',
        ...base,
        state: named(ASSOC_STATES, num(n, 'state')),
        error: num(n, 'error'),
        outboundStreams: num(n, 'outboundStreams'),
        inboundStreams: num(n, 'inboundStreams'),
        ...(n.data ? { info: n.data } : {}),
      };
    case 'peer_addr_change':
      return {
        type: 'peer_addr_change',
        ...base,
        address: n.address as NativeAddress,
        state: named(PEER_ADDR_STATES, num(n, 'state')),
        error: num(n, 'error'),
      };
    case 'remote_error':
      return {
        type: 'remote_error',
        ...base,
        error: num(n, 'error'),
        ...(n.data ? { data: n.data } : {}),
      };
    case 'send_failed':
    case 'send_failed_event':
      return {
        type: 'send_failed',
        ...base,
        unsent: (flags & 1) === 0, // SCTP_DATA_UNSENT = 0, SCTP_DATA_SENT = 1
        error: num(n, 'error'),
        stream: num(n, 'stream'),
        ppid: num(n, 'ppid'),
        context: num(n, 'context'),
        sendFlags: num(n, 'sendFlags'),
        ...(n.data ? { data: n.data } : {}),
      };
    case 'shutdown':
      return { type: 'shutdown', ...base };
    case 'adaptation_indication':
      return {
        type: 'adaptation_indication',
        ...base,
        adaptationIndication: num(n, 'adaptationIndication'),
      };
    case 'partial_delivery':
      return {
        type: 'partial_delivery',
        ...base,
        indication: num(n, 'indication'),
        stream: num(n, 'stream'),
        sequence: num(n, 'sequence'),
      };
    case 'authentication':
      return {
        type: 'authentication',
        ...base,
        keyNumber: num(n, 'keyNumber'),
        altKeyNumber: num(n, 'altKeyNumber'),
        indication: named(AUTH_INDICATIONS, num(n, 'indication')),
      };
    case 'sender_dry':
      return { type: 'sender_dry', ...base };
    case 'stream_reset':
      return {
        type: 'stream_reset',
        ...base,
        incoming: (flags & 0x1) !== 0,
        outgoing: (flags & 0x2) !== 0,
        denied: (flags & 0x4) !== 0,
        failed: (flags & 0x8) !== 0,
        streams: (n.streams as number[] | undefined) ?? [], // decoded natively
      };
    case 'assoc_reset':
      return {
        type: 'assoc_reset',
        ...base,
        denied: (flags & 0x4) !== 0,
        failed: (flags & 0x8) !== 0,
        localTsn: num(n, 'localTsn'),
        remoteTsn: num(n, 'remoteTsn'),
      };
    case 'stream_change':
      return {
        type: 'stream_change',
        ...base,
        denied: (flags & 0x4) !== 0,
        failed: (flags & 0x8) !== 0,
        inboundStreams: num(n, 'inboundStreams'),
        outboundStreams: num(n, 'outboundStreams'),
      };
    default:
      return {
        type: n.type === 'malformed' ? 'malformed' : 'unknown',
        typeCode: n.typeCode,
        flags,
        assocId,
        ...(n.data ? { data: n.data } : {}),
        ...(n.tooLarge !== undefined ? { tooLarge: n.tooLarge as number } : {}),
      };
  }
}

/**
 * -errno for an association that was lost (COMM_LOST): it carries the peer's ABORT chunk in
 * sac_info when the peer aborted (ECONNRESET), nothing when the retransmissions ran out
 * (ETIMEDOUT). sac_error is no help: 0 in both cases unless the ABORT had a cause. An ABORT
 * without a cause (RFC 9260 allows it) leaves sac_info empty too, so it reads as ETIMEDOUT,
 * and SO_ERROR cannot help: the recvmsg that returned the notification cleared it.
 */
export function lostErrno(n: AssocChangeNotification): number {
  return n.info !== undefined && n.info.length > 0 ? -ECONNRESET : -ETIMEDOUT;
}

/** What an ETIMEDOUT from lostErrno may mean. */
export const LOST_WITHOUT_CAUSE =
  'the peer stopped answering, or sent an ABORT without an error cause (the kernel reports both alike)';

/** What a Socket or an Association keeps that notifications change. */
export interface AssociationView extends EventEmitter {
  outboundStreams: number;
  inboundStreams: number;
  /** SCTP_STATUS of the association (throws once it is closed). */
  status(): { outboundStreams: number; inboundStreams: number };
}

/**
 * Emits a notification on the object that stands for its association: 'notification', then
 * the typed event ('peerAddressChange', 'sendFailed', 'shutdown' when the peer starts one,
 * 'restart', 'authentication', 'streamReset', 'associationReset', 'streamChange', 'adaptationIndication'), keeping the stream counts
 * current (a restart or a stream change alters them). The association's lifecycle
 * (COMM_LOST, SHUTDOWN_COMP) is the owner's business.
 */
export function emitNotification(target: AssociationView, n: Notification): void {
  target.emit('notification', n);
  switch (n.type) {
    case 'peer_addr_change':
      target.emit('peerAddressChange', n);
      break;
    case 'send_failed':
      target.emit('sendFailed', n);
      break;
    case 'shutdown':
      target.emit('shutdown', n);
      break;
    case 'authentication':
      target.emit('authentication', n);
      break;
    case 'stream_reset':
      target.emit('streamReset', n);
      break;
    case 'assoc_reset':
      target.emit('associationReset', n);
      break;
    case 'adaptation_indication':
      target.emit('adaptationIndication', n);
      break;
    case 'stream_change':
      // The counts from the kernel: the notification's are what changed on Linux (the
      // streams added), the totals in RFC 6458.
      try {
        const now = target.status();
        target.outboundStreams = now.outboundStreams;
        target.inboundStreams = now.inboundStreams;
      } catch {
        // closed meanwhile: the counts no longer matter
      }
      target.emit('streamChange', n);
      break;
    case 'assoc_change':
      if (n.state === 'comm_up' || n.state === 'restart') {
        target.outboundStreams = n.outboundStreams;
        target.inboundStreams = n.inboundStreams;
      }
      // The peer restarted: the same association (and id), new streams, possibly lost data.
      if (n.state === 'restart') target.emit('restart', n);
      break;
  }
}
