// The kernel's SCTP tunables that carry one value each, typed: one table gives each setting's
// socket option, field, range and reach; reading, writing, checking and the open-time
// options all go through it.
import os from 'node:os';
import { optionError } from './capabilities';
import { codedError, invalidArgType, invalidArgValue, socketClosed } from './errors';
import { setOption } from './handle';
import type { NativeSocket } from './native';
import { validateInteger } from './validate';

/** The settings by name; each is optional wherever settings are given. */
export interface Settings {
  /** Packets sent at once on a path (SCTP_MAX_BURST; 0: no limit; default net.sctp.max_burst, 4). */
  maxBurst: number;
  /**
   * Largest DATA chunk payload, bytes (SCTP_MAXSEG): messages are cut into pieces of at most
   * this. 0: from the path MTU. Read on an association: the fragmentation point in use.
   */
  maxSegment: number;
  /**
   * Delayed SACK timeout, ms, 1 to 500, on every path (SCTP_DELAYED_SACK; read 0: off). The
   * kernel keeps it in ticks: read back, it is rounded up to one (4 ms at HZ=250).
   */
  sackDelay: number;
  /** Packets received before a SACK is due (SCTP_DELAYED_SACK); 1: a SACK for each, no delay. */
  sackFrequency: number;
  /** The value received messages carry as `info.context` (SCTP_CONTEXT). */
  context: number;
  /**
   * The potentially-failed path state (RFC 7829) reported: in path states, and as
   * peerAddressChange events with state 'potentially_failed' (SCTP_EXPOSE_POTENTIALLY_FAILED_STATE).
   * Default false: the state shows in path lists only. Paths#configure sets the thresholds.
   */
  exposePotentiallyFailed: boolean;
  /**
   * Bytes of a message the kernel holds before it hands over its first pieces
   * (SCTP_PARTIAL_DELIVERY_POINT; at most half the receive buffer). The socket's, for all
   * its associations. kernel-sctp joins the pieces again, up to maxMessageSize.
   */
  partialDeliveryPoint: number;
  /**
   * Partial deliveries of different associations (and, with I-DATA, streams) may interleave
   * (SCTP_FRAGMENT_INTERLEAVE). Always on for an endpoint and with `interleaving`: with it
   * off one peer's unfinished message would hold back every other one.
   */
  fragmentInterleave: boolean;
  /** The adaptation layer indication sent in INIT/INIT ACK (RFC 5061; SCTP_ADAPTATION_LAYER). */
  adaptationIndication: number;
  /** ECN offered in INIT (SCTP_ECN_SUPPORTED; default net.sctp.ecn_enable). */
  ecn: boolean;
  /** ASCONF offered in INIT (SCTP_ASCONF_SUPPORTED; default net.sctp.addip_enable). */
  asconf: boolean;
  /** PR-SCTP offered in INIT (SCTP_PR_SUPPORTED; default net.sctp.prsctp_enable). */
  prSctp: boolean;
}
export type SettingName = keyof Settings;
/** An association's own settings. */
export type AssociationSettings = Pick<
  Settings,
  'maxBurst' | 'maxSegment' | 'sackDelay' | 'sackFrequency' | 'context' | 'exposePotentiallyFailed'
>;
/** A one-to-one socket's: its association's and the socket's own. */
export type SocketSettings = Omit<Settings, 'ecn' | 'asconf' | 'prSctp'>;
/** What a one-to-one socket's setSettings() may change (not what INIT carried). */
export type SocketSettingsChange = Omit<SocketSettings, 'adaptationIndication'>;

/**
 * Where a setting applies. 'association': per association (a one-to-one socket's; an
 * endpoint's for associations to come). 'socket': the whole socket. 'endpoint': the whole
 * socket, read by the kernel when an association starts (read on one that is up, these
 * options give what was negotiated, which negotiated() tells).
 */
type Reach = 'association' | 'socket' | 'endpoint';

interface SettingSpec {
  option: string;
  field: string;
  reach: Reach;
  /** Integer bounds; none for a boolean. */
  range?: readonly [number, number];
  /** The value a boolean's true is written as (default 1). */
  on?: number;
  /** Sent in INIT: changing it on a socket whose association has started changes nothing. */
  inInit?: true;
}

const U32 = [0, 0xffffffff] as const;
const { ENOPROTOOPT } = os.constants.errno;

const SETTINGS: Record<SettingName, SettingSpec> = {
  maxBurst: { option: 'SCTP_MAX_BURST', field: 'value', reach: 'association', range: U32 },
  maxSegment: { option: 'SCTP_MAXSEG', field: 'value', reach: 'association', range: [0, 65535] },
  sackDelay: { option: 'SCTP_DELAYED_SACK', field: 'delay', reach: 'association', range: [1, 500] },
  sackFrequency: {
    option: 'SCTP_DELAYED_SACK',
    field: 'frequency',
    reach: 'association',
    range: [1, 0xffffffff],
  },
  context: { option: 'SCTP_CONTEXT', field: 'value', reach: 'association', range: U32 },
  // 2 is SCTP_PF_EXPOSE_ENABLE. 1 (DISABLE) is not offered: the kernel then refuses to
  // describe a potentially-failed path at all (EACCES), and path lists would fail.
  exposePotentiallyFailed: {
    option: 'SCTP_EXPOSE_POTENTIALLY_FAILED_STATE',
    field: 'value',
    reach: 'association',
    on: 2,
  },
  partialDeliveryPoint: {
    option: 'SCTP_PARTIAL_DELIVERY_POINT',
    field: 'value',
    reach: 'socket',
    range: [0, 2 ** 31 - 1], // an int option; the kernel caps it at half the receive buffer
  },
  fragmentInterleave: { option: 'SCTP_FRAGMENT_INTERLEAVE', field: 'value', reach: 'socket' },
  adaptationIndication: {
    option: 'SCTP_ADAPTATION_LAYER',
    field: 'value',
    reach: 'socket',
    range: U32,
    inInit: true,
  },
  ecn: { option: 'SCTP_ECN_SUPPORTED', field: 'value', reach: 'endpoint', inInit: true },
  asconf: { option: 'SCTP_ASCONF_SUPPORTED', field: 'value', reach: 'endpoint', inInit: true },
  prSctp: { option: 'SCTP_PR_SUPPORTED', field: 'value', reach: 'endpoint', inInit: true },
};

export const SETTING_NAMES = Object.keys(SETTINGS) as SettingName[];

/** What settings are read and written on: a socket, an endpoint or one of its associations. */
export interface SettingsTarget {
  handle: NativeSocket | null;
  /** 0 for a one-to-one socket and for an endpoint (its associations to come). */
  assocId: number;
  kind: 'socket' | 'endpoint' | 'association';
  /** Settings kernel-sctp needs as they are on this socket. */
  reserved?: readonly SettingName[];
}

/** The settings among `values` (others are ignored), checked; `argument` names them in errors. */
export function pickSettings(values: Record<string, unknown>, argument: string): Partial<Settings> {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const v = values[name];
    if (v === undefined) continue;
    const spec = SETTINGS[name];
    const where = `${argument}.${name}`;
    if (spec.range) out[name] = validateInteger(v, where, spec.range[0], spec.range[1]);
    else if (typeof v !== 'boolean') throw invalidArgType(where, 'of type boolean', v);
    else out[name] = v;
  }
  return out as Partial<Settings>;
}

function isReach(kind: SettingsTarget['kind'], spec: SettingSpec): boolean {
  // An association has only its own; a socket has all but what only INIT carries, which
  // negotiated() reports for its association.
  if (kind === 'association') return spec.reach === 'association';
  if (kind === 'socket') return spec.reach !== 'endpoint';
  return true;
}

function encode(spec: SettingSpec, v: number | boolean): number {
  return typeof v === 'boolean' ? (v ? (spec.on ?? 1) : 0) : v;
}

function write(target: SettingsTarget, spec: SettingSpec, v: number | boolean): void {
  const value = { [spec.field]: encode(spec, v) };
  // DELAYED_SACK's other field written as 0 stays as it is, so one field can change alone.
  setOption(
    target.handle,
    spec.option,
    value,
    spec.reach === 'socket' ? undefined : target.assocId,
  );
}

/** Writes settings at open, before any association: every one applies. */
export function applySettings(target: SettingsTarget, settings: Partial<Settings>): void {
  for (const [name, v] of Object.entries(settings) as [SettingName, number | boolean][]) {
    checkReserved(target, name, v);
    write(target, SETTINGS[name], v);
  }
}

/** Changes settings later (Socket#setSettings, Association#, Endpoint#). */
export function changeSettings(target: SettingsTarget, settings: unknown): void {
  if (typeof settings !== 'object' || settings === null || Array.isArray(settings)) {
    throw invalidArgType('settings', 'of type object', settings);
  }
  for (const key of Object.keys(settings)) {
    if (!(key in SETTINGS)) {
      throw invalidArgValue(
        `settings.${key}`,
        (settings as Record<string, unknown>)[key],
        `is not a setting; the settings: ${SETTING_NAMES.join(', ')}`,
      );
    }
  }
  const checked = pickSettings(settings as Record<string, unknown>, 'settings');
  for (const [name, v] of Object.entries(checked) as [SettingName, number | boolean][]) {
    const spec = SETTINGS[name];
    if (target.kind === 'association' && spec.reach !== 'association') {
      throw codedError(
        `${name} is its endpoint's, for all its associations: set it on the endpoint`,
        'ERR_SCTP_SETTING_SCOPE',
      );
    }
    if (target.kind === 'socket' && spec.inInit) {
      throw codedError(
        `${name} is sent in INIT, when the association starts: give it in the socket's options`,
        'ERR_SCTP_SETTING_SCOPE',
      );
    }
    checkReserved(target, name, v);
  }
  // The kernel may still refuse one (its own bounds, a missing option): the ones written
  // before it are put back, so that a refused call changes nothing.
  const before = readSettings(target);
  const written: SettingName[] = [];
  try {
    for (const [name, v] of Object.entries(checked) as [SettingName, number | boolean][]) {
      write(target, SETTINGS[name], v);
      written.push(name);
    }
  } catch (err) {
    for (const name of written.reverse()) {
      const was = before[name];
      try {
        if (was !== undefined) write(target, SETTINGS[name], was);
      } catch {
        // the first error is the one to report
      }
    }
    throw err;
  }
}

function checkReserved(target: SettingsTarget, name: SettingName, v: number | boolean): void {
  if (v === false && target.reserved?.includes(name)) {
    throw codedError(
      `kernel-sctp needs ${name} on this ${target.kind} (one association's unfinished ` +
        'message must not hold back the others); it cannot be turned off',
      'ERR_SCTP_OPTION_RESERVED',
    );
  }
}

/**
 * The settings in force on the target (see isReach for which a target has); one whose
 * option the kernel lacks is left out.
 */
export function readSettings(target: SettingsTarget): Partial<Settings> {
  const { handle } = target;
  if (!handle) throw socketClosed();
  const out: Record<string, number | boolean> = {};
  const read = new Map<string, Record<string, unknown> | null>(); // DELAYED_SACK once
  for (const name of SETTING_NAMES) {
    const spec = SETTINGS[name];
    if (!isReach(target.kind, spec)) continue;
    let r = read.get(spec.option);
    if (r === undefined) {
      const got = handle.getOption(
        spec.option,
        spec.reach === 'socket' ? undefined : { assocId: target.assocId },
      );
      if (typeof got === 'number' && got !== -ENOPROTOOPT) {
        throw optionError(got, 'getsockopt', spec.option);
      }
      r = typeof got === 'number' ? null : got;
      read.set(spec.option, r);
    }
    if (!r) continue;
    const n = Number(r[spec.field]);
    out[name] = spec.range ? n : spec.on === undefined ? n !== 0 : n === spec.on;
  }
  return out as Partial<Settings>;
}
