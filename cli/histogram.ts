// Round-trip time histogram: fixed buckets from 0.1 ms to 10 s (1-2-5 steps), plus
// percentiles from the bucket counts. Plain data, so it can be saved and merged.

/** Upper bounds of the buckets, in milliseconds; the last bucket is everything above. */
export const BUCKET_BOUNDS_MS = [
  0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000,
];

export interface Histogram {
  counts: number[]; // BUCKET_BOUNDS_MS.length + 1
  total: number;
  sumMs: number;
  minMs: number | null;
  maxMs: number | null;
}

export function emptyHistogram(): Histogram {
  return {
    counts: new Array(BUCKET_BOUNDS_MS.length + 1).fill(0),
    total: 0,
    sumMs: 0,
    minMs: null,
    maxMs: null,
  };
}

export function record(h: Histogram, ms: number): void {
  let i = 0;
  while (i < BUCKET_BOUNDS_MS.length && ms > BUCKET_BOUNDS_MS[i]!) i++;
  h.counts[i]!++;
  h.total++;
  h.sumMs += ms;
  h.minMs = h.minMs === null ? ms : Math.min(h.minMs, ms);
  h.maxMs = h.maxMs === null ? ms : Math.max(h.maxMs, ms);
}

export function merge(into: Histogram, from: Histogram): void {
  from.counts.forEach((c, i) => (into.counts[i]! += c));
  into.total += from.total;
  into.sumMs += from.sumMs;
  if (from.minMs !== null)
    into.minMs = into.minMs === null ? from.minMs : Math.min(into.minMs, from.minMs);
  if (from.maxMs !== null)
    into.maxMs = into.maxMs === null ? from.maxMs : Math.max(into.maxMs, from.maxMs);
}

/** The upper bound of the bucket holding the p-th percentile (an over-estimate by design). */
export function percentile(h: Histogram, p: number): number | null {
  if (h.total === 0) return null;
  const rank = Math.ceil((p / 100) * h.total);
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) return i < BUCKET_BOUNDS_MS.length ? BUCKET_BOUNDS_MS[i]! : h.maxMs;
  }
  return h.maxMs;
}

export function summary(h: Histogram) {
  return {
    count: h.total,
    minMs: h.minMs,
    meanMs: h.total ? h.sumMs / h.total : null,
    maxMs: h.maxMs,
    p50Ms: percentile(h, 50),
    p90Ms: percentile(h, 90),
    p99Ms: percentile(h, 99),
    buckets: h.counts.map((count, i) => ({
      leMs: i < BUCKET_BOUNDS_MS.length ? BUCKET_BOUNDS_MS[i]! : null,
      count,
    })),
  };
}

/** Text bars, one line per non-empty bucket. */
export function bars(h: Histogram, width = 50): string {
  const max = Math.max(1, ...h.counts);
  const lines: string[] = [];
  h.counts.forEach((count, i) => {
    if (count === 0) return;
    const label =
      i < BUCKET_BOUNDS_MS.length
        ? `<= ${BUCKET_BOUNDS_MS[i]} ms`
        : `>  ${BUCKET_BOUNDS_MS.at(-1)} ms`;
    const bar = '#'.repeat(Math.max(1, Math.round((count / max) * width)));
    lines.push(`${label.padStart(12)} ${String(count).padStart(8)} ${bar}`);
  });
  return lines.length ? lines.join('\n') : '(no samples)';
}
