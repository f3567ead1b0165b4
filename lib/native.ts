// Loads the native addon and declares its surface once, so types and native code agree.
// Every native method returns a result or -errno; errors are built in TypeScript.
import path from 'node:path';
import { markAsUntransferable } from 'node:worker_threads';
import nodeGypBuild from 'node-gyp-build';

/**
 * An address as the kernel reported it (in a peer_addr_change notification): as
 * AddressInfo, except that `family` is '' for an address of a family the library cannot read.
 */
export interface NativeAddress {
  /** The IP address as text, IPv4-mapped IPv6 shown as IPv4 ('' when unreadable). */
  address: string;
  /** 'IPv4', 'IPv6', or '' for an address of another family. */
  family: 'IPv4' | 'IPv6' | '';
  /** The SCTP port. */
  port: number;
}

/** A notification as the native parser produced it: names of fields as in the tables. */
export interface NativeNotification {
  type: string;
  typeCode: number;
  flags?: number;
  data?: Buffer;
  [field: string]: unknown;
}

export const enum EventKind {
  Read = 0,
  Error = 1,
  Writable = 2,
  Connect = 3,
  Accept = 4,
  End = 5,
  Count = 6,
}

/**
 * A Read event is handler(EventKind.Read, count, pool, extras, offset): `count` entries, entry k's
 * receive info in the environment's `readInfo` at [k * INFO_STRIDE]:
 * [stream, ppid, ssn, tsn, flags, context, assocId, length]. Slot 0 holds a marker instead of
 * a stream for entries that are not messages: INFO_NOTIFICATION (the entry is the next element
 * of `extras`, a parsed notification) or INFO_TOO_LARGE (a message of association `assocId`
 * on stream `ppid`'s slot exceeded a reassembly bound and was discarded; no payload). A
 * message is the next `length` bytes of the ArrayBuffer `pool`, the batch's first at `offset`
 * (short messages back to back, in a pool that later batches go on filling), or with length
 * INFO_EXTRA the next element of `extras` (a long message's own Buffer).
 * Valid only while the event is being handled: the next read (of any socket) reuses readInfo.
 */
export const INFO_STRIDE = 8;
export const INFO_NOTIFICATION = 0xffffffff;
export const INFO_TOO_LARGE = 0xfffffffe;
export const INFO_EXTRA = 0xffffffff;

/**
 * send() and sendMany() take each message's parameters from the addon's `sendFields`, filled
 * just before the call: SEND_FIELDS slots per message, [stream, ppid, flags, context,
 * prPolicy, prValue, assocId] (numbers in a typed array instead of seven call arguments to
 * convert).
 */
export const SEND_FIELDS = 7;
/** Most messages per sendMany() call. */
export const SEND_BATCH = 64;

/** How a socket option's value is laid out, from the addon's table. */
export interface OptionLayout {
  size: number;
  fields: { name: string; kind: 'u8' | 'u16' | 'u32' | 'i32' | 'u64' | 'address' }[];
  /**
   * The list the structure ends with (its length is written by the addon): bytes as a
   * Uint8Array (u8), numbers as an array (u16).
   */
  tail?: { name: string; kind: 'u8' | 'u16'; max: number };
}

export declare class NativeSocket {
  constructor(fd: number, family: number);
  readonly fd: number;
  /** Where the handle's events go (undefined: nowhere). */
  setEventHandler(
    handler:
      | ((
          kind: EventKind,
          value: unknown,
          pool?: ArrayBuffer,
          extras?: unknown[],
          offset?: number,
        ) => void)
      | undefined,
  ): void;
  bindx(hosts: string[], port: number, remove: boolean): number;
  connectx(hosts: string[], port: number): [number, number];
  listen(backlog: number): number;
  /** One message, its parameters in sendFields[0..5]: bytes sent, or -errno. */
  send(data: Uint8Array, toHost?: string, toPort?: number): number;
  /** Up to SEND_BATCH messages, their parameters in sendFields: how many went, or -errno. */
  sendMany(messages: Uint8Array[]): number;
  setReading(on: boolean): number;
  setWatchWritable(on: boolean): number;
  setAccepting(on: boolean): number;
  getOption(name: string, input?: object): Record<string, unknown> | number;
  setOption(name: string, value: object): number;
  addresses(peer: boolean, assocId: number): NativeAddress[] | number;
  peeloff(assocId: number): number;
  shutdown(how: number): number;
  subscribeEvents(senderDry: boolean): number;
  /** An accepted socket: learns what it inherited from its listener (0 or -errno). */
  adoptSubscriptions(): number;
  /** SCTP_STATUS of a one-to-one socket, only [assocId, outbound streams, inbound streams]. */
  streamCounts(): [number, number, number] | number;
  setReassemblyLimits(maxMessageSize: number, maxPartialBytes: number): void;
  /** Moves the pieces read so far of an association's messages to the socket it was peeled off to. */
  movePartials(assocId: number, to: NativeSocket): void;
  /** Bytes held in messages not yet complete. */
  partialBytes(): number;
  ref(): void;
  unref(): void;
  close(): void;
}

export interface NativeAddon {
  Socket: typeof NativeSocket;
  socket(family: number, type: number): number;
  closeFd(fd: number): void;
  probe(): number;
  optionLayouts: Record<string, OptionLayout>;
  /** The constants both sides of the boundary use (checked below). */
  boundary: Record<string, number>;
  /** The send parameters of send() and sendMany() (see SEND_FIELDS). */
  sendFields: Uint32Array;
  /** The receive info of the read batch being delivered (see INFO_STRIDE). */
  readInfo: Uint32Array;
  constants: {
    AF_INET: number;
    AF_INET6: number;
    SOCK_STREAM: number;
    SOCK_SEQPACKET: number;
    SHUT_RD: number;
    SHUT_WR: number;
    SHUT_RDWR: number;
    SCTP_UNORDERED: number;
    SCTP_ADDR_OVER: number;
    SCTP_ABORT: number;
    SCTP_SACK_IMMEDIATELY: number;
    SCTP_SENDALL: number;
    SCTP_EOF: number;
    SCTP_FUTURE_ASSOC: number;
    SCTP_SENDER_DRY_EVENT: number;
    SCTP_ASSOC_CHANGE: number;
    SCTP_SHUTDOWN_EVENT: number;
    SCTP_PARTIAL_DELIVERY_EVENT: number;
    SCTP_STREAM_CHANGE_EVENT: number;
    SCTP_CURRENT_ASSOC: number;
    SCTP_ALL_ASSOC: number;
    SCTP_PR_SCTP_TTL: number;
    SCTP_PR_SCTP_RTX: number;
    SCTP_PR_SCTP_PRIO: number;
    SCTP_PR_SCTP_ALL: number;
    SCTP_STREAM_RESET_INCOMING: number;
    SCTP_STREAM_RESET_OUTGOING: number;
    SCTP_ENABLE_RESET_STREAM_REQ: number;
    SCTP_ENABLE_RESET_ASSOC_REQ: number;
    SCTP_ENABLE_CHANGE_ASSOC_REQ: number;
    SPP_HB_ENABLE: number;
    SPP_HB_DISABLE: number;
    SPP_HB_DEMAND: number;
    SPP_PMTUD_ENABLE: number;
    SPP_PMTUD_DISABLE: number;
    SPP_SACKDELAY_ENABLE: number;
    SPP_SACKDELAY_DISABLE: number;
  };
}

// dist/lib/native.js -> the package root, where build/ or prebuilds/ live. KSCTP_ADDON
// names another build of the same sources instead (the sanitizer build of npm run
// test:asan); the boundary check below refuses one whose layouts differ from these.
const addonPath = process.env.KSCTP_ADDON;
export const native = (
  addonPath
    ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- a path known at run time
      require(path.resolve(addonPath))
    : nodeGypBuild(path.join(__dirname, '..', '..'))
) as NativeAddon;
export const constants = native.constants;
export const readInfo = native.readInfo;
// The native side keeps pointers into these arrays' memory: they must never be detached.
markAsUntransferable(native.sendFields.buffer);
markAsUntransferable(readInfo.buffer);

// The layouts above are the addon's: an addon built from other sources must not be used.
const expected: Record<string, number> = {
  infoStride: INFO_STRIDE,
  infoNotification: INFO_NOTIFICATION,
  infoTooLarge: INFO_TOO_LARGE,
  infoExtra: INFO_EXTRA,
  sendFields: SEND_FIELDS,
  sendBatch: SEND_BATCH,
  eventKinds: EventKind.Count,
};
for (const [name, value] of Object.entries(expected)) {
  if (native.boundary[name] !== value) {
    throw new Error(
      `kernel-sctp: the native addon has ${name} = ${native.boundary[name]} where its JavaScript ` +
        `expects ${value}; rebuild the addon (npm run build:native)`,
    );
  }
}

/** Defaults that live in the addon. */
export const DEFAULT_MAX_MESSAGE_SIZE = native.boundary.defaultMaxMessageSize!;
export const DEFAULT_MAX_PARTIAL_BYTES = native.boundary.defaultMaxPartialBytes!;
