#!/usr/bin/env node
// sctpt: test multihomed SCTP from the command line (server, client, ctraffic, stats), on
// the kernel's SCTP through kernel-sctp. Exit status: 0 success, 1 failure, 2 usage error.
import {
  describeOptions,
  parseOptions,
  UsageError,
  type OptionTable,
  type ParsedOptions,
} from './args';
import * as capabilities from './capabilities';
import * as client from './client';
import * as ctraffic from './ctraffic';
import * as pool from './pool';
import * as proxy from './proxy';
import * as server from './server';
import * as stats from './stats';
import * as status from './status';
import * as throughput from './throughput';

interface Command {
  options: OptionTable;
  usage: string;
  run(o: ParsedOptions, action?: string): Promise<number> | number;
}

const commands: Record<string, Command> = {
  server,
  client,
  ctraffic,
  stats,
  status,
  throughput,
  capabilities,
  proxy,
  pool,
};

const overview = `usage: sctpt <command> [options]
  server     multihomed echo server (one-to-one, or --one-to-many)
  client     interactive client, or --size N for one message and its echo
  ctraffic   traffic from N associations at a rate, RTT histogram, JSON summary
  stats      the RTT histogram of the last ctraffic run: init|clear|show|json
  status     an association's state and every path (--watch for a live view)
  throughput bulk rate against "server --sink", kernel defaults vs tuned
  capabilities  what the kernel's SCTP has and which net.sctp sysctls are on
  proxy      relays each client association to a backend of its own (load balancing)
  pool       RSerPool: register an echo pool element, use a pool with failover, resolve
Options take "--name value" or "--name=value"; lists are "a,b".
"sctpt <command> --help" shows a command's options and examples.`;

/** Where the command line's own words go: usage, help and the one-line error. */
export interface Console {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

async function dispatch(argv: string[], out: Console): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === 'help') {
    out.stdout.write(`${overview}\n`);
    return name ? 0 : 2;
  }
  const command = commands[name];
  if (!command) throw new UsageError(`unknown command "${name}"\n${overview}`);
  if (rest.includes('--help')) {
    out.stdout.write(`${command.usage}\n\nOptions:\n${describeOptions(command.options)}\n`);
    return 0;
  }
  const action =
    (name === 'stats' || name === 'pool') && rest[0] && !rest[0].startsWith('--')
      ? rest.shift()
      : undefined;
  return command.run(parseOptions(rest, command.options), action);
}

/** Runs one command line to its exit status: 0 success, 1 failure, 2 usage error. */
export async function sctpt(argv: string[], out: Console = process): Promise<number> {
  try {
    return await dispatch(argv, out);
  } catch (error) {
    const err = error as Error & { code?: string };
    out.stderr.write(`sctpt: ${err.message}\n`);
    // Bad input (an address that is not one, a port out of range) is a usage error too.
    const usage =
      err instanceof UsageError || /^ERR_(INVALID_ARG|OUT_OF_RANGE)/.test(err.code ?? '');
    return usage ? 2 : 1;
  }
}

if (require.main === module) {
  void sctpt(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
