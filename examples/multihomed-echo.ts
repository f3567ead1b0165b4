// A multihomed SCTP association on one machine: the server listens on 127.0.0.1 and
// 127.0.0.2, the client binds 127.0.0.3 and 127.0.0.4 and connects to both server
// addresses. Both ends print the other's address list, then exchange a few messages on
// different streams, and close with a graceful SHUTDOWN.
//
//   scripts/sctp-run node dist/examples/multihomed-echo.js
import { connect, createServer } from '../lib';

const server = createServer((socket) => {
  const peers = socket.remoteAddresses().map((a) => a.address);
  console.log(`server: association up, client addresses: ${peers.join(', ')}`);
  socket.on('message', (data, info) => {
    socket.send(data, { stream: info.stream, ppid: info.ppid }); // echo on the same stream
  });
  socket.on('end', () => console.log('server: association shut down by the client'));
  socket.on('error', (err) => console.error('server:', err.message));
});

server.listen({ host: ['127.0.0.1', '127.0.0.2'], port: 0 }, () => {
  const { port, addresses } = server.address()!;
  console.log(`server: listening on ${addresses.map((a) => a.address).join(', ')} port ${port}`);

  const client = connect(
    {
      host: ['127.0.0.1', '127.0.0.2'],
      port,
      localAddress: ['127.0.0.3', '127.0.0.4'],
      streams: { out: 4, in: 4 },
    },
    () => {
      const status = client.status();
      const servers = client.remoteAddresses().map((a) => a.address);
      console.log(`client: connected, server addresses: ${servers.join(', ')}`);
      console.log(
        `client: ${status.outboundStreams} outbound streams, ` +
          `primary path ${status.primary.address.address} (${status.primary.state})`,
      );
      const messages = ['hello', 'multihomed', 'world'];
      messages.forEach((text, i) =>
        client.send(text, { stream: i % status.outboundStreams, ppid: 46 }),
      );
      let received = 0;
      client.on('message', (data, info) => {
        console.log(`client: echo "${data}" on stream ${info.stream}, ppid ${info.ppid}`);
        if (++received === messages.length) client.end(); // graceful SHUTDOWN
      });
    },
  );
  client.on('close', () => {
    console.log('client: closed');
    server.close(() => console.log('server: closed'));
  });
});
