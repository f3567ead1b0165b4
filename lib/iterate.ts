// Async iteration over an event source with backpressure: when the consumer falls
// `highWaterMark` items behind, the source is paused (reading from the kernel stops and the
// peers' windows close) until it has caught up by half.

export interface Flow {
  pause(): void;
  resume(): void;
}

/**
 * `subscribe(push, end)` starts delivering items and returns an unsubscribe function;
 * `end(err)` finishes the iteration (throwing `err` after the buffered items, if given).
 */
export async function* iterate<T>(
  subscribe: (push: (item: T) => void, end: (err?: Error) => void) => () => void,
  flow: Flow,
  highWaterMark: number,
): AsyncGenerator<T, void, undefined> {
  const buffer: T[] = [];
  let head = 0;
  let finished = false;
  let failure: Error | undefined;
  let paused = false;
  let wake: (() => void) | null = null;
  const unsubscribe = subscribe(
    (item) => {
      buffer.push(item);
      if (!paused && buffer.length - head >= highWaterMark) {
        paused = true;
        flow.pause();
      }
      wake?.();
    },
    (err) => {
      finished = true;
      failure = err;
      wake?.();
    },
  );
  try {
    for (;;) {
      if (head < buffer.length) {
        const item = buffer[head]!;
        buffer[head++] = undefined as T; // let it be collected
        if (head === buffer.length) {
          buffer.length = head = 0;
        } else if (head > 1024 && head * 2 > buffer.length) {
          buffer.splice(0, head); // a consumer that stays behind must not grow it forever
          head = 0;
        }
        if (paused && buffer.length - head <= highWaterMark / 2) {
          paused = false;
          flow.resume();
        }
        yield item;
        continue;
      }
      if (failure) throw failure;
      if (finished) return;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = null;
    }
  } finally {
    unsubscribe();
    if (paused) flow.resume();
  }
}
