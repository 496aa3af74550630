'use strict';
// A node:http server that runs each request's work on a pool: `node server.js worker-waker` or
// `node server.js piscina`. Binds 127.0.0.1 on a free port and prints it; stops on SIGTERM or
// after MAX_LIFETIME_MS, whichever comes first. HTTP_SPIN sets worker-waker/pool's spinMicroseconds
// (default: the pool's own default).
const http = require('node:http');
const path = require('node:path');

const TASK = path.join(__dirname, 'task.js');
const MAX_LIFETIME_MS = 120_000;
const kind = process.argv[2];

function makePool() {
  if (kind === 'worker-waker') {
    const { Pool } = require('worker-waker/pool');
    const spin = process.env.HTTP_SPIN;
    return new Pool({ filename: TASK, ...(spin !== undefined && spin !== '' && { spinMicroseconds: Number(spin) }) });
  }
  if (kind === 'piscina') {
    const { Piscina } = require('piscina');
    return new Piscina({ filename: TASK });
  }
  throw new Error(`usage: node server.js worker-waker|piscina (got ${kind})`);
}

const pool = makePool();
let seed = 0;
const server = http.createServer((req, res) => {
  pool.run(seed++).then(
    (result) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(result));
    },
    (error) => {
      res.statusCode = 500;
      res.end(String(error));
    },
  );
});

function stop() {
  server.close();
  server.closeAllConnections();
  Promise.resolve(pool.destroy()).then(() => process.exit(0));
}
process.on('SIGTERM', stop);
setTimeout(stop, MAX_LIFETIME_MS).unref();
server.listen(0, '127.0.0.1', () => console.log(`listening ${server.address().port}`));
