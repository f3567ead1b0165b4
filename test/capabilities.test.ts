// capabilities() against the kernel itself: python's socket module asks the same socket
// options by their numbers in <linux/sctp.h> (no kernel-sctp code involved), and the
// net.sctp sysctls are read and switched with sysctl(8).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { capabilities, createEndpoint } from '../lib';
import { optionError } from '../lib/capabilities';
import { sysctl } from './helpers/net';

/** The option numbers as the kernel's UAPI header defines them. */
function optionNumber(name: string): number {
  const header = readFileSync('/usr/include/linux/sctp.h', 'utf8');
  const m = header.match(new RegExp(`^#define\\s+${name}\\s+(\\d+)`, 'm'));
  if (!m) throw new Error(`${name} is not in /usr/include/linux/sctp.h`);
  return Number(m[1]);
}

/** Asks a fresh one-to-many socket from python: the errno of each getsockopt (0: it worked). */
function pythonProbe(options: number[], schedulers: number[]) {
  const script = `
import errno, socket, struct, sys, json
s = socket.socket(socket.AF_INET, socket.SOCK_SEQPACKET, 132)
def get(opt):
    try:
        s.getsockopt(132, opt, 512); return 0
    except OSError as e:
        return e.errno
def sched(value):
    try:
        s.setsockopt(132, ${optionNumber('SCTP_STREAM_SCHEDULER')}, struct.pack('=iI', 0, value)); return 0
    except OSError as e:
        return e.errno
print(json.dumps({'get': [get(o) for o in ${JSON.stringify(options)}],
                  'sched': [sched(v) for v in ${JSON.stringify(schedulers)}]}))
`;
  return JSON.parse(execFileSync('python3', ['-c', script], { encoding: 'utf8' })) as {
    get: number[];
    sched: number[];
  };
}

describe('capabilities()', () => {
  test('what the kernel supports is what python finds by the same option numbers', () => {
    const caps = capabilities();
    expect(caps.kernel).toBe(os.release());
    const features = Object.values(caps.features);
    const probe = pythonProbe(
      features.map((f) => optionNumber(f.option)),
      [0, 1, 2, 3, 4],
    );
    features.forEach((f, i) => {
      const errno = probe.get[i]!;
      expect([f.option, f.supported]).toEqual([f.option, errno !== os.constants.errno.ENOPROTOOPT]);
    });
    const names = ['fcfs', 'priority', 'round-robin', 'fair-capacity', 'weighted-fair'];
    expect(caps.schedulers).toEqual(names.filter((_, v) => probe.sched[v] === 0));
    // Linux 6.1, the VM's kernel, has all of these; FC and WFQ came in 6.3.
    expect(caps.schedulers.slice(0, 3)).toEqual(['fcfs', 'priority', 'round-robin']);
    for (const f of features) expect([f.option, f.supported]).toEqual([f.option, true]);
  });

  test('the sysctls are the namespace’s, and what is enabled follows them', () => {
    const caps = capabilities();
    expect(caps.sysctls.reconf_enable).toBe(Number(sysctl('net.sctp.reconf_enable')));
    expect(caps.sysctls.cookie_hmac_alg).toBe(sysctl('net.sctp.cookie_hmac_alg'));
    for (const f of Object.values(caps.features)) {
      if (!f.sysctl) {
        expect(f.enabled).toBeNull();
        continue;
      }
      expect([f.sysctl, f.enabled]).toEqual([f.sysctl, Number(sysctl(f.sysctl)) !== 0]);
    }
  });

  test.each([
    ['streamReconfiguration', 'net.sctp.reconf_enable'],
    ['prSctp', 'net.sctp.prsctp_enable'],
    ['interleaving', 'net.sctp.intl_enable'],
    ['auth', 'net.sctp.auth_enable'],
    ['udpEncapsulation', 'net.sctp.udp_port'],
  ] as const)('%s: switching %s on and off shows in the next call', (feature, name) => {
    const saved = sysctl(name);
    const on = name.endsWith('udp_port') ? '9899' : '1';
    try {
      sysctl(name, on);
      expect(capabilities().features[feature].enabled).toBe(true);
      sysctl(name, '0');
      expect(capabilities().features[feature].enabled).toBe(false);
      expect(capabilities().features[feature].supported).toBe(true);
    } finally {
      sysctl(name, saved);
    }
  });

  test('an option the kernel does not know: the system error says which feature it is', () => {
    const err = optionError(-os.constants.errno.ENOPROTOOPT, 'setsockopt', 'SCTP_AUTH_SUPPORTED');
    expect(err).toMatchObject({ code: 'ENOPROTOOPT', syscall: 'setsockopt' });
    expect(err.message).toMatch(/authenticated chunks, AUTH \(RFC 4895\).*does not have it/);
    // Other errors and options are left as they are.
    const other = optionError(-os.constants.errno.EINVAL, 'setsockopt', 'SCTP_AUTH_SUPPORTED');
    expect(other.message).toMatch(/^setsockopt EINVAL \([^)]*\)$/);
  });

  test('interleaving refused by the kernel (EPERM): the error says what it needs', () => {
    const saved = sysctl('net.sctp.intl_enable');
    const ep = createEndpoint({ host: '127.0.0.1' });
    try {
      sysctl('net.sctp.intl_enable', '0');
      expect(() => ep.setOption('SCTP_INTERLEAVING_SUPPORTED', { value: 1 })).toThrow(
        expect.objectContaining({
          code: 'EPERM',
          syscall: 'setsockopt',
          message: expect.stringMatching(/net\.sctp\.intl_enable=1.*SCTP_FRAGMENT_INTERLEAVE/),
        }),
      );
      // With both, the kernel takes it.
      sysctl('net.sctp.intl_enable', '1');
      ep.setOption('SCTP_FRAGMENT_INTERLEAVE', { value: 2 });
      ep.setOption('SCTP_INTERLEAVING_SUPPORTED', { value: 1 });
      expect(ep.getOption('SCTP_INTERLEAVING_SUPPORTED')).toMatchObject({ value: 1 });
    } finally {
      ep.close();
      sysctl('net.sctp.intl_enable', saved);
    }
  });
});
