// Bad input gets Node's error codes, never a crash.
import { connect, createServer } from '../lib';

const code = (c: string) => expect.objectContaining({ code: c });

test('connect() options', () => {
  expect(() => connect(undefined as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => connect({ port: 'http' as never })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => connect({ port: 0 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 65536 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 1.5 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 9, host: 'example.com' })).toThrow(code('ERR_INVALID_ARG_VALUE'));
  expect(() => connect({ port: 9, host: '300.1.1.1' })).toThrow(code('ERR_INVALID_ARG_VALUE'));
  expect(() => connect({ port: 9, host: [] })).toThrow(code('ERR_INVALID_ARG_VALUE'));
  expect(() => connect({ port: 9, host: ['127.0.0.1', '127.0.0.1'] })).toThrow(
    code('ERR_INVALID_ARG_VALUE'),
  );
  expect(() => connect({ port: 9, host: 42 as never })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => connect({ port: 9, localAddress: ['127.0.0.1', 'nope'] })).toThrow(
    code('ERR_INVALID_ARG_VALUE'),
  );
  expect(() => connect({ port: 9, localPort: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 9, streams: { out: 0 } })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 9, streams: { in: 70000 } })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 9, connectTimeout: -5 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 9, signal: {} as never })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => connect({ port: 9, noDelay: 'yes' as never })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => connect({ port: 9, ppid: 2 ** 32 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => connect({ port: 9 }, 'cb' as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
});

test('the error messages name the argument and the value', () => {
  expect(() => connect({ port: 9, host: '1.2.3' })).toThrow(/options\.host.*1\.2\.3/);
  expect(() => connect({ port: 70000 })).toThrow(/"options\.port".*>= 1 and <= 65535.*70000/);
});

test('send() arguments are checked before anything is sent', async () => {
  const server = createServer();
  server.listen({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => server.once('listening', r));
  const c = connect({ host: '127.0.0.1', port: server.address()!.port });
  c.on('error', () => {});
  expect(() => c.send(123 as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => c.send('x', { stream: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => c.send('x', { stream: 65536 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => c.send('x', { ppid: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => c.send('x', { ttl: 1.5 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => c.send('x', { unordered: 1 as never })).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => c.send('x', null as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => c.getOption('SCTP_NO_SUCH_OPTION')).toThrow(code('ERR_INVALID_ARG_VALUE'));
  c.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

test('createServer() and listen() arguments', () => {
  expect(() => createServer('x' as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  expect(() => createServer({}, 5 as never)).toThrow(code('ERR_INVALID_ARG_TYPE'));
  const server = createServer();
  expect(() => server.listen({ port: 65536 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(() => server.listen({ port: 0, host: 'localhost.localdomain' })).toThrow(
    code('ERR_INVALID_ARG_VALUE'),
  );
  expect(() => server.listen({ port: 0, backlog: -1 })).toThrow(code('ERR_OUT_OF_RANGE'));
  expect(server.listening).toBe(false);
});

test('a port in use is EADDRINUSE on the server, with the address', async () => {
  const a = createServer();
  a.listen({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => a.once('listening', r));
  const port = a.address()!.port;
  const b = createServer();
  b.listen({ host: '127.0.0.1', port });
  const err = await new Promise<Error & { code?: string; syscall?: string; port?: number }>((r) =>
    b.once('error', r),
  );
  expect(err).toMatchObject({ code: 'EADDRINUSE', syscall: 'bind', port });
  expect(b.listening).toBe(false);
  await new Promise<void>((r) => a.close(() => r()));
});
