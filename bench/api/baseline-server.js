'use strict';
// The baseline: a bare Node http server answering every request with the same bytes and
// headers as the real GET /v1/workflows/:id response it is compared against.
const http = require('node:http');

const body = Buffer.from(process.env.BASELINE_BODY, 'base64');
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length });
  res.end(body);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
