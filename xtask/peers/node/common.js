'use strict';
// Shared by http.js and echo.js: parse `--addr HOST:PORT`.
function parseAddr(argv) {
  const i = argv.indexOf('--addr');
  const value = i >= 0 ? argv[i + 1] : undefined;
  const m = value && /^(.*):(\d+)$/.exec(value);
  if (!m) {
    console.error(`usage: node ${process.argv[1]} --addr HOST:PORT`);
    process.exit(2);
  }
  return { host: m[1].replace(/^\[(.*)\]$/, '$1'), port: Number(m[2]) };
}
module.exports = { parseAddr };
