// A Diameter client over kernel-sctp: connects (multihomed if given several addresses),
// exchanges capabilities, keeps the watchdog going for --duration seconds, optionally sends
// a burst of --requests accounting requests spread over the streams, then disconnects
// (DPR/DPA, then the SCTP SHUTDOWN).
//
//   node dist/examples/diameter/client.js --connect 192.0.2.1,198.51.100.1 \
//     --origin-host client.example.test --watchdog 1000 --duration 5 --requests 1000
//
// Prints what happens, a line each (--json: a JSON object each, the summary last). Exits 0
// when the peer opened, every watchdog and request was answered, and the disconnect was clean.
import { parseArgs } from 'node:util';
import { Application, avp, Code, Command, u32, text, type Message } from './message';
import { commonOptions, int, list, printer, sctpOptions } from './options';
import { DiameterPeer } from './peer';

const { values } = parseArgs({
  options: {
    ...commonOptions,
    connect: { type: 'string', default: '127.0.0.1' },
    local: { type: 'string' },
    duration: { type: 'string', default: '5' },
    requests: { type: 'string', default: '0' },
  },
});
const say = printer(values.json);
const originHost = values['origin-host'] ?? 'client.example.test';
// Every option is read before anything starts: a bad one is an error here, not later.
const streams = int(values, 'streams');
const duration = int(values, 'duration');
const requestCount = int(values, 'requests');

const peer = DiameterPeer.connect(
  {
    host: list(values.connect),
    port: int(values, 'port'),
    ...(values.local && { localAddress: list(values.local) }),
    streams: { out: streams, in: streams },
    ...sctpOptions(values),
  },
  {
    originHost,
    originRealm: values.realm,
    acctApplications: [Application.BaseAccounting],
    watchdogInterval: int(values, 'watchdog'),
  },
);
peer.socket.once('connect', () => {
  const addresses = peer.socket.remoteAddresses().map((a) => a.address);
  const streams = peer.socket.outboundStreams;
  say(
    'connect',
    { addresses, streams },
    `connected: ${addresses.join(',')} port ${peer.socket.remotePort}, ${streams} outbound streams`,
  );
});

const summary = {
  open: null as null | { host: string; realm: string; productName?: string; addresses: string[] },
  watchdogs: { sent: 0, answered: 0, suspects: 0, longestRoundTrip: 0 },
  requests: {
    sent: 0,
    answered: 0,
    matched: 0,
    resultCodes: {} as Record<string, number>,
    streams: 0,
  },
  disconnect: { clean: false, error: undefined as string | undefined },
};
let longest = 0;
peer.on('watchdog', (ms) => (longest = Math.max(longest, ms)));
peer.on('suspect', () => say('suspect', {}, 'watchdog: no answer within Tw (suspect)'));

peer.on('open', async (remote) => {
  summary.open = {
    host: remote.host,
    realm: remote.realm,
    productName: remote.productName,
    addresses: remote.addresses,
  };
  say(
    'open',
    summary.open,
    `open: peer ${remote.host} realm ${remote.realm} (${remote.productName ?? 'no product name'}), addresses ${remote.addresses.join(',')}`,
  );
  await new Promise((resolve) => setTimeout(resolve, 1000 * duration));
  if (peer.state !== 'open') return; // it closed meanwhile: 'close' said why
  const { watchdogsSent: sent, watchdogsAnswered: answered } = peer.counters;
  say(
    'watchdogs',
    { sent, answered },
    `watchdog: ${sent} sent, ${answered} answered, longest round trip ${longest.toFixed(1)} ms`,
  );
  if (requestCount > 0) await burst(requestCount, remote.host, remote.realm);
  await peer.disconnect();
});

/** `count` Accounting-Requests at once; each answer must carry its request's Session-Id. */
async function burst(count: number, host: string, realm: string): Promise<void> {
  const started = performance.now();
  const answers = await Promise.allSettled(
    Array.from({ length: count }, (_, n) => {
      const sessionId = `${originHost};${Date.now()};${n}`;
      const request = peer.request(Command.Accounting, Application.BaseAccounting, [
        avp.text(Code.SessionId, sessionId),
        ...peer.origin(),
        avp.text(Code.DestinationRealm, realm),
        avp.text(Code.DestinationHost, host),
        avp.u32(Code.AccountingRecordType, 1), // EVENT_RECORD
        avp.u32(Code.AccountingRecordNumber, n),
        avp.u32(Code.AcctApplicationId, Application.BaseAccounting),
      ]);
      return request.then((answer: Message) => ({ answer, sessionId }));
    }),
  );
  const { requests } = summary;
  requests.sent = count;
  requests.streams = Math.max(1, peer.socket.outboundStreams - 1);
  for (const settled of answers) {
    if (settled.status === 'rejected') {
      say(
        'requestFailed',
        { error: settled.reason.message },
        `request failed: ${settled.reason.message}`,
      );
      continue;
    }
    const { answer, sessionId } = settled.value;
    requests.answered++;
    if (text(answer, Code.SessionId) === sessionId) requests.matched++;
    const code = u32(answer, Code.ResultCode) ?? 'none';
    requests.resultCodes[code] = (requests.resultCodes[code] ?? 0) + 1;
  }
  const codes = Object.entries(requests.resultCodes).map(([code, n]) => `${code} x${n}`);
  say(
    'requests',
    requests,
    `requests: ${count} sent over ${requests.streams} streams, ${requests.answered} answered, ` +
      `${requests.matched} with their own Session-Id, in ${(performance.now() - started).toFixed(0)} ms; ` +
      `Result-Code ${codes.join(', ') || 'none'}`,
  );
}

process.once('SIGINT', () => void peer.disconnect());
peer.on('close', (error) => {
  summary.watchdogs = {
    sent: peer.counters.watchdogsSent,
    answered: peer.counters.watchdogsAnswered,
    suspects: peer.counters.suspects,
    longestRoundTrip: Math.round(longest * 10) / 10,
  };
  summary.disconnect = { clean: !error && summary.open !== null, error: error?.message };
  say(
    'close',
    summary,
    error ? `closed: ${error.message}` : 'closed: DPA received, association shut down',
  );
  const { watchdogs, requests } = summary;
  const ok =
    summary.disconnect.clean &&
    watchdogs.answered === watchdogs.sent && // a DWR still out is answered before the DPR
    requests.matched === requests.sent;
  process.exitCode = ok ? 0 : 1;
});
