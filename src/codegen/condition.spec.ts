import type { Binding } from '../workflows/graph/bindings';
import { conditionToPy, parseCondition, type ConditionNode } from './condition';
import { py } from './python/py-expr';

function parsed(text: string): ConditionNode {
  const result = parseCondition(text);
  if (!result.ok) throw new Error(result.error.message);
  return result.condition;
}

function failure(text: string) {
  const result = parseCondition(text);
  if (result.ok) throw new Error(`"${text}" parsed`);
  return result.error;
}

/** The tree as an S-expression: bindings as written, literals as JSON. */
function show(node: ConditionNode): string {
  switch (node.kind) {
    case 'binding':
      return node.binding.raw;
    case 'literal':
      return JSON.stringify(node.value);
    case 'compare':
      return `(${node.op} ${show(node.left)} ${show(node.right)})`;
    case 'and':
    case 'or':
      return `(${node.kind} ${node.operands.map(show).join(' ')})`;
    case 'not':
      return `(not ${show(node.operand)})`;
  }
}

const shown = (text: string) => show(parsed(text));

function expectFailure(text: string, offset: number, detail: string): void {
  const error = failure(text);
  expect(error.offset).toBe(offset);
  expect(error.message).toContain(detail);
}

describe(parseCondition.name, () => {
  describe('operators', () => {
    it.each(['==', '!=', '<', '<=', '>', '>='])('reads the comparison %s', (op) => {
      expect(shown(`{{ score.total }} ${op} 10`)).toBe(`(${op} {{ score.total }} 10)`);
    });

    it('reads a chain of and as one node', () => {
      const binding = { kind: 'binding' };
      expect(parsed('{{ a }} and {{ b }} and {{ c }}')).toMatchObject({ kind: 'and', operands: [binding, binding, binding] });
    });

    it('reads a chain of or as one node', () => {
      expect(shown('{{ a }} or {{ b }} or {{ c }}')).toBe('(or {{ a }} {{ b }} {{ c }})');
    });

    it('reads not, repeated', () => {
      expect(shown('not not {{ a }}')).toBe('(not (not {{ a }}))');
    });

    it('reads a lone value as the whole condition', () => {
      expect(parsed('true')).toEqual({ kind: 'literal', value: true });
    });
  });

  describe('precedence', () => {
    it('applies not to a whole comparison', () => {
      expect(shown('not {{ a }} == {{ b }}')).toBe('(not (== {{ a }} {{ b }}))');
    });

    it('binds and tighter than or', () => {
      expect(shown('{{ a }} or {{ b }} and {{ c }}')).toBe('(or {{ a }} (and {{ b }} {{ c }}))');
      expect(shown('{{ a }} and {{ b }} or {{ c }}')).toBe('(or (and {{ a }} {{ b }}) {{ c }})');
    });

    it('binds not tighter than and', () => {
      expect(shown('not {{ a }} and {{ b }}')).toBe('(and (not {{ a }}) {{ b }})');
    });

    it('binds comparisons tighter than and and or', () => {
      expect(shown('{{ a }} > 1 and {{ b }} < 2 or {{ c }} == "x"')).toBe('(or (and (> {{ a }} 1) (< {{ b }} 2)) (== {{ c }} "x"))');
    });
  });

  describe('parentheses', () => {
    it('overrides precedence', () => {
      expect(shown('({{ a }} or {{ b }}) and {{ c }}')).toBe('(and (or {{ a }} {{ b }}) {{ c }})');
    });

    it('reads the example with not and a parenthesised or', () => {
      expect(shown('{{ a.x }} == "yes" and not ({{ b.n }} <= 2.5 or {{ inputs.flag }})')).toBe(
        '(and (== {{ a.x }} "yes") (not (or (<= {{ b.n }} 2.5) {{ inputs.flag }})))',
      );
    });

    it('groups either side of a comparison', () => {
      expect(shown('({{ a }}) != (null)')).toBe('(!= {{ a }} null)');
    });

    it('leaves no trace of redundant parentheses', () => {
      expect(shown('((({{ a }})))')).toBe('{{ a }}');
    });

    it('keeps a parenthesised chain as written rather than flattening it', () => {
      expect(shown('{{ a }} and ({{ b }} and {{ c }})')).toBe('(and {{ a }} (and {{ b }} {{ c }}))');
    });
  });

  describe('literals', () => {
    it.each([
      ['0', 0],
      ['42', 42],
      ['-3', -3],
      ['2.5', 2.5],
      ['1e3', 1000],
      ['-1.5E-2', -0.015],
      ['6E+2', 600],
    ])('reads the number %s', (text, value) => {
      expect(parsed(text)).toEqual({ kind: 'literal', value });
    });

    it.each([
      ['true', true],
      ['false', false],
      ['null', null],
    ])('reads %s', (text, value) => {
      expect(parsed(text)).toEqual({ kind: 'literal', value });
    });

    it('reads a double-quoted string with every JSON escape', () => {
      expect(parsed('"a\\"b\\\\c\\/d\\b\\f\\n\\r\\t"')).toEqual({ kind: 'literal', value: 'a"b\\c/d\b\f\n\r\t' });
    });

    it("reads a single-quoted string with the JSON escapes and \\'", () => {
      expect(parsed("'it\\'s \\\"x\\\" \\\\ \\n'")).toEqual({ kind: 'literal', value: 'it\'s "x" \\ \n' });
    });

    it('reads the other quote unescaped inside a string', () => {
      expect(shown(`"it's" == 'say "hi"'`)).toBe(`(== "it's" "say \\"hi\\"")`);
    });

    it('reads \\u escapes, surrogate pairs included, in both quote styles', () => {
      expect(parsed('"\\u00e9\\ud83d\\ude00"')).toEqual({ kind: 'literal', value: 'é😀' });
      expect(parsed("'\\u00E9'")).toEqual({ kind: 'literal', value: 'é' });
    });

    it('reads unicode written as is', () => {
      expect(parsed("'héllo 😀 日本'")).toEqual({ kind: 'literal', value: 'héllo 😀 日本' });
    });

    it('reads empty strings', () => {
      expect(shown(`"" == ''`)).toBe('(== "" "")');
    });

    it('reads keywords, operators and braces inside a string as text', () => {
      const result = parseCondition('"a and {{ b }} == (c" != \'not )\'');
      expect(result).toEqual({
        ok: true,
        bindings: [],
        condition: { kind: 'compare', op: '!=', left: { kind: 'literal', value: 'a and {{ b }} == (c' }, right: { kind: 'literal', value: 'not )' } },
      });
    });
  });

  describe('whitespace and words', () => {
    it('needs no whitespace around symbols', () => {
      expect(shown('not({{a.x}}>=-1)and"x"!=\'y\'')).toBe('(and (not (>= {{a.x}} -1)) (!= "x" "y"))');
    });

    it('takes spaces, tabs, line feeds and carriage returns between tokens', () => {
      expect(shown(' \t{{ a }}\n==\r\n1\tor\ntrue ')).toBe('(or (== {{ a }} 1) true)');
    });

    it('reads keywords only as whole words', () => {
      expectFailure('{{ a }} == 1 android {{ b }}', 13, 'unexpected "android"');
      expectFailure('notable', 0, 'unexpected "notable"');
      expectFailure('true_ == 1', 0, 'unexpected "true_"');
    });
  });

  describe('bindings', () => {
    it('reads a node binding with its path, raw text and offsets', () => {
      expect(parsed('1 == {{ n.f[0]["k"] }}')).toEqual({
        kind: 'compare',
        op: '==',
        left: { kind: 'literal', value: 1 },
        right: { kind: 'binding', binding: { raw: '{{ n.f[0]["k"] }}', start: 5, end: 22, root: { kind: 'node', nodeId: 'n' }, path: ['f', 0, 'k'] } },
      });
    });

    it('reads the execute inputs', () => {
      expect(parsed('{{ inputs.x }}')).toMatchObject({ kind: 'binding', binding: { root: { kind: 'inputs' }, path: ['x'] } });
    });

    it('reads an environment variable', () => {
      expect(parsed('{{ env.HOME }}')).toMatchObject({ kind: 'binding', binding: { root: { kind: 'env', name: 'HOME' }, path: [] } });
    });

    it('reads a quoted binding as a binding with a literal root', () => {
      expect(parsed('{{ "{{" }}')).toMatchObject({ kind: 'binding', binding: { root: { kind: 'literal', text: '{{' } } });
    });

    it('reads a quoted key holding "}}" within the binding', () => {
      expect(parsed('{{ a["}} or"] }}')).toMatchObject({ kind: 'binding', binding: { path: ['}} or'] } });
    });

    it('lists every binding in source order', () => {
      const result = parseCondition('{{ c }} == 1 or not ({{ a.x }} < {{ b }}) and {{ c }}');
      expect(result.ok && result.bindings.map(({ raw, start }) => [raw, start])).toEqual([
        ['{{ c }}', 0],
        ['{{ a.x }}', 21],
        ['{{ b }}', 33],
        ['{{ c }}', 46],
      ]);
    });
  });

  describe('errors', () => {
    it('reports an operator that is not a comparison, as a whole sentence', () => {
      expect(failure('{{ a.x }} => 3')).toEqual({
        offset: 10,
        message: 'Condition "{{ a.x }} => 3" is not valid at character 11: unexpected "=>"; use ==, !=, <, <=, > or >=.',
      });
    });

    it.each(['', '  \t\n '])('reports an empty condition (%j)', (text) => {
      expect(failure(text)).toEqual({
        offset: 0,
        message: `Condition "${text}" is empty; write a test such as {{ node.score }} > 10, {{ inputs.flag }} or true.`,
      });
    });

    it.each([
      ['&&', 'write "and"'],
      ['||', 'write "or"'],
      ['=', 'use == to compare'],
      ['===', 'use =='],
      ['<>', 'use !='],
    ])('reports %s with what to use instead', (op, advice) => {
      expect(failure(`{{ a }} ${op} {{ b }}`)).toEqual({
        offset: 8,
        message: `Condition "{{ a }} ${op} {{ b }}" is not valid at character 9: unexpected "${op}"; ${advice}.`,
      });
    });

    it('reports ! with not as what to use', () => {
      expectFailure('!{{ a }}', 0, 'unexpected "!"; write "not".');
    });

    it.each([
      ['True', 'write true in lowercase'],
      ['FALSE', 'write false in lowercase'],
      ['None', 'write null'],
      ['AND', 'write and in lowercase'],
    ])('reports %s with its lowercase spelling', (word, advice) => {
      expectFailure(`{{ a }} == 1 or ${word}`, 16, `unexpected "${word}"; ${advice}.`);
    });

    it('reports a bare word with the quoted and the binding form', () => {
      expect(failure('{{ a }} == yes')).toEqual({
        offset: 11,
        message:
          'Condition "{{ a }} == yes" is not valid at character 12: unexpected "yes"; quote text, as in "yes", and read values with bindings such as {{ node.field }}.',
      });
    });

    it('reports a character outside the language, naming every allowed form', () => {
      expect(failure('{{ a }} == $x')).toEqual({
        offset: 11,
        message:
          'Condition "{{ a }} == $x" is not valid at character 12: unexpected "$"; a condition is made of bindings such as {{ node.field }}, numbers, "strings", ' +
          'true, false, null, comparisons (==, !=, <, <=, >, >=), and, or, not and parentheses.',
      });
    });

    it('reports a single brace as a misspelt binding', () => {
      expectFailure('{ a } == 1', 0, 'unexpected "{"; write bindings with double braces, as in {{ node.field }}.');
    });

    it('reports a token after a complete test', () => {
      expect(failure('{{ a }} {{ b }}')).toEqual({
        offset: 8,
        message:
          'Condition "{{ a }} {{ b }}" is not valid at character 9: unexpected "{{ b }}" after a complete test; join tests with and or or, and use ==, !=, <, <=, > or >= to compare values.',
      });
    });

    it('reports a missing operand at the end', () => {
      expect(failure('{{ a }} ==')).toEqual({
        offset: 10,
        message:
          'Condition "{{ a }} ==" is not valid at character 11: expected a value but found the end of the condition; write a binding such as {{ node.field }}, ' +
          'a number, a "string", true, false, null or a test in parentheses.',
      });
    });

    it('reports a missing operand before an operator', () => {
      expectFailure('{{ a }} and or {{ b }}', 12, 'expected a value but found "or"');
      expectFailure('== 1', 0, 'expected a value but found "=="');
      expectFailure('not', 3, 'found the end of the condition');
    });

    it('reports not after a comparison operator', () => {
      expectFailure('{{ a }} == not {{ b }}', 11, 'put not before a whole test, as in not ({{ a.x }} == 1)');
    });

    it('reports a chained comparison', () => {
      expect(failure('1 < {{ a }} < 3')).toEqual({
        offset: 12,
        message:
          'Condition "1 < {{ a }} < 3" is not valid at character 13: unexpected "<": comparisons can not be chained; join them with and, as in {{ a.x }} > 1 and {{ a.x }} < 5.',
      });
    });

    it('reports an unclosed parenthesis where the closing one is missing', () => {
      expect(failure('not ({{ a }} or ({{ b }})')).toEqual({
        offset: 25,
        message:
          'Condition "not ({{ a }} or ({{ b }})" is not valid at character 26: expected ")" to close the "(" at character 5 but found the end of the condition.',
      });
    });

    it('reports a closing parenthesis without an opening one', () => {
      expectFailure('({{ a }}))', 9, 'unexpected ")" without a matching "("');
    });

    it('reports empty parentheses', () => {
      expectFailure('()', 1, 'expected a value but found ")"');
    });

    it('reports a malformed binding with the binding parser’s message', () => {
      expect(failure('1 == {{ a. }}')).toEqual({
        offset: 5,
        message:
          'Condition "1 == {{ a. }}" is not valid at character 6. Binding "{{ a. }}" is not valid: expected a field name after "a.", found a space. ' +
          'Write a path such as {{ node.field }}, {{ node.items[0] }}, {{ inputs.name }} or {{ env.NAME }}.',
      });
    });

    it('reports an unclosed binding', () => {
      expectFailure('{{ a == 1', 0, 'Binding "{{ a == 1" opens with "{{" but never closes with "}}".');
    });

    it.each([
      ['01', '"01" is not a number'],
      ['1.', '"1." is not a number'],
      ['1.5e', '"1.5e" is not a number'],
      ['2abc', '"2abc" is not a number'],
      ['- 1', '"-" is not a number'],
      ['-1e+5x', '"-1e+5x" is not a number'],
    ])('reports the malformed number %s', (number, detail) => {
      expectFailure(`{{ a }} > ${number}`, 10, `${detail}; write numbers such as 10, -2.5 or 1e6.`);
    });

    it('reports a number with no digit before its point', () => {
      expectFailure('{{ a }} > .5', 10, 'unexpected "."');
    });

    it('reports a number too large to be finite', () => {
      expectFailure('{{ a }} > 1e999', 10, 'the number 1e999 is too large.');
    });

    it('reports an unterminated string where it starts', () => {
      expectFailure('{{ a }} == "abc', 11, 'the string that starts here never ends; close it with a double quote.');
      expectFailure("{{ a }} == 'abc\\'", 11, 'close it with a single quote.');
      expectFailure('"abc\\', 0, 'never ends');
    });

    it('reports an unknown escape where it is', () => {
      expect(failure('"a\\xb"')).toEqual({
        offset: 2,
        message:
          'Condition ""a\\xb"" is not valid at character 3: a string holds the unknown escape "\\x"; use \\", \\\', \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\u followed by four hexadecimal digits.',
      });
    });

    it("refuses \\' in a double-quoted string, as JSON does", () => {
      expectFailure('"it\\\'s"', 3, 'the unknown escape "\\\'"');
    });

    it('reports a \\u without four hexadecimal digits', () => {
      expectFailure("'\\u00g0'", 1, 'a \\u that is not followed by four hexadecimal digits');
    });

    it('reports a line break inside a string', () => {
      expectFailure('"a\nb"', 2, 'write \\n, \\r or \\t');
    });

    it('quotes a long condition cut short with an ellipsis', () => {
      const text = `${'{{ a }} == 1 and '.repeat(10)}=`;
      const { message, offset } = failure(text);
      expect(offset).toBe(170);
      expect(message).toBe(`Condition "${text.slice(0, 79)}…" is not valid at character 171: unexpected "="; use == to compare.`);
    });
  });

  describe('limits', () => {
    const nested = (depth: number, opener: string, closer: string) => `${opener.repeat(depth)}{{ a }}${closer.repeat(depth)}`;

    it('reads 64 levels of parentheses', () => {
      expect(parsed(nested(64, '(', ')'))).toMatchObject({ kind: 'binding' });
    });

    it('refuses 65 levels of parentheses at the 65th', () => {
      expectFailure(nested(65, '(', ')'), 64, 'it nests deeper than 64 levels of parentheses and not.');
    });

    it('reads 64 nested nots and refuses 65', () => {
      expect(parsed(nested(64, 'not ', ''))).toMatchObject({ kind: 'not' });
      expectFailure(nested(65, 'not ', ''), 256, 'nests deeper than 64 levels');
    });

    it('counts parentheses and not together', () => {
      expect(parsed(nested(32, 'not (', ')'))).toMatchObject({ kind: 'not' });
      expect(failure(`(${nested(32, 'not (', ')')})`)).toMatchObject({ message: expect.stringContaining('nests deeper than 64 levels') });
    });

    it('refuses deep nesting without exhausting the stack', () => {
      expect(failure('('.repeat(1_000_000)).offset).toBe(64);
    });

    it('reads a chain of 10,000 operands in linear time', () => {
      const text = Array.from({ length: 10_000 }, (_, index) => `{{ n${index}.x }} == ${index}`).join(' and ');
      const started = performance.now();
      const result = parseCondition(text);
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(result.ok && result.condition.kind === 'and' && result.condition.operands).toHaveLength(10_000);
      expect(result.ok && result.bindings).toHaveLength(10_000);
    });
  });
});

describe(conditionToPy.name, () => {
  const toPy = (text: string) => conditionToPy(parsed(text), (binding: Binding) => py.name(binding.raw.replace(/\W/g, '')));

  it('turns literals into Python literals', () => {
    expect(toPy(`"a" == 'b'`)).toEqual(py.compare('==', py.str('a'), py.str('b')));
    expect(toPy('-2.5 < 1e3')).toEqual(py.compare('<', py.num(-2.5), py.num(1000)));
    expect(toPy('true != false')).toEqual(py.compare('!=', py.bool(true), py.bool(false)));
    expect(toPy('null')).toEqual(py.none);
  });

  it('turns each binding into what resolve returns for it, in source order', () => {
    const read = (raw: string) => py.subscript(py.name('values'), py.str(raw));
    const resolved: string[] = [];
    const condition = parsed('{{ a.x }} > {{ inputs.n }} or {{ env.HOME }}');
    const expr = conditionToPy(condition, (binding) => {
      resolved.push(binding.raw);
      return read(binding.raw);
    });
    expect(resolved).toEqual(['{{ a.x }}', '{{ inputs.n }}', '{{ env.HOME }}']);
    expect(expr).toEqual(py.or([py.compare('>', read('{{ a.x }}'), read('{{ inputs.n }}')), read('{{ env.HOME }}')]));
  });

  it('turns and, or and not into their Python operators', () => {
    expect(toPy('{{ a }} == "yes" and not ({{ b }} <= 2.5 or {{ c }})')).toEqual(
      py.and([py.compare('==', py.name('a'), py.str('yes')), py.not(py.or([py.compare('<=', py.name('b'), py.num(2.5)), py.name('c')]))]),
    );
  });

  it('keeps every operand of a flattened chain', () => {
    expect(toPy('{{ a }} or {{ b }} or {{ c }}')).toEqual({ kind: 'boolop', op: 'or', operands: [py.name('a'), py.name('b'), py.name('c')] });
  });
});
