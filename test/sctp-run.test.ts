// scripts/sctp-run picks its mode by probing the kernel. Run by `npm test`, this file itself
// runs where the kernel has SCTP (natively, or inside the VM), so the runner must choose
// native mode here, run the command directly, and pass its exit code through.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const runner = path.join(__dirname, '..', '..', 'scripts', 'sctp-run');
/** The runner with `env` added to this process's environment. */
const runWith = (env: NodeJS.ProcessEnv, args = ['true']) =>
  spawnSync(runner, args, { encoding: 'utf8', env: { ...process.env, ...env } });

describe('scripts/sctp-run where the kernel has SCTP', () => {
  test('detects SCTP and chooses native mode (no VM inside the VM)', () => {
    const r = spawnSync(runner, ['--which-mode'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe('native');
  });

  test('runs the command directly and returns its exit code and output', () => {
    const started = Date.now();
    const r = spawnSync(runner, ['sh', '-c', 'echo out; echo err >&2; exit 3'], {
      encoding: 'utf8',
    });
    expect(r.status).toBe(3);
    expect(r.stdout).toBe('out\n');
    expect(r.stderr).toMatch(/^sctp-run: mode: native \(.*has SCTP.*\)\nerr\n$/);
    // No VM was booted: that would take seconds, and print its own mode line.
    expect(r.stderr).not.toMatch(/mode: vm/);
    expect(Date.now() - started).toBeLessThan(20000);
  });

  test('rejects an unknown mode with a clear message', () => {
    const r = runWith({ KSCTP_MODE: 'bogus' });
    expect(r.status).toBe(125);
    expect(r.stderr).toContain("KSCTP_MODE must be auto, native or vm (got 'bogus')");
  });

  test('rejects a bad KSCTP_ICOUNT, and says that natively it counts nothing', () => {
    const bad = runWith({ KSCTP_ICOUNT: 'yes' });
    expect(bad.status).toBe(125);
    expect(bad.stderr).toContain("KSCTP_ICOUNT must be 0 or 1 (got 'yes')");
    const native = runWith({ KSCTP_ICOUNT: '1' }, ['sh', '-c', 'echo "$SCTP_RUN_ICOUNT"']);
    expect(native.status).toBe(0);
    expect(native.stderr).toContain('KSCTP_ICOUNT=1 applies to the VM only');
    // Natively the command does not run in an instruction-counting VM, and is not told it does.
    expect(native.stdout.trim()).not.toBe('1');
  });
});
