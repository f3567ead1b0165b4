// What later tests rely on from the test environment (the sctp-run VM or a privileged host):
// root, the sctp module, network namespaces, tc netem and the SCTP sysctls.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { isSupported } from '../lib';
import { createDualPath } from './helpers/topology';

const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' }).trim();

test('runs as root on a kernel with SCTP loaded', () => {
  expect(process.getuid?.()).toBe(0);
  expect(isSupported()).toBe(true);
  expect(readFileSync('/proc/modules', 'utf8')).toMatch(/^sctp /m);
});

test('netem on a veth path and SCTP sysctls work inside a namespace', () => {
  const topo = createDualPath(`e${process.pid}`);
  try {
    const dev = `ca${`e${process.pid}`}`.slice(0, 15);
    topo.exec(topo.client, [
      'tc',
      'qdisc',
      'add',
      'dev',
      dev,
      'root',
      'netem',
      'delay',
      '20ms',
      'loss',
      '5%',
    ]);
    expect(topo.exec(topo.client, ['tc', 'qdisc', 'show', 'dev', dev])).toMatch(
      /netem .*delay 20ms.*loss 5%/,
    );
    topo.exec(topo.client, ['sysctl', '-qw', 'net.sctp.addip_enable=1']);
    expect(topo.exec(topo.client, ['sysctl', '-n', 'net.sctp.addip_enable']).trim()).toBe('1');
    // The namespace's setting is its own: the initial namespace keeps the default.
    expect(sh('sysctl -n net.sctp.addip_enable')).toBe('0');
  } finally {
    topo.teardown();
  }
});
