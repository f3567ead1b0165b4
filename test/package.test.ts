// The package as a consumer sees it: imported by its name from ES modules and from CommonJS
// (through package.json's `exports`), and type-checked from TypeScript against the shipped
// declarations with `strict`. The consumers live in a fresh directory whose
// node_modules/kernel-sctp is this checkout, and they echo a message over real SCTP.
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
let project: string;

beforeAll(() => {
  project = fs.mkdtempSync(path.join(os.tmpdir(), 'kernel-sctp-consumer-'));
  fs.mkdirSync(path.join(project, 'node_modules'));
  fs.symlinkSync(root, path.join(project, 'node_modules', 'kernel-sctp'));
  // TypeScript resolves @types/node from the consumer's node_modules too.
  fs.mkdirSync(path.join(project, 'node_modules', '@types'));
  fs.symlinkSync(
    path.join(root, 'node_modules', '@types', 'node'),
    path.join(project, 'node_modules', '@types', 'node'),
  );
});

afterAll(() => fs.rmSync(project, { recursive: true, force: true }));

function write(name: string, text: string): string {
  const file = path.join(project, name);
  fs.writeFileSync(file, text);
  return file;
}

/** An echo over loopback; `load` is how the module gets kernel-sctp. */
const echo = (load: string) => `${load}
const server = ksctp.createServer((s) => s.on('message', (d, i) => s.send(d, { stream: i.stream, ppid: i.ppid })));
server.listen({ host: '127.0.0.1', port: 0 }, () => {
  const socket = ksctp.connect({ host: '127.0.0.1', port: server.address().port, streams: { out: 4, in: 4 } });
  socket.on('connect', () => socket.send('hello', { stream: 3, ppid: 46 }));
  socket.on('message', (data, info) => {
    console.log(JSON.stringify({ data: String(data), stream: info.stream, ppid: info.ppid,
      socket: socket instanceof ksctp.Socket, supported: ksctp.isSupported() }));
    socket.end();
    socket.on('close', () => server.close());
  });
});
`;

function runNode(file: string): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [file], { cwd: project, encoding: 'utf8', timeout: 60000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const echoed = { data: 'hello', stream: 3, ppid: 46, socket: true, supported: true };

test('ES module: named and default imports by the package name, and an echo', () => {
  const file = write(
    'consumer.mjs',
    echo(`import * as ksctp from 'kernel-sctp';
import pkg, { connect } from 'kernel-sctp';
if (pkg.connect !== connect || ksctp.connect !== connect) throw new Error('two copies');`),
  );
  const r = runNode(file);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual(echoed);
});

test('CommonJS: require by the package name, and an echo; internals are not exported', () => {
  const file = write('consumer.cjs', echo(`const ksctp = require('kernel-sctp');`));
  const r = runNode(file);
  expect(r.stderr).toBe('');
  expect(JSON.parse(r.stdout)).toEqual(echoed);
  const deep = write('deep.cjs', `require('kernel-sctp/dist/lib/socket');`);
  expect(runNode(deep).stderr).toContain('ERR_PACKAGE_PATH_NOT_EXPORTED');
  const pkg = write('pkg.cjs', `console.log(require('kernel-sctp/package.json').name);`);
  expect(runNode(pkg).stdout).toBe('kernel-sctp\n');
});

test('TypeScript (strict, node16 resolution): ESM and CommonJS consumers type-check, and a wrong call does not', () => {
  const consumer = `
import { connect, createServer, createEndpoint, capabilities, type Socket, type MessageInfo, type Notification } from 'kernel-sctp';

const server = createServer((s: Socket) => {
  s.on('message', (data: Buffer, info: MessageInfo) => s.send(data, { stream: info.stream, ppid: info.ppid }));
});
server.listen({ host: ['127.0.0.1', '127.0.0.2'], port: 0 });
const socket: Socket = connect({ host: '127.0.0.1', port: 1, streams: { out: 2, in: 2 } });
socket.on('notification', (n: Notification) => {
  if (n.type === 'assoc_change') console.log(n.state);
});
const ok: boolean = socket.write('x');
const endpoint = createEndpoint({ host: '127.0.0.1' });
const streams: number = socket.status().outboundStreams;
const prSctp: boolean = capabilities().features.prSctp.supported;
export { ok, endpoint, streams, prSctp };
`;
  write('esm.mts', consumer);
  write('cjs.cts', consumer);
  const tsconfig = {
    compilerOptions: {
      strict: true,
      module: 'node16',
      moduleResolution: 'node16',
      target: 'ES2022',
      noEmit: true,
      types: ['node'],
    },
    files: ['esm.mts', 'cjs.cts'],
  };
  write('tsconfig.json', JSON.stringify(tsconfig));
  const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
  const check = () =>
    // Generous: tsc takes ~20 s in User-Mode Linux, minutes under qemu with the sanitizers.
    spawnSync(process.execPath, [tsc, '-p', project], { encoding: 'utf8', timeout: 600000 });
  const good = check();
  expect(good.stdout + good.stderr).toBe('');
  expect(good.status).toBe(0);
  // The declarations are really what is checked: a wrong type is an error.
  write('cjs.cts', `${consumer}\nconnect({ host: '127.0.0.1', port: 'not a number' });\n`);
  const bad = check();
  expect(bad.status).not.toBe(0);
  expect(bad.stdout).toMatch(
    /cjs\.cts\(\d+,\d+\): error TS2322: Type 'string' is not assignable to type 'number'/,
  );
}, 1_500_000);

test('package.json: exports and types point at files that exist', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const dot = pkg.exports['.'];
  for (const target of [dot.types, dot.require, dot.import, pkg.main, pkg.types]) {
    expect(fs.existsSync(path.join(root, target))).toBe(true);
  }
  expect(
    execFileSync(process.execPath, ['-p', `require.resolve('kernel-sctp')`], {
      cwd: project,
      encoding: 'utf8',
    }).trim(),
  ).toBe(path.join(fs.realpathSync(root), 'dist', 'lib', 'index.js')); // through the symlink
});
