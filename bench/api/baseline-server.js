'use strict';
// The baseline: a bare Node http server answering with the same bytes and content type as the
// real responses it is compared against: `/list` with the GET /v1/workflows body
// (BASELINE_LIST_BODY), any other path with the GET /v1/workflows/:id body (BASELINE_BODY).
const http = require('node:http');

const body = Buffer.from(process.env.BASELINE_BODY, 'base64');
const listBody = Buffer.from(process.env.BASELINE_LIST_BODY ?? '', 'base64');
const server = http.createServer((req, res) => {
  const bytes = req.url === '/list' ? listBody : body;
  res.writeHead(200, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': bytes.length });
  res.end(bytes);
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
