// sctpt status: connects and shows the association (SCTP_STATUS) and every path; with
// --watch, keeps the view up to date until interrupted.
import type { OptionTable, ParsedOptions } from './args';
import { MAX_MS, UsageError } from './args';
import { clientOptions, commonOptions, openClient, outputFor, watchPaths } from './common';

export const options: OptionTable = {
  ...clientOptions,
  watch: {
    type: 'number',
    min: 1,
    max: MAX_MS,
    help: 'refresh every N ms until ^C (default: show once)',
  },
  ...commonOptions,
};

export const usage = `sctpt status --addr a,b [--laddr c,d] [--port P] [--watch MS] [--json]
Shows the association's state, windows and every path (state, cwnd, srtt, rto, mtu; the
primary starred). Example:
  sctpt status --addr 192.168.1.1,192.168.4.1 --laddr 192.168.2.221,192.168.6.221 --watch 1000`;

export async function run(o: ParsedOptions): Promise<number> {
  if (!o.addr) throw new UsageError('--addr is required');
  const out = outputFor(o);
  const socket = await openClient(o);
  // Give the heartbeats a moment to confirm the other paths before the first view.
  await new Promise((r) => setTimeout(r, 300));
  const timer = watchPaths(out, [socket], (o.watch as number | undefined) ?? 2 ** 30);
  if (o.watch) {
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
      socket.once('close', resolve);
    });
  }
  clearInterval(timer);
  const closed = new Promise((r) => socket.once('close', r));
  socket.resume();
  socket.end();
  await closed;
  return 0;
}
