// Path management for one association: the state of each path to the peer, the primary
// path (ours and the peer's), local addresses added and removed while it is up (ASCONF),
// per-path heartbeat/retransmission/MTU parameters and the association's RTO bounds.
// Socket and Association expose one of these as `.paths`.
import os from 'node:os';
import { checkUdpPort, optionError } from './capabilities';
import { invalidArgValue, systemError } from './errors';
import {
  getOption,
  pathState,
  readAddresses,
  setOption,
  toAddressInfo,
  type AddressInfo,
  type PathInfo,
} from './handle';
import { constants, type NativeAddress, type NativeSocket } from './native';
import { validateAddresses, validateBoolean, validateInteger, validateObject } from './validate';

/**
 * Per-path parameters (SCTP_PEER_ADDR_PARAMS, and SCTP_PEER_ADDR_THLDS_V2 and
 * SCTP_PLPMTUD_PROBE_INTERVAL where the kernel has them: absent otherwise).
 */
export interface PathParameters {
  /** Heartbeats on this path (or on every path when no address is given). */
  heartbeat: boolean;
  /** Milliseconds between heartbeats on an idle path (added to the path's RTO). */
  heartbeatInterval: number;
  /** Retransmissions before the path is considered unreachable (Path.Max.Retrans). */
  maxRetransmissions: number;
  /** Path MTU discovery on; when off, `mtu` is fixed. */
  mtuDiscovery: boolean;
  /** Path MTU, bytes (spp_pathmtu); setting it (512 .. 65535) turns discovery off. */
  mtu: number;
  /** Delayed SACK timeout, ms. */
  sackDelay: number;
  /**
   * Retransmissions after which the path is potentially failed (RFC 7829): new data goes
   * to another path while this one is probed. Default net.sctp.pf_retrans (0); at most
   * primaryChangeThreshold.
   */
  potentiallyFailedThreshold?: number;
  /**
   * Retransmissions on the primary path after which the kernel makes another path the
   * primary (primary path switchover). Default net.sctp.ps_retrans (65535: never).
   */
  primaryChangeThreshold?: number;
  /**
   * Packetization-layer PMTU discovery (RFC 8899): ms between probes, at least 5000; 0
   * (default, net.sctp.plpmtud_probe_interval): off.
   */
  probeInterval?: number;
}

/** What a socket's associations start every path with (the `pathDefaults` option). */
export type PathDefaults = Partial<Omit<PathParameters, 'sackDelay'>>;

/** Association-wide retransmission parameters (SCTP_RTOINFO, SCTP_ASSOCINFO). */
export interface RetransmissionParameters {
  /** RTO.Initial, RTO.Min, RTO.Max in milliseconds. */
  rtoInitial: number;
  /** RTO.Min, ms: the retransmission timeout never goes below it (srto_min). */
  rtoMin: number;
  /** RTO.Max, ms: the retransmission timeout never goes above it, backoff included (srto_max). */
  rtoMax: number;
  /** Association.Max.Retrans: retransmissions over all paths before the association is lost. */
  maxRetransmissions: number;
}

const { ENOPROTOOPT } = os.constants.errno;

/**
 * Path management of one association (`socket.paths`, `association.paths`): each path's
 * state and parameters, the primary path, local addresses added and removed while it is up
 * (ASCONF), heartbeats, UDP encapsulation and the retransmission bounds. Methods throw
 * ERR_SOCKET_CLOSED once the socket is closed, ERR_INVALID_ARG_VALUE for an address that is
 * not one of the association's, and the kernel's system error when it refuses an option.
 */
export class Paths {
  /** @internal */
  constructor(
    private readonly handle: () => NativeSocket,
    private readonly assocId: () => number,
  ) {}

  /** Every path to the peer (one per peer address), with its state and congestion figures. */
  list(): PathInfo[] {
    return readAddresses(this.handle(), true, this.assocId()).map((a) => this.info(a));
  }

  /** One path, by the peer's address. */
  get(address: string): PathInfo {
    return this.info(this.peer(address));
  }

  /** The path the kernel sends new data on. */
  primary(): PathInfo {
    const p = getOption(this.handle(), 'SCTP_PRIMARY_ADDR', undefined, this.assocId());
    return this.info(toAddressInfo(p.address as NativeAddress));
  }

  /** Makes the path to this peer address the primary one for our sending. */
  setPrimary(address: string): void {
    const peer = this.peer(address);
    setOption(this.handle(), 'SCTP_PRIMARY_ADDR', { address: peer }, this.assocId());
  }

  /**
   * Asks the peer to send to this local address of ours by preference (an ASCONF
   * SET_PRIMARY: both ends need net.sctp.addip_enable=1).
   */
  setPeerPrimary(localAddress: string): void {
    const local = this.local(localAddress);
    setOption(this.handle(), 'SCTP_SET_PEER_PRIMARY_ADDR', { address: local }, this.assocId());
  }

  /**
   * Binds more local addresses while associations are up; the kernel tells peers with
   * ASCONF (net.sctp.addip_enable=1 on both ends, see docs/multihoming.md).
   */
  addLocal(address: string | string[]): void {
    this.bindx(validateAddresses(address, 'address'), false);
  }

  /** Removes local addresses (ASCONF DELETE IP); the last one cannot be removed. */
  removeLocal(address: string | string[]): void {
    this.bindx(validateAddresses(address, 'address'), true);
  }

  /** Sends a HEARTBEAT on this path now (e.g. to confirm it after a repair). */
  heartbeat(address: string): void {
    setOption(
      this.handle(),
      'SCTP_PEER_ADDR_PARAMS',
      { address: this.peer(address), flags: constants.SPP_HB_DEMAND },
      this.assocId(),
    );
  }

  /**
   * UDP encapsulation (RFC 6951): sends this association's packets, on every path or on the
   * one to `address`, inside UDP to the peer's `port` (0: no longer encapsulated). This
   * side's kernel must have a UDP port too (net.sctp.udp_port). The kernel uses the value
   * the sysctl had when the socket was made; the check here reads it now, so a change of
   * the sysctl in between is not seen. See docs/kernel-features.md.
   */
  setEncapsulationPort(port: number, address?: string): void {
    const value: Record<string, unknown> = {
      port: validateInteger(port, 'port', 0, 65535),
    };
    if (address !== undefined) value.address = this.peer(address);
    if (value.port !== 0) checkUdpPort();
    setOption(this.handle(), 'SCTP_REMOTE_UDP_ENCAPS_PORT', value, this.assocId());
  }

  /** The peer's UDP encapsulation port of the association or of one path (0: none). */
  encapsulationPort(address?: string): number {
    const input = address === undefined ? {} : { address: this.peer(address) };
    return getOption(this.handle(), 'SCTP_REMOTE_UDP_ENCAPS_PORT', input, this.assocId())
      .port as number;
  }

  /** The parameters of one path, or the association's defaults for new paths. */
  parameters(address?: string): PathParameters {
    const input = address === undefined ? {} : { address: this.peer(address) };
    const p = getOption(this.handle(), 'SCTP_PEER_ADDR_PARAMS', input, this.assocId());
    const flags = p.flags as number;
    return {
      heartbeat: (flags & constants.SPP_HB_ENABLE) !== 0,
      heartbeatInterval: p.heartbeatInterval as number,
      maxRetransmissions: p.pathMaxRetransmissions as number,
      mtuDiscovery: (flags & constants.SPP_PMTUD_ENABLE) !== 0,
      mtu: p.pathMtu as number,
      sackDelay: p.sackDelay as number,
      ...this.extraParameters(input),
    };
  }

  /** The thresholds and the PLPMTUD interval, each where the kernel has its option. */
  private extraParameters(input: { address?: AddressInfo }): Partial<PathParameters> {
    const out: Partial<PathParameters> = {};
    const t = this.optional('SCTP_PEER_ADDR_THLDS_V2', input);
    if (t) {
      out.potentiallyFailedThreshold = t.potentiallyFailedThreshold as number;
      out.primaryChangeThreshold = t.primaryChangeThreshold as number;
    }
    const probe = this.optional('SCTP_PLPMTUD_PROBE_INTERVAL', input);
    if (probe) out.probeInterval = probe.interval as number;
    return out;
  }

  private optional(name: string, input: object): Record<string, unknown> | null {
    const r = this.handle().getOption(name, { assocId: this.assocId(), ...input });
    if (r === -ENOPROTOOPT) return null;
    if (typeof r === 'number') throw optionError(r, 'getsockopt', name);
    return r;
  }

  /** Changes parameters of one path (`address`) or of every path. Unset fields stay. */
  configure(options: Partial<PathParameters> & { address?: string }): void {
    validateObject(options, 'options');
    const address = options.address === undefined ? undefined : this.peer(options.address);
    const resolved = resolvePathParameters(options, 'options');
    setPathParameters(this.handle(), this.assocId(), resolved, address, 'options');
  }

  /** The association's RTO bounds and Association.Max.Retrans (SCTP_RTOINFO, SCTP_ASSOCINFO). */
  retransmission(): RetransmissionParameters {
    const rto = getOption(this.handle(), 'SCTP_RTOINFO', undefined, this.assocId());
    const assoc = getOption(this.handle(), 'SCTP_ASSOCINFO', undefined, this.assocId());
    return {
      rtoInitial: rto.initial as number,
      rtoMin: rto.min as number,
      rtoMax: rto.max as number,
      maxRetransmissions: assoc.maxRetransmissions as number,
    };
  }

  /** Sets RTO bounds and Association.Max.Retrans; unset fields stay. */
  setRetransmission(options: Partial<RetransmissionParameters>): void {
    const resolved = resolveRetransmission(options, 'options');
    setRetransmission(this.handle(), this.assocId(), resolved);
  }

  private info(address: AddressInfo): PathInfo {
    const p = getOption(this.handle(), 'SCTP_GET_PEER_ADDR_INFO', { address }, this.assocId());
    return {
      address,
      state: pathState(p.state as number),
      cwnd: p.cwnd as number,
      srtt: p.srtt as number,
      rto: p.rto as number,
      mtu: p.mtu as number,
    };
  }

  /** The peer address (with the peer's port, which the kernel matches too). */
  private peer(address: string): AddressInfo {
    return this.find(readAddresses(this.handle(), true, this.assocId()), address, 'a peer');
  }

  private local(address: string): AddressInfo {
    return this.find(readAddresses(this.handle(), false, this.assocId()), address, 'a local');
  }

  private find(list: AddressInfo[], address: string, what: string): AddressInfo {
    const [host] = validateAddresses(address, 'address');
    const found = list.find((a) => a.address === host);
    if (!found) {
      throw invalidArgValue(
        'address',
        address,
        `is not ${what} address of this association (${list.map((a) => a.address).join(', ')})`,
      );
    }
    return found;
  }

  private bindx(hosts: string[], remove: boolean): void {
    const handle = this.handle();
    const port = readAddresses(handle, false, 0)[0]?.port ?? 0;
    const rc = handle.bindx(hosts, port, remove);
    if (rc < 0) throw systemError(rc, 'setsockopt', { address: hosts, port });
  }
}

/** Path parameters checked and in the kernel's terms, before anything is written. */
export interface ResolvedPathParameters {
  /** SCTP_PEER_ADDR_PARAMS fields, flags included. */
  params: Record<string, number>;
  potentiallyFailedThreshold?: number;
  primaryChangeThreshold?: number;
  probeInterval?: number;
}

/** Checks path parameters (`name` prefixes the errors); no I/O. */
export function resolvePathParameters(
  options: Partial<PathParameters>,
  name: string,
): ResolvedPathParameters {
  validateObject(options, name);
  const params: Record<string, number> = {};
  let flags = 0;
  if (options.heartbeat === false && options.heartbeatInterval !== undefined) {
    throw invalidArgValue(
      `${name}.heartbeatInterval`,
      options.heartbeatInterval,
      'turns heartbeats on, and heartbeat is false',
    );
  }
  if (options.mtuDiscovery === true && options.mtu !== undefined) {
    throw invalidArgValue(`${name}.mtu`, options.mtu, 'fixes the MTU, and mtuDiscovery is true');
  }
  if (options.heartbeat !== undefined) {
    validateBoolean(options.heartbeat, `${name}.heartbeat`);
    flags |= options.heartbeat ? constants.SPP_HB_ENABLE : constants.SPP_HB_DISABLE;
  }
  if (options.heartbeatInterval !== undefined) {
    params.heartbeatInterval = validateInteger(
      options.heartbeatInterval,
      `${name}.heartbeatInterval`,
      1,
      2 ** 32 - 1,
    );
    flags |= constants.SPP_HB_ENABLE;
  }
  if (options.maxRetransmissions !== undefined) {
    params.pathMaxRetransmissions = validateInteger(
      options.maxRetransmissions,
      `${name}.maxRetransmissions`,
      1,
      65535,
    );
  }
  if (options.mtuDiscovery !== undefined) {
    validateBoolean(options.mtuDiscovery, `${name}.mtuDiscovery`);
    flags |= options.mtuDiscovery ? constants.SPP_PMTUD_ENABLE : constants.SPP_PMTUD_DISABLE;
  }
  if (options.mtu !== undefined) {
    params.pathMtu = validateInteger(options.mtu, `${name}.mtu`, 512, 65535);
    flags |= constants.SPP_PMTUD_DISABLE; // a fixed MTU
  }
  if (options.sackDelay !== undefined) {
    params.sackDelay = validateInteger(options.sackDelay, `${name}.sackDelay`, 1, 500);
    flags |= constants.SPP_SACKDELAY_ENABLE;
  }
  params.flags = flags;
  const out: ResolvedPathParameters = { params };
  const pf = options.potentiallyFailedThreshold;
  const ps = options.primaryChangeThreshold;
  if (pf !== undefined) {
    out.potentiallyFailedThreshold = validateInteger(
      pf,
      `${name}.potentiallyFailedThreshold`,
      0,
      65535,
    );
  }
  if (ps !== undefined) {
    out.primaryChangeThreshold = validateInteger(ps, `${name}.primaryChangeThreshold`, 0, 65535);
  }
  if (pf !== undefined && ps !== undefined && pf > ps) throw thresholdsError(name, pf, ps);
  const probe = options.probeInterval;
  if (probe !== undefined) {
    out.probeInterval =
      probe === 0 ? 0 : validateInteger(probe, `${name}.probeInterval`, 5000, 2 ** 32 - 1);
  }
  return out;
}

function thresholdsError(name: string, pf: number, ps: number): Error {
  return invalidArgValue(
    `${name}.potentiallyFailedThreshold`,
    pf,
    `must not be above primaryChangeThreshold (${ps})`,
  );
}

/**
 * Writes checked path parameters: for one peer `address`, or for every path of the
 * association (assocId 0 on a socket without one: the defaults its associations start with).
 */
export function setPathParameters(
  handle: NativeSocket,
  assocId: number,
  resolved: ResolvedPathParameters,
  address: AddressInfo | undefined,
  name: string,
): void {
  const { params, probeInterval: probe } = resolved;
  // A kernel without PLPMTUD says so now, before anything else is written.
  if (probe !== undefined) getOption(handle, 'SCTP_PLPMTUD_PROBE_INTERVAL', {}, assocId);
  const where = address === undefined ? {} : { address };
  let thresholds: Record<string, number> | null = null;
  const { potentiallyFailedThreshold: pf, primaryChangeThreshold: ps } = resolved;
  if (pf !== undefined || ps !== undefined) {
    // The kernel writes both thresholds each time: the one not given is kept by reading it.
    const now = getOption(handle, 'SCTP_PEER_ADDR_THLDS_V2', where, assocId);
    const pfValue = pf ?? (now.potentiallyFailedThreshold as number);
    const psValue = ps ?? (now.primaryChangeThreshold as number);
    if (pfValue > psValue) throw thresholdsError(name, pfValue, psValue);
    thresholds = { potentiallyFailedThreshold: pfValue, primaryChangeThreshold: psValue };
  }
  if (Object.keys(params).length > 1 || params.flags !== 0) {
    setOption(handle, 'SCTP_PEER_ADDR_PARAMS', { ...where, ...params }, assocId);
  }
  if (thresholds) {
    setOption(handle, 'SCTP_PEER_ADDR_THLDS_V2', { ...where, ...thresholds }, assocId);
  }
  if (probe !== undefined) {
    setOption(handle, 'SCTP_PLPMTUD_PROBE_INTERVAL', { ...where, interval: probe }, assocId);
  }
}

/** Retransmission parameters checked: RTO fields 0 where not given (the kernel keeps those). */
export interface ResolvedRetransmission {
  rto: { initial: number; min: number; max: number };
  maxRetransmissions?: number;
}

/** Checks retransmission parameters (`name` prefixes the errors); no I/O. */
export function resolveRetransmission(
  options: Partial<RetransmissionParameters>,
  name: string,
): ResolvedRetransmission {
  validateObject(options, name);
  const ms = (key: 'rtoInitial' | 'rtoMin' | 'rtoMax') =>
    options[key] === undefined
      ? 0
      : validateInteger(options[key], `${name}.${key}`, 1, 2 ** 32 - 1);
  const out: ResolvedRetransmission = {
    rto: { initial: ms('rtoInitial'), min: ms('rtoMin'), max: ms('rtoMax') },
  };
  const { min, max } = out.rto;
  if (min && max && min > max) {
    throw invalidArgValue(`${name}.rtoMin`, min, `must not be above rtoMax (${max})`);
  }
  if (options.maxRetransmissions !== undefined) {
    out.maxRetransmissions = validateInteger(
      options.maxRetransmissions,
      `${name}.maxRetransmissions`,
      1,
      65535,
    );
  }
  return out;
}

/** Writes checked retransmission parameters (assocId 0: the socket's associations to come). */
export function setRetransmission(
  handle: NativeSocket,
  assocId: number,
  { rto, maxRetransmissions }: ResolvedRetransmission,
): void {
  if (rto.initial || rto.min || rto.max) setOption(handle, 'SCTP_RTOINFO', rto, assocId);
  if (maxRetransmissions !== undefined) {
    setOption(handle, 'SCTP_ASSOCINFO', { maxRetransmissions }, assocId);
  }
}
