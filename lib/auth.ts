// AUTH (RFC 4895): chunk types that must come with an HMAC computed over a key both peers
// share, so that an attacker who sees the verification tags still cannot inject them
// (ASCONF above all: without AUTH, adding an address to someone else's association would
// take one forged chunk). The keys, the chunk list and the HMACs are set on the socket
// before the association starts; keys can be added, switched and removed while it runs.
import { invalidArgType, invalidArgValue, socketClosed } from './errors';
import { optionError } from './capabilities';
import type { NativeSocket } from './native';
import { validateInteger, validateObject } from './validate';

/** SCTP chunk types by name (RFC 9260, 4895, 5061, 6525, 3758, 8260). */
export const CHUNK_TYPES = {
  data: 0,
  sack: 1,
  heartbeat: 4,
  'heartbeat-ack': 5,
  abort: 6,
  shutdown: 7,
  'shutdown-ack': 8,
  error: 9,
  'cookie-echo': 10,
  'cookie-ack': 11,
  'i-data': 64,
  'asconf-ack': 0x80,
  reconf: 130,
  'forward-tsn': 192,
  asconf: 0xc1,
  'i-forward-tsn': 194,
} as const;
/**
 * An SCTP chunk type by name, for AuthOptions.chunks: 'data' is 0, 'sack' 1, 'asconf' 0xc1,
 * 'reconf' 130, and so on (RFC 9260, 4895, 5061, 6525, 3758, 8260).
 *
 * @useDeclaredType
 */
export type ChunkName = keyof typeof CHUNK_TYPES;

/** The kernel refuses these in the list (RFC 4895 section 3.2: they are never authenticated). */
const NEVER_AUTHENTICATED = new Set([
  1 /* INIT */, 2 /* INIT ACK */, 14 /* SHUTDOWN COMPLETE */, 15 /* AUTH */,
]);

/** HMAC identifiers (RFC 4895 section 6). */
export const HMACS = { sha1: 1, sha256: 3 } as const;
/**
 * An HMAC algorithm for AUTH: 'sha1' (HMAC identifier 1) or 'sha256' (3), RFC 4895 section 6.
 *
 * @useDeclaredType
 */
export type HmacName = keyof typeof HMACS;

/**
 * The auth option (AUTH, RFC 4895), applied to the socket before the association starts:
 * SCTP_AUTH_SUPPORTED, SCTP_HMAC_IDENT, SCTP_AUTH_CHUNK, SCTP_AUTH_KEY, SCTP_AUTH_ACTIVE_KEY.
 */
export interface AuthOptions {
  /** Chunk types this side wants the peer to authenticate (names, or type numbers). */
  chunks?: (ChunkName | number)[];
  /** Shared keys by key number (0 .. 65535). Both peers need the same key under a number. */
  keys?: Record<number, string | Uint8Array>;
  /** The key this side authenticates its chunks with. Default 0. */
  activeKey?: number;
  /**
   * HMAC algorithms this side accepts, most wanted first; 'sha1' must be among them (RFC
   * 4895). Default: the kernel's (SHA-1).
   */
  hmacs?: HmacName[];
}

function chunkType(chunk: unknown, name: string): number {
  if (typeof chunk === 'string') {
    if (!Object.hasOwn(CHUNK_TYPES, chunk)) {
      throw invalidArgValue(
        name,
        chunk,
        `is not a chunk name; they are ${Object.keys(CHUNK_TYPES).join(', ')}`,
      );
    }
    return CHUNK_TYPES[chunk as ChunkName];
  }
  const type = validateInteger(chunk, name, 0, 255);
  if (NEVER_AUTHENTICATED.has(type)) {
    throw invalidArgValue(
      name,
      chunk,
      'is a chunk type that is never authenticated (INIT, INIT ACK, SHUTDOWN COMPLETE, AUTH)',
    );
  }
  return type;
}

function keyBytes(key: unknown, name: string): Buffer {
  let bytes: Buffer;
  if (typeof key === 'string') bytes = Buffer.from(key);
  else if (key instanceof Uint8Array) bytes = Buffer.from(key);
  else throw invalidArgType(name, 'of type string or an instance of Uint8Array', key);
  if (bytes.length === 0 || bytes.length > 65535) {
    throw invalidArgValue(name, key, 'must be 1 to 65535 bytes');
  }
  return bytes;
}

const AUTH_OPTION_KEYS = ['chunks', 'keys', 'activeKey', 'hmacs'];

/** What an auth option asks for, checked: the native option values, in the order to set. */
export function resolveAuth(options: unknown, name: string): [string, Record<string, unknown>][] {
  validateObject(options, name);
  for (const key of Object.keys(options as object)) {
    if (!AUTH_OPTION_KEYS.includes(key)) {
      throw invalidArgValue(
        `${name}.${key}`,
        (options as Record<string, unknown>)[key],
        `is not an AUTH option; they are ${AUTH_OPTION_KEYS.join(', ')}`,
      );
    }
  }
  const o = options as AuthOptions;
  const steps: [string, Record<string, unknown>][] = [
    ['SCTP_AUTH_SUPPORTED', { assocId: 0, value: 1 }],
  ];
  if (o.hmacs !== undefined) {
    if (!Array.isArray(o.hmacs) || o.hmacs.length === 0) {
      throw invalidArgValue(
        `${name}.hmacs`,
        o.hmacs,
        "must be a non-empty array of 'sha1', 'sha256'",
      );
    }
    const idents = o.hmacs.map((h, i) => {
      if (typeof h !== 'string' || !Object.hasOwn(HMACS, h)) {
        throw invalidArgValue(`${name}.hmacs[${i}]`, h, "must be 'sha1' or 'sha256'");
      }
      return HMACS[h];
    });
    // RFC 4895 makes SHA-1 mandatory: the kernel refuses a list without it.
    if (!idents.includes(HMACS.sha1)) {
      throw invalidArgValue(`${name}.hmacs`, o.hmacs, "must include 'sha1' (RFC 4895 requires it)");
    }
    if (new Set(idents).size !== idents.length) {
      throw invalidArgValue(`${name}.hmacs`, o.hmacs, 'must not name an HMAC twice');
    }
    steps.push(['SCTP_HMAC_IDENT', { idents }]);
  }
  if (o.chunks !== undefined) {
    if (!Array.isArray(o.chunks))
      throw invalidArgValue(`${name}.chunks`, o.chunks, 'must be an array');
    o.chunks.forEach((c, i) =>
      steps.push(['SCTP_AUTH_CHUNK', { chunk: chunkType(c, `${name}.chunks[${i}]`) }]),
    );
  }
  if (o.keys !== undefined) {
    validateObject(o.keys, `${name}.keys`);
    for (const [number, key] of Object.entries(o.keys)) {
      const keyNumber = validateInteger(Number(number), `${name}.keys[${number}]`, 0, 65535);
      if (String(keyNumber) !== number) {
        throw invalidArgValue(
          `${name}.keys`,
          number,
          'must have key numbers (0 .. 65535) as its keys',
        );
      }
      steps.push([
        'SCTP_AUTH_KEY',
        { assocId: 0, keyNumber, key: keyBytes(key, `${name}.keys[${number}]`) },
      ]);
    }
  }
  if (o.activeKey !== undefined) {
    const keyNumber = validateInteger(o.activeKey, `${name}.activeKey`, 0, 65535);
    steps.push(['SCTP_AUTH_ACTIVE_KEY', { assocId: 0, keyNumber }]);
  }
  return steps;
}

/** Sets what resolveAuth gave, in order; throws the system error of the first refusal. */
export function applyAuth(handle: NativeSocket, steps: [string, Record<string, unknown>][]): void {
  for (const [option, value] of steps) {
    const rc = handle.setOption(option, value);
    if (rc < 0) throw optionError(rc, 'setsockopt', option);
  }
}

/** The shared keys of an association (or, before it is up, of the socket). */
export class AuthKeys {
  /** @internal */
  constructor(
    private readonly handle: () => NativeSocket | null,
    private readonly assocId: () => number,
  ) {}

  /** Adds (or replaces) the key under `keyNumber`. */
  set(keyNumber: number, key: string | Uint8Array): void {
    const number = validateInteger(keyNumber, 'keyNumber', 0, 65535);
    this.set_('SCTP_AUTH_KEY', { keyNumber: number, key: keyBytes(key, 'key') });
  }

  /** Authenticates this side's chunks with the key under `keyNumber` from now on. */
  use(keyNumber: number): void {
    this.keyOption('SCTP_AUTH_ACTIVE_KEY', keyNumber);
  }

  /** The key number this side authenticates with. */
  active(): number {
    return this.get('SCTP_AUTH_ACTIVE_KEY').keyNumber as number;
  }

  /**
   * Stops using a key that is not the active one; an 'authentication' notification
   * (free_key) says when the association no longer needs it, and it can be deleted.
   */
  deactivate(keyNumber: number): void {
    this.keyOption('SCTP_AUTH_DEACTIVATE_KEY', keyNumber);
  }

  /** Deletes a deactivated key. */
  delete(keyNumber: number): void {
    this.keyOption('SCTP_AUTH_DELETE_KEY', keyNumber);
  }

  /** The chunk types the peer wants this side to authenticate. */
  peerChunks(): number[] {
    return this.chunks('SCTP_PEER_AUTH_CHUNKS');
  }

  /** The chunk types this side wants the peer to authenticate. */
  localChunks(): number[] {
    return this.chunks('SCTP_LOCAL_AUTH_CHUNKS');
  }

  private keyOption(option: string, keyNumber: number): void {
    this.set_(option, { keyNumber: validateInteger(keyNumber, 'keyNumber', 0, 65535) });
  }

  private chunks(option: string): number[] {
    return [...(this.get(option).chunks as Buffer)];
  }

  private live(): NativeSocket {
    const handle = this.handle();
    if (!handle) throw socketClosed();
    return handle;
  }

  private set_(option: string, value: Record<string, unknown>): void {
    const rc = this.live().setOption(option, { assocId: this.assocId(), ...value });
    if (rc < 0) throw optionError(rc, 'setsockopt', option);
  }

  private get(option: string): Record<string, unknown> {
    const r = this.live().getOption(option, { assocId: this.assocId() });
    if (typeof r === 'number') throw optionError(r, 'getsockopt', option);
    return r;
  }
}
