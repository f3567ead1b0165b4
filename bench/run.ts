// The benchmark suite: each scenario measured for kernel-sctp, the C program on the same
// kernel API, and Node's net over TCP, in one run, side by side; ratios are what count
// (under emulation absolute times mean little). Prints a markdown table and writes JSON.
//   npm run bench            (scripts/sctp-run node dist/bench/run.js [--quick])
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const quick = process.argv.includes('--quick');
const scale = (n: number) => (quick ? Math.max(10, Math.round(n / 10)) : n);
const cBinary = path.join(root, 'dist', 'bench', 'sctp-bench');
const nodeBench = path.join(__dirname, 'node-bench.js');
const userspaceBench = path.join(__dirname, 'userspace-bench.js');

type Result = Record<string, any>;

function runJson(cmd: string, args: string[]): Result {
  const out = execFileSync(cmd, args, { encoding: 'utf8', timeout: 600000 });
  return JSON.parse(out.trim().split('\n').pop()!);
}
const c = (...args: (string | number)[]) => runJson(cBinary, args.map(String));
const node = (...args: (string | number)[]) =>
  runJson(process.execPath, [nodeBench, ...args.map(String)]);
/** A user-space SCTP library over UDP; a failure is reported, not fatal. */
function userspace(...args: (string | number)[]): Result {
  try {
    return runJson(process.execPath, [userspaceBench, ...args.map(String)]);
  } catch (err) {
    return { perSecond: `failed: ${(err as Error).message.split('\n')[0]}` };
  }
}

function buildC(): void {
  mkdirSync(path.dirname(cBinary), { recursive: true });
  execFileSync('cc', ['-O2', '-o', cBinary, path.join(root, 'bench', 'sctp-bench.c')]);
}

interface Row {
  scenario: string;
  metric: string;
  higherIsBetter: boolean;
  results: Record<string, number | string>;
  /** Every round's figure where the result is a median. */
  samples?: Record<string, number[]>;
}

const ROUNDS = 3;

/**
 * Runs each measurement ROUNDS times, interleaved (a, b, c, a, b, c, ...) so that a slow
 * spell of a shared machine hits all of them alike; `pick(metric)` then gives each one's
 * median of that figure, with every round's value.
 */
function interleaved(measures: Record<string, () => Result>) {
  const runs: Record<string, Result[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const [name, measure] of Object.entries(measures)) (runs[name] ??= []).push(measure());
  }
  return (metric: string) => {
    const results: Record<string, number> = {};
    const samples: Record<string, number[]> = {};
    for (const [name, list] of Object.entries(runs)) {
      samples[name] = list.map((r) => r[metric] as number);
      results[name] = [...samples[name]].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
    }
    return { results, samples };
  };
}

function main(): void {
  buildC();
  const rows: Row[] = [];
  const add = (
    scenario: string,
    metric: string,
    higherIsBetter: boolean,
    results: Record<string, number | string>,
    samples?: Record<string, number[]>,
  ) => {
    rows.push({ scenario, metric, higherIsBetter, results, ...(samples && { samples }) });
    process.stderr.write(`${scenario}: ${JSON.stringify(results)}\n`);
  };

  // 1. Message rate: 100-byte messages, pipelined, one association.
  const n1 = scale(20000);
  // The user-space libraries get a quarter of the count: they are far slower (a rate is a rate).
  const nUser = Math.round(n1 / 4);
  const rateRuns = interleaved({
    'kernel-sctp': () => node('sctp', 'rate', n1, 100),
    C: () => c('rate', n1, 100, 1),
    'node TCP': () => node('tcp', 'rate', n1, 100),
  });
  const rate = rateRuns('perSecond');
  add(
    `1. message rate, 100 B x ${n1} after as many to warm up (C: none), median of ${ROUNDS} (user-space SCTP: x ${nUser}, once, no warm-up)`,
    'messages/s',
    true,
    {
      ...rate.results,
      'werift-sctp (user space, UDP)': userspace('werift', 'rate', nUser, 100).perSecond,
      'sctp (user space, UDP)': userspace('sctp-js', 'rate', nUser, 100).perSecond,
    },
    rate.samples,
  );
  // The CPU time each side spent per message: what the implementation costs, and far less
  // noisy than the rate on a shared machine.
  // The system part is the kernel's work (syscalls, the protocol, on loopback some of the
  // peer's): what is left is the implementation's own.
  for (const [metric, side] of [
    ['senderCpuPerMessage', 'sender (user + system)'],
    ['receiverCpuPerMessage', 'receiver (user + system)'],
    ['senderSystemCpuPerMessage', 'sender, system only'],
    ['receiverSystemCpuPerMessage', 'receiver, system only'],
  ] as const) {
    const cpu = rateRuns(metric);
    add(`1. CPU per message, ${side}, median of ${ROUNDS}`, 'µs', false, cpu.results, cpu.samples);
  }
  // 2. Round trip: ping-pong, 100-byte messages.
  const n2 = scale(2000);
  const pp = {
    ours: node('sctp', 'pingpong', n2, 100),
    c: c('pingpong', n2, 100),
    tcp: node('tcp', 'pingpong', n2, 100),
  };
  add(`2. round trip p50, 100 B x ${n2} after as many to warm up (C: none)`, 'ms', false, {
    'kernel-sctp': pp.ours.p50Ms,
    C: pp.c.p50Ms,
    'node TCP': pp.tcp.p50Ms,
  });
  add(`2. round trip p99, 100 B x ${n2}`, 'ms', false, {
    'kernel-sctp': pp.ours.p99Ms,
    C: pp.c.p99Ms,
    'node TCP': pp.tcp.p99Ms,
  });
  add(`2. round trip, client CPU per round trip, 100 B x ${n2}`, 'µs', false, {
    'kernel-sctp': pp.ours.clientCpuPerRoundTrip,
    C: pp.c.clientCpuPerRoundTrip,
    'node TCP': pp.tcp.clientCpuPerRoundTrip,
  });
  // 3. Bulk: 64 KiB messages, with each side's defaults and with 4 MiB buffers on both ends
  // (with the kernel's default buffers the window holds less than two such messages and
  // every other one waits for the 200 ms delayed SACK).
  const n3 = scale(1000);
  const big = 4 << 20;
  add(`3. bulk, 64 KiB x ${n3}, defaults`, 'Mbit/s', true, {
    'kernel-sctp defaults': node('sctp', 'rate', n3, 65536, 'defaults').mbitPerS,
    'C kernel defaults': c('rate', n3, 65536, 1).mbitPerS,
    'node TCP': node('tcp', 'rate', n3, 65536).mbitPerS,
    'iperf3 --sctp': iperf3([]),
  });
  add(`3. bulk, 64 KiB x ${n3}, 4 MiB buffers`, 'Mbit/s', true, {
    'kernel-sctp tuned': node('sctp', 'rate', n3, 65536, 'tuned').mbitPerS,
    'C 4 MiB buffers': c('rate', n3, 65536, 1, big).mbitPerS,
    'iperf3 --sctp -w 4M': iperf3(['-w', '4M']),
  });
  // 4. Many associations on one one-to-many endpoint (TCP: one server, as many connections).
  const n4 = scale(1000);
  const many = { ours: node('sctp', 'many', n4, 100), tcp: node('tcp', 'many', n4, 100) };
  add(`4. many associations: ${n4} x 20 echoed 100 B messages`, 'messages/s', true, {
    'kernel-sctp': many.ours.perSecond,
    'C one-to-many echo server (same clients)': node('c-endpoint', 'many', n4, 100).perSecond,
    'node TCP': many.tcp.perSecond,
  });
  for (const [key, label] of [
    ['serverRssPerAssociation', 'server RSS'],
    ['serverHeapPerAssociation', 'server JS heap'],
    ['kernelSlabPerAssociation', 'kernel slab, both ends'],
  ]) {
    add(`4. memory per idle association: ${label}`, 'bytes', false, {
      'kernel-sctp': Math.round(many.ours[key!]),
      'node TCP': Math.round(many.tcp[key!]),
    });
  }
  // 5. Setup rate: associations opened and closed one after another.
  const n5 = scale(300);
  add(`5. setup rate, ${n5} associations`, 'associations/s', true, {
    'kernel-sctp': node('sctp', 'setup', n5).perSecond,
    C: c('setup', n5).perSecond,
    'node TCP': node('tcp', 'setup', n5).perSecond,
  });
  // 6. Defaults vs tuned: scenario 1 with the library's defaults, the kernel's, and tuned.
  const n6 = scale(2000);
  const bySettings = interleaved({
    'kernel-sctp defaults': () => node('sctp', 'rate', n6, 100, 'defaults'),
    'kernel-sctp noDelay: false': () => node('sctp', 'rate', n6, 100, 'no-nodelay'),
    'kernel-sctp tuned': () => node('sctp', 'rate', n6, 100, 'tuned'),
    'C NODELAY': () => c('rate', n6, 100, 1),
    'C no NODELAY': () => c('rate', n6, 100, 0),
  })('perSecond');
  add(
    `6. message rate by settings, 100 B x ${n6} after as many to warm up (C: none), median of ${ROUNDS}`,
    'messages/s',
    true,
    bySettings.results,
    bySettings.samples,
  );

  const settings = {
    kernel: os.release(),
    node: process.version,
    cpus: os.cpus().length,
    // scripts/sctp-run's VM boots with rdinit=/init; a native host does not.
    mode: readFileSync('/proc/cmdline', 'utf8').includes('rdinit=/init') ? 'vm (tcg)' : 'native',
    quick,
    notes: [
      'kernel-sctp and node TCP: client and server in two Node processes; C: two processes (fork).',
      'kernel-sctp defaults: SCTP_NODELAY on, receive buffer asked for 1 MiB (capped at 2x net.core.rmem_max); tuned: 4 MiB send and receive buffers (forced as root). C: kernel defaults plus NODELAY unless stated.',
      'user-space SCTP: werift-sctp 0.0.11 and sctp 1.0.0 (npm), each over UDP on 127.0.0.1, two processes.',
      'scenario 4: kernel-sctp is one one-to-many endpoint (server) and one-to-one client sockets; memory is measured after a GC with all associations idle, minus before.',
    ],
  };
  const table = renderTable(rows);
  process.stdout.write(`${table}\n`);
  const outDir = path.join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'latest.json'),
    `${JSON.stringify({ settings, rows: withRatios(rows) }, null, 2)}\n`,
  );
  writeFileSync(path.join(outDir, 'latest.md'), `${table}\n`);
}

function iperf3(extra: string[]): number | string {
  const has = spawnSync('sh', ['-c', 'command -v iperf3'], { encoding: 'utf8' }).status === 0;
  if (!has) return 'not installed';
  const server = spawnSync(
    'sh',
    [
      '-c',
      // A port of its own, and the server killed whatever the client did.
      `p=$((20000 + $$ % 10000)); iperf3 -s -1 -p $p >/dev/null 2>&1 & s=$!; sleep 1; ` +
        `iperf3 --sctp -c 127.0.0.1 -p $p -t 3 -l 65536 -J ${extra.join(' ')}; kill $s 2>/dev/null`,
    ],
    {
      encoding: 'utf8',
      timeout: 60000,
    },
  );
  try {
    return JSON.parse(server.stdout).end.sum_received.bits_per_second / 1e6;
  } catch {
    return 'failed';
  }
}

function withRatios(rows: Row[]) {
  return rows.map((row) => {
    const ours = Object.entries(row.results).find(([k]) => k.startsWith('kernel-sctp'))?.[1];
    const ratios: Record<string, number> = {};
    if (typeof ours === 'number') {
      for (const [k, v] of Object.entries(row.results)) {
        if (typeof v !== 'number' || k.startsWith('kernel-sctp')) continue;
        // "x as good as": >1 means kernel-sctp is better.
        ratios[`kernel-sctp vs ${k}`] = row.higherIsBetter ? ours / v : v / ours;
      }
    }
    return { ...row, ratios };
  });
}

function renderTable(rows: Row[]): string {
  const lines = [
    '| scenario | metric | results | kernel-sctp vs others |',
    '| --- | --- | --- | --- |',
  ];
  for (const row of withRatios(rows)) {
    const results = Object.entries(row.results)
      .map(([k, v]) => `${k}: ${typeof v === 'number' ? format(v) : v}`)
      .join('<br>');
    const ratios = Object.entries(row.ratios)
      .map(([k, v]) => `${k.replace('kernel-sctp vs ', 'vs ')}: ${v.toFixed(2)}x`)
      .join('<br>');
    lines.push(
      `| ${row.scenario} | ${row.metric}${row.higherIsBetter ? '' : ' (lower is better)'} | ${results} | ${ratios} |`,
    );
  }
  lines.push(
    '',
    'Ratios: how many times as good as the comparator (above 1: kernel-sctp is better).',
  );
  return lines.join('\n');
}

const format = (v: number) => (v >= 100 ? Math.round(v).toString() : v.toFixed(3));

main();
