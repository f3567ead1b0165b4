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
text bars, json prints it as JSON.`;

export function saveStats(file: string, h: Histogram): void {
  writeFileSync(file, `${JSON.stringify(h)}\n`);
}

function loadStats(file: string): Histogram {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as Histogram;
  } catch {
    return emptyHistogram();
  }
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
      const h = loadStats(file);
      const s = summary(h);
      out.result(
        'stats',
        s,
        `${s.count} samples, mean ${s.meanMs?.toFixed(2) ?? '-'} ms, max ${s.maxMs?.toFixed(2) ?? '-'} ms\n${bars(h)}`,
      );
      return 0;
    }
    case 'json':
      process.stdout.write(`${JSON.stringify(summary(loadStats(file)))}\n`);
      return 0;
    default:
      throw new UsageError(`stats needs init, clear, show or json`);
  }
}
