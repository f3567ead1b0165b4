// Argument validation with Node's error codes. Everything the native layer receives has
// been checked here first.
import net from 'node:net';
import { invalidArgType, invalidArgValue, outOfRange } from './errors';

export function validateInteger(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} and <= ${max}`, value);
  return value;
}

/** A time in ms as Node's timers take one: a number from 0 to 2^31 - 1, fractions allowed. */
export function validateDelay(value: unknown, name: string): number {
  if (typeof value !== 'number' || !(value >= 0) || value > 2 ** 31 - 1) {
    throw outOfRange(name, '>= 0 and <= 2147483647', value);
  }
  return value;
}

export function validatePort(value: unknown, name = 'port', allowZero = true): number {
  if (typeof value === 'string' && /^[0-9]+$/.test(value.trim())) value = Number(value);
  if (typeof value !== 'number') throw invalidArgType(name, 'of type number', value);
  if (!Number.isInteger(value) || value < (allowZero ? 0 : 1) || value > 65535) {
    throw outOfRange(name, `>= ${allowZero ? 0 : 1} and <= 65535`, value);
  }
  return value;
}

/** A zone: an interface number (1 to 2^32 - 1) or name (IFNAMSIZ - 1 = 15 bytes at most). */
function isZone(zone: string): boolean {
  // As the native parser: at most IFNAMSIZ - 1 characters either way.
  if (/^[0-9]{1,15}$/.test(zone)) return Number(zone) >= 1 && Number(zone) <= 0xffffffff;
  // What Linux allows in an interface name: no '/', ':' or white space.
  return /^[^\s/:\0]+$/.test(zone) && Buffer.byteLength(zone) <= 15;
}

/** Strips the brackets of "[::1]" and checks that the text is a numeric IPv4/IPv6 address. */
function validateAddress(value: unknown, name: string): string {
  if (typeof value !== 'string') throw invalidArgType(name, 'of type string', value);
  let host = value.trim();
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  if (host === 'localhost') return '127.0.0.1';
  // link-local IPv6 may carry a zone: fe80::1%eth0, fe80::1%2
  const percent = host.indexOf('%');
  const bare = percent < 0 ? host : host.slice(0, percent);
  if (net.isIP(bare) === 0) {
    throw invalidArgValue(name, value, 'must be a numeric IPv4 or IPv6 address (or "localhost")');
  }
  if (percent >= 0 && (net.isIPv4(bare) || !isZone(host.slice(percent + 1)))) {
    throw invalidArgValue(
      name,
      value,
      'may have a zone only after an IPv6 address, and the zone must be an interface name or number',
    );
  }
  return host;
}

/** One address or a non-empty array of them (multihoming). */
export function validateAddresses(value: unknown, name: string): string[] {
  if (typeof value === 'string') return [validateAddress(value, name)];
  if (!Array.isArray(value))
    throw invalidArgType(name, 'of type string or an array of strings', value);
  if (value.length === 0) throw invalidArgValue(name, value, 'must not be an empty list');
  const hosts = value.map((v, i) => validateAddress(v, `${name}[${i}]`));
  if (new Set(hosts).size !== hosts.length) {
    throw invalidArgValue(name, value, 'must not list an address twice');
  }
  return hosts;
}

export function validateFunction(value: unknown, name: string): void {
  if (typeof value !== 'function') throw invalidArgType(name, 'of type function', value);
}

export function validateObject(value: unknown, name: string): void {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw invalidArgType(name, 'of type object', value);
  }
}

export function validateBoolean(value: unknown, name: string): boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'of type boolean', value);
  return value;
}

/**
 * A real AbortSignal only: a look-alike would pass a duck-typed check and fail later, inside
 * an event callback, where its error cannot reach the caller.
 */
export function validateAbortSignal(value: unknown, name: string): AbortSignal {
  if (!(value instanceof AbortSignal)) {
    throw invalidArgType(name, 'an instance of AbortSignal', value);
  }
  return value;
}

/** The socket family needed for a set of addresses: IPv6 as soon as one is IPv6. */
export function familyFor(hosts: string[]): 4 | 6 {
  return hosts.some((h) => net.isIPv6(h.includes('%') ? h.slice(0, h.indexOf('%')) : h)) ? 6 : 4;
}
