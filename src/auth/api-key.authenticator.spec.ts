import fc from 'fast-check';
import { bearerCredentials } from './api-key.authenticator';

/** The header read as RFC 6750 puts it, by splitting on spaces: what bearerCredentials must answer, without splitting. */
function bySplitting(header: string | string[] | undefined): string | undefined {
  if (typeof header !== 'string' || header === '') return '';
  const parts = header.split(' ');
  return parts.length === 2 && /^Bearer$/i.test(parts[0]) ? parts[1] : undefined;
}

describe(bearerCredentials.name, () => {
  it('reads the credentials after "Bearer " in any case, and nothing from any other form', () => {
    expect(bearerCredentials('Bearer tfy_abc')).toBe('tfy_abc');
    expect(bearerCredentials('bEaReR tfy_abc')).toBe('tfy_abc');
    expect(bearerCredentials('Bearer ')).toBe('');
    expect(bearerCredentials(undefined)).toBe('');
    expect(bearerCredentials('')).toBe('');
    expect(bearerCredentials(['Bearer tfy_abc'])).toBe('');
    for (const refused of ['Bearer', 'Bearer  tfy_abc', 'Bearer tfy_abc extra', ' Bearer tfy_abc', 'Basic tfy_abc', 'Bearertfy_abc', 'Bearers tfy_abc']) {
      expect(bearerCredentials(refused)).toBeUndefined();
    }
  });

  it('answers what splitting the header on spaces answers, for any header', () => {
    const words = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'tfy_abc', '', ' ', '  ', '\t', 'Bearer ', 'ſ', 'K');
    const header = fc.oneof(
      fc.string(),
      fc.array(words, { maxLength: 5 }).map((parts) => parts.join(' ')),
    );
    fc.assert(
      fc.property(header, (value) => bearerCredentials(value) === bySplitting(value)),
      { seed: 14, numRuns: 2000 },
    );
  });
});
