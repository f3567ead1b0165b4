/**
 * kernel-sctp/rserpool: Reliable Server Pooling (RFC 5351) over kernel-sctp: ASAP's pool
 * element and pool user, with failover sessions, interoperating with RSPLIB's registrar
 * (docs/rserpool.md).
 * @packageDocumentation
 * @module kernel-sctp/rserpool
 */
// The ASAP codec (./asap) is internal: plain functions that the tests and fuzzing use.
export { createPoolElement, PoolElement, PoolElementSession } from './pool-element';
export type { PoolElementOptions, Registration } from './pool-element';
export { createPoolUser, PoolUser, PoolUserSession } from './pool-user';
export type { Failover, PoolUserOptions, PoolUserSessionOptions } from './pool-user';
export type {
  AnnounceOptions,
  RegistrarAddress,
  RegistrarOptions,
  RserpoolError,
} from './registrar';
export { ASAP_PORT, ASAP_PPID } from './asap';
export type { Policy, PolicyName, PoolElementParameter, Transport } from './asap';
