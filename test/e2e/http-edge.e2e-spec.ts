import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startServerProcess } from '../support/server-process';
import { TEST_ADMIN_KEY, useTestApp } from '../support/test-app';

/** What came back on a raw connection: status line, headers (lower-cased names) and body. */
interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Sends bytes exactly as given (no client library to correct them) and reads the first answer. */
async function sendRaw(port: number, bytes: string | Buffer, options: { halfClose?: boolean } = {}): Promise<RawResponse> {
  const received = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(bytes);
      if (options.halfClose) socket.end();
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('no answer within 10 s')));
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNRESET' && chunks.length > 0 ? resolve(Buffer.concat(chunks)) : reject(error)));
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
  const text = received.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`Not an HTTP answer: ${JSON.stringify(text)}`);
  const [statusLine, ...headerLines] = text.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? text.length - end - 4);
  return { status: Number(statusLine.split(' ')[1]), headers, body: text.slice(end + 4, end + 4 + length) };
}

/** The api.md envelope, with the requestId of the X-Request-Id header. */
function expectEnvelope(res: RawResponse, status: number, code: string): void {
  expect({ status: res.status, contentType: res.headers['content-type'] }).toEqual({ status, contentType: expect.stringMatching(/^application\/json/) });
  const body = JSON.parse(res.body) as { error: Record<string, unknown> };
  expect(Object.keys(body)).toEqual(['error']);
  expect(body.error).toEqual({ code, message: expect.stringMatching(/\S/), requestId: expect.stringMatching(/^req_[0-9a-f]{32}$/) });
  expect(res.headers['x-request-id']).toBe(body.error.requestId);
}

const request = (startLine: string, headers: string[] = [], body = '') =>
  `${startLine}\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;

describe('The HTTP edge: every reply the process writes is the envelope', () => {
  const t = useTestApp();
  let port: number;
  beforeAll(async () => {
    port = Number(new URL(await t.listen()).port);
  });

  describe('a path that is not valid percent-encoding is 400 BAD_REQUEST', () => {
    it.each(['/v1/workflows/%zz', '/%', '/v1/workflows/%C0%AE', '/docs/%'])('%s', async (path) => {
      expectEnvelope(await sendRaw(port, request(`GET ${path} HTTP/1.1`, ['Connection: close'])), 400, 'BAD_REQUEST');
    });
  });

  describe('a request the HTTP parser refuses is 400 BAD_REQUEST, and the connection closes', () => {
    const body = '{"name":"x"}';
    it.each([
      ['a negative Content-Length', request('POST /v1/workflows HTTP/1.1', ['Content-Type: application/json', 'Content-Length: -1'], body)],
      [
        'two different Content-Lengths',
        request('POST /v1/workflows HTTP/1.1', ['Content-Type: application/json', 'Content-Length: 12', 'Content-Length: 13'], body),
      ],
      [
        'Transfer-Encoding with Content-Length',
        request(
          'POST /v1/workflows HTTP/1.1',
          ['Content-Type: application/json', 'Transfer-Encoding: chunked', 'Content-Length: 12'],
          `c\r\n${body}\r\n0\r\n\r\n`,
        ),
      ],
      [
        'a chunk size that is not hexadecimal',
        request('POST /v1/workflows HTTP/1.1', ['Content-Type: application/json', 'Transfer-Encoding: chunked'], `zz\r\n${body}\r\n0\r\n\r\n`),
      ],
      ['a NUL byte in the path', request('GET /v1/work\u0000flows HTTP/1.1')],
      ['HTTP/9.9', request('GET /health HTTP/9.9')],
      ['a header line without a colon', request('GET /health HTTP/1.1', ['NoColonHere'])],
    ])('%s', async (_name, bytes) => {
      const res = await sendRaw(port, bytes);
      expectEnvelope(res, 400, 'BAD_REQUEST');
      expect(res.headers.connection).toBe('close');
    });

    it('a body shorter than its Content-Length, the client then done sending', async () => {
      const bytes = request(
        'POST /v1/workflows HTTP/1.1',
        [`Authorization: ${t.bearer(t.adminKey)}`, 'Content-Type: application/json', 'Content-Length: 100'],
        body,
      );
      expectEnvelope(await sendRaw(port, bytes, { halfClose: true }), 400, 'BAD_REQUEST');
    });
  });

  it('headers over the size limit are 431 HEADERS_TOO_LARGE', async () => {
    const res = await sendRaw(port, request('GET /health HTTP/1.1', [`X-Big: ${'a'.repeat(20_000)}`]));
    expectEnvelope(res, 431, 'HEADERS_TOO_LARGE');
  });

  describe('a path that climbs out of the Swagger UI assets is 404 NOT_FOUND', () => {
    it.each(['/docs/%2e%2e/package.json', '/docs/../../../etc/passwd', '/docs/%2e%2e/%2e%2e/%2e%2e/etc/passwd', '/docs/..%2f..%2fpackage.json'])(
      '%s',
      async (path) => {
        expectEnvelope(await sendRaw(port, request(`GET ${path} HTTP/1.1`, ['Connection: close'])), 404, 'NOT_FOUND');
      },
    );
  });

  it('the server still answers on a fresh connection afterwards', async () => {
    const res = await sendRaw(port, request('GET /health HTTP/1.1', ['Connection: close']));
    expect(res.status).toBe(200);
  });
});

describe('A client that hangs up in the middle of its body', () => {
  it('is logged as such, not as an error of the server, and counts no 5xx', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tensorify-hangup-'));
    const server = await startServerProcess({ TENSORIFY_DATA_DIR: dataDir, TENSORIFY_BOOTSTRAP_API_KEY: TEST_ADMIN_KEY, TENSORIFY_LOG_LEVEL: 'debug' });
    try {
      const { port } = new URL(server.baseUrl);
      const auth = `Authorization: Bearer ${TEST_ADMIN_KEY}`;
      const socket = connect(Number(port), '127.0.0.1');
      await new Promise<void>((done) => socket.once('connect', done));
      socket.write(request('POST /v1/workflows HTTP/1.1', [auth, 'Content-Type: application/json', 'Content-Length: 1000'], '{"name":"half'));
      // A whole request on another connection, through the same authentication, before hanging up.
      expect((await fetch(`${server.baseUrl}/v1/me`, { headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}` } })).status).toBe(200);
      socket.destroy();
      expect((await fetch(`${server.baseUrl}/v1/me`, { headers: { Authorization: `Bearer ${TEST_ADMIN_KEY}` } })).status).toBe(200);
      const metrics = await (await fetch(`${server.baseUrl}/metrics`)).text();
      expect(metrics.split('\n').filter((line) => line.startsWith('tensorify_http_requests_total') && /status="5/.test(line))).toEqual([]);
    } finally {
      await server.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
    const lines = server
      .stdout()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 50 || /Database unavailable/.test(line.msg))).toEqual([]);
    expect(lines.filter((line) => line.msg === 'client closed the connection')).toEqual([expect.objectContaining({ level: 20 })]);
  });
});
