// Diameter messages (RFC 6733 §3, §4): the 20-byte header, AVPs, and the handful of codes
// the base protocol needs. Plain functions over Buffers: a received message is checked
// before anything reads it, as any bytes from a peer may be wrong.
import { isIPv4, isIPv6 } from 'node:net';

/** Command codes (RFC 6733 §3.1). */
export const Command = {
  CapabilitiesExchange: 257,
  DeviceWatchdog: 280,
  DisconnectPeer: 282,
  Accounting: 271,
} as const;

/** AVP codes (RFC 6733 §4.5). */
export const Code = {
  HostIpAddress: 257,
  AuthApplicationId: 258,
  AcctApplicationId: 259,
  SessionId: 263,
  OriginHost: 264,
  VendorId: 266,
  FirmwareRevision: 267,
  ResultCode: 268,
  ProductName: 269,
  DisconnectCause: 273,
  OriginStateId: 278,
  ErrorMessage: 281,
  DestinationRealm: 283,
  DestinationHost: 293,
  OriginRealm: 296,
  AccountingRecordType: 480,
  AccountingRecordNumber: 485,
} as const;

/** Result-Code values this example uses (RFC 6733 §7.1). */
export const Result = {
  Success: 2001,
  UnableToDeliver: 3002,
  MissingAvp: 5005,
  ApplicationUnsupported: 3007,
  UnknownPeer: 3010,
  NoCommonApplication: 5010,
  UnableToComply: 5012,
} as const;

/** Application ids (RFC 6733 §2.4). */
export const Application = { Common: 0, BaseAccounting: 3, Relay: 0xffffffff } as const;

/** Header flags (RFC 6733 §3). */
export const Flag = { Request: 0x80, Proxiable: 0x40, Error: 0x20, Retransmitted: 0x10 } as const;
const AVP_VENDOR = 0x80;
const AVP_MANDATORY = 0x40;

export const HEADER_LENGTH = 20;
/** The largest message this example accepts (the format allows 16 MiB). */
export const MAX_MESSAGE_LENGTH = 64 * 1024;

export interface Avp {
  code: number;
  /** The V, M and P bits. */
  flags: number;
  vendorId?: number;
  data: Buffer;
}

export interface Message {
  flags: number;
  command: number;
  applicationId: number;
  hopByHop: number;
  endToEnd: number;
  avps: Avp[];
}

/** A message that cannot be read: the peer is answered with `resultCode` or dropped. */
export class DiameterError extends Error {
  constructor(
    message: string,
    readonly resultCode: number = Result.UnableToComply,
  ) {
    super(message);
    this.name = 'DiameterError';
  }
}

/** The bytes of one message: the header, then each AVP padded to 4 bytes. */
export function encode(message: Message): Buffer {
  const parts = message.avps.map(encodeAvp);
  const length = parts.reduce((sum, part) => sum + part.length, HEADER_LENGTH);
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt32BE(length, 0); // the length's 24 bits; the version byte is set next
  header.writeUInt8(1, 0);
  header.writeUInt32BE(message.command, 4);
  header.writeUInt8(message.flags, 4);
  header.writeUInt32BE(message.applicationId >>> 0, 8);
  header.writeUInt32BE(message.hopByHop >>> 0, 12);
  header.writeUInt32BE(message.endToEnd >>> 0, 16);
  return Buffer.concat([header, ...parts], length);
}

function encodeAvp(avp: Avp): Buffer {
  const headerLength = avp.vendorId === undefined ? 8 : 12;
  const length = headerLength + avp.data.length;
  const out = Buffer.alloc((length + 3) & ~3); // the padding is zeros
  out.writeUInt32BE(avp.code >>> 0, 0);
  out.writeUInt32BE(length, 4);
  out.writeUInt8(avp.vendorId === undefined ? avp.flags & ~AVP_VENDOR : avp.flags | AVP_VENDOR, 4);
  if (avp.vendorId !== undefined) out.writeUInt32BE(avp.vendorId >>> 0, 8);
  avp.data.copy(out, headerLength);
  return out;
}

/**
 * Reads one message. Every length is checked against the bytes there are: the header's
 * against the buffer (one SCTP message carries one Diameter message), each AVP's against
 * what is left.
 */
export function decode(bytes: Buffer): Message {
  if (bytes.length < HEADER_LENGTH) throw new DiameterError(`${bytes.length} bytes: no header`);
  if (bytes[0] !== 1) throw new DiameterError(`version ${bytes[0]}`);
  const length = bytes.readUInt32BE(0) & 0xffffff;
  if (length > MAX_MESSAGE_LENGTH) throw new DiameterError(`${length} bytes: too large`);
  if (length !== bytes.length || length % 4 !== 0) {
    throw new DiameterError(`header says ${length} bytes, the message has ${bytes.length}`);
  }
  const avps: Avp[] = [];
  for (let at = HEADER_LENGTH; at < length;) {
    if (length - at < 8) throw new DiameterError(`AVP header cut at byte ${at}`);
    const flags = bytes[at + 4]!;
    const avpLength = bytes.readUInt32BE(at + 4) & 0xffffff;
    const headerLength = flags & AVP_VENDOR ? 12 : 8;
    if (avpLength < headerLength || avpLength > length - at) {
      throw new DiameterError(`AVP at byte ${at} says ${avpLength} bytes`);
    }
    avps.push({
      code: bytes.readUInt32BE(at),
      flags,
      ...(flags & AVP_VENDOR && { vendorId: bytes.readUInt32BE(at + 8) }),
      data: bytes.subarray(at + headerLength, at + avpLength),
    });
    at += (avpLength + 3) & ~3;
  }
  return {
    flags: bytes[4]!,
    command: bytes.readUInt32BE(4) & 0xffffff,
    applicationId: bytes.readUInt32BE(8),
    hopByHop: bytes.readUInt32BE(12),
    endToEnd: bytes.readUInt32BE(16),
    avps,
  };
}

// AVP constructors, by the RFC's data types. The base protocol's AVPs carry the M bit, but
// Product-Name, Firmware-Revision and Error-Message must not (RFC 6733 §5.3.3, §5.3.4,
// §7.3).
const notMandatory = new Set<number>([Code.ProductName, Code.FirmwareRevision, Code.ErrorMessage]);
const flagsFor = (code: number) => (notMandatory.has(code) ? 0 : AVP_MANDATORY);

export const avp = {
  u32(code: number, value: number): Avp {
    const data = Buffer.alloc(4);
    data.writeUInt32BE(value >>> 0);
    return { code, flags: flagsFor(code), data };
  },
  text(code: number, value: string): Avp {
    return { code, flags: flagsFor(code), data: Buffer.from(value, 'utf8') };
  },
  /** The Address type: a 2-byte family (1 IPv4, 2 IPv6), then the address. */
  address(code: number, ip: string): Avp {
    let data: Buffer;
    if (isIPv4(ip)) data = Buffer.from([0, 1, ...ip.split('.').map(Number)]);
    else if (isIPv6(ip)) data = Buffer.concat([Buffer.from([0, 2]), ipv6Bytes(ip)]);
    else throw new TypeError(`not an IP address: ${ip}`);
    return { code, flags: flagsFor(code), data };
  },
};

function ipv6Bytes(ip: string): Buffer {
  // The URL parser writes an IPv6 address as at most eight hex groups (a dotted IPv4 tail
  // included), with one "::" for the longest run of zero groups.
  const canonical = new URL(`http://[${ip}]`).hostname.slice(1, -1);
  const [head = '', tail = ''] = canonical.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const zeros = canonical.includes('::') ? 8 - groups(head).length - groups(tail).length : 0;
  const all = [...groups(head), ...Array<string>(zeros).fill('0'), ...groups(tail)];
  const out = Buffer.alloc(16);
  all.forEach((group, i) => out.writeUInt16BE(parseInt(group, 16), i * 2));
  return out;
}

/** The first AVP with this code, or undefined. */
export function find(message: Message, code: number): Avp | undefined {
  return message.avps.find((a) => a.code === code && a.vendorId === undefined);
}

/** An Unsigned32 AVP's value, or undefined if it is missing or not 4 bytes. */
export function u32(message: Message, code: number): number | undefined {
  const found = find(message, code);
  return found?.data.length === 4 ? found.data.readUInt32BE(0) : undefined;
}

/** A text AVP's value, or undefined. */
export function text(message: Message, code: number): string | undefined {
  return find(message, code)?.data.toString('utf8');
}

/** An Address AVP's value as text, or undefined if it is not IPv4 or IPv6. */
export function addressOf(a: Avp): string | undefined {
  const family = a.data.length >= 2 ? a.data.readUInt16BE(0) : 0;
  if (family === 1 && a.data.length === 6) return [...a.data.subarray(2)].join('.');
  if (family === 2 && a.data.length === 18) {
    const groups = [];
    for (let i = 2; i < 18; i += 2) groups.push(a.data.readUInt16BE(i).toString(16));
    return groups.join(':');
  }
  return undefined;
}

export const isRequest = (message: Message) => (message.flags & Flag.Request) !== 0;
