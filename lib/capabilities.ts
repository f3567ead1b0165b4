// What the running kernel's SCTP can do, found out at run time and not from headers or
// version numbers: each feature by the socket option that drives it (a kernel without the
// feature answers ENOPROTOOPT), the stream schedulers by selecting each one, and what is on
// for new associations by the value a fresh socket starts with (the kernel copies it from
// the net.sctp sysctl of the socket's network namespace).
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { codedError, systemError, type CodedError, type SystemError } from './errors';
import { constants, native, type NativeSocket } from './native';

const { ENOPROTOOPT, EPERM } = os.constants.errno;

/** One feature: the option that says the kernel has it and the sysctl that turns it on. */
interface FeatureSpec {
  what: string;
  option: string;
  /** Under net.sctp; null where nothing switches the feature on or off. */
  sysctl: string | null;
  /** Where "on" is read: a fresh socket's value (copied from the sysctl), or the sysctl. */
  enabledBy?: 'value' | 'sysctl';
  /** What the kernel wants when it refuses the option with EPERM. */
  refused?: string;
}

const FEATURES = {
  prSctp: {
    what: 'PR-SCTP policies (RFC 3758, RFC 7496)',
    option: 'SCTP_PR_SUPPORTED',
    sysctl: 'prsctp_enable',
    enabledBy: 'value',
  },
  streamReconfiguration: {
    what: 'stream reconfiguration (RFC 6525)',
    option: 'SCTP_RECONFIG_SUPPORTED',
    sysctl: 'reconf_enable',
    enabledBy: 'value',
  },
  interleaving: {
    what: 'message interleaving, I-DATA (RFC 8260)',
    option: 'SCTP_INTERLEAVING_SUPPORTED',
    sysctl: 'intl_enable',
    // A socket opts in (its value starts at 0); the sysctl decides whether it may.
    enabledBy: 'sysctl',
    refused:
      'the kernel allows it only with `sysctl -w net.sctp.intl_enable=1` and after ' +
      'SCTP_FRAGMENT_INTERLEAVE is set (to any non-zero value) on the socket',
  },
  auth: {
    what: 'authenticated chunks, AUTH (RFC 4895)',
    option: 'SCTP_AUTH_SUPPORTED',
    sysctl: 'auth_enable',
    enabledBy: 'value',
  },
  asconf: {
    what: 'dynamic address reconfiguration, ASCONF (RFC 5061)',
    option: 'SCTP_ASCONF_SUPPORTED',
    sysctl: 'addip_enable',
    enabledBy: 'value',
  },
  ecn: {
    what: 'explicit congestion notification (RFC 9260 appendix A)',
    option: 'SCTP_ECN_SUPPORTED',
    sysctl: 'ecn_enable',
    enabledBy: 'value',
  },
  udpEncapsulation: {
    what: 'UDP encapsulation (RFC 6951)',
    option: 'SCTP_REMOTE_UDP_ENCAPS_PORT',
    sysctl: 'udp_port',
    enabledBy: 'sysctl',
  },
  streamSchedulers: {
    what: 'stream schedulers (RFC 8260)',
    option: 'SCTP_STREAM_SCHEDULER',
    sysctl: null,
  },
  potentiallyFailedState: {
    what: 'the potentially-failed path state (RFC 7829)',
    option: 'SCTP_EXPOSE_POTENTIALLY_FAILED_STATE',
    sysctl: 'pf_enable',
    enabledBy: 'sysctl',
  },
  plpmtud: {
    what: 'packetization-layer path MTU discovery (RFC 8899)',
    option: 'SCTP_PLPMTUD_PROBE_INTERVAL',
    sysctl: 'plpmtud_probe_interval',
    enabledBy: 'sysctl',
  },
} satisfies Record<string, FeatureSpec>;

/**
 * A kernel SCTP feature capabilities() reports on: a key of Capabilities.features.
 *
 * @useDeclaredType
 */
export type Feature = keyof typeof FEATURES;

/** The stream schedulers by the kernel's numbers (enum sctp_sched_type). */
export const SCHEDULERS = [
  'fcfs',
  'priority',
  'round-robin',
  'fair-capacity',
  'weighted-fair',
] as const;
/**
 * A stream scheduler (RFC 8260; SCTP_STREAM_SCHEDULER): see the scheduler option for what
 * each one does. 'fair-capacity' and 'weighted-fair' need Linux 6.3 or later.
 *
 * @useDeclaredType
 */
export type SchedulerName = (typeof SCHEDULERS)[number];

/** The schedulers the kernel accepts, or undefined when it cannot be asked (out of fds). */
export function kernelSchedulers(): readonly SchedulerName[] | undefined {
  try {
    return capabilities().schedulers;
  } catch {
    return undefined;
  }
}

/** The error for a scheduler the kernel refused: what it has instead. */
export function schedulerError(name: SchedulerName): CodedError {
  const has = kernelSchedulers();
  return codedError(
    `the stream scheduler '${name}' is not in the running kernel (${os.release()})` +
      (has ? `, which has ${has.map((s) => `'${s}'`).join(', ') || 'none'}` : '') +
      (name === 'fair-capacity' || name === 'weighted-fair' ? ' (Linux added it in 6.3)' : ''),
    'ERR_SCTP_UNSUPPORTED',
  );
}

/** What capabilities() found out about one feature. */
export interface Capability {
  /** What it is, with its RFC. */
  what: string;
  /** The kernel has it: its socket option exists. */
  supported: boolean;
  /**
   * On in this network namespace (its sysctl): new associations use it unless a socket says
   * otherwise (interleaving: a socket may opt in). null where nothing switches it, false
   * where the kernel lacks it.
   */
  enabled: boolean | null;
  /** The socket option that drives it. */
  option: string;
  /** The sysctl that turns it on for new associations, as `net.sctp.NAME`, if any. */
  sysctl: string | null;
}

/** What capabilities() returns: the running kernel's SCTP, found out by asking it. */
export interface Capabilities {
  /** os.release() of the running kernel. */
  kernel: string;
  /** Each feature: whether the kernel has it, whether it is on, and what drives it. */
  features: Record<Feature, Capability>;
  /** The stream schedulers the kernel accepts, in its own order. */
  schedulers: SchedulerName[];
  /** Every net.sctp sysctl this network namespace has (numbers where they are numbers). */
  sysctls: Record<string, number | string>;
}

const SYSCTL_DIR = '/proc/sys/net/sctp';

function readSysctls(): Record<string, number | string> {
  const out: Record<string, number | string> = {};
  let names: string[] = [];
  try {
    names = readdirSync(SYSCTL_DIR);
  } catch {
    return out; // not mounted here (some containers): the options still answer
  }
  for (const name of names.sort()) {
    const value = readSysctl(name); // undefined: write-only or unreadable, left out
    if (value !== undefined) out[name] = value;
  }
  return out;
}

/** One net.sctp sysctl, or undefined where it cannot be read (no /proc/sys here). */
export function readSysctl(name: string): number | string | undefined {
  try {
    const text = readFileSync(`${SYSCTL_DIR}/${name}`, 'utf8').trim();
    return /^-?\d+$/.test(text) ? Number(text) : text;
  } catch {
    return undefined;
  }
}

/**
 * The error for a feature the kernel has but this network namespace's sysctl keeps off:
 * ERR_SCTP_FEATURE_OFF, with what to turn on (`how`).
 */
export function featureOffError(feature: Feature, how: string): CodedError {
  const spec: FeatureSpec = FEATURES[feature];
  return codedError(
    `${spec.what} is off in this network namespace (net.sctp.${spec.sysctl}): ${how}`,
    'ERR_SCTP_FEATURE_OFF',
  );
}

/** A one-to-many socket to ask, closed by the caller. */
function probeSocket(): NativeSocket {
  const fd = native.socket(constants.AF_INET, constants.SOCK_SEQPACKET);
  if (fd < 0) throw systemError(fd, 'socket');
  try {
    return new native.Socket(fd, constants.AF_INET);
  } catch (err) {
    native.closeFd(fd);
    throw err;
  }
}

let supported: { features: Record<Feature, boolean>; schedulers: SchedulerName[] } | undefined;

/** What the kernel has: found once per process (a kernel does not change under it). */
function kernelSupport(socket: NativeSocket): NonNullable<typeof supported> {
  if (supported) return supported;
  const features = {} as Record<Feature, boolean>;
  for (const [name, spec] of Object.entries(FEATURES) as [Feature, FeatureSpec][]) {
    features[name] = socket.getOption(spec.option) !== -ENOPROTOOPT;
  }
  const schedulers: SchedulerName[] = [];
  if (features.streamSchedulers) {
    SCHEDULERS.forEach((name, value) => {
      if (socket.setOption('SCTP_STREAM_SCHEDULER', { value }) === 0) schedulers.push(name);
    });
  }
  supported = { features, schedulers };
  return supported;
}

/**
 * What the running kernel's SCTP supports and what is on for new associations. What the
 * kernel has is probed once per process; what is enabled and the sysctls are read on each
 * call (they can change at run time).
 */
export function capabilities(): Capabilities {
  const socket = probeSocket();
  try {
    const has = kernelSupport(socket);
    const sysctls = readSysctls();
    const features = {} as Record<Feature, Capability>;
    for (const [name, spec] of Object.entries(FEATURES) as [Feature, FeatureSpec][]) {
      let enabled: boolean | null = null;
      if (!has.features[name]) {
        enabled = false;
      } else if (spec.enabledBy === 'value') {
        const v = socket.getOption(spec.option);
        enabled = typeof v === 'object' && Number(v.value) !== 0;
      } else if (spec.enabledBy === 'sysctl' && spec.sysctl) {
        const v = sysctls[spec.sysctl];
        enabled = v === undefined ? null : Number(v) !== 0;
      }
      features[name] = {
        what: spec.what,
        supported: has.features[name],
        enabled,
        option: spec.option,
        sysctl: spec.sysctl && `net.sctp.${spec.sysctl}`,
      };
    }
    return { kernel: os.release(), features, schedulers: [...has.schedulers], sysctls };
  } finally {
    socket.close();
  }
}

/** The extensions an association's peers agree on in INIT and INIT ACK. */
export type NegotiatedFeature =
  'prSctp' | 'streamReconfiguration' | 'interleaving' | 'auth' | 'asconf' | 'ecn';
const NEGOTIATED: readonly NegotiatedFeature[] = [
  'prSctp',
  'streamReconfiguration',
  'interleaving',
  'auth',
  'asconf',
  'ecn',
];

/**
 * Which extensions an association uses: each one's *_SUPPORTED option, which answers for
 * the peer once the association is up (before, for what this side will offer). A kernel
 * without the feature: false.
 */
export function readNegotiated(
  handle: NativeSocket,
  assocId: number,
): Record<NegotiatedFeature, boolean> {
  const out = {} as Record<NegotiatedFeature, boolean>;
  for (const feature of NEGOTIATED) {
    const option = FEATURES[feature].option;
    const r = handle.getOption(option, { assocId });
    if (r === -ENOPROTOOPT) out[feature] = false;
    else if (typeof r === 'number') throw optionError(r, 'getsockopt', option);
    else out[feature] = Number(r.value) !== 0;
  }
  return out;
}

const FEATURE_OF_OPTION = new Map<string, Feature>(
  (Object.entries(FEATURES) as [Feature, FeatureSpec][]).map(([name, spec]) => [spec.option, name]),
);

/**
 * The error of a getsockopt or setsockopt: a system error as any other, which says what the
 * option is for when the kernel does not know it.
 */
export function optionError(rc: number, syscall: string, option: string): SystemError {
  const err = systemError(rc, syscall);
  const feature = FEATURE_OF_OPTION.get(option);
  if (!feature) return err;
  const spec: FeatureSpec = FEATURES[feature];
  if (rc === -ENOPROTOOPT) {
    err.message +=
      `: ${option} is how ${spec.what} is used, and the running kernel's SCTP does not have ` +
      `it (kernel ${os.release()}; see capabilities())`;
  } else if (rc === -EPERM && spec.refused) {
    err.message += `: ${spec.what}: ${spec.refused}`;
  }
  return err;
}

/**
 * The kernel encapsulates only when it has a UDP port of its own (net.sctp.udp_port, read
 * when a socket is made); without one a remote port would be set and silently unused.
 */
export function checkUdpPort(): void {
  if (readSysctl('udp_port') === 0) {
    throw featureOffError(
      'udpEncapsulation',
      'the kernel sends and receives SCTP in UDP only from the local UDP port that ' +
        'net.sctp.udp_port names, and it is 0; set it before the sockets are made ' +
        '(`sysctl -w net.sctp.udp_port=9899`, the IANA port) on both peers',
    );
  }
}

/**
 * I-DATA and AUTH on one association fail in Linux (seen on 6.1): with DATA in a peer's
 * list of chunks to authenticate, I-DATA goes out unauthenticated and is never delivered;
 * with I-DATA in it, the sender's kernel dereferences a NULL key (sctp_packet_bundle_auth:
 * an I-DATA chunk is marked for AUTH without a key) and oopses, killing the sending process.
 * Since the peer chooses that list, a socket with both could be crashed by any peer: the
 * combination is refused.
 */
export function authWithInterleavingError(): CodedError {
  return codedError(
    'interleaving (I-DATA) cannot be used together with AUTH on this socket (the auth ' +
      'option, or net.sctp.auth_enable=1): the kernel does not authenticate I-DATA chunks ' +
      'correctly, and a peer that asks for them to be authenticated makes it crash ' +
      `(kernel ${os.release()}; see docs/kernel-features.md)`,
    'ERR_SCTP_UNSUPPORTED',
  );
}
