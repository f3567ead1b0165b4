// The README's quick-start demo runs and does what it says.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

test('the multihomed demo exchanges its messages and shuts down cleanly', () => {
  const demo = path.join(__dirname, '..', 'examples', 'multihomed-echo.js');
  const r = spawnSync(process.execPath, [demo], { encoding: 'utf8', timeout: 60000 });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('server: listening on 127.0.0.1, 127.0.0.2');
  expect(r.stdout).toContain('server: association up, client addresses: 127.0.0.3, 127.0.0.4');
  expect(r.stdout).toContain('client: connected, server addresses: 127.0.0.1, 127.0.0.2');
  for (const [i, word] of ['hello', 'multihomed', 'world'].entries()) {
    expect(r.stdout).toContain(`client: echo "${word}" on stream ${i}, ppid 46`);
  }
  expect(r.stdout).toContain('server: association shut down by the client');
  expect(r.stdout).toMatch(/client: closed\n(.|\n)*server: closed\n$/);
});
