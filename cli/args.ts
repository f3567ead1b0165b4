// Command-line options in the seed sctpt's style: `--name value` and `--name=value`, lists
// as `a,b`, flags without a value. Each command declares its options in one table.

export interface OptionSpec {
  /** 'list' splits on commas. */
  type: 'string' | 'number' | 'list' | 'flag';
  default?: string | number | string[] | boolean;
  help: string;
  /** For numbers: the range (inclusive) and whether fractions are allowed (default not). */
  min?: number;
  max?: number;
  fraction?: boolean;
}

/** Bounds shared by the commands' number options. */
export const MAX_MS = 2 ** 31 - 1; // what a timer can wait
export const MAX_MESSAGE = 16 * 1024 * 1024; // one message from the command line

export type OptionTable = Record<string, OptionSpec>;
export type ParsedOptions = Record<string, string | number | string[] | boolean | undefined>;

export class UsageError extends Error {}

export function parseOptions(argv: string[], table: OptionTable): ParsedOptions {
  const out: ParsedOptions = {};
  for (const [name, spec] of Object.entries(table)) out[name] = spec.default;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const spec = table[name];
    if (!spec) throw new UsageError(`unknown option --${name}`);
    if (spec.type === 'flag') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      out[name] = true;
      continue;
    }
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new UsageError(`--${name} needs a value`);
    value = value.trim();
    if (spec.type === 'number') {
      const n = Number(value);
      if (value === '' || !Number.isFinite(n)) {
        throw new UsageError(`--${name} must be a number, not "${value}"`);
      }
      if (!spec.fraction && !Number.isInteger(n)) {
        throw new UsageError(`--${name} must be a whole number, not "${value}"`);
      }
      const min = spec.min ?? -Infinity;
      const max = spec.max ?? Infinity;
      if (n < min || n > max) {
        throw new UsageError(`--${name} must be ${rangeText(min, max)}, not "${value}"`);
      }
      out[name] = n;
    } else if (spec.type === 'list') {
      out[name] = value.split(',').filter((v) => v !== '');
    } else {
      out[name] = value;
    }
  }
  return out;
}

function rangeText(min: number, max: number): string {
  if (max === Infinity) return `at least ${min}`;
  if (min === -Infinity) return `at most ${max}`;
  return `from ${min} to ${max}`;
}

export function describeOptions(table: OptionTable): string {
  return Object.entries(table)
    .map(([name, spec]) => {
      const value = spec.type === 'flag' ? '' : spec.type === 'list' ? ' a,b' : ' N';
      const left = `  --${name}${spec.type === 'string' ? ' X' : value}`;
      const dflt =
        spec.default === undefined || spec.default === false
          ? ''
          : ` (default ${Array.isArray(spec.default) ? spec.default.join(',') : spec.default})`;
      return `${left.padEnd(24)}${spec.help}${dflt}`;
    })
    .join('\n');
}
