import { docstringText, isPythonIdentifier, pythonNumber, pythonString } from './python-literal';

describe('pythonString', () => {
  it('double-quotes plain text', () => {
    expect(pythonString('Hello, Ada!')).toBe('"Hello, Ada!"');
  });

  it('switches to single quotes when that needs fewer escapes, as black does', () => {
    expect(pythonString('say "hi"')).toBe(`'say "hi"'`);
    expect(pythonString(`it's "x"`)).toBe(`'it\\'s "x"'`);
    expect(pythonString(`'a' "b"`)).toBe(`"'a' \\"b\\""`);
  });

  it('escapes backslashes, newlines, tabs and carriage returns by name', () => {
    expect(pythonString('a\\b\nc\td\re')).toBe('"a\\\\b\\nc\\td\\re"');
  });

  it('escapes other controls, line separators, format characters and non-ASCII spaces by code point', () => {
    expect(pythonString('\x01\x1b\x7f\u0085\u00a0\u2028\u2029\ufeff\u200b')).toBe('"\\x01\\x1b\\x7f\\x85\\xa0\\u2028\\u2029\\ufeff\\u200b"');
  });

  it('keeps printable unicode, astral characters included, as it is', () => {
    expect(pythonString('é 漢字 🙂')).toBe('"é 漢字 🙂"');
  });

  it('escapes a lone surrogate so the source stays valid UTF-8', () => {
    expect(pythonString('a\ud800b')).toBe('"a\\ud800b"');
  });

  it('leaves braces and triple quotes inert inside the literal', () => {
    expect(pythonString('{{ x }} """')).toBe(`'{{ x }} """'`);
  });
});

describe('pythonNumber', () => {
  it('writes integers and floats as JavaScript does (an exponent without its plus sign, as black writes it)', () => {
    expect([0, 42, -7, 0.2, 1e21, 1.5e-7].map(pythonNumber)).toEqual(['0', '42', '-7', '0.2', '1e21', '1.5e-7']);
  });

  it('keeps the sign of negative zero', () => {
    expect(pythonNumber(-0)).toBe('-0.0');
  });

  it('refuses NaN and infinities, which JSON cannot hold', () => {
    expect(() => pythonNumber(Number.NaN)).toThrow(RangeError);
    expect(() => pythonNumber(Infinity)).toThrow(RangeError);
  });
});

describe('isPythonIdentifier', () => {
  it('accepts ASCII identifiers and refuses keywords', () => {
    expect(['x', '_y2', 'match'].map(isPythonIdentifier)).toEqual([true, true, true]);
    expect(['if', 'None', '2x', 'a-b', ''].map(isPythonIdentifier)).toEqual([false, false, false, false, false]);
  });
});

describe('docstringText', () => {
  it('collapses whitespace and doubles backslashes', () => {
    expect(docstringText('  a\n\tb  \\ c ')).toBe('a b \\\\ c');
  });

  it('escapes quotes that could close the docstring, and only those', () => {
    expect(docstringText('"Quoted" name with """ and ""')).toBe('\\"Quoted" name with \\"\\"\\" and \\"\\"');
  });
});
