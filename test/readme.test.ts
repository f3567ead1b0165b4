// The README's API example is examples/api-overview.ts, word for word (but for the import
// path), and it runs.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

test('the README API example is examples/api-overview.ts', () => {
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  const marker = readme.indexOf('<!-- The block below is examples/api-overview.ts');
  expect(marker).toBeGreaterThan(0);
  const block = readme.slice(
    readme.indexOf('```ts\n', marker) + 6,
    readme.indexOf('```\n', marker + 80),
  );
  const file = readFileSync(path.join(root, 'examples', 'api-overview.ts'), 'utf8');
  expect(block).toBe(file.replace("from '../lib'", "from 'kernel-sctp'"));
});

test('the README API example runs and prints what it says', () => {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'examples', 'api-overview.js')], {
    encoding: 'utf8',
    timeout: 60000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain("peer addresses: [ '127.0.0.1', '127.0.0.2' ]");
  expect(r.stdout).toContain('state: established');
  expect(r.stdout).toContain('association: comm_up');
  expect(r.stdout).toContain('echo on stream 1: hello');
  expect(r.stdout).toContain('echo on stream 0: one more message');
  expect(r.stdout).toContain('association: shutdown_comp');
});
