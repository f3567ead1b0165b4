// What went on the wire: a dumpcap capture on the loopback interface while `body` runs,
// read back with tshark. The chunk types are SCTP's numbers (0 DATA, 64 I-DATA, 130
// RECONF...).
import { spawn, execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** One captured packet: its IP protocol (132 SCTP, 17 UDP) and the SCTP chunk types in it. */
export interface Packet {
  ipProtocol: number;
  chunkTypes: number[];
}

/**
 * Runs `body` while capturing what `filter` (a capture filter) lets through on lo; returns
 * the packets, SCTP decoded also inside UDP on port 9899 (RFC 6951's port).
 */
export async function packetsDuring(body: () => Promise<void>, filter = 'sctp'): Promise<Packet[]> {
  const dir = mkdtempSync(path.join(tmpdir(), 'wire-'));
  const file = path.join(dir, 'sctp.pcap');
  const dumpcap = spawn('dumpcap', ['-i', 'lo', '-f', filter, '-w', file], {
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
    // It says so once the file is open, a moment before the first packet is caught (seen:
    // the packets of one message right after it were missed on a busy machine).
    await new Promise((r) => setTimeout(r, 500));
    await body();
    await new Promise((r) => setTimeout(r, 500)); // the last packets reach the file
  } finally {
    dumpcap.kill('SIGINT');
    if (dumpcap.exitCode === null) await once(dumpcap, 'exit');
  }
  const out = execFileSync(
    'tshark',
    [
      '-r',
      file,
      '-d',
      'udp.port==9899,sctp',
      '-T',
      'fields',
      '-e',
      'ip.proto',
      '-e',
      'sctp.chunk_type',
    ],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] },
  );
  rmSync(dir, { recursive: true, force: true });
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [proto = '', types = ''] = line.split('\t');
      return {
        // an encapsulated packet's IP header comes first (ICMP errors carry two)
        ipProtocol: Number(proto.split(',')[0]),
        chunkTypes: types.split(',').filter(Boolean).map(Number),
      };
    });
}

/** Runs `body` while capturing SCTP; returns how many chunks of each type were seen. */
export async function chunkTypesDuring(body: () => Promise<void>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const packet of await packetsDuring(body)) {
    for (const type of packet.chunkTypes) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}
