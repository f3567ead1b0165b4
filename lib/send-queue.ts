// The messages of one association (or one one-to-one socket) that the kernel could not take
// yet, in order. Socket, Association and Endpoint all queue through this one mechanism: try
// the syscall first, queue only on EAGAIN, and on writable hand what is queued over in
// sendmmsg batches.
import os from 'node:os';
import { systemError, type SystemError } from './errors';
import { sendMany, sendMessage, type ResolvedSend } from './handle';
import { SEND_BATCH, type NativeSocket } from './native';

const { EAGAIN, EMSGSIZE } = os.constants.errno;

/**
 * Told how a send ended: no error once the kernel took the message (which is not delivery
 * to the peer), the error when it failed. On an endpoint a failure given to a callback goes
 * nowhere else; on a Socket a failed send also destroys the socket.
 */
export type SendCallback = (err?: Error | null) => void;

export interface Destination {
  host: string;
  port: number;
}

export interface QueuedSend {
  data: Buffer;
  send: ResolvedSend;
  assocId: number;
  /** A peer address (one-to-many): the kernel sets up an association if none exists. */
  to?: Destination;
  callback?: SendCallback;
}

/** The error for a message the kernel refused (-errno), with what to do about EMSGSIZE. */
export function sendError(rc: number, item: QueuedSend, handle: NativeSocket | null): SystemError {
  const err = systemError(rc, 'sendmsg', item.to && { address: item.to.host, port: item.to.port });
  if (rc === -EMSGSIZE) {
    const so = handle?.getOption('SO_SNDBUF');
    const buffer = typeof so === 'object' ? ` (${so.value as number} bytes)` : '';
    err.message =
      `sendmsg EMSGSIZE: a message of ${item.data.length} bytes does not fit the socket's send buffer${buffer}; ` +
      'raise the sendBufferSize option (capped by net.core.wmem_max unless the process has CAP_NET_ADMIN)';
  }
  return err;
}

/**
 * Hands one message to the kernel unless it must queue: the bytes it took, or -errno
 * (-EAGAIN: queue it).
 */
export function sendNow(handle: NativeSocket, item: QueuedSend): number {
  return sendMessage(handle, item.data, item.send, item.assocId, item.to);
}

export class SendQueue {
  private items: (QueuedSend | undefined)[] = [];
  private head = 0;
  /** Payload bytes queued. */
  bytes = 0;
  /** When the kernel last took a message of this queue, or when it started waiting: the stall guard's clock. */
  movedAt = 0;

  /**
   * `settle` is called once per message, after the kernel took it (null) or refused it
   * (its error), and never while flush() is still walking the queue.
   */
  constructor(private readonly settle: (item: QueuedSend, err: Error | null) => void) {}

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: QueuedSend): void {
    if (this.length === 0) this.movedAt = Date.now();
    this.items.push(item);
    this.bytes += item.data.length;
  }

  /**
   * Hands queued messages to the kernel, consecutive ones without a destination address in
   * one sendmmsg, until the queue is empty (true) or the kernel's buffer is full (false). A
   * message the kernel refuses is settled with its error, and the ones after it go on.
   */
  flush(handle: NativeSocket): boolean {
    if (this.length === 1) return this.flushOne(handle); // the usual case, without the batch's arrays
    const settled: [QueuedSend, Error | null][] = [];
    let blocked = false;
    while (this.head < this.items.length) {
      let run = 0;
      while (
        run < SEND_BATCH &&
        this.head + run < this.items.length &&
        !this.items[this.head + run]!.to
      ) {
        run++;
      }
      if (run > 1) {
        const at = (i: number) => this.items[this.head + i]!;
        const n = sendMany(
          handle,
          run,
          (i) => at(i).data,
          (i) => at(i).send,
          (i) => at(i).assocId,
        );
        if (n === -EAGAIN) {
          blocked = true;
          break;
        }
        for (let i = 0; i < n; i++) settled.push([this.take(), null]);
        if (n > 0) continue;
        // The first one failed: sent alone below, which reports its error.
      }
      const item = this.items[this.head]!;
      const rc = sendNow(handle, item);
      if (rc === -EAGAIN) {
        blocked = true;
        break;
      }
      settled.push([this.take(), rc < 0 ? sendError(rc, item, handle) : null]);
    }
    if (settled.length > 0) this.movedAt = Date.now();
    this.compact();
    for (const [item, err] of settled) this.settle(item, err);
    return !blocked;
  }

  private flushOne(handle: NativeSocket): boolean {
    const item = this.items[this.head]!;
    const rc = sendNow(handle, item);
    if (rc === -EAGAIN) return false;
    this.take();
    this.movedAt = Date.now();
    this.compact();
    this.settle(item, rc < 0 ? sendError(rc, item, handle) : null);
    return true;
  }

  /** Removes every queued message and returns them in order (they move elsewhere). */
  takeAll(): QueuedSend[] {
    const rest = this.items.slice(this.head) as QueuedSend[];
    this.items = [];
    this.head = 0;
    this.bytes = 0;
    return rest;
  }

  /**
   * Settles every queued message with the error `why()` makes (the association or socket is
   * gone). Made only when something is queued: an Error's stack costs more than the rest of
   * a teardown.
   */
  clear(why: () => Error): void {
    if (this.length === 0) return;
    const err = why();
    for (const item of this.takeAll()) this.settle(item, err);
  }

  private take(): QueuedSend {
    const item = this.items[this.head]!;
    this.items[this.head++] = undefined; // let it be collected
    this.bytes -= item.data.length;
    return item;
  }

  private compact(): void {
    if (this.head === this.items.length) {
      this.items.length = this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
  }
}
