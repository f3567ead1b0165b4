// A Diameter server over kernel-sctp: listens (on several addresses for multihoming),
// answers CER, DWR and DPR, sends its own watchdogs, and answers base accounting requests
// with DIAMETER_SUCCESS (others with DIAMETER_APPLICATION_UNSUPPORTED).
//
//   node dist/examples/diameter/server.js --listen 192.0.2.2,198.51.100.2 \
//     --origin-host server.example.test --watchdog 1000
//
// Prints a line per event (--json: a JSON object each). --once exits after the first peer
// has gone.
import { parseArgs } from 'node:util';
import { createServer } from '../../lib';
import {
  Application,
  avp,
  Code,
  Command,
  find,
  MAX_MESSAGE_LENGTH,
  Result,
  type Avp,
} from './message';
import { commonOptions, int, list, printer, sctpOptions } from './options';
import { DiameterPeer, DIAMETER_PPID } from './peer';

const { values } = parseArgs({
  options: {
    ...commonOptions,
    listen: { type: 'string', default: '127.0.0.1' },
    once: { type: 'boolean', default: false },
  },
});
const say = printer(values.json);
// Every option is read before anything starts: a bad one is an error here, not later.
const streams = int(values, 'streams');
const watchdogInterval = int(values, 'watchdog');
const port = int(values, 'port');
const peers = new Set<DiameterPeer>();

const server = createServer(
  {
    ppid: DIAMETER_PPID,
    streams: { out: streams, in: streams },
    maxMessageSize: MAX_MESSAGE_LENGTH, // what one peer can make us hold
    ...sctpOptions(values),
  },
  (socket) => {
    const from = socket
      .remoteAddresses()
      .map((a) => a.address)
      .join(',');
    const peer = DiameterPeer.accept(socket, {
      originHost: values['origin-host'] ?? 'server.example.test',
      originRealm: values.realm,
      acctApplications: [Application.BaseAccounting],
      watchdogInterval,
    });
    peers.add(peer);
    let disconnectCause: number | undefined;
    peer.on('open', (remote) =>
      say(
        'open',
        { peer: remote, from },
        `peer open: ${remote.host} realm ${remote.realm} (${remote.productName ?? 'no product name'}) from ${from}`,
      ),
    );
    peer.on('request', (request, reply) => {
      if (
        request.command !== Command.Accounting ||
        request.applicationId !== Application.BaseAccounting
      ) {
        return reply(Result.ApplicationUnsupported);
      }
      // The ACA echoes the record's type and number (RFC 6733 §9.7.2); without them, 5005.
      const record = [Code.AccountingRecordType, Code.AccountingRecordNumber].map((code) =>
        find(request, code),
      );
      if (record.some((a) => a === undefined)) return reply(Result.MissingAvp);
      reply(Result.Success, [
        ...(record as Avp[]),
        avp.u32(Code.AcctApplicationId, Application.BaseAccounting),
      ]);
    });
    peer.on('watchdogRequest', () =>
      say('watchdogRequest', {}, `peer ${peer.remote?.host} sent DWR, answered with DWA`),
    );
    peer.on('disconnectRequest', (cause) => {
      disconnectCause = cause;
      say(
        'disconnectRequest',
        { cause },
        `peer ${peer.remote?.host} sent DPR (Disconnect-Cause ${cause}), answered with DPA`,
      );
    });
    peer.on('close', (error) => {
      peers.delete(peer);
      const { counters } = peer;
      say(
        'close',
        {
          peer: peer.remote ?? null,
          from,
          counters,
          disconnectCause,
          clean: !error,
          error: error?.message,
        },
        `peer closed: ${peer.remote?.host ?? from}, ${error ? error.message : 'clean disconnect'}; ` +
          `watchdogs received ${counters.watchdogsReceived}, sent ${counters.watchdogsSent}, answered ` +
          `${counters.watchdogsAnswered}; requests answered ${counters.requestsReceived}`,
      );
      if (values.once) server.close();
    });
  },
);

server.listen({ host: list(values.listen), port }, () => {
  const { port, addresses } = server.address()!;
  const listening = addresses.map((a) => a.address);
  say(
    'listening',
    { addresses: listening, port },
    `listening: ${listening.join(',')} port ${port}`,
  );
});
// On SIGTERM or SIGINT, a DPR to every peer (REBOOTING), then exit once all have gone.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    server.close();
    for (const peer of peers) void peer.disconnect();
  });
}
