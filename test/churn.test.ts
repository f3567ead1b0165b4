// Churn: thousands of associations opened and closed (aborted, or shut down) on a Server and
// on an Endpoint, and worker threads terminated while they read. Each runs in its own node
// process (test/fixtures/churn.ts, worker-churn.ts) so that its fds, active resources and
// memory are its own; they must come back to where they were after a warm-up round.
import { execFileSync } from 'node:child_process';
import path from 'node:path';

// CHURN_TOTAL=N and CHURN_WORKERS=N run fewer (CI does; scripts/sctp-run passes the
// environment on).
const TOTAL = Number(process.env.CHURN_TOTAL ?? 10000);
const WORKERS = Number(process.env.CHURN_WORKERS ?? 100);

function fixture(name: string, args: string[]): any {
  const out = execFileSync(
    process.execPath,
    ['--expose-gc', path.join(__dirname, 'fixtures', name), ...args],
    { encoding: 'utf8', timeout: 900000, maxBuffer: 1 << 20 },
  );
  return JSON.parse(out.trim().split('\n').pop()!);
}

const mib = (n: number) => Math.round((n / (1 << 20)) * 10) / 10;

describe.each([['server'], ['endpoint']])('%s', (kind) => {
  test.each([['abort'], ['shutdown']])(
    `${TOTAL.toLocaleString('en')} associations opened and closed by %s: fds, resources, partial bytes and memory back to the baseline`,
    (mode) => {
      const r = fixture('churn.js', [kind, mode, String(TOTAL), '100']);
      const figures = {
        seconds: r.seconds,
        perSecond: Math.round(TOTAL / r.seconds),
        fds: [r.before.fds, r.after.fds],
        resources: [r.before.resources, r.after.resources],
        rssMiB: [mib(r.before.rss), mib(r.after.rss)],
        heapMiB: [mib(r.before.heapUsed), mib(r.after.heapUsed)],
        externalMiB: [mib(r.before.external), mib(r.after.external)],
        partialBytes: r.after.partialBytes,
      };
      console.log(`churn ${kind} ${mode}: ${JSON.stringify(figures)}`);
      expect(r.left).toBe(0);
      expect(r.after.fds).toBe(r.before.fds);
      expect(r.after.resources).toEqual(r.before.resources);
      expect(r.after.partialBytes).toBe(0);
      // Per association, once GC has settled: well under a kilobyte of JS heap, nothing of
      // Buffer memory (a leak of one 16-byte echo per association would show), a few
      // kilobytes of RSS (malloc keeps what it once had).
      expect(r.after.heapUsed - r.before.heapUsed).toBeLessThan(4 << 20);
      expect(r.after.external - r.before.external).toBeLessThan(1 << 20);
      expect(r.after.rss - r.before.rss).toBeLessThan(64 << 20);
    },
  );
});

test(`${WORKERS} worker threads terminated in the middle of a read batch or of an 8 MiB message: fds back to the baseline, no crash`, () => {
  const r = fixture('worker-churn.js', [String(WORKERS)]);
  console.log(
    `worker churn: ${JSON.stringify({ ...r, before: { ...r.before, rss: mib(r.before.rss) }, after: { ...r.after, rss: mib(r.after.rss) } })}`,
  );
  expect(r.count).toBe(WORKERS);
  // terminate() resolves with exit code 1 for a worker it stopped.
  expect(r.exitCodes).toEqual({ 1: WORKERS });
  expect(r.after.fds).toBe(r.before.fds);
  expect(r.after.external - r.before.external).toBeLessThan(1 << 20);
});
