// ASAP (RFC 5352) messages and their parameters (RFC 5354, policies RFC 5356): plain
// functions from objects to bytes and back, with no sockets, so they can be tested and
// fuzzed alone. Each message is one row of MESSAGES: its type code, its flag, and its
// parameters in the order RSPLIB's parser expects them (it refuses another order).
import { isIPv4, isIPv6 } from 'node:net';

/** The SCTP payload protocol identifier of ASAP (RSPLIB ignores ASAP sent with another). */
export const ASAP_PPID = 11;
/** ASAP's well-known SCTP and UDP port. */
export const ASAP_PORT = 3863;
/** RSPLIB's default multicast group for registrars' SERVER_ANNOUNCEs (on ASAP_PORT). */
export const ANNOUNCE_GROUP = '239.0.0.50';
/** The longest pool handle RSPLIB accepts (a longer one aborts its registrar). */
export const MAX_POOL_HANDLE = 32;

/** A transport address block: how a pool element is reached. */
export interface Transport {
  /** The transport protocol (pool users of this library use SCTP elements only). */
  protocol: 'sctp' | 'tcp' | 'udp';
  /** The port. */
  port: number;
  /** IPv4 or IPv6 addresses; more than one only for SCTP (multihoming). */
  addresses: string[];
  /** 'data+control': the association also carries ASAP's COOKIE and COOKIE_ECHO. */
  use: 'data' | 'data+control';
}

/** The policy names of RFC 5356. */
export type PolicyName =
  | 'round-robin'
  | 'weighted-round-robin'
  | 'random'
  | 'weighted-random'
  | 'priority'
  | 'least-used'
  | 'least-used-degradation'
  | 'priority-least-used'
  | 'randomized-least-used';

/**
 * A pool member selection policy and its parameters. `load` and `loadDegradation` are
 * fractions from 0 to 1 (sent as 0 to 0xffffffff); `weight` and `priority` are integers.
 */
export interface Policy {
  /** The policy; 'other' for a type this library does not know (selected as round robin). */
  name: PolicyName | 'other';
  /** weighted-round-robin and weighted-random: the element's weight. */
  weight?: number;
  /** priority: the element's priority (the highest is chosen). */
  priority?: number;
  /** The least-used family: the element's load, 0 to 1. */
  load?: number;
  /** least-used-degradation and priority-least-used: load added per selection, 0 to 1. */
  loadDegradation?: number;
  /** For 'other': the type code as sent. */
  code?: number;
  /** For 'other': the 32-bit values after the type code, as sent. */
  values?: number[];
}

type PolicyField = 'weight' | 'priority' | 'load' | 'loadDegradation';

/** RFC 5356's policy types: the code, and the 32-bit fields after it, in order. */
export const POLICIES: Record<PolicyName, { code: number; fields: PolicyField[] }> = {
  'round-robin': { code: 0x00000001, fields: [] },
  'weighted-round-robin': { code: 0x00000002, fields: ['weight'] },
  random: { code: 0x00000003, fields: [] },
  'weighted-random': { code: 0x00000004, fields: ['weight'] },
  priority: { code: 0x00000005, fields: ['priority'] },
  'least-used': { code: 0x40000001, fields: ['load'] },
  'least-used-degradation': { code: 0x40000002, fields: ['load', 'loadDegradation'] },
  'priority-least-used': { code: 0x40000003, fields: ['load', 'loadDegradation'] },
  'randomized-least-used': { code: 0x40000004, fields: ['load'] },
};
const FRACTION_FIELDS: ReadonlySet<PolicyField> = new Set(['load', 'loadDegradation']);

/** What a pool element registers, and what a handle resolution returns for each. */
export interface PoolElementParameter {
  /** The PE identifier, 1 to 0xffffffff, chosen by the pool element. */
  id: number;
  /** The identifier of the registrar that is its home (0: none yet). */
  homeRegistrar: number;
  /** Milliseconds the registration lasts unless renewed. */
  registrationLife: number;
  /** Where pool users reach it. */
  transport: Transport;
  /** Its selection policy and parameters. */
  policy: Policy;
  /** Where registrars reach its ASAP endpoint (only between registrars, and in dumps). */
  asapTransport?: Transport;
}

/** One cause of an Operation Error parameter. */
export interface ErrorCause {
  code: number;
  /** The RFC 5354 name, or 'unknown'. */
  name: string;
  /** The cause-specific bytes (often the offending parameter). */
  info: Buffer;
}

/** RFC 5354's cause codes; RSPLIB also sends numbers of its own (kept as 'unknown'). */
export const CAUSES: Record<number, string> = {
  0x1: 'unrecognized parameter',
  0x2: 'unrecognized message',
  0x3: 'invalid values',
  0x4: 'non-unique PE identifier',
  0x5: 'inconsistent pooling policy',
  0x6: 'lack of resources',
  0x7: 'inconsistent transport type',
  0x8: 'inconsistent data/control configuration',
  0x9: 'unknown pool handle',
  0xa: 'rejected for security',
};

/** The messages. `poolHandle` is bytes; RSerPool handles are usually ASCII names. */
export type AsapMessage =
  | { type: 'registration'; poolHandle: Buffer; element: PoolElementParameter }
  | { type: 'deregistration'; poolHandle: Buffer; id: number }
  | {
      type: 'registrationResponse';
      poolHandle: Buffer;
      id: number;
      /** The R flag: the registration was refused (`error` says why). */
      rejected: boolean;
      error?: ErrorCause[];
    }
  | { type: 'deregistrationResponse'; poolHandle: Buffer; id: number; error?: ErrorCause[] }
  /** `items`: how many elements to return (RSPLIB's option; 0 or absent: the default). */
  | { type: 'handleResolution'; poolHandle: Buffer; items?: number }
  | {
      type: 'handleResolutionResponse';
      poolHandle: Buffer;
      policy?: Policy;
      elements: PoolElementParameter[];
      error?: ErrorCause[];
    }
  | {
      type: 'endpointKeepAlive';
      serverId: number;
      poolHandle: Buffer;
      /** RSPLIB names the element; RFC 5352 does not (then: every element of the handle). */
      id?: number;
      /** The H flag: the sender wants to become the element's home registrar. */
      home: boolean;
    }
  | { type: 'endpointKeepAliveAck'; poolHandle: Buffer; id: number }
  | { type: 'endpointUnreachable'; poolHandle: Buffer; id: number }
  | { type: 'serverAnnounce'; serverId: number; transports: Transport[] }
  | { type: 'cookie'; cookie: Buffer }
  | { type: 'cookieEcho'; cookie: Buffer }
  | {
      type: 'businessCard';
      poolHandle: Buffer;
      policy?: Policy;
      elements: PoolElementParameter[];
    }
  | { type: 'error'; error: ErrorCause[] };

export type AsapMessageType = AsapMessage['type'];

/** A message or parameter that cannot be decoded; `causeCode` is the RFC 5354 cause to report. */
export class AsapError extends Error {
  readonly code = 'ERR_ASAP_INVALID';
  constructor(
    message: string,
    readonly causeCode: number = 0x3,
  ) {
    super(message);
    this.name = 'AsapError';
  }
}

// ---- Parameters -----------------------------------------------------------------------

const PARAM = {
  ipv4: 0x0001,
  ipv6: 0x0002,
  sctp: 0x0004,
  tcp: 0x0005,
  udp: 0x0006,
  policy: 0x0008,
  poolHandle: 0x0009,
  poolElement: 0x000a,
  serverInformation: 0x000b,
  operationError: 0x000c,
  cookie: 0x000d,
  peIdentifier: 0x000e,
  handleResolutionOption: 0x803f,
} as const;
const TRANSPORT_CODES = { sctp: PARAM.sctp, tcp: PARAM.tcp, udp: PARAM.udp } as const;

interface Tlv {
  type: number;
  value: Buffer;
}

const pad4 = (n: number) => (n + 3) & ~3;

/** One parameter: type, length (4 + value), value, zero padding to 4 bytes. */
function tlv(type: number, ...parts: Buffer[]): Buffer {
  const value = Buffer.concat(parts);
  const out = Buffer.alloc(pad4(4 + value.length));
  out.writeUInt16BE(type, 0);
  out.writeUInt16BE(4 + value.length, 2);
  value.copy(out, 4);
  if (out.length > 0xffff) throw new RangeError('an ASAP parameter is longer than 65535 bytes');
  return out;
}

function u32s(...values: number[]): Buffer {
  const out = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => out.writeUInt32BE(v >>> 0, 4 * i));
  return out;
}

/** The parameters in `bytes`, each bounded by what is there. */
function tlvs(bytes: Buffer): Tlv[] {
  const out: Tlv[] = [];
  let at = 0;
  while (at < bytes.length) {
    if (bytes.length - at < 4) {
      // Padding after the last parameter is not a parameter.
      if (bytes.subarray(at).every((b) => b === 0)) break;
      throw new AsapError('a parameter is cut short');
    }
    const type = bytes.readUInt16BE(at);
    const length = bytes.readUInt16BE(at + 2);
    if (length < 4 || at + length > bytes.length) {
      throw new AsapError(`parameter 0x${type.toString(16)} has a bad length (${length})`);
    }
    out.push({ type, value: bytes.subarray(at + 4, at + length) });
    at += pad4(length);
  }
  return out;
}

export function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  if (!isIPv6(address)) throw new TypeError(`not an IP address: ${address}`);
  // A dotted IPv4 tail becomes two groups; then "::" stands for the missing zero groups.
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const b = ipBytes(dotted[1]!);
    text = `${text.slice(0, dotted.index)}${b.readUInt16BE(0).toString(16)}:${b.readUInt16BE(2).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const groups = (s: string | undefined) => (s ? s.split(':') : []);
  const missing = tail === undefined ? 0 : 8 - groups(head).length - groups(tail).length;
  const all = [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), 2 * i));
  return out;
}

export function ipText(bytes: Buffer): string {
  if (bytes.length === 4) return [...bytes].join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  // The longest run of two or more zero groups becomes "::" (RFC 5952).
  let best = { at: -1, length: 1 };
  for (let i = 0; i < 8;) {
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j === i ? i + 1 : j;
  }
  if (best.at < 0) return groups.join(':');
  const head = groups.slice(0, best.at).join(':');
  const tail = groups.slice(best.at + best.length).join(':');
  return `${head}::${tail}`;
}

function encodeAddress(address: string): Buffer {
  return tlv(isIPv4(address) ? PARAM.ipv4 : PARAM.ipv6, ipBytes(address));
}

function decodeAddress(p: Tlv): string {
  if (p.type === PARAM.ipv4 && p.value.length === 4) return ipText(p.value);
  if (p.type === PARAM.ipv6 && p.value.length === 16) return ipText(p.value);
  throw new AsapError(`not an address parameter (type 0x${p.type.toString(16)})`);
}

function encodeTransport(t: Transport): Buffer {
  if (t.protocol !== 'sctp' && t.addresses.length !== 1) {
    throw new RangeError(`a ${t.protocol} transport has exactly one address`);
  }
  const head = Buffer.alloc(4);
  head.writeUInt16BE(t.port, 0);
  head.writeUInt16BE(t.protocol !== 'udp' && t.use === 'data+control' ? 1 : 0, 2);
  return tlv(TRANSPORT_CODES[t.protocol], head, ...t.addresses.map(encodeAddress));
}

function decodeTransport(p: Tlv): Transport {
  const protocol = (Object.keys(TRANSPORT_CODES) as Transport['protocol'][]).find(
    (k) => TRANSPORT_CODES[k] === p.type,
  );
  if (!protocol) throw new AsapError(`not a transport parameter (type 0x${p.type.toString(16)})`);
  if (p.value.length < 4) throw new AsapError('a transport parameter is cut short');
  const addresses = tlvs(p.value.subarray(4)).map(decodeAddress);
  if (addresses.length === 0) throw new AsapError('a transport parameter has no address');
  return {
    protocol,
    port: p.value.readUInt16BE(0),
    addresses,
    use: protocol !== 'udp' && p.value.readUInt16BE(2) === 1 ? 'data+control' : 'data',
  };
}

const FRACTION = 0xffffffff;

function encodePolicy(policy: Policy): Buffer {
  if (policy.name === 'other')
    return tlv(PARAM.policy, u32s(policy.code ?? 0, ...(policy.values ?? [])));
  const row = POLICIES[policy.name];
  const values = row.fields.map((f) => {
    const v = policy[f] ?? 0;
    return FRACTION_FIELDS.has(f) ? Math.round(v * FRACTION) : v;
  });
  return tlv(PARAM.policy, u32s(row.code, ...values));
}

function decodePolicy(p: Tlv): Policy {
  if (p.value.length < 4 || p.value.length % 4)
    throw new AsapError('a policy parameter is cut short');
  const code = p.value.readUInt32BE(0);
  const values: number[] = [];
  for (let at = 4; at < p.value.length; at += 4) values.push(p.value.readUInt32BE(at));
  const name = (Object.keys(POLICIES) as PolicyName[]).find((n) => POLICIES[n].code === code);
  if (!name) return { name: 'other', code, values };
  const { fields } = POLICIES[name];
  if (values.length < fields.length) throw new AsapError(`policy ${name} is cut short`);
  const policy: Policy = { name };
  fields.forEach(
    (f, i) => (policy[f] = FRACTION_FIELDS.has(f) ? values[i]! / FRACTION : values[i]!),
  );
  return policy;
}

function encodePoolElement(e: PoolElementParameter): Buffer {
  return tlv(
    PARAM.poolElement,
    u32s(e.id, e.homeRegistrar, e.registrationLife),
    encodeTransport(e.transport),
    encodePolicy(e.policy),
    ...(e.asapTransport ? [encodeTransport(e.asapTransport)] : []),
  );
}

function decodePoolElement(p: Tlv): PoolElementParameter {
  if (p.value.length < 12) throw new AsapError('a pool element parameter is cut short');
  const inner = tlvs(p.value.subarray(12));
  const transports = inner.filter((t) => Object.values(TRANSPORT_CODES).includes(t.type as 4));
  const policy = inner.find((t) => t.type === PARAM.policy);
  if (!transports[0] || !policy)
    throw new AsapError('a pool element lacks its transport or policy');
  return {
    id: p.value.readUInt32BE(0),
    homeRegistrar: p.value.readUInt32BE(4),
    registrationLife: p.value.readUInt32BE(8),
    transport: decodeTransport(transports[0]),
    policy: decodePolicy(policy),
    ...(transports[1] && { asapTransport: decodeTransport(transports[1]) }),
  };
}

function encodeErrorCauses(causes: ErrorCause[]): Buffer {
  return tlv(
    PARAM.operationError,
    ...causes.map((c) => {
      const head = Buffer.alloc(4);
      head.writeUInt16BE(c.code, 0);
      head.writeUInt16BE(4 + c.info.length, 2);
      return Buffer.concat([head, c.info, Buffer.alloc(pad4(c.info.length) - c.info.length)]);
    }),
  );
}

function decodeErrorCauses(p: Tlv): ErrorCause[] {
  const causes: ErrorCause[] = [];
  for (let at = 0; at + 4 <= p.value.length;) {
    const code = p.value.readUInt16BE(at);
    const length = p.value.readUInt16BE(at + 2);
    if (length < 4 || at + length > p.value.length)
      throw new AsapError('an error cause has a bad length');
    causes.push({
      code,
      name: CAUSES[code] ?? 'unknown',
      info: Buffer.from(p.value.subarray(at + 4, at + length)),
    });
    at += pad4(length);
  }
  if (causes.length === 0) throw new AsapError('an operation error has no cause');
  return causes;
}

function u32Of(p: Tlv, what: string): number {
  if (p.value.length !== 4) throw new AsapError(`${what} is not 4 bytes`);
  return p.value.readUInt32BE(0);
}

/** A parameter that is one 32-bit number. */
const u32Field = (type: number, what: string) => ({
  types: [type],
  encode: (v: number) => tlv(type, u32s(v)),
  decode: (p: Tlv) => u32Of(p, what),
});

/** A parameter that is opaque bytes. */
const bytesField = (type: number, check: (value: Buffer) => void = () => {}) => ({
  types: [type],
  encode: (v: Buffer) => tlv(type, v),
  decode: (p: Tlv) => {
    check(p.value);
    return Buffer.from(p.value);
  },
});

/**
 * Each parameter a message field can hold: the type codes it is sent as, and how the
 * field's value becomes the parameter and back.
 */
const FIELDS = {
  poolHandle: bytesField(PARAM.poolHandle, (v) => {
    if (v.length === 0) throw new AsapError('an empty pool handle');
  }),
  element: { types: [PARAM.poolElement], encode: encodePoolElement, decode: decodePoolElement },
  elements: { types: [PARAM.poolElement], encode: encodePoolElement, decode: decodePoolElement },
  id: u32Field(PARAM.peIdentifier, 'a PE identifier'),
  policy: { types: [PARAM.policy], encode: encodePolicy, decode: decodePolicy },
  error: { types: [PARAM.operationError], encode: encodeErrorCauses, decode: decodeErrorCauses },
  items: u32Field(PARAM.handleResolutionOption, 'a handle resolution option'),
  cookie: bytesField(PARAM.cookie),
  transports: {
    types: Object.values(TRANSPORT_CODES) as number[],
    encode: encodeTransport,
    decode: decodeTransport,
  },
} as const;
type FieldName = keyof typeof FIELDS;

/** A field: required, optional ('?'), or any number of that parameter ('*'). */
type FieldSpec = FieldName | `${FieldName}?` | `${FieldName}*`;

interface MessageRow {
  code: number;
  /** The name of the boolean field carried in flag bit 0. */
  flag?: 'rejected' | 'home';
  /** Whether a 32-bit Server Identifier comes before the parameters. */
  serverId?: boolean;
  fields: FieldSpec[];
}

/** Every ASAP message: code, flag, and its parameters in RSPLIB's order. */
const MESSAGES: Record<AsapMessageType, MessageRow> = {
  registration: { code: 0x01, fields: ['poolHandle', 'element'] },
  deregistration: { code: 0x02, fields: ['poolHandle', 'id'] },
  registrationResponse: { code: 0x03, flag: 'rejected', fields: ['poolHandle', 'id', 'error?'] },
  deregistrationResponse: { code: 0x04, fields: ['poolHandle', 'id', 'error?'] },
  handleResolution: { code: 0x05, fields: ['poolHandle', 'items?'] },
  handleResolutionResponse: {
    code: 0x06,
    fields: ['poolHandle', 'error?', 'policy?', 'elements*'],
  },
  endpointKeepAlive: { code: 0x07, flag: 'home', serverId: true, fields: ['poolHandle', 'id?'] },
  endpointKeepAliveAck: { code: 0x08, fields: ['poolHandle', 'id'] },
  endpointUnreachable: { code: 0x09, fields: ['poolHandle', 'id'] },
  serverAnnounce: { code: 0x0a, serverId: true, fields: ['transports*'] },
  cookie: { code: 0x0b, fields: ['cookie'] },
  cookieEcho: { code: 0x0c, fields: ['cookie'] },
  businessCard: { code: 0x0d, fields: ['poolHandle', 'policy?', 'elements*'] },
  error: { code: 0x0e, fields: ['error'] },
};
const BY_CODE = new Map(
  (Object.entries(MESSAGES) as [AsapMessageType, MessageRow][]).map(([type, row]) => [
    row.code,
    type,
  ]),
);

function fieldOf(spec: FieldSpec): { name: FieldName; optional: boolean; many: boolean } {
  const last = spec[spec.length - 1];
  const name = (last === '?' || last === '*' ? spec.slice(0, -1) : spec) as FieldName;
  return { name, optional: last === '?' || last === '*', many: last === '*' };
}

/** The bytes of one ASAP message (its length includes the final padding, as RSPLIB's). */
export function encodeAsap(message: AsapMessage): Buffer {
  const row = MESSAGES[message.type];
  const m = message as unknown as Record<string, unknown>;
  const parts: Buffer[] = [];
  if (row.serverId) parts.push(u32s(m.serverId as number));
  for (const spec of row.fields) {
    const { name, optional, many } = fieldOf(spec);
    const value = m[name];
    if (value === undefined && optional) continue;
    if (value === undefined) throw new TypeError(`${message.type} needs ${name}`);
    if (name === 'poolHandle' && (value as Buffer).length > MAX_POOL_HANDLE) {
      throw new RangeError(`a pool handle is at most ${MAX_POOL_HANDLE} bytes`);
    }
    const encode = FIELDS[name].encode as (v: unknown) => Buffer;
    for (const v of many ? (value as unknown[]) : [value]) parts.push(encode(v));
  }
  const body = Buffer.concat(parts);
  if (4 + body.length > 0xffff) throw new RangeError('an ASAP message is longer than 65535 bytes');
  const head = Buffer.alloc(4);
  head.writeUInt8(row.code, 0);
  head.writeUInt8(row.flag && m[row.flag] ? 1 : 0, 1);
  head.writeUInt16BE(4 + body.length, 2);
  return Buffer.concat([head, body]);
}

/**
 * The ASAP message in `bytes`. Parameters may come in any order; an unknown one is skipped
 * when its type's top bit says so (RFC 5354 §2.1), else the message is refused.
 */
export function decodeAsap(bytes: Buffer): AsapMessage {
  if (bytes.length < 4) throw new AsapError('an ASAP message is cut short');
  const code = bytes.readUInt8(0);
  const flags = bytes.readUInt8(1);
  const length = bytes.readUInt16BE(2);
  // The length may or may not count the final padding; nothing but padding may follow.
  if (length < 4 || length > bytes.length || bytes.length > pad4(length)) {
    throw new AsapError(
      `an ASAP message's length (${length}) does not match its ${bytes.length} bytes`,
    );
  }
  const type = BY_CODE.get(code);
  if (!type) throw new AsapError(`unknown ASAP message type 0x${code.toString(16)}`, 0x2);
  const row = MESSAGES[type];
  let body = bytes.subarray(4, length);
  const out: Record<string, unknown> = { type };
  if (row.flag) out[row.flag] = (flags & 1) !== 0;
  if (row.serverId) {
    if (body.length < 4) throw new AsapError(`${type} lacks its server identifier`);
    out.serverId = body.readUInt32BE(0);
    body = body.subarray(4);
  }
  const params = tlvs(body);
  const fields = row.fields.map(fieldOf);
  for (const p of params) {
    const field = fields.find((f) => (FIELDS[f.name].types as readonly number[]).includes(p.type));
    if (!field) {
      if (p.type & 0x8000) continue; // "skip this parameter" (with or without a report)
      throw new AsapError(`${type} has an unexpected parameter 0x${p.type.toString(16)}`, 0x1);
    }
    const value = (FIELDS[field.name].decode as (p: Tlv) => unknown)(p);
    if (field.many) ((out[field.name] ??= []) as unknown[]).push(value);
    else if (!(field.name in out)) out[field.name] = value;
  }
  for (const f of fields) {
    if (f.many) out[f.name] ??= [];
    else if (!f.optional && !(f.name in out)) throw new AsapError(`${type} lacks its ${f.name}`);
  }
  return out as unknown as AsapMessage;
}
