// sctpt stats: the RTT histogram ctraffic saved (a JSON file), shown as text bars or JSON,
// or cleared.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { OptionTable, ParsedOptions } from './args';
import { UsageError } from './args';
import { commonOptions, outputFor } from './common';
import { bars, emptyHistogram, summary, type Histogram } from './histogram';

export const statsFileOption: OptionTable = {
  'stats-file': {
    type: 'string',
    default: process.env.SCTPT_STATS ?? path.join(tmpdir(), 'sctpt-stats.json'),
    help: 'where the histogram is kept (env SCTPT_STATS)',
  },
};

export const options: OptionTable = { ...statsFileOption, ...commonOptions };

export const usage = `sctpt stats init|clear|show|json [--stats-file F]
The round-trip histogram of the last ctraffic run(s): init/clear empties it, show prints
text bars, json prints the run's summary (sent, received, lost, blocked) with it as JSON.`;

interface Saved {
  histogram: Histogram;
  /** The figures of the run that produced it (sent, received, lost, ...). */
  run: Record<string, unknown> | null;
}

export function saveStats(
  file: string,
  histogram: Histogram,
  run: Record<string, unknown> | null = null,
): void {
  writeFileSync(file, `${JSON.stringify({ histogram, run } satisfies Saved)}\n`);
}

function loadStats(file: string): Saved {
  try {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as Saved;
    if (Array.isArray(saved.histogram?.counts)) return saved;
  } catch {
    /* none yet, or not ours */
  }
  return { histogram: emptyHistogram(), run: null };
}

export function run(o: ParsedOptions, action: string | undefined): number {
  const file = o['stats-file'] as string;
  const out = outputFor(o);
  switch (action) {
    case 'init':
    case 'clear':
      saveStats(file, emptyHistogram());
      return 0;
    case 'show': {
      const h = loadStats(file).histogram;
      const s = summary(h);
      out.result(
        'stats',
        s,
        `${s.count} samples, mean ${s.meanMs?.toFixed(2) ?? '-'} ms, max ${s.maxMs?.toFixed(2) ?? '-'} ms\n${bars(h)}`,
      );
      return 0;
    }
    case 'json': {
      const saved = loadStats(file);
      process.stdout.write(`${JSON.stringify({ ...saved.run, rtt: summary(saved.histogram) })}\n`);
      return 0;
    }
    default:
      throw new UsageError(`stats needs init, clear, show or json`);
  }
}
