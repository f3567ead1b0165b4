// sctpt capabilities: what the running kernel's SCTP has and what this network namespace
// switches on (capabilities()), as a table or as JSON.
import { capabilities } from '../lib';
import type { OptionTable, ParsedOptions } from './args';
import { commonOptions, outputFor } from './common';

export const options: OptionTable = { ...commonOptions };

export const usage = `sctpt capabilities [--json]
Lists each SCTP extension: whether the kernel has it, whether its net.sctp sysctl is on,
the socket option and the sysctl; then the stream schedulers the kernel accepts.`;

export function run(o: ParsedOptions): number {
  const out = outputFor(o);
  const caps = capabilities();
  if (out.json) {
    out.result('capabilities', { ...caps }, '');
    return 0;
  }
  const rows = Object.entries(caps.features).map(([name, f]) => [
    name,
    f.supported ? 'yes' : 'no',
    f.enabled === null ? '-' : f.enabled ? 'on' : 'off',
    f.sysctl ?? '-',
    f.what,
  ]);
  const header = ['feature', 'kernel', 'on', 'sysctl', 'what'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  out.result('', {}, `kernel ${caps.kernel}\n${[header, ...rows].map(line).join('\n')}`);
  out.result('', {}, `stream schedulers: ${caps.schedulers.join(', ') || '(none)'}`);
  return 0;
}
