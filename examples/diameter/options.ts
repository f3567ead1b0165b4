// Command-line options the Diameter client and server share: identity, addresses, and the
// SCTP timers that decide how fast a dead path is left (docs/diameter.md explains them).
import type { SocketOptions } from '../../lib';

/** For parseArgs: `options: { ...commonOptions, ...the program's own }`. */
export const commonOptions = {
  'origin-host': { type: 'string' },
  realm: { type: 'string', default: 'example.test' },
  port: { type: 'string', default: '3868' },
  /** Tw, ms: a DWR after this long without traffic. */
  watchdog: { type: 'string', default: '30000' },
  streams: { type: 'string', default: '8' },
  /** SCTP heartbeat interval, ms (per path). */
  heartbeat: { type: 'string' },
  'rto-min': { type: 'string' },
  'rto-max': { type: 'string' },
  /** Retransmissions on one path before it is marked unreachable. */
  'path-max-retrans': { type: 'string' },
  json: { type: 'boolean', default: false },
} as const;

/** A whole number from an option, or a clear error naming the option. */
export function int(values: Record<string, unknown>, name: string): number;
export function int(
  values: Record<string, unknown>,
  name: string,
  optional: true,
): number | undefined;
export function int(values: Record<string, unknown>, name: string, optional = false) {
  const text = values[name];
  if (text === undefined && optional) return undefined;
  const n = Number(text);
  if (typeof text !== 'string' || !Number.isInteger(n) || n < 0) {
    throw new RangeError(`--${name} wants a whole number, got ${String(text)}`);
  }
  return n;
}

export const list = (text: unknown): string[] => String(text).split(',').filter(Boolean);

/**
 * The socket options for --heartbeat, --rto-min, --rto-max and --path-max-retrans: every
 * association starts with them, from its INIT on (accepted ones get their server's).
 */
export function sctpOptions(values: Record<string, unknown>): SocketOptions {
  const rtoMin = int(values, 'rto-min', true);
  const rtoMax = int(values, 'rto-max', true);
  const heartbeatInterval = int(values, 'heartbeat', true);
  const maxRetransmissions = int(values, 'path-max-retrans', true);
  return {
    retransmission: {
      ...(rtoMin !== undefined && { rtoMin }),
      ...(rtoMax !== undefined && { rtoMax }),
    },
    pathDefaults: {
      ...(heartbeatInterval !== undefined && { heartbeatInterval }),
      ...(maxRetransmissions !== undefined && { maxRetransmissions }),
    },
  };
}

/**
 * Prints one event: its line of text, or with `json` the event and its fields as one JSON
 * object. Control characters in the text (a peer's Origin-Host may hold anything) are
 * escaped, so that a peer cannot forge lines.
 */
export function printer(json: boolean) {
  return (event: string, fields: object, line: string) =>
    console.log(
      json
        ? JSON.stringify({ event, ...fields })
        : [...line]
            .map((c) =>
              c < ' ' || c === '\x7f' ? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}` : c,
            )
            .join(''),
    );
}
