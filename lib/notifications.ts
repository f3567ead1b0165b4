// SCTP notifications (RFC 6458 section 6.1) as a typed, discriminated union. The native
// parser gives field values as numbers; the names of states and flags are given here.
import type { EventEmitter } from 'node:events';
import os from 'node:os';
import type { NativeAddress, NativeNotification } from './native';

const { ECONNRESET, ETIMEDOUT } = os.constants.errno;

/**
 * What an assoc_change notification reports (sac_state): 'comm_up' (the association is up),
 * 'comm_lost' (the peer aborted or stopped answering), 'restart' (the peer restarted it),
 * 'shutdown_comp' (the SHUTDOWN handshake completed), 'cant_str_assoc' (it could not be set up).
 */
export type AssocChangeState =
  'comm_up' | 'comm_lost' | 'restart' | 'shutdown_comp' | 'cant_str_assoc';
/**
 * What happened to a peer address (spc_state): 'available' (reachable again), 'unreachable',
 * 'removed' or 'added' (ASCONF changed the peer's addresses), 'made_primary', 'confirmed' (a
 * heartbeat confirmed it), 'potentially_failed' (RFC 7829; only with the
 * exposePotentiallyFailed setting).
 */
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

/**
 * An association came up, was lost, restarted, shut down or could not be set up
 * (SCTP_ASSOC_CHANGE, struct sctp_assoc_change).
 */
export interface AssocChangeNotification extends Base {
  /**
   * `'assoc_change'`: tells this notification apart in the Notification union (SCTP_ASSOC_CHANGE).
   */
  type: 'assoc_change';
  /** What happened (sac_state); `unknown(n)` for a state this library does not know. */
  state: AssocChangeState | `unknown(${number})`;
  /**
   * sac_error: the error cause code of the peer's ABORT when it carried one, else 0. Not an
   * errno: the Socket's or Association's error says why an association was lost.
   */
  error: number;
  /** Outbound streams of the association (sac_outbound_streams), on comm_up and restart. */
  outboundStreams: number;
  /** Inbound streams of the association (sac_inbound_streams), on comm_up and restart. */
  inboundStreams: number;
  /** sac_info: supported features on COMM_UP/RESTART, the ABORT chunk on COMM_LOST. */
  info?: Buffer;
}

/** A path to the peer changed state (SCTP_PEER_ADDR_CHANGE, struct sctp_paddr_change). */
export interface PeerAddrChangeNotification extends Base {
  /**
   * `'peer_addr_change'`: tells this notification apart in the Notification union
   * (SCTP_PEER_ADDR_CHANGE).
   */
  type: 'peer_addr_change';
  /** The peer address concerned (spc_aaddr), with the peer's port. */
  address: NativeAddress;
  /** What happened to it (spc_state); `unknown(n)` for a state this library does not know. */
  state: PeerAddrState | `unknown(${number})`;
  /**
   * spc_error: why, as the kernel's sctp_sn_error codes give it (a heartbeat answered, the
   * failure threshold reached, ...); not an errno.
   */
  error: number;
}

/** The peer sent an ERROR chunk (SCTP_REMOTE_ERROR, struct sctp_remote_error). */
export interface RemoteErrorNotification extends Base {
  /**
   * `'remote_error'`: tells this notification apart in the Notification union (SCTP_REMOTE_ERROR).
   */
  type: 'remote_error';
  /** The error cause code of the peer's ERROR chunk (host byte order). */
  error: number;
  /**
   * The ERROR chunk's bytes after the first cause's code and length (sre_data): that cause's
   * information and any further causes, when there are any.
   */
  data?: Buffer;
}

/**
 * The kernel gave up on a message: PR-SCTP abandoned it, or its association ended before it
 * was delivered (SCTP_SEND_FAILED_EVENT, struct sctp_send_failed_event).
 */
export interface SendFailedNotification extends Base {
  /**
   * `'send_failed'`: tells this notification apart in the Notification union
   * (SCTP_SEND_FAILED_EVENT).
   */
  type: 'send_failed';
  /** true when the message was never put on the wire (SCTP_DATA_UNSENT). */
  unsent: boolean;
  /**
   * ssfe_error as the kernel sets it: 0 for a message PR-SCTP abandoned, otherwise why it
   * failed (an SCTP error cause such as an invalid stream, or the error that ended the
   * association).
   */
  error: number;
  /** The stream the message was sent on (snd_sid). */
  stream: number;
  /** The message's PPID (snd_ppid), host byte order. */
  ppid: number;
  /** The `context` the message was sent with (SendOptions.context; snd_context). */
  context: number;
  /** The flags the message was sent with (snd_flags: SCTP_UNORDERED, ...). */
  sendFlags: number;
  /** The undelivered payload. */
  data?: Buffer;
}

/** The peer started a graceful SHUTDOWN: it sends no more data (SCTP_SHUTDOWN_EVENT). */
export interface ShutdownNotification extends Base {
  /**
   * `'shutdown'`: tells this notification apart in the Notification union (SCTP_SHUTDOWN_EVENT).
   */
  type: 'shutdown';
}

/**
 * The peer's adaptation layer indication, from its INIT or INIT ACK (RFC 5061;
 * SCTP_ADAPTATION_INDICATION, struct sctp_adaptation_event).
 */
export interface AdaptationIndicationNotification extends Base {
  /**
   * `'adaptation_indication'`: tells this notification apart in the Notification union
   * (SCTP_ADAPTATION_INDICATION).
   */
  type: 'adaptation_indication';
  /** The 32-bit value the peer sent (sai_adaptation_ind); see the adaptationIndication setting. */
  adaptationIndication: number;
}

/**
 * The kernel aborted the partial delivery of a message: its pieces read so far will not be
 * completed (SCTP_PARTIAL_DELIVERY_EVENT, struct sctp_pdapi_event).
 */
export interface PartialDeliveryNotification extends Base {
  /**
   * `'partial_delivery'`: tells this notification apart in the Notification union
   * (SCTP_PARTIAL_DELIVERY_EVENT).
   */
  type: 'partial_delivery';
  /** 0: the partial delivery was aborted. */
  indication: number;
  /** The stream of the message (pdapi_stream). */
  stream: number;
  /** The message's stream sequence number (pdapi_seq). */
  sequence: number;
}

/** An AUTH key event (RFC 4895; SCTP_AUTHENTICATION_EVENT, struct sctp_authkey_event). */
export interface AuthenticationNotification extends Base {
  /**
   * `'authentication'`: tells this notification apart in the Notification union
   * (SCTP_AUTHENTICATION_EVENT).
   */
  type: 'authentication';
  /** The key concerned (auth_keynumber): the one newly used, or the one now free. */
  keyNumber: number;
  /** auth_altkeynumber: Linux always sets it to 0. */
  altKeyNumber: number;
  /**
   * 'new_key': the peer used this key for the first time; 'free_key': a deactivated key is no
   * longer used and can be deleted (AuthKeys#delete); 'no_auth': the peer does not support AUTH.
   */
  indication: 'new_key' | 'free_key' | 'no_auth' | `unknown(${number})`;
}

/**
 * Everything sent has been acknowledged (SCTP_SENDER_DRY_EVENT). Delivered only with the
 * senderDry option.
 */
export interface SenderDryNotification extends Base {
  /**
   * `'sender_dry'`: tells this notification apart in the Notification union
   * (SCTP_SENDER_DRY_EVENT).
   */
  type: 'sender_dry';
}

/**
 * Streams' sequence numbers were reset (or a request to was refused). `incoming`: this
 * side's inbound streams (the peer reset its outbound ones); `outgoing`: this side's
 * outbound ones. A denied or failed request says neither. `streams`: empty for all.
 */
export interface StreamResetNotification extends Base {
  /**
   * `'stream_reset'`: tells this notification apart in the Notification union
   * (SCTP_STREAM_RESET_EVENT).
   */
  type: 'stream_reset';
  /** This side's inbound streams were reset (SCTP_STREAM_RESET_INCOMING_SSN). */
  incoming: boolean;
  /** This side's outbound streams were reset (SCTP_STREAM_RESET_OUTGOING_SSN). */
  outgoing: boolean;
  /**
   * The peer refused the request: it has not enabled resetting streams (SCTP_STREAM_RESET_DENIED).
   */
  denied: boolean;
  /** The peer could not perform the request (SCTP_STREAM_RESET_FAILED). */
  failed: boolean;
  /** The stream ids concerned (strreset_stream_list). */
  streams: number[];
}

/**
 * The association's TSNs and all its streams were reset, or a request to was refused
 * (RFC 6525; SCTP_ASSOC_RESET_EVENT, struct sctp_assoc_reset_event).
 */
export interface AssocResetNotification extends Base {
  /**
   * `'assoc_reset'`: tells this notification apart in the Notification union
   * (SCTP_ASSOC_RESET_EVENT).
   */
  type: 'assoc_reset';
  /** The peer refused: it has not enabled resetting the association (SCTP_ASSOC_RESET_DENIED). */
  denied: boolean;
  /** The peer could not perform the reset (SCTP_ASSOC_RESET_FAILED). */
  failed: boolean;
  /** The next TSN this side sends with (assocreset_local_tsn). */
  localTsn: number;
  /** The next TSN expected from the peer (assocreset_remote_tsn). */
  remoteTsn: number;
}

/**
 * Streams were added (or a request to add them was refused). Linux gives the number of
 * streams added in each direction here (RFC 6458 has the new totals); the Socket's or
 * Association's outboundStreams and inboundStreams hold the totals when it is emitted.
 */
export interface StreamChangeNotification extends Base {
  /**
   * `'stream_change'`: tells this notification apart in the Notification union
   * (SCTP_STREAM_CHANGE_EVENT).
   */
  type: 'stream_change';
  /** The peer refused: it has not enabled adding streams (SCTP_STREAM_CHANGE_DENIED). */
  denied: boolean;
  /** The peer could not add the streams (SCTP_STREAM_CHANGE_FAILED). */
  failed: boolean;
  /** Inbound streams added, on Linux (strchange_instrms). */
  inboundStreams: number;
  /** Outbound streams added, on Linux (strchange_outstrms). */
  outboundStreams: number;
}

/**
 * A notification type this library does not know (a newer kernel), passed through raw; or a
 * malformed one (shorter than its type's structure, or longer than `tooLarge` bytes, the
 * most the library reassembles: then it has no data).
 */
export interface UnknownNotification {
  /** 'unknown': a type this library does not know; 'malformed': one it could not parse. */
  type: 'unknown' | 'malformed';
  /** The notification's type (sn_type), as the kernel numbers it; 0 for one too large. */
  typeCode: number;
  /** sn_flags as the kernel set them (0 for a malformed one). */
  flags: number;
  /**
   * Always 0: the library does not know where an unknown type keeps its association id (it
   * may be in `data`). On an endpoint, only the endpoint emits it, no association.
   */
  assocId: number;
  /** The notification's bytes as received, its header included; absent for one too large. */
  data?: Buffer;
  /** For a notification larger than the library reassembles: that limit, bytes. */
  tooLarge?: number;
}

/**
 * Every notification the library delivers ('notification' events), told apart by `type`.
 * The typed events ('peerAddressChange', 'sendFailed', ...) carry the matching member.
 */
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

/** @internal Turns the native parser's output into the public, typed notification. */
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
 *
 * @internal
 */
export function lostErrno(n: AssocChangeNotification): number {
  return n.info !== undefined && n.info.length > 0 ? -ECONNRESET : -ETIMEDOUT;
}

/** @internal What an ETIMEDOUT from lostErrno may mean. */
export const LOST_WITHOUT_CAUSE =
  'the peer stopped answering, or sent an ABORT without an error cause (the kernel reports both alike)';

/** @internal What a Socket or an Association keeps that notifications change. */
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
 *
 * @internal
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
