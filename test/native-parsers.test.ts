// The native parsers of kernel bytes (notifications, address lists, reassembly), built with
// AddressSanitizer and UndefinedBehaviorSanitizer (scripts/build-native-tests), unit-tested
// and fuzzed with random input. Any out-of-bounds access aborts the binary.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

test('notification, address and reassembly parsers: unit checks and 200,000 fuzz inputs', () => {
  const binary = path.join(__dirname, '..', '..', 'build', 'parsers_test');
  const r = spawnSync(binary, ['200000'], { encoding: 'utf8', timeout: 110000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toMatch(/^ok \d+ checks, 200000 fuzz iterations\n$/);
});
