// What went on the wire: a dumpcap capture while `body` runs (on lo unless told otherwise),
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

export interface CaptureOptions {
  /** A capture filter (default 'sctp'). */
  filter?: string;
  /** The interfaces to capture on (default lo). */
  interfaces?: string[];
  /** The network namespace they are in (default this process's). */
  namespace?: string;
  /** tshark `-d` decode-as rules. */
  decodeAs?: string[];
  /** A tshark display filter applied when reading back. */
  display?: string;
}

/**
 * Runs `body` while dumpcap captures; returns, per packet, the tshark `fields` asked for
 * (a field that occurs several times in a packet is one comma-separated string).
 */
export async function fieldsDuring(
  body: () => Promise<void>,
  fields: string[],
  options: CaptureOptions = {},
): Promise<string[][]> {
  const { filter = 'sctp', interfaces = ['lo'], namespace, decodeAs = [], display } = options;
  const dir = mkdtempSync(path.join(tmpdir(), 'wire-'));
  const file = path.join(dir, 'capture.pcap');
  const args = [...interfaces.flatMap((i) => ['-i', i]), '-f', filter, '-w', file];
  const dumpcap = namespace
    ? spawn('ip', ['netns', 'exec', namespace, 'dumpcap', ...args], {
        stdio: ['ignore', 'ignore', 'pipe'],
      })
    : spawn('dumpcap', args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
  let out: string;
  try {
    out = execFileSync(
      'tshark',
      [
        '-r',
        file,
        ...decodeAs.flatMap((rule) => ['-d', rule]),
        ...(display ? ['-Y', display] : []),
        '-T',
        'fields',
        ...fields.flatMap((field) => ['-e', field]),
      ],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'], maxBuffer: 64 * 1024 * 1024 },
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return out
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => line.split('\t'));
}

/**
 * Runs `body` while capturing what `filter` (a capture filter) lets through on lo; returns
 * the packets, SCTP decoded also inside UDP on port 9899 (RFC 6951's port).
 */
export async function packetsDuring(body: () => Promise<void>, filter = 'sctp'): Promise<Packet[]> {
  const rows = await fieldsDuring(body, ['ip.proto', 'sctp.chunk_type'], {
    filter,
    decodeAs: ['udp.port==9899,sctp'],
  });
  return rows.map(([proto = '', types = '']) => ({
    // an encapsulated packet's IP header comes first (ICMP errors carry two)
    ipProtocol: Number(proto.split(',')[0]),
    chunkTypes: types.split(',').filter(Boolean).map(Number),
  }));
}

/** Runs `body` while capturing SCTP; returns how many chunks of each type were seen. */
export async function chunkTypesDuring(body: () => Promise<void>): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  for (const packet of await packetsDuring(body)) {
    for (const type of packet.chunkTypes) counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}
