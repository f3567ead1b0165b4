// The benchmark suite: one table of scenarios, each measured for every comparator it names
// (comparators.ts) in one run, side by side; ratios are what count. Then the targets, each a
// ratio from that run. Prints markdown tables and writes bench/results/latest.{json,md}.
//   npm run bench                  (the deterministic mode: scripts/sctp-run with KSCTP_ICOUNT=1)
//   npm run bench:tcg              (wall-clock emulation, the host's CPUs)
//   node dist/bench/run.js [--quick] [--only <scenario id>,...]   (written to out/bench/)
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  buildC,
  c,
  iperf3,
  kernelSctp,
  kernelSctpProxied,
  mixed,
  nodeTcp,
  userSpace,
  type Comparator,
  type Measurement,
  type Result,
} from './comparators';

const root = path.join(__dirname, '..', '..');
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = argv.includes('--only') ? argv[argv.indexOf('--only') + 1]!.split(',') : null;
const scale = (n: number) => (quick ? Math.max(10, Math.round(n / 10)) : n);

interface Figure {
  /** The result field, e.g. 'perSecond'. */
  field: string;
  label: string;
  unit: string;
  higherIsBetter: boolean;
}

interface Scenario {
  id: string;
  title: string;
  measurement: Measurement;
  comparators: Comparator[];
  /** The first figure is the scenario's; the others are reported alongside. */
  figures: Figure[];
  /** Rounds, interleaved across comparators (a, b, c, a, b, c...); the median is reported. */
  rounds?: number;
  /** net.* sysctls set for this scenario (every comparator alike), restored after it. */
  sysctls?: Record<string, string>;
}

const perSecond: Figure = {
  field: 'perSecond',
  label: 'rate',
  unit: 'messages/s',
  higherIsBetter: true,
};
const cpu = (field: string, label: string): Figure => ({
  field,
  label,
  unit: 'µs',
  higherIsBetter: false,
});
const mbit: Figure = {
  field: 'mbitPerS',
  label: 'throughput',
  unit: 'Mbit/s',
  higherIsBetter: true,
};
const bytes = (field: string, label: string): Figure => ({
  field,
  label,
  unit: 'bytes',
  higherIsBetter: false,
});

const RATE = scale(20000);
const SMALL = 100;
// The user-space libraries are far slower: a quarter of the count (a rate is a rate).
const userRate: Measurement = { kind: 'rate', messages: Math.round(RATE / 4), size: SMALL };

const SCENARIOS: Scenario[] = [
  {
    id: 'rate',
    title: `message rate, ${SMALL} B x ${RATE}, one association, pipelined`,
    measurement: { kind: 'rate', messages: RATE, size: SMALL },
    comparators: [
      kernelSctp(),
      c(),
      c({ sender: 'nonblocking' }, 'C, non-blocking sender (epoll)'),
      c({ sender: 'nonblocking', info: true }, 'C, non-blocking, stream and PPID in and out'),
      nodeTcp(),
      mixed('kernel-sctp'),
      mixed('C'),
    ],
    figures: [
      perSecond,
      cpu('senderCpuPerMessage', 'sender CPU per message'),
      cpu('receiverCpuPerMessage', 'receiver CPU per message'),
    ],
    rounds: 3,
  },
  {
    id: 'rate-user-space',
    title: `message rate, ${SMALL} B x ${userRate.messages}, SCTP in JavaScript over UDP`,
    measurement: userRate,
    comparators: [
      kernelSctp(),
      userSpace('werift', 'werift-sctp (user space, UDP)'),
      userSpace('sctp-js', 'sctp (user space, UDP)'),
    ],
    figures: [perSecond],
  },
  {
    id: 'rate-batched',
    title: `message rate, ${SMALL} B x ${RATE}, sent in bursts of 64 (cork/uncork; C: sendmmsg)`,
    measurement: { kind: 'rate-batched', messages: RATE, size: SMALL },
    comparators: [kernelSctp(), c(), nodeTcp()],
    figures: [perSecond],
  },
  {
    id: 'settings',
    title: `message rate by settings, ${SMALL} B x ${scale(10000)}`,
    measurement: { kind: 'rate', messages: scale(10000), size: SMALL },
    comparators: [
      kernelSctp('defaults', 'kernel-sctp defaults'),
      kernelSctp('no-nodelay', 'kernel-sctp noDelay: false'),
      kernelSctp('tuned', 'kernel-sctp tuned'),
      c({}, 'C NODELAY'),
      c({ noDelay: false }, 'C no NODELAY'),
    ],
    figures: [perSecond],
    rounds: 3,
  },
  {
    id: 'pingpong',
    title: `round trip, ${SMALL} B x ${scale(2000)}`,
    measurement: { kind: 'pingpong', roundTrips: scale(2000), size: SMALL },
    comparators: [kernelSctp(), c(), nodeTcp(), c({ tcp: true }, 'C over TCP')],
    figures: [
      { field: 'p50Ms', label: 'p50', unit: 'ms', higherIsBetter: false },
      { field: 'p99Ms', label: 'p99', unit: 'ms', higherIsBetter: false },
      cpu('clientCpuPerRoundTrip', 'client CPU per round trip'),
    ],
  },
  {
    id: 'proxy-rate',
    title: `message rate through createProxy() (a third process), ${SMALL} B x ${RATE}, pipelined`,
    measurement: { kind: 'rate', messages: RATE, size: SMALL },
    comparators: [kernelSctp(), kernelSctpProxied()],
    figures: [perSecond],
    rounds: 3,
  },
  {
    id: 'proxy-pingpong',
    title: `round trip through createProxy(), ${SMALL} B x ${scale(2000)}`,
    measurement: { kind: 'pingpong', roundTrips: scale(2000), size: SMALL },
    comparators: [kernelSctp(), kernelSctpProxied()],
    figures: [{ field: 'p50Ms', label: 'p50', unit: 'ms', higherIsBetter: false }],
  },
  {
    id: 'bulk',
    title: `bulk, 64 KiB x ${scale(1000)}, each side's default buffers`,
    measurement: { kind: 'rate', messages: scale(1000), size: 65536 },
    comparators: [kernelSctp(), c(), nodeTcp(), iperf3()],
    figures: [mbit],
  },
  {
    id: 'bulk-tuned',
    title: `bulk, 64 KiB x ${scale(1000)}, 4 MiB buffers`,
    measurement: { kind: 'rate', messages: scale(1000), size: 65536, settings: 'tuned' },
    comparators: [
      kernelSctp('tuned'),
      c({ settings: 'tuned' }),
      c({ settings: 'tuned', sender: 'nonblocking' }, 'C, non-blocking sender (epoll)'),
      iperf3('tuned'),
    ],
    figures: [mbit],
  },
  {
    id: 'many',
    title: `${scale(10000)} associations on one endpoint, 2 echoed ${SMALL} B messages each (one round unmeasured, then 3, the median), 100 in flight in turn, the clients SACKing at once, net.sctp.sndbuf_policy=1`,
    measurement: { kind: 'many', associations: scale(10000), size: SMALL, messagesEach: 2 },
    comparators: [kernelSctp(), c({}, 'C one-to-many echo server'), nodeTcp()],
    // A send buffer per association. With the one shared buffer (policy 0, the default)
    // the kernel walks every association of the endpoint each time a SACK frees a chunk
    // (sctp_write_space), waking the socket's waiters once per association: with 10,000
    // associations that walk, not the server, sets the rate (README, "Benchmarks").
    sysctls: { 'net.sctp.sndbuf_policy': '1' },
    figures: [
      perSecond,
      bytes('serverHeapPerAssociation', 'server JS heap per idle association'),
      bytes('serverRssPerAssociation', 'server RSS per idle association'),
      bytes('kernelSlabPerAssociation', 'kernel slab per idle association, both ends'),
    ],
  },
  ...(['wait', 'nowait'] as const).flatMap((close) =>
    [1, 100].map((inFlight): Scenario => ({
      id: `setup-${inFlight === 1 ? 'sequential' : 'in-flight'}-${close}`,
      title:
        `setup, ${scale(1000)} associations after ${scale(10000)} unmeasured (Node: 3 rounds, the median), ${inFlight === 1 ? 'one after another' : `${inFlight} connects in flight`}, ` +
        (close === 'wait'
          ? 'each close waiting for the SHUTDOWN handshake'
          : 'closed without waiting'),
      measurement: { kind: 'setup', associations: scale(1000), inFlight, close },
      comparators: [kernelSctp(), c(), nodeTcp()],
      figures: [
        { field: 'perSecond', label: 'rate', unit: 'associations/s', higherIsBetter: true },
      ],
    })),
  ),
];

/**
 * The targets, each a ratio from this run: ours against a comparator on a scenario's first
 * figure (or the named one), or against a fixed bound. Above 1 is better for us whatever the
 * unit (times and sizes are inverted).
 */
interface Target {
  name: string;
  scenario: string;
  ours: string;
  comparator: string | { bound: number; label: string };
  figure?: string;
  target: number | null;
}

const TARGETS: Target[] = [
  {
    name: 'message rate vs C',
    scenario: 'rate',
    ours: 'kernel-sctp',
    comparator: 'C',
    target: 0.9,
  },
  {
    name: 'message rate vs C with a non-blocking sender',
    scenario: 'rate',
    ours: 'kernel-sctp',
    comparator: 'C, non-blocking sender (epoll)',
    target: 0.9,
  },
  {
    name: 'message rate vs C that also sends and reads stream and PPID (reported)',
    scenario: 'rate',
    ours: 'kernel-sctp',
    comparator: 'C, non-blocking, stream and PPID in and out',
    target: null,
  },
  {
    name: 'bulk with 4 MiB buffers vs C',
    scenario: 'bulk-tuned',
    ours: 'kernel-sctp',
    comparator: 'C',
    target: 0.9,
  },
  {
    name: 'bulk with 4 MiB buffers vs C with a non-blocking sender (reported)',
    scenario: 'bulk-tuned',
    ours: 'kernel-sctp',
    comparator: 'C, non-blocking sender (epoll)',
    target: null,
  },
  {
    name: 'round trip p50 vs Node TCP',
    scenario: 'pingpong',
    ours: 'kernel-sctp',
    comparator: 'Node TCP',
    target: 1,
  },
  {
    name: 'round trip p50 vs C over TCP (reported)',
    scenario: 'pingpong',
    ours: 'kernel-sctp',
    comparator: 'C over TCP',
    target: null,
  },
  {
    name: 'round trip p50 vs C (reported)',
    scenario: 'pingpong',
    ours: 'kernel-sctp',
    comparator: 'C',
    target: null,
  },
  ...(['wait', 'nowait'] as const).flatMap((close) =>
    (['sequential', 'in-flight'] as const).map((how): Target => ({
      name: `setup vs C, ${how === 'sequential' ? 'one after another' : '100 connects in flight'}, ${close === 'wait' ? 'close waits for SHUTDOWN' : 'close without waiting'}`,
      scenario: `setup-${how}-${close}`,
      ours: 'kernel-sctp',
      comparator: 'C',
      target: how === 'in-flight' ? 0.5 : null,
    })),
  ),
  {
    name: 'many associations: echo rate vs the C one-to-many server',
    scenario: 'many',
    ours: 'kernel-sctp',
    comparator: 'C one-to-many echo server',
    target: 0.9,
  },
  {
    name: 'many associations: JS heap per idle association ≤ 1 KiB',
    scenario: 'many',
    ours: 'kernel-sctp',
    comparator: { bound: 1024, label: '1 KiB' },
    figure: 'serverHeapPerAssociation',
    target: 1,
  },
  {
    name: 'many associations: RSS per idle association ≤ 1 KiB',
    scenario: 'many',
    ours: 'kernel-sctp',
    comparator: { bound: 1024, label: '1 KiB' },
    figure: 'serverRssPerAssociation',
    target: 1,
  },
  {
    name: 'library defaults vs tuned settings',
    scenario: 'settings',
    ours: 'kernel-sctp defaults',
    comparator: 'kernel-sctp tuned',
    target: 0.9,
  },
  {
    name: 'vs user-space SCTP (werift-sctp)',
    scenario: 'rate-user-space',
    ours: 'kernel-sctp',
    comparator: 'werift-sctp (user space, UDP)',
    target: 10,
  },
  {
    name: 'vs user-space SCTP (sctp)',
    scenario: 'rate-user-space',
    ours: 'kernel-sctp',
    comparator: 'sctp (user space, UDP)',
    target: 10,
  },
  {
    name: 'message rate through the proxy vs direct',
    scenario: 'proxy-rate',
    ours: 'kernel-sctp through createProxy()',
    comparator: 'kernel-sctp',
    target: 0.7,
  },
  {
    name: 'round trip p50 through the proxy vs direct (reported)',
    scenario: 'proxy-pingpong',
    ours: 'kernel-sctp through createProxy()',
    comparator: 'kernel-sctp',
    target: null,
  },
];

interface Measured {
  id: string;
  title: string;
  figures: Figure[];
  /** Per comparator: the median round's result (by the first figure), and every round's. */
  results: Record<string, Result>;
  rounds: Record<string, Result[]>;
}

async function measure(scenario: Scenario): Promise<Measured> {
  const rounds: Record<string, Result[]> = {};
  const sysctl = (values: Record<string, string>) =>
    Object.entries(values).map(([name, value]) => {
      const file = `/proc/sys/${name.replace(/\./g, '/')}`;
      const before = readFileSync(file, 'utf8').trim();
      writeFileSync(file, value);
      return [name, before] as const;
    });
  const restore = Object.fromEntries(sysctl(scenario.sysctls ?? {}));
  try {
    for (let round = 0; round < (scenario.rounds ?? 1); round++) {
      for (const comparator of scenario.comparators) {
        // A comparator that fails (exits, times out) is run once more, then reported as
        // failed, and the run goes on. In the instruction-counting VM about one association
        // in 100,000 never comes up (README: the guest kernel rejects its COOKIE ECHO), which
        // ends a setup run of 11,000 in ETIMEDOUT once in about ten.
        const attempt = () => comparator.run(scenario.measurement);
        const result = await attempt()
          .catch((err: Error) => {
            console.error(`bench: ${scenario.id}, ${comparator.name}: ${err.message}; once more`);
            return attempt().then(
              (r) => r && { ...r, firstAttemptFailed: err.message.split('\n')[0]! },
            );
          })
          .catch((err: Error) => {
            console.error(`bench: ${scenario.id}, ${comparator.name}: ${err.message}`);
            return { failed: err.message.split('\n')[0]! };
          });
        if (result) (rounds[comparator.name] ??= []).push(result);
      }
    }
  } finally {
    sysctl(restore);
  }
  const key = scenario.figures[0]!.field;
  const results: Record<string, Result> = {};
  for (const [name, list] of Object.entries(rounds)) {
    const sorted = [...list].sort((a, b) => (Number(a[key]) || 0) - (Number(b[key]) || 0));
    results[name] = sorted[Math.floor(sorted.length / 2)]!;
  }
  return { id: scenario.id, title: scenario.title, figures: scenario.figures, results, rounds };
}

function evaluate(targets: Target[], measured: Measured[]) {
  return targets.map((t) => {
    const m = measured.find((x) => x.id === t.scenario);
    const figure = m?.figures.find((f) => f.field === (t.figure ?? m.figures[0]!.field));
    const value = (name: string) => Number(m?.results[name]?.[figure?.field ?? '']);
    const ours = value(t.ours);
    const other = typeof t.comparator === 'string' ? value(t.comparator) : t.comparator.bound;
    let ratio: number | null = null;
    if (figure && Number.isFinite(ours) && Number.isFinite(other) && ours > 0 && other > 0) {
      ratio = figure.higherIsBetter ? ours / other : other / ours;
    }
    return {
      name: t.name,
      ours: Number.isFinite(ours) ? ours : null,
      comparator: typeof t.comparator === 'string' ? t.comparator : t.comparator.label,
      comparatorValue: Number.isFinite(other) ? other : null,
      unit: figure?.unit ?? '',
      ratio,
      target: t.target,
      met: t.target === null ? null : ratio !== null && ratio >= t.target,
    };
  });
}

const format = (v: unknown) =>
  typeof v !== 'number' || !Number.isFinite(v)
    ? String(v ?? '')
    : Math.abs(v) >= 100
      ? Math.round(v).toLocaleString('en-US')
      : v.toPrecision(3);

function renderScenarios(measured: Measured[]): string {
  const lines = ['| scenario | figure | results |', '| --- | --- | --- |'];
  for (const m of measured) {
    for (const f of m.figures) {
      const cells = Object.entries(m.results)
        .filter(([, r]) => Number.isFinite(r[f.field]) || 'failed' in r)
        .map(
          ([name, r]) => `${name}: ${'failed' in r ? `failed (${r.failed})` : format(r[f.field])}`,
        );
      if (cells.length === 0) continue;
      const better = f.higherIsBetter ? '' : ', lower is better';
      lines.push(
        `| ${m.id}: ${m.title} | ${f.label} (${f.unit}${better}) | ${cells.join('<br>')} |`,
      );
    }
  }
  return lines.join('\n');
}

function renderTargets(results: ReturnType<typeof evaluate>): string {
  const lines = [
    '| target | kernel-sctp | comparator | ratio | target | met |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const t of results) {
    lines.push(
      `| ${t.name} | ${format(t.ours)} ${t.unit} | ${t.comparator}: ${format(t.comparatorValue)} | ` +
        `${t.ratio === null ? 'n/a' : `${t.ratio.toFixed(2)}x`} | ` +
        `${t.target === null ? 'reported' : `≥ ${t.target}x`} | ${t.met === null ? '' : t.met ? 'yes' : 'no'} |`,
    );
  }
  lines.push(
    '',
    'Ratios: how many times as good as the comparator (above 1: kernel-sctp is better).',
  );
  return lines.join('\n');
}

function clockMode(): string {
  if (!readFileSync('/proc/cmdline', 'utf8').includes('rdinit=/init')) return 'native';
  return process.env.SCTP_RUN_ICOUNT === '1'
    ? 'vm, instruction counting (qemu -icount shift=0,sleep=off, 1 vCPU)'
    : 'vm, tcg (wall clock)';
}

/**
 * The many scenario holds 10,000 sockets in one process (Node TCP: in each of two), while a
 * VM's init leaves the kernel's hard limit of 4096 open files. Raised for this process, and
 * so for the benchmarks it starts, where that is allowed (root, or a high enough hard limit).
 */
function raiseFdLimit(files: number): void {
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${files}:${files}`]);
  } catch (err) {
    console.error(`bench: the open-file limit stays as it is (${(err as Error).message.trim()})`);
  }
}

async function main(): Promise<void> {
  // No benchmark uses TLS: a host's extra CA certificates would only make every Node
  // process parse them at start (seconds of emulated CPU each, outside what is measured).
  delete process.env.NODE_EXTRA_CA_CERTS;
  raiseFdLimit(65536);
  buildC();
  const measured: Measured[] = [];
  for (const scenario of SCENARIOS) {
    if (only && !only.includes(scenario.id)) continue;
    const m = await measure(scenario);
    measured.push(m);
    const line = Object.entries(m.results).map(
      ([n, r]) => `${n}: ${format(r[m.figures[0]!.field] ?? r.failed)}`,
    );
    process.stderr.write(`${scenario.id}: ${line.join(', ')}\n`);
  }
  const targets = evaluate(TARGETS, measured);
  const settings = {
    date: new Date().toISOString(),
    kernel: os.release(),
    node: process.version,
    cpus: os.cpus().length,
    mode: clockMode(),
    quick,
    notes: [
      'kernel-sctp and Node TCP: client and server in two Node processes, each doing as many messages (round trips) unmeasured first, ten times as many associations before setup is measured; C: two processes (fork), no warm-up.',
      'kernel-sctp defaults: SCTP_NODELAY on, receive buffer asked for 1 MiB (capped at 2x net.core.rmem_max); tuned: 4 MiB send and receive buffers (forced as root). C: kernel defaults plus NODELAY unless stated.',
      'user-space SCTP: werift-sctp 0.0.11 and sctp 1.0.0 (npm), each over UDP on 127.0.0.1, two processes.',
      'many: kernel-sctp is one one-to-many endpoint (server) and one-to-one client sockets; memory is measured after a GC with all associations idle, minus before.',
    ],
  };
  const text = `${renderTargets(targets)}\n\n${renderScenarios(measured)}\n`;
  process.stdout.write(text);
  // Only a full run replaces the results the README gives; a partial one goes to out/.
  const outDir = path.join(root, only || quick ? 'out/bench' : 'bench/results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(
    path.join(outDir, 'latest.json'),
    `${JSON.stringify({ settings, targets, scenarios: measured }, null, 2)}\n`,
  );
  writeFileSync(path.join(outDir, 'latest.md'), text);
}

main().catch((err) => {
  process.stderr.write(`${err.stack}\n`);
  process.exit(1);
});
