// Socket options by name, checked against the layout the addon's table gives for each: an
// unknown field, a wrong type or a value outside its field's range is refused here, before
// anything reaches the kernel (a typo would otherwise write 0, and NaN an undefined cast).
// Options the library itself depends on cannot be changed under it.
import { codedError, invalidArgType, invalidArgValue, outOfRange } from './errors';
import { constants, native, type OptionLayout } from './native';
import { validateObject } from './validate';

const RANGES: Record<string, [number, number]> = {
  u8: [0, 0xff],
  u16: [0, 0xffff],
  u32: [0, 0xffffffff],
  i32: [-(2 ** 31), 2 ** 31 - 1],
  u64: [0, Number.MAX_SAFE_INTEGER],
};

/** Set by the library when a socket opens; reading depends on them staying as they are. */
const OWNED = new Set(['SCTP_RECVRCVINFO', 'SCTP_RECVNXTINFO']);

/** Notifications the library's state machines need: they cannot be turned off. */
const REQUIRED_EVENTS = new Map<number, string>([
  [constants.SCTP_ASSOC_CHANGE, 'SCTP_ASSOC_CHANGE (association lifecycle)'],
  [constants.SCTP_SHUTDOWN_EVENT, 'SCTP_SHUTDOWN_EVENT (graceful close)'],
  [constants.SCTP_PARTIAL_DELIVERY_EVENT, 'SCTP_PARTIAL_DELIVERY_EVENT (reassembly)'],
  [constants.SCTP_STREAM_CHANGE_EVENT, 'SCTP_STREAM_CHANGE_EVENT (stream counts)'],
]);

export const optionNames = Object.keys(native.optionLayouts);

function layoutOf(name: unknown): OptionLayout {
  const layout = typeof name === 'string' ? native.optionLayouts[name] : undefined;
  if (!layout) {
    throw invalidArgValue(
      'name',
      name,
      `is not a known socket option; known: ${optionNames.join(', ')}`,
    );
  }
  return layout;
}

/**
 * Checks every field of `value` against the option's layout (`argument` names it in
 * errors): known names only, integers within their field's range, addresses as a string or
 * { address, port }.
 */
function checkFields(layout: OptionLayout, value: Record<string, unknown>, argument: string): void {
  validateObject(value, argument);
  for (const [field, v] of Object.entries(value)) {
    const spec = layout.fields.find((f) => f.name === field);
    const name = `${argument}.${field}`;
    if (v !== undefined && field === layout.tail?.name) {
      checkTail(layout.tail, v, name);
      continue;
    }
    if (!spec) {
      const known = [
        ...layout.fields.map((f) => f.name),
        ...(layout.tail ? [layout.tail.name] : []),
      ];
      throw invalidArgValue(
        name,
        v,
        `is not a field of this option; its fields: ${known.join(', ')}`,
      );
    }
    if (v === undefined) continue;
    if (spec.kind === 'address') {
      const ok =
        typeof v === 'string' ||
        (typeof v === 'object' &&
          v !== null &&
          typeof (v as { address?: unknown }).address === 'string');
      if (!ok) throw invalidArgType(name, 'a string or an object with an address', v);
      continue;
    }
    const n = typeof v === 'boolean' ? Number(v) : v;
    if (typeof n !== 'number') throw invalidArgType(name, 'of type number', v);
    const [min, max] = RANGES[spec.kind]!;
    if (!Number.isInteger(n) || n < min || n > max) {
      throw outOfRange(name, `an integer >= ${min} and <= ${max} (${spec.kind})`, v);
    }
  }
}

/** A structure's closing list: bytes (u8) as a Uint8Array, numbers (u16) as an array. */
function checkTail(tail: NonNullable<OptionLayout['tail']>, v: unknown, name: string): void {
  if (tail.kind === 'u8') {
    if (!(v instanceof Uint8Array)) throw invalidArgType(name, 'an instance of Uint8Array', v);
  } else {
    if (!Array.isArray(v)) throw invalidArgType(name, 'an array of integers', v);
    v.forEach((n, i) => {
      if (!Number.isInteger(n) || n < 0 || n > 0xffff) {
        throw outOfRange(`${name}[${i}]`, 'an integer >= 0 and <= 65535 (u16)', n);
      }
    });
  }
  if ((v as ArrayLike<unknown>).length > tail.max) {
    throw outOfRange(`${name}.length`, `<= ${tail.max}`, (v as ArrayLike<unknown>).length);
  }
}

/** The option's name and input, checked for getsockopt (the fields the kernel reads). */
export function checkGetOption(name: unknown, input: Record<string, unknown> | undefined): string {
  const layout = layoutOf(name);
  if (input !== undefined) checkFields(layout, input, 'input');
  return name as string;
}

/** The option's name and value, checked for setsockopt. */
export function checkSetOption(name: unknown, value: Record<string, unknown>): string {
  const layout = layoutOf(name);
  checkFields(layout, value, 'value');
  // An option that carries one value (an integer, or sctp_assoc_value's value beside its
  // assocId), and SCTP_EVENT's type and on: left out, each would be written as 0, which
  // means "off" or "none" there, not "unchanged".
  const payload = layout.fields.filter((f) => f.name !== 'assocId').map((f) => f.name);
  const required = name === 'SCTP_EVENT' ? ['type', 'on'] : payload.length === 1 ? payload : [];
  for (const field of required) {
    if (value[field] === undefined) {
      throw invalidArgValue(`value.${field}`, undefined, 'is required for this option');
    }
  }
  if (OWNED.has(name as string)) {
    throw codedError(
      `${name as string} is set by kernel-sctp itself (message receive info); it cannot be changed`,
      'ERR_SCTP_OPTION_RESERVED',
    );
  }
  if (name === 'SCTP_EVENT' && !value.on) {
    const required = REQUIRED_EVENTS.get(value.type as number);
    if (required) {
      throw codedError(
        `kernel-sctp depends on the ${required} notification; it cannot be turned off`,
        'ERR_SCTP_OPTION_RESERVED',
      );
    }
  }
  return name as string;
}
