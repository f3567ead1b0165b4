// The seed's dual-path topology: two network namespaces joined by two veth pairs on two
// separate subnets. A multihomed association across them must know both paths at both ends.
import path from 'node:path';
import { createDualPath, type DualPath } from './helpers/topology';
import { JsonLines } from './helpers/net';

const peer = path.join(__dirname, 'fixtures', 'peer.js');

describe('dual-path network (namespaces, two veth pairs)', () => {
  let topo: DualPath;
  const processes: JsonLines[] = [];

  beforeAll(() => {
    topo = createDualPath();
  });

  afterAll(() => {
    for (const p of processes) p.kill();
    topo?.teardown();
  });

  test("both ends list both of the other side's addresses, and data flows", async () => {
    const server = new JsonLines('ip', [
      'netns',
      'exec',
      topo.server,
      process.execPath,
      peer,
      'server',
      topo.serverAddresses.join(','),
      '0',
    ]);
    processes.push(server);
    const { listening: port } = await server.next<{ listening: number }>();
    expect(port).toBeGreaterThan(0);

    const client = new JsonLines('ip', [
      'netns',
      'exec',
      topo.client,
      process.execPath,
      peer,
      'client',
      topo.serverAddresses.join(','),
      String(port),
      topo.clientAddresses.join(','),
    ]);
    processes.push(client);

    const clientUp = await client.next<{ up: { local: string[]; remote: string[] } }>();
    const serverUp = await server.next<{ up: { local: string[]; remote: string[] } }>();
    const sorted = (a: string[]) => [...a].sort();
    expect(clientUp.up.remote).toEqual(sorted(topo.serverAddresses));
    expect(clientUp.up.local).toEqual(sorted(topo.clientAddresses));
    expect(serverUp.up.remote).toEqual(sorted(topo.clientAddresses));
    expect(serverUp.up.local).toEqual(sorted(topo.serverAddresses));

    expect(await client.next()).toEqual({ echo: 'ping' });
    expect(await client.exit()).toBe(0);
    expect(await server.exit()).toBe(0);
  });
});
