// Endpoints, clients and servers a test file opens on 127.0.0.1, closed after each test:
//   const open = tracked(); afterEach(open.cleanup);
// Clients ignore their errors unless a test waits for one.
import {
  connect,
  createEndpoint,
  type Endpoint,
  type EndpointOptions,
  type Server,
  type Socket,
} from '../../lib';

export function tracked() {
  const endpoints: Endpoint[] = [];
  const sockets: Socket[] = [];
  const servers: Server[] = [];
  return {
    endpoint(options: EndpointOptions = {}): Endpoint {
      const ep = createEndpoint({ host: '127.0.0.1', ...options });
      endpoints.push(ep);
      return ep;
    },
    client(port: number, options: Partial<Parameters<typeof connect>[0]> = {}): Socket {
      const s = connect({ host: '127.0.0.1', port, ...options });
      s.on('error', () => {});
      sockets.push(s);
      return s;
    },
    /** A socket or server made elsewhere, closed with the rest. */
    add(thing: Socket | Server): void {
      if ('listen' in thing) servers.push(thing);
      else sockets.push(thing);
    },
    cleanup(): void {
      for (const s of sockets.splice(0)) s.destroy();
      for (const ep of endpoints.splice(0)) ep.destroy();
      for (const s of servers.splice(0)) s.close();
    },
  };
}
