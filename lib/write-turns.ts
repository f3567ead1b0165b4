// Whose turn it is to write on a one-to-many socket. Associations whose queues met EAGAIN
// (and the sends by address) wait here until the kernel takes writes again; then they take
// turns, and one still blocked goes to the back of the line. The stall guard runs from here.
import { readFileSync } from 'node:fs';
import type { Association } from './association';
import { codedError, systemError } from './errors';
import type { Holder } from './holder';
import type { NativeSocket } from './native';
import { SendQueue, type QueuedSend } from './send-queue';

/** Retries of blocked queues where the kernel may not report writable (see wait()). */
const RETRY_MIN_MS = 5;
const RETRY_MAX_MS = 200;

/**
 * Whether the kernel gives each association of a one-to-many socket its own send buffer
 * (net.sctp.sndbuf_policy=1; the kernel reads it when the endpoint is created, this when the
 * endpoint first has to wait: most never do, and an endpoint is cheap to create).
 */
function perAssociationSendBuffers(): boolean {
  try {
    return readFileSync('/proc/sys/net/sctp/sndbuf_policy', 'utf8').trim() === '1';
  } catch {
    return false;
  }
}

export interface TurnsOwner {
  /** The associations of the endpoint, for the stall guard. */
  associations(): Iterable<Association>;
  /** A send by address was taken or refused by the kernel. */
  settleAddressed(item: QueuedSend, err: Error | null): void;
  /** Nothing waits any more. */
  idle(): void;
  /** The socket itself failed (libuv could not poll it). */
  error(err: Error): void;
}

export class WriteTurns {
  /** Sends by address (implicit setup) or to an id that is not an association of ours. */
  readonly addressed: SendQueue;
  private readonly waiting = new Set<Association>();
  private perAssociationBuffersRead: boolean | undefined;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelay = RETRY_MIN_MS;
  private stallTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly holder: Holder,
    private readonly owner: TurnsOwner,
    private readonly stallTimeout: number | undefined,
  ) {
    this.addressed = new SendQueue((item, err) => owner.settleAddressed(item, err));
  }

  private get perAssociationBuffers(): boolean {
    return (this.perAssociationBuffersRead ??= perAssociationSendBuffers());
  }

  /** True while nothing waits for the kernel. */
  get idle(): boolean {
    return this.waiting.size === 0 && this.addressed.length === 0;
  }

  /**
   * An association's queue waits for the kernel. Where all associations share one send
   * buffer (net.sctp.sndbuf_policy=0, the default), the socket turns writable when it has
   * room, and that room is everyone's. With a buffer per association (sndbuf_policy=1) the
   * kernel reports the socket writable only while all of them together use less than one
   * buffer's size: an association that stopped reading can keep that from happening while
   * the others have room. Queues are then also retried on a timer (5 ms doubling to 200 ms
   * while nothing moves).
   */
  wait(a: Association): void {
    this.waiting.add(a);
    this.arm();
  }

  /** A send by address was queued. */
  waitAddressed(item: QueuedSend): void {
    this.addressed.push(item);
    this.arm();
  }

  /** The association is gone (closed, peeled off): it no longer waits. */
  leave(a: Association): void {
    this.waiting.delete(a);
  }

  private arm(watch = true): void {
    const handle = this.holder.handle;
    if (!handle) return;
    if (watch) {
      const rc = handle.setWatchWritable(true);
      if (rc < 0) this.owner.error(systemError(rc, 'uv_poll_start'));
    }
    if ((this.perAssociationBuffers || !watch) && !this.retryTimer) {
      this.retryTimer = this.holder.timer(this.retryDelay, () => {
        this.retryTimer = null;
        this.flush(false);
      });
    }
    if (this.stallTimeout && !this.stallTimer && !this.idle) {
      this.stallTimer = this.holder.timer(this.stallInterval(), () => this.checkStalls());
    }
  }

  /**
   * The kernel may take writes again (`writable`: it said so; else a retry): each waiting
   * association in turn hands it its queue. One that is still blocked goes to the back of
   * the line; with a shared send buffer the first blocked one means the buffer is full for
   * all, so the turn ends there.
   */
  flush(writable: boolean): void {
    const handle = this.holder.handle;
    if (!handle) return;
    let moved = false;
    if (this.addressed.length > 0) {
      const before = this.addressed.length;
      this.addressed.flush(handle);
      moved = this.addressed.length < before;
    }
    const drained: Association[] = [];
    for (const a of [...this.waiting]) {
      if (!this.waiting.delete(a)) continue;
      const before = a.queue.length;
      const empty = a.flush(handle);
      moved ||= a.queue.length < before;
      if (empty) {
        drained.push(a);
        continue;
      }
      this.waiting.add(a);
      if (!this.perAssociationBuffers) break;
    }
    if (!this.idle) {
      this.retryDelay = moved ? RETRY_MIN_MS : Math.min(this.retryDelay * 2, RETRY_MAX_MS);
      // A writable socket that took nothing (memory pressure) would wake us at once, again
      // and again: retry on the timer instead.
      this.arm(moved || !writable);
    } else {
      this.retryTimer = this.holder.clearTimer(this.retryTimer);
      this.retryDelay = RETRY_MIN_MS;
    }
    for (const a of drained) a.drained();
    if (this.idle) this.owner.idle();
  }

  private stallInterval(): number {
    return Math.max(10, Math.min(1000, this.stallTimeout! / 4));
  }

  /**
   * The stall guard, run while queues wait. An association is stuck when its peer's window
   * is closed on our unacknowledged data (SCTP_STATUS: rwnd 0, unacked chunks) and no new
   * data chunk has gone out to it since the last look (SCTP_GET_ASSOC_STATS): a peer that
   * reads slowly reopens its window and gets new chunks, one that does not read never does.
   * Stuck for stallTimeout, it is aborted. With one send buffer for all associations
   * (net.sctp.sndbuf_policy=0) the stuck one may have nothing queued here: its data in the
   * kernel fills the buffer the waiting ones need. With a buffer each, only an association
   * that is itself waiting is looked at (a stuck one that waits for nothing blocks no one).
   * An association that waits with nothing in the kernel is never blamed. The associations
   * are looked at only once some queue has not moved for a quarter of stallTimeout.
   */
  private checkStalls(): void {
    this.stallTimer = null;
    const handle = this.holder.handle;
    if (!handle) return;
    const limit = this.stallTimeout!;
    const now = Date.now();
    const quiet = (movedAt: number) => now - movedAt >= this.stallInterval();
    const blocked =
      (this.addressed.length > 0 && quiet(this.addressed.movedAt)) ||
      [...this.waiting].some((a) => quiet(a.queue.movedAt));
    if (blocked) {
      const candidates = this.perAssociationBuffers ? this.waiting : this.owner.associations();
      for (const a of [...candidates]) this.look(handle, a, now, limit);
    }
    if (!this.idle) this.arm(false);
  }

  /** One association, for the stall guard (see checkStalls). */
  private look(handle: NativeSocket, a: Association, now: number, limit: number): void {
    const status = handle.getOption('SCTP_STATUS', { assocId: a.id });
    const stuck =
      typeof status === 'object' &&
      (status.unackedData as number) > 0 &&
      (status.rwnd as number) === 0;
    const stats = stuck ? handle.getOption('SCTP_GET_ASSOC_STATS', { assocId: a.id }) : null;
    const sent =
      typeof stats === 'object' && stats !== null
        ? (stats.outOrderedChunks as number) + (stats.outUnorderedChunks as number)
        : -1;
    if (!stuck || sent !== a.stall.sent) {
      a.stall = { since: now, sent: stuck ? sent : -1 };
      return;
    }
    if (now - a.stall.since < limit) return;
    a.fail(
      codedError(
        `Association ${a.id}: its peer has kept its receive window closed on ` +
          `${status.unackedData as number} unacknowledged chunks for ${limit} ms, and nothing new ` +
          'went to it (it is not reading); aborted',
        'ERR_SCTP_STALLED',
      ),
    );
  }

  /** The socket closed: what is still queued by address fails with the error `why()` makes. */
  close(why: () => Error): void {
    this.retryTimer = this.stallTimer = null; // the holder cleared them
    this.waiting.clear();
    this.addressed.clear(why);
  }
}
