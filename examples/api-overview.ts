import { connect, createServer } from '../lib';

// A multihomed server: one SCTP endpoint on two addresses.
const server = createServer((socket) => {
  socket.on('message', (data, info) => {
    // info: { stream, ppid, ssn, tsn, unordered, context, assocId }
    socket.send(data, { stream: info.stream, ppid: info.ppid }); // echo
  });
});

server.listen({ host: ['127.0.0.1', '127.0.0.2'], port: 0 }, () => {
  const { port } = server.address()!;
  // A multihomed client with 10 streams each way.
  const socket = connect({
    host: ['127.0.0.1', '127.0.0.2'], // the peer's addresses
    port,
    localAddress: ['127.0.0.3', '127.0.0.4'],
    streams: { out: 10, in: 10 },
  });
  socket.on('connect', () => {
    console.log(
      'peer addresses:',
      socket.remoteAddresses().map((a) => a.address),
    );
    console.log('state:', socket.status().state);
    socket.send('hello', { stream: 1, ppid: 46 }); // one message, stream 1, PPID 46
    socket.write('one more message'); // Duplex: default stream and PPID
  });
  socket.on('notification', (n) => {
    if (n.type === 'assoc_change') console.log('association:', n.state); // typed on n.type
  });
  let echoes = 0;
  socket.on('message', (data, info) => {
    console.log(`echo on stream ${info.stream}: ${data}`);
    if (++echoes === 2) socket.end(); // graceful SHUTDOWN; socket.destroy() would ABORT
  });
  socket.on('close', () => server.close());
});
