'use strict';
// Node.js peer for `cargo xtask bench`: the `http` module, one process, keep-alive and
// pipelining as Node does them. `node http.js --addr HOST:PORT`.
const http = require('http');
const { parseAddr } = require('./common');

const { host, port } = parseAddr(process.argv);
const hello = Buffer.from('Hello, World!');
const server = http.createServer((req, res) => {
  if (req.url === '/plaintext') {
    res.writeHead(200, { 'Server': 'peer', 'Content-Type': 'text/plain', 'Content-Length': hello.length });
    res.end(hello);
  } else {
    res.writeHead(404, { 'Server': 'peer', 'Content-Length': 0 });
    res.end();
  }
});
// The benchmark holds idle connections open on purpose: switch Node's timeouts off.
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.timeout = 0;
server.on('clientError', (err, socket) => socket.destroy());
server.listen({ host, port, backlog: 1024 });
