import { createEndpoint } from '../lib';

// One socket, many associations: a server endpoint that echoes on every association.
const server = createEndpoint({ host: ['127.0.0.1', '127.0.0.2'] }).listen();
server.on('association', (association) => {
  console.log(`association ${association.id} up from`, association.remoteAddresses()[0]!.address);
});
server.on('message', (data, info) => {
  // info names the association: info.assocId, info.association
  info.association!.send(data, { stream: info.stream, ppid: info.ppid });
});

async function main() {
  const { port } = server.address()!;
  // Two client endpoints, one association each (two endpoints share at most one).
  for (const host of ['127.0.0.3', '127.0.0.4']) {
    const client = createEndpoint({ host });
    const association = await client.connect({ host: ['127.0.0.1', '127.0.0.2'], port });
    association.send(`hello from ${host}`, { stream: 0, ppid: 46 });
    for await (const { data } of association.messages()) {
      console.log('echo:', data.toString());
      break;
    }
    const socket = association.peeloff(); // now a one-to-one Socket with the same association
    socket.on('message', (data) => {
      console.log('echo after peeloff:', data.toString());
      socket.end(); // graceful SHUTDOWN of this association only
    });
    socket.write('and on its own socket');
    await new Promise((resolve) => socket.on('close', resolve));
    client.close();
  }
  server.close(() => console.log('server closed'));
}

void main();
