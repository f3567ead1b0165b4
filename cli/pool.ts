// sctpt pool: Reliable Server Pooling (kernel-sctp/rserpool) from the command line.
//   register  an echo pool element registered under a handle with a registrar
//   use       a pool user that sends through a handle: which element answered, each failover
//   resolve   the elements a registrar lists under a handle
import { setTimeout as sleep } from 'node:timers/promises';
import {
  createPoolElement,
  createPoolUser,
  type Failover,
  type Policy,
  type PolicyName,
  type PoolElementParameter,
  type PoolElementSession,
  type RegistrarOptions,
} from '../lib/rserpool';
import { POLICIES } from '../lib/rserpool/asap';
import { parseRegistrar } from '../lib/rserpool/registrar';
import { MAX_MS, UsageError, type OptionTable, type ParsedOptions } from './args';
import { commonOptions, outputFor } from './common';

export const options: OptionTable = {
  registrar: {
    type: 'list',
    help: 'registrar(s), each host[+host...]:port (ASAP, default port 3863)',
  },
  announce: { type: 'flag', help: 'also find registrars by their announces (239.0.0.50:3863)' },
  handle: { type: 'string', default: 'EchoPool', help: 'the pool handle' },
  // register
  policy: {
    type: 'string',
    default: 'round-robin',
    help: 'register: NAME[:value...], e.g. weighted-round-robin:3, least-used:0.25, priority:2',
  },
  id: {
    type: 'number',
    min: 1,
    max: 0xffffffff,
    help: 'register: the PE identifier (default random)',
  },
  laddr: { type: 'list', help: 'register: address(es) pool users reach it on (default: all)' },
  port: {
    type: 'number',
    default: 0,
    min: 0,
    max: 65535,
    help: 'register: port (0: any free one)',
  },
  reregister: {
    type: 'number',
    default: 30000,
    min: 100,
    max: MAX_MS,
    help: 'register: ms between registrations',
  },
  cookie: {
    type: 'flag',
    help: 'register: leave a cookie (messages echoed so far) after each echo',
  },
  // use
  count: { type: 'number', default: 10, min: 1, max: 1e9, help: 'use: messages to send' },
  interval: {
    type: 'number',
    default: 1000,
    min: 0,
    max: MAX_MS,
    help: 'use: ms between messages',
  },
  timeout: {
    type: 'number',
    default: 5000,
    min: 1,
    max: MAX_MS,
    help: 'use: ms to wait for an echo',
  },
  cache: {
    type: 'number',
    default: 5000,
    min: 0,
    max: MAX_MS,
    help: 'use: ms a handle resolution is reused (0: ask the registrar every time)',
  },
  'failover-timeout': {
    type: 'number',
    default: 15000,
    min: 1,
    max: MAX_MS,
    help: 'use: ms to look for another element before giving up',
  },
  ...commonOptions,
};

export const usage = `sctpt pool register --registrar SPEC[,SPEC] [--announce] [--handle NAME] [--policy P]
       [--id N] [--laddr A[,B]] [--port P] [--reregister MS] [--cookie] [--json] [--log N]
sctpt pool use --registrar SPEC[,SPEC] [--announce] [--handle NAME] [--count N] [--interval MS]
       [--timeout MS] [--cache MS] [--failover-timeout MS] [--json]
sctpt pool resolve --registrar SPEC [--handle NAME] [--json]
RSerPool (RFC 5351) with ASAP (RFC 5352) against a registrar such as RSPLIB's rspregistrar.
"register" runs an echo pool element (each message back on its stream with its PPID) until
SIGINT/SIGTERM, which deregisters it. "use" sends --count messages through the pool, each
after the last one's echo, and shows which element answered; when the element fails it
moves to another (the last cookie handed over) and sends the unanswered message again.
"resolve" lists the pool's elements. SPEC is host[+host...]:port (IPv6 in brackets).
Pool handles default to EchoPool, as RSPLIB's echo service. Examples:
  sctpt pool register --registrar 10.0.0.1:3863 --handle EchoPool --policy least-used:0.2
  sctpt pool use --registrar 10.0.0.1:3863 --handle EchoPool --count 100 --interval 100`;

const ACTIONS = { register, use, resolve } as const;

export function run(o: ParsedOptions, action?: string): Promise<number> {
  if (action === undefined || !Object.hasOwn(ACTIONS, action)) {
    throw new UsageError(`pool takes register, use or resolve${action ? `, not "${action}"` : ''}`);
  }
  return ACTIONS[action as keyof typeof ACTIONS](o, registrarOptions(o));
}

function registrarOptions(o: ParsedOptions): RegistrarOptions {
  const specs = (o.registrar as string[] | undefined) ?? [];
  if (specs.length === 0 && !o.announce)
    throw new UsageError('--registrar or --announce is needed');
  return {
    registrars: specs.map((s) => parseRegistrar(s, '--registrar')),
    announce: o.announce === true,
  };
}

/** "NAME[:value...]" as a policy; values in the order RFC 5356 lists the policy's fields. */
export function parsePolicy(text: string): Policy {
  const [name, ...values] = text.split(':');
  if (!Object.hasOwn(POLICIES, name!)) {
    throw new UsageError(`--policy: "${name}" is not one of ${Object.keys(POLICIES).join(', ')}`);
  }
  const fields = POLICIES[name as PolicyName].fields;
  if (values.length > fields.length) {
    throw new UsageError(
      `--policy: ${name} takes ${fields.length ? fields.join(', ') : 'no value'}`,
    );
  }
  const policy: Policy = { name: name as PolicyName };
  values.forEach((v, i) => {
    const n = Number(v);
    if (v === '' || !Number.isFinite(n)) throw new UsageError(`--policy: "${v}" is not a number`);
    policy[fields[i]!] = n;
  });
  return policy;
}

const hex = (id: number) => `$${id.toString(16).padStart(8, '0')}`;
const elementText = (e: PoolElementParameter) =>
  `PE ${hex(e.id)} ${e.transport.addresses.join('+')}:${e.transport.port}`;
const elementFields = (e: PoolElementParameter) => ({
  id: e.id,
  addresses: e.transport.addresses,
  port: e.transport.port,
  policy: e.policy,
});

/** The cookie --cookie leaves: "KSCTPEC1" and the number of messages echoed (12 bytes). */
const COOKIE_TAG = Buffer.from('KSCTPEC1');

async function register(o: ParsedOptions, registrar: RegistrarOptions): Promise<number> {
  const out = outputFor(o);
  const host = o.laddr as string[] | undefined;
  const pe = createPoolElement({
    ...registrar,
    poolHandle: o.handle as string,
    policy: parsePolicy(o.policy as string),
    ...(o.id !== undefined && { identifier: o.id as number }),
    ...(host && { host }),
    port: o.port as number,
    reregistrationInterval: o.reregister as number,
  });
  let sessions = 0;
  const open = new Set<PoolElementSession>();
  pe.on('session', (session) => {
    const n = ++sessions;
    open.add(session);
    const peer = session.socket.remoteAddresses().map((a) => a.address);
    let echoed = 0;
    out.event('info', 'session', { session: n, peer }, `session ${n} from ${peer.join(',')}`);
    session.on('cookieEcho', (cookie: Buffer) => {
      const restored = cookie.length === 12 && cookie.subarray(0, 8).equals(COOKIE_TAG);
      if (restored) echoed = cookie.readUInt32BE(8);
      out.event(
        'notice',
        'cookieEcho',
        { session: n, bytes: cookie.length, ...(restored && { echoed }) },
        `session ${n}: cookie echo (${cookie.length} bytes${restored ? `, ${echoed} echoed before` : ''})`,
      );
    });
    session.on('message', (data: Buffer, info: { stream: number; ppid: number }) => {
      session.send(data, { stream: info.stream, ppid: info.ppid });
      echoed++;
      if (o.cookie) {
        const cookie = Buffer.alloc(12);
        COOKIE_TAG.copy(cookie);
        cookie.writeUInt32BE(echoed >>> 0, 8);
        session.sendCookie(cookie);
      }
      out.event(
        'debug',
        'echo',
        { session: n, bytes: data.length },
        `session ${n}: echo ${data.length} bytes`,
      );
    });
    session.on('close', (err) => {
      open.delete(session);
      out.event(
        'info',
        'sessionClosed',
        { session: n, echoed, error: err?.message ?? null },
        `session ${n} closed after ${echoed} echoes${err ? ` (${err.message})` : ''}`,
      );
    });
  });
  pe.on('registered', (r) => {
    const fields = {
      id: r.id,
      registrar: r.registrar,
      addresses: r.addresses,
      port: r.port,
      renewal: r.renewal,
    };
    const text = `registered ${hex(r.id)} in ${o.handle} at ${r.addresses.join('+')}:${r.port} with registrar ${[r.registrar.host].flat().join('+')}:${r.registrar.port}`;
    out.event(r.renewal ? 'debug' : 'notice', 'registered', fields, text);
  });
  pe.on('registrationFailed', (err) =>
    out.event(
      'warning',
      'registrationFailed',
      { code: err.code, message: err.message },
      `registration failed: ${err.message}`,
    ),
  );
  pe.on('warning', (err: Error) =>
    out.event('warning', 'warning', { message: err.message }, `warning: ${err.message}`),
  );
  return new Promise((resolve, reject) => {
    pe.once('error', reject);
    pe.listen(() => {
      pe.off('error', reject);
      pe.on('error', (err: Error) =>
        out.event('warning', 'warning', { message: err.message }, `warning: ${err.message}`),
      );
      const stop = () => {
        out.event('notice', 'deregistering', { id: pe.id }, `deregistering ${hex(pe.id)}`);
        pe.close(() => resolve(0));
        // The server closes once its sessions have: end them (SHUTDOWN), as an element that
        // leaves does; their pool users fail over.
        for (const session of open) session.end();
      };
      for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, stop);
    });
  });
}

async function use(o: ParsedOptions, registrar: RegistrarOptions): Promise<number> {
  const out = outputFor(o);
  const user = createPoolUser({ ...registrar, cacheLifetime: o.cache as number });
  const session = user.connect(o.handle as string, {
    failoverTimeout: o['failover-timeout'] as number,
  });
  const byElement = new Map<number, number>();
  let failovers = 0;
  let answer: ((data: Buffer, element: PoolElementParameter) => void) | null = null;
  let failure: ((err: Error) => void) | null = null;
  let resend: (() => void) | null = null;
  session.on('connect', (e) =>
    out.event('notice', 'connect', elementFields(e), `using ${elementText(e)}`),
  );
  session.on('failover', (f: Failover) => {
    failovers++;
    out.event(
      'notice',
      'failover',
      {
        from: elementFields(f.from),
        to: elementFields(f.to),
        reason: f.reason?.message ?? null,
        cookieEchoed: f.cookieEchoed,
      },
      `failover #${failovers}: ${elementText(f.from)} failed (${f.reason?.message ?? 'shut down'}), now ${elementText(f.to)}${f.cookieEchoed ? ', cookie echoed' : ''}`,
    );
    resend?.();
  });
  session.on('message', (data: Buffer, _info: unknown, e: PoolElementParameter) =>
    answer?.(data, e),
  );
  session.on('close', (err: Error | null) => err && failure?.(err));
  let answered = 0;
  try {
    for (let i = 1; i <= (o.count as number); i++) {
      const text = Buffer.from(`message #${i}`);
      const element = await new Promise<PoolElementParameter>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no echo of message #${i} in ${o.timeout} ms`)),
          o.timeout as number,
        );
        answer = (data, e) => {
          if (!data.equals(text)) return; // a late echo of an earlier message, sent twice
          clearTimeout(timer);
          resolve(e);
        };
        failure = (err) => {
          clearTimeout(timer);
          reject(err);
        };
        // Sent to the element in use; after a failover, sent again to the new one.
        resend = () => session.send(text);
        try {
          session.send(text);
        } catch (err) {
          clearTimeout(timer);
          reject(err as Error);
        }
      });
      resend = null; // answered: a failover from now on has nothing to send again
      answered++;
      byElement.set(element.id, (byElement.get(element.id) ?? 0) + 1);
      out.event(
        'info',
        'echo',
        { message: i, id: element.id },
        `message #${i} answered by PE ${hex(element.id)}`,
      );
      if (i < (o.count as number)) await sleep(o.interval as number);
    }
  } catch (err) {
    out.error((err as Error).message);
  }
  session.close();
  user.close();
  const elements = Object.fromEntries([...byElement].map(([id, n]) => [hex(id), n]));
  out.result(
    'summary',
    { sent: o.count, answered, failovers, elements },
    `${answered}/${o.count} answered, ${failovers} failovers; by element: ${[...byElement].map(([id, n]) => `${hex(id)} ${n}`).join(', ')}`,
  );
  return answered === o.count ? 0 : 1;
}

async function resolve(o: ParsedOptions, registrar: RegistrarOptions): Promise<number> {
  const out = outputFor(o);
  const user = createPoolUser({ ...registrar, cacheLifetime: 0, items: 0xffffffff });
  try {
    const elements = await user.resolve(o.handle as string);
    out.result(
      'elements',
      { handle: o.handle, elements: elements.map(elementFields) },
      elements.map((e) => `${elementText(e)} ${e.policy.name}`).join('\n'),
    );
    return 0;
  } finally {
    user.close();
  }
}
