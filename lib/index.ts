/**
 * kernel-sctp: SCTP sockets for Node.js on the Linux kernel's SCTP stack.
 * @packageDocumentation
 * @module kernel-sctp
 */
export { connect, Socket } from './socket';
export type {
  Abandoned,
  AbandonedCount,
  AddressInfo,
  ConnectOptions,
  MessageInfo,
  PartialReliability,
  PathInfo,
  PrPolicy,
  SendOptions,
  SocketOptions,
  Status,
  StreamCounts,
} from './socket';
export { createServer, Server } from './server';
export type { DroppedConnection, ListenOptions, ServerAddress, ServerOptions } from './server';
export { Association } from './association';
export type { AssociationState, EndpointMessageInfo } from './association';
export { createEndpoint, Endpoint } from './endpoint';
export type {
  DroppedAssociation,
  EndpointConnectOptions,
  EndpointOptions,
  EndpointSendOptions,
  EndpointStats,
} from './endpoint';
export { capabilities } from './capabilities';
export type {
  Capabilities,
  Capability,
  Feature,
  NegotiatedFeature,
  SchedulerName,
} from './capabilities';
export type {
  AddStreamsOptions,
  ReconfigurationError,
  ResetDirection,
  ResetStreamsOptions,
  StreamCountsAfter,
  StreamReconfiguration,
  StreamReconfigurationOptions,
} from './reconfig';
export { AuthKeys } from './auth';
export type { AuthOptions, ChunkName, HmacName } from './auth';
export type {
  AssociationSettings,
  Settings,
  SocketSettings,
  SocketSettingsChange,
} from './settings';
export type { SendCallback } from './send-queue';
export type { NativeAddress } from './native';
export type { AssociationStats, SendDefaultsChange } from './handle';
export { createProxy, SctpProxy } from './proxy';
export type {
  Backend,
  BackendChooser,
  BackendOptions,
  BackendStatus,
  ProxyClient,
  ProxyOptions,
  ProxyPairStatus,
  ProxyPolicy,
  ProxyStatus,
  RelayCounters,
} from './proxy';
export { Paths } from './paths';
export type { PathDefaults, PathParameters, RetransmissionParameters } from './paths';
export type * from './notifications';
export type { SystemError } from './errors';
import { native } from './native';

/** True when the running kernel can open SCTP sockets. */
export function isSupported(): boolean {
  return native.probe() === 0;
}
