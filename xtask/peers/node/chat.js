'use strict';
// Node.js peer for `cargo xtask bench --only chat`: solo-server's chat with the `http`
// module, one process. `node chat.js --addr HOST:PORT`.
//
// GET /chat/events: a Server-Sent Events stream (the last 256 messages first, then every
// new one as `id: N` / `data: ...`, a `: ping` every 15 s), sent until the connection
// closes, as solo-server sends it. POST /chat/send: `msg=` of a form, or a text/plain
// body; 204. A subscriber with more than 256 messages' worth of output unsent is told
// `event: lagged` and dropped (solo-server keeps 256 messages for its subscribers).
const http = require('http');
const { parseAddr } = require('./common');

const HISTORY = 256;
const MAX_MESSAGE = 1000;
const MAX_UNSENT = HISTORY * 1024;
const PING_MS = 15000;

const { host, port } = parseAddr(process.argv);
const history = []; // formatted events, oldest first
let nextId = 0;
const subscribers = new Set();

function event(id, text) {
  return `id: ${id}\n` + text.split(/\r\n|\r|\n/).map((line) => `data: ${line}\n`).join('') + '\n';
}

function publish(text) {
  const ev = event(nextId++, text);
  history.push(ev);
  if (history.length > HISTORY) history.shift();
  for (const res of subscribers) {
    if (res.writableLength > MAX_UNSENT) {
      subscribers.delete(res);
      res.end(`event: lagged\ndata: ${HISTORY}\n\n`);
    } else {
      res.write(ev);
    }
  }
}

function subscribe(req, res) {
  // No Transfer-Encoding: the stream runs until the connection closes.
  res.removeHeader('Transfer-Encoding');
  res.writeHead(200, {
    'Content-Type': 'text/event-stream',
    'Cache-Control': 'no-cache',
    'Connection': 'close',
  });
  res.write(': peer chat: connected\n\n' + history.join(''));
  subscribers.add(res);
  res.on('close', () => subscribers.delete(res));
}

function send(req, res) {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= 4 * MAX_MESSAGE) chunks.push(chunk);
  });
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const type = (req.headers['content-type'] || 'text/plain').split(';')[0].trim().toLowerCase();
    let text;
    if (type === 'application/x-www-form-urlencoded') {
      text = new URLSearchParams(body).get('msg') || '';
    } else if (type === 'text/plain') {
      text = body;
    } else {
      return answer(res, 415);
    }
    text = text.trim();
    if (size > 4 * MAX_MESSAGE || Buffer.byteLength(text) > MAX_MESSAGE) return answer(res, 413);
    if (text === '') return answer(res, 400);
    publish(text);
    answer(res, 204);
  });
}

function answer(res, status) {
  res.writeHead(status, status === 204 ? { 'Server': 'peer' } : { 'Server': 'peer', 'Content-Length': 0 });
  res.end();
}

const server = http.createServer((req, res) => {
  if (req.url === '/chat/events' && req.method === 'GET') subscribe(req, res);
  else if (req.url === '/chat/send' && req.method === 'POST') send(req, res);
  else answer(res, 404);
});
setInterval(() => {
  for (const res of subscribers) res.write(': ping\n\n');
}, PING_MS);
// Subscribers stay connected on purpose: switch Node's timeouts off.
server.keepAliveTimeout = 0;
server.headersTimeout = 0;
server.requestTimeout = 0;
server.timeout = 0;
server.on('clientError', (err, socket) => socket.destroy());
server.listen({ host, port, backlog: 1024 });
