// What every owner of a native socket (Socket, Server, Endpoint) does the same way: it holds
// the handle and its read-info array, dispatches the handle's events to its own methods,
// applies ref()/unref() to the handle and to every timer it starts, and closes the fd once,
// gracefully or with an ABORT.
import { socketClosed } from './errors';
import { EventKind, native, type NativeSocket } from './native';

export interface HandleEvents {
  /** A read batch (see INFO_STRIDE): forEachEntry() walks it. */
  read?(count: number, pool: ArrayBuffer | undefined, offset: number, extras?: unknown[]): void;
  writable?(): void;
  /** 0, or -errno: the outcome of a non-blocking one-to-one connect. */
  connect?(rc: number): void;
  accept?(fds: number[]): void;
  /** The kernel reported end of file (one-to-one). */
  end?(): void;
  /** -errno of a failed read or accept. */
  error?(rc: number): void;
}

export class Holder {
  handle: NativeSocket | null = null;
  private unrefed = false;
  /** Every timer started, and whether it keeps the process alive when the handle does. */
  private readonly timers = new Map<NodeJS.Timeout, boolean>();

  constructor(private readonly events: HandleEvents) {}

  /** Wraps an open fd; the handle owns it from here on. */
  open(fd: number, family: number): NativeSocket {
    const handle = new native.Socket(fd, family);
    this.handle = handle;
    handle.setEventHandler((kind, value, pool, extras, offset) =>
      this.dispatch(kind, value, pool, extras, offset),
    );
    if (this.unrefed) handle.unref();
    return handle;
  }

  /** The handle, or ERR_SOCKET_CLOSED. */
  live(): NativeSocket {
    if (!this.handle) throw socketClosed();
    return this.handle;
  }

  private dispatch(
    kind: EventKind,
    value: unknown,
    pool?: ArrayBuffer,
    extras?: unknown[],
    offset?: number,
  ): void {
    const e = this.events;
    switch (kind) {
      case EventKind.Read:
        return e.read?.(value as number, pool, offset ?? 0, extras);
      case EventKind.Writable:
        return e.writable?.();
      case EventKind.Connect:
        return e.connect?.(value as number);
      case EventKind.Accept:
        return e.accept?.(value as number[]);
      case EventKind.End:
        return e.end?.();
      case EventKind.Error:
        return e.error?.(value as number);
    }
  }

  /**
   * A timer that follows ref()/unref() and is cleared when the handle closes. With
   * `keepsAlive` false it never keeps the process alive (as a pending end() does not).
   */
  timer(ms: number, fn: () => void, keepsAlive = true): NodeJS.Timeout {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    if (this.unrefed || !keepsAlive) t.unref();
    this.timers.set(t, keepsAlive);
    return t;
  }

  clearTimer(t: NodeJS.Timeout | null): null {
    if (t) {
      clearTimeout(t);
      this.timers.delete(t);
    }
    return null;
  }

  ref(): void {
    this.unrefed = false;
    this.handle?.ref();
    for (const [t, keepsAlive] of this.timers) if (keepsAlive) t.ref();
  }

  unref(): void {
    this.unrefed = true;
    this.handle?.unref();
    for (const t of this.timers.keys()) t.unref();
  }

  /**
   * Closes the fd once (later calls do nothing) and clears every timer. With `abort`, the
   * kernel ABORTs every association still open (SO_LINGER {1, 0}) instead of shutting it down.
   */
  close(abort: boolean): void {
    for (const t of this.timers.keys()) clearTimeout(t);
    this.timers.clear();
    const handle = this.handle;
    if (!handle) return;
    this.handle = null;
    if (abort) handle.setOption('SO_LINGER', { onoff: 1, linger: 0 });
    handle.setEventHandler(undefined);
    handle.close();
  }
}
