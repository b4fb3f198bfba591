import { createHmac } from 'node:crypto';
import { githubSignature, signatureProblem, tensorifySignature } from './hook-signature';

const SECRET = 'whsec_0123456789abcdefghijklmnopqrstuvwxyzABCD';
const BODY = Buffer.from('{"a":1}');
const NOW_MS = Date.parse('2026-11-28T12:00:00.000Z');
const T = NOW_MS / 1000;
const hex = (text: string, secret = SECRET) => createHmac('sha256', secret).update(text).digest('hex');

describe('signatureProblem', () => {
  it('signs as the documentation says: the HMAC of "<t>.<body>", and of the body for GitHub', () => {
    expect(tensorifySignature(SECRET, BODY, T)).toBe(`t=${T},v1=${hex(`${T}.{"a":1}`)}`);
    expect(githubSignature(SECRET, BODY)).toBe(`sha256=${hex('{"a":1}')}`);
  });

  it('takes good signatures, upper-case hex included, at the edges of the 300 s window', () => {
    expect(signatureProblem('tensorify', tensorifySignature(SECRET, BODY, T - 300), BODY, SECRET, NOW_MS)).toBeNull();
    expect(signatureProblem('tensorify', tensorifySignature(SECRET, BODY, T + 300), BODY, SECRET, NOW_MS)).toBeNull();
    expect(signatureProblem('github', githubSignature(SECRET, BODY).toUpperCase().replace('SHA256', 'sha256'), BODY, SECRET, NOW_MS)).toBeNull();
    expect(signatureProblem('none', undefined, BODY, '', NOW_MS)).toBeNull();
  });

  it('takes a Tensorify-Signature in upper-case hex, spaced out, or with one good signature among several (a secret being rolled)', () => {
    const good = hex(`${T}.{"a":1}`);
    expect(signatureProblem('tensorify', `t=${T},v1=${good.toUpperCase()}`, BODY, SECRET, NOW_MS)).toBeNull();
    expect(signatureProblem('tensorify', ` t=${T} , v1=${good}`, BODY, SECRET, NOW_MS)).toBeNull();
    expect(signatureProblem('tensorify', `t=${T},v1=${'0'.repeat(64)},v1=${good},v0=x`, BODY, SECRET, NOW_MS)).toBeNull();
    expect(signatureProblem('tensorify', `t=${T},v1=${'0'.repeat(64)}`, BODY, SECRET, NOW_MS)).toMatch(/does not match/);
  });

  it.each([
    ['missing', 'tensorify', undefined, /Missing Tensorify-Signature/],
    ['repeated', 'tensorify', ['a', 'b'], /one Tensorify-Signature/],
    ['without t', 'tensorify', `v1=${hex(`${T}.{"a":1}`)}`, /must be "t=/],
    ['with two t', 'tensorify', `t=${T},t=${T},v1=${hex(`${T}.{"a":1}`)}`, /must be "t=/],
    ['301 s old', 'tensorify', tensorifySignature(SECRET, BODY, T - 301), /more than 300 s/],
    ['of another secret', 'tensorify', tensorifySignature('whsec_other', BODY, T), /does not match/],
    ['truncated', 'tensorify', tensorifySignature(SECRET, BODY, T).slice(0, -1), /must be "t=/],
    ['github missing', 'github', undefined, /Missing X-Hub-Signature-256/],
    ['github sha1', 'github', `sha1=${'0'.repeat(40)}`, /must be "sha256=/],
    ['github of another body', 'github', githubSignature(SECRET, '{"a":2}'), /does not match/],
  ] as const)('refuses a signature %s', (_label, scheme, header, reason) => {
    expect(signatureProblem(scheme, header as string | string[] | undefined, BODY, SECRET, NOW_MS)).toMatch(reason);
  });
});
