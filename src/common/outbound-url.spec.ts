import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forbiddenAddress, guardedLookup, outboundUrlProblem, urlProblem } from './outbound-url';

describe('outbound-url', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['10.0.0.1', 'private'],
    ['172.16.5.4', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['fe80::1', 'linkLocal'],
    ['fd00:ec2::254', 'metadata'],
    ['fc00::1', 'uniqueLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['224.0.0.1', 'multicast'],
  ])('refuses %s (%s)', (address, range) => {
    expect(forbiddenAddress(address)).toContain(range);
  });

  it.each(['93.184.215.14', '2606:2800:21f:cb07:6820:80da:af6b:8b2c', '8.8.8.8'])('allows the public address %s', (address) => {
    expect(forbiddenAddress(address)).toBeNull();
  });

  it('allows only absolute http(s) URLs without credentials', () => {
    expect(urlProblem('https://example.com/cb')).toBeNull();
    expect(urlProblem('file:///etc/passwd')).toContain('not file');
    expect(urlProblem('gopher://example.com/')).toContain('not gopher');
    expect(urlProblem('https://user:pw@example.com/')).toContain('user name or password');
    expect(urlProblem('/relative')).toContain('absolute');
  });

  it('lets everything of the right scheme through with allowPrivate', async () => {
    expect(await outboundUrlProblem('http://127.0.0.1:1/', true)).toBeNull();
    expect(await outboundUrlProblem('ftp://127.0.0.1/', true)).toContain('not ftp');
  });

  describe('at connect time', () => {
    let server: Server;
    let port: number;
    beforeAll(async () => {
      server = createServer((_req, res) => res.end('reached'));
      await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
      port = (server.address() as AddressInfo).port;
    });
    afterAll(() => new Promise<void>((done) => server.close(() => done())));

    const fetchWith = (lookup?: typeof guardedLookup) =>
      new Promise<string>((resolve) => {
        const req = get(`http://localhost:${port}/`, { lookup, family: 4, agent: false }, (res) => {
          res.resume();
          resolve(`status ${res.statusCode}`);
        });
        req.on('error', (error: NodeJS.ErrnoException) => resolve(`error ${error.code}: ${error.message}`));
      });

    it('refuses to connect to a name that resolves to loopback, which the default lookup reaches', async () => {
      expect(await fetchWith()).toBe('status 200');
      const refused = await fetchWith(guardedLookup);
      expect(refused).toContain('error EADDRNOTALLOWED');
      expect(refused).toContain('loopback');
    });
  });
});
