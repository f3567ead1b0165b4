// What went on the wire: a dumpcap capture of SCTP on the loopback interface while `body`
// runs, read back with tshark. The chunk types are SCTP's numbers (0 DATA, 64 I-DATA, 130
// RECONF...).
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Runs `body` while capturing; returns how many chunks of each type were seen. */
export async function chunkTypesDuring(body: () => Promise<void>): Promise<Map<number, number>> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wire-'));
  const file = path.join(dir, 'sctp.pcap');
  const dumpcap = spawn('dumpcap', ['-i', 'lo', '-f', 'sctp', '-w', file], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    // dumpcap says "File: ..." once it captures.
    let said = '';
    await new Promise<void>((resolve, reject) => {
      dumpcap.stderr!.on('data', (d: Buffer) => {
        said += d.toString();
        if (said.includes('File:')) resolve();
      });
      dumpcap.once('exit', (code) => reject(new Error(`dumpcap exited (${code}): ${said}`)));
    });
    await body();
    await new Promise((r) => setTimeout(r, 200)); // the last packets reach the file
  } finally {
    dumpcap.kill('SIGINT');
    if (dumpcap.exitCode === null) await once(dumpcap, 'exit');
  }
  const out = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'sctp.chunk_type'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  rmSync(dir, { recursive: true, force: true });
  const counts = new Map<number, number>();
  for (const type of out
    .split(/[\s,]+/)
    .filter(Boolean)
    .map(Number)) {
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}
