'use strict';
// Node.js peer for `cargo xtask bench`: a TCP echo with the `net` module.
// `node echo.js --addr HOST:PORT`.
const net = require('net');
const { parseAddr } = require('./common');

const { host, port } = parseAddr(process.argv);
const server = net.createServer({ noDelay: true }, (socket) => {
  socket.on('data', (chunk) => socket.write(chunk));
  socket.on('error', () => socket.destroy());
});
server.listen({ host, port, backlog: 1024 });
