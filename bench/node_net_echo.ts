// The libuv reference contender: a node:net echo server with backpressure.
//
//   node dist/bench/node_net_echo.js --host 127.0.0.1 --port P     (port 0: any free port)
//
// Prints "listening on HOST:PORT"; stops cleanly on SIGTERM or SIGINT.
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: { host: { type: 'string', default: '127.0.0.1' }, port: { type: 'string', default: '0' } },
});

const sockets = new Set<net.Socket>();

// noDelay: every contender disables Nagle, or pipelined echoes would wait for delayed ACKs.
const server = net.createServer({ noDelay: true }, (socket) => {
  sockets.add(socket);
  socket.on('data', (chunk) => {
    // Backpressure: stop reading while the kernel will not take more; resume on 'drain'.
    if (!socket.write(chunk)) socket.pause();
  });
  socket.on('drain', () => socket.resume());
  // A peer that resets affects only its own connection.
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
});

server.on('error', (err) => {
  console.error(`node_net_echo: ${err.message}`);
  process.exit(1);
});

server.listen({ host: values.host, port: Number(values.port) }, () => {
  const addr = server.address() as net.AddressInfo;
  console.log(`listening on ${values.host}:${addr.port}`);
});

function stop(): void {
  server.close();
  for (const socket of sockets) socket.destroy();
  process.exit(0);
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
