// The README's examples are files in examples/, word for word (but for the import path),
// and they run and print what they say.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');

function run(example: string): string {
  const r = spawnSync(process.execPath, [path.join(root, 'dist', 'examples', `${example}.js`)], {
    encoding: 'utf8',
    timeout: 60000,
  });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return r.stdout;
}

test.each(['api-overview', 'one-to-many'])(
  'the README block for examples/%s.ts is that file',
  (example) => {
    const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
    const marker = readme.indexOf(`<!-- The block below is examples/${example}.ts`);
    expect(marker).toBeGreaterThan(0);
    const start = readme.indexOf('```ts\n', marker) + 6;
    const block = readme.slice(start, readme.indexOf('```\n', start));
    const file = readFileSync(path.join(root, 'examples', `${example}.ts`), 'utf8');
    expect(block).toBe(file.replace("from '../lib'", "from 'kernel-sctp'"));
  },
);

test('the one-to-one example runs and prints what it says', () => {
  const out = run('api-overview');
  expect(out).toContain("peer addresses: [ '127.0.0.1', '127.0.0.2' ]");
  expect(out).toContain('state: established');
  expect(out).toContain('association: comm_up');
  expect(out).toContain('echo on stream 1: hello');
  expect(out).toContain('echo on stream 0: one more message');
  expect(out).toContain('association: shutdown_comp');
});

test('the one-to-many example runs and prints what it says', () => {
  const out = run('one-to-many');
  for (const host of ['127.0.0.3', '127.0.0.4']) {
    expect(out).toContain(`up from ${host}`);
    expect(out).toContain(`echo: hello from ${host}`);
  }
  expect(out.match(/echo after peeloff: and on its own socket/g)).toHaveLength(2);
  expect(out).toContain('server closed');
});
