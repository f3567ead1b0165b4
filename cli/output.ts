// What sctpt prints: lines for people (filtered by --log, with the seed's levels) or, with
// --json, one JSON object per line for scripts. Errors always go to stderr.

export const LOG_LEVELS = { warning: 4, notice: 5, info: 6, debug: 7 } as const;
export type LogLevel = keyof typeof LOG_LEVELS;

export class Output {
  constructor(
    readonly level: number,
    readonly json: boolean,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  /** One event: `text` for people at `level`, `{ event, ...fields }` with --json. */
  event(level: LogLevel, event: string, fields: Record<string, unknown>, text: string): void {
    if (LOG_LEVELS[level] > this.level) return;
    this.out.write(this.json ? `${JSON.stringify({ event, ...fields })}\n` : `${text}\n`);
  }

  /** A result (summary, histogram): always printed. */
  result(event: string, fields: Record<string, unknown>, text: string): void {
    this.out.write(this.json ? `${JSON.stringify({ event, ...fields })}\n` : `${text}\n`);
  }

  error(message: string): void {
    process.stderr.write(
      this.json ? `${JSON.stringify({ event: 'error', message })}\n` : `sctpt: ${message}\n`,
    );
  }
}

/** "127.0.0.1,127.0.0.2:5000" for a list of addresses. */
export function showAddresses(list: { address: string; port: number }[]): string {
  if (list.length === 0) return '(none)';
  const hosts = list.map((a) => (a.address.includes(':') ? `[${a.address}]` : a.address));
  return `${hosts.join(',')}:${list[0]!.port}`;
}
