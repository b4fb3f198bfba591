import { numberText } from './number-text';

describe(numberText.name, () => {
  it('writes every finite number as String() does', () => {
    for (const value of [0, -0, 1, -1, 42, 1.5, 0.1 + 0.2, 12.34, 99_999_999, 2 ** 31, 2 ** 53 + 2, 1e21, 1.23e-7, -4.5e300, Number.MIN_VALUE]) {
      expect(numberText(value)).toBe(String(value));
    }
  });
});
