// Node-style errors: system errors carry code, errno, syscall (and address/port where one
// is involved); argument errors use Node's ERR_* codes.
import util from 'node:util';

/**
 * An error from the kernel, shaped as Node's own system errors (e.g. `connect ECONNREFUSED
 * 127.0.0.1:9`).
 */
export interface SystemError extends Error {
  /** The errno's name: 'ECONNRESET', 'ETIMEDOUT', 'EADDRINUSE', ... */
  code: string;
  /** The errno, negative as in Node (-104 for ECONNRESET on Linux). */
  errno: number;
  /** The call that failed: 'connect', 'bind', 'sendmsg', 'recvmsg', 'setsockopt', ... */
  syscall: string;
  /** The address involved, where there is one: an array for a multihomed list of several. */
  address?: string | string[];
  /** The port involved, where there is one. */
  port?: number;
}

const NO_SCTP_HINT =
  'the running kernel has no SCTP support. Load it with `sudo modprobe sctp` ' +
  '(Ubuntu ships the module in linux-modules-extra-$(uname -r); RHEL blacklists it in ' +
  '/etc/modprobe.d/sctp-blacklist.conf). Where modules cannot be loaded (containers, CI), ' +
  "run the program under kernel-sctp's scripts/sctp-run, which boots a VM whose kernel has SCTP";

/** Builds an Error for `-errno` returned by the native layer (negative, as native returns it). */
export function systemError(
  negativeErrno: number,
  syscall: string,
  where?: { address?: string | string[]; port?: number },
): SystemError {
  const errno = negativeErrno < 0 ? negativeErrno : -negativeErrno;
  let code: string;
  try {
    code = util.getSystemErrorName(errno);
  } catch {
    code = `Unknown system error ${-errno}`;
  }
  let description = code;
  const map = util.getSystemErrorMap().get(errno);
  if (map) description = `${code} (${map[1]})`;
  let message = `${syscall} ${description}`;
  if (where?.address !== undefined) {
    const addresses = Array.isArray(where.address) ? where.address.join(',') : where.address;
    message += where.port !== undefined ? ` ${addresses}:${where.port}` : ` ${addresses}`;
  }
  if ((code === 'EPROTONOSUPPORT' || code === 'ESOCKTNOSUPPORT') && syscall === 'socket') {
    message += `: ${NO_SCTP_HINT}`;
  }
  const err = new Error(message) as SystemError;
  err.code = code;
  err.errno = errno;
  err.syscall = syscall;
  // A string as in Node's own errors; an array only for a multihomed address list.
  if (where?.address !== undefined) {
    err.address =
      Array.isArray(where.address) && where.address.length === 1
        ? where.address[0]!
        : where.address;
  }
  if (where?.port !== undefined) err.port = where.port;
  Error.captureStackTrace?.(err, systemError);
  return err;
}

export interface CodedError extends Error {
  /**
   * Node's ERR_* code for the error (ERR_INVALID_ARG_VALUE, ERR_SOCKET_CLOSED, ...) or one of
   * this library's (ERR_SCTP_RECONFIG_DENIED, ERR_SCTP_SEND_QUEUE_FULL, ...).
   */
  code: string;
}

function coded<E extends Error>(err: E, code: string): E & CodedError {
  const e = err as E & CodedError;
  e.code = code;
  return e;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'function') return `function ${value.name || '<anonymous>'}`;
  if (typeof value === 'object') {
    const ctor = (value as object).constructor?.name;
    return ctor ? `an instance of ${ctor}` : util.inspect(value, { depth: -1 });
  }
  let shown = util.inspect(value);
  if (shown.length > 28) shown = `${shown.slice(0, 25)}...`;
  return `type ${typeof value} (${shown})`;
}

export function invalidArgType(name: string, expected: string, actual: unknown): TypeError {
  return coded(
    new TypeError(`The "${name}" argument must be ${expected}. Received ${describe(actual)}`),
    'ERR_INVALID_ARG_TYPE',
  );
}

export function invalidArgValue(name: string, value: unknown, reason = 'is invalid'): TypeError {
  return coded(
    new TypeError(`The argument '${name}' ${reason}. Received ${util.inspect(value)}`),
    'ERR_INVALID_ARG_VALUE',
  );
}

export function outOfRange(name: string, range: string, value: unknown): RangeError {
  return coded(
    new RangeError(
      `The value of "${name}" is out of range. It must be ${range}. Received ${util.inspect(value)}`,
    ),
    'ERR_OUT_OF_RANGE',
  );
}

export function socketClosed(): CodedError {
  return coded(new Error('Socket is closed'), 'ERR_SOCKET_CLOSED');
}

export function codedError(message: string, code: string): CodedError {
  return coded(new Error(message), code);
}

/** The error a cancelled operation rejects with, as Node's own AbortSignal users give it. */
export function abortError(signal: AbortSignal): Error {
  const err = new Error('The operation was aborted', { cause: signal.reason });
  err.name = 'AbortError';
  return coded(err, 'ABORT_ERR');
}
