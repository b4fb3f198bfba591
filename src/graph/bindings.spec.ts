import { findBindings, parseBindings } from './bindings';

describe(parseBindings.name, () => {
  function onlyBinding(text: string) {
    const { bindings, errors } = parseBindings(text);
    expect(errors).toEqual([]);
    expect(bindings).toHaveLength(1);
    return bindings[0];
  }

  function onlyError(text: string) {
    const { bindings, errors } = parseBindings(text);
    expect(bindings).toEqual([]);
    expect(errors).toHaveLength(1);
    return errors[0];
  }

  describe('valid bindings', () => {
    it('finds nothing in text without bindings', () => {
      expect(parseBindings('Hello, world! {} } } {')).toEqual({ bindings: [], errors: [] });
    });

    it('reads a node binding with its raw text and offsets', () => {
      expect(parseBindings('Hello, {{ trigger.name }}!')).toEqual({
        bindings: [{ raw: '{{ trigger.name }}', start: 7, end: 25, root: { kind: 'node', nodeId: 'trigger' }, path: ['name'] }],
        errors: [],
      });
    });

    it('needs no spaces inside the braces', () => {
      expect(onlyBinding('{{trigger.name}}')).toMatchObject({ root: { kind: 'node', nodeId: 'trigger' }, path: ['name'] });
    });

    it('allows any whitespace around the path', () => {
      expect(onlyBinding('{{\n\ttrigger.name  }}').path).toEqual(['name']);
    });

    it('reads a node id alone as the whole output of the node', () => {
      expect(onlyBinding('{{ score }}')).toMatchObject({ root: { kind: 'node', nodeId: 'score' }, path: [] });
    });

    it('reads fields, indexes and quoted keys in order', () => {
      expect(onlyBinding('{{ llm.choices[0]["message"].content }}').path).toEqual(['choices', 0, 'message', 'content']);
    });

    it('reads field names with capitals and digits', () => {
      expect(onlyBinding('{{ train.finalLoss2 }}').path).toEqual(['finalLoss2']);
    });

    it('reads a quoted key as a JSON string, escapes and closing braces included', () => {
      expect(onlyBinding('{{ data["a \\"b\\" }} ]"] }}').path).toEqual(['a "b" }} ]']);
    });

    it('reads a quoted key that is empty', () => {
      expect(onlyBinding('{{ data[""] }}').path).toEqual(['']);
    });

    it('reads the execute inputs', () => {
      expect(onlyBinding('{{ inputs.name }}')).toMatchObject({ root: { kind: 'inputs' }, path: ['name'] });
    });

    it('reads the execute inputs as a whole', () => {
      expect(onlyBinding('{{ inputs }}')).toMatchObject({ root: { kind: 'inputs' }, path: [] });
    });

    it('reads an environment variable', () => {
      expect(onlyBinding('{{ env.OPENAI_API_KEY }}')).toMatchObject({ root: { kind: 'env', name: 'OPENAI_API_KEY' }, path: [] });
    });

    it('reads every binding of a string, in order', () => {
      const { bindings } = parseBindings('{{ a.x }} and {{ b[1] }}, then {{inputs.c}}');
      expect(bindings.map((binding) => [binding.raw, binding.start, binding.end])).toEqual([
        ['{{ a.x }}', 0, 9],
        ['{{ b[1] }}', 14, 24],
        ['{{inputs.c}}', 31, 43],
      ]);
    });

    it('reads a binding inside an expression', () => {
      expect(onlyBinding('{{ score.total }} > 10')).toMatchObject({ raw: '{{ score.total }}', path: ['total'] });
    });

    it('leaves closing braces without an opening as text', () => {
      expect(parseBindings('a }} b')).toEqual({ bindings: [], errors: [] });
    });
  });

  describe('malformed bindings', () => {
    it('reports an empty binding', () => {
      expect(onlyError('x {{ }} y')).toEqual({
        raw: '{{ }}',
        start: 2,
        end: 7,
        message: 'Binding "{{ }}" is not valid: it is empty. Write a path such as {{ node.field }}, {{ node.items[0] }}, {{ inputs.name }} or {{ env.NAME }}.',
      });
    });

    it('reports an opening without a closing', () => {
      expect(onlyError('Hello {{ name')).toEqual({
        raw: '{{ name',
        start: 6,
        end: 13,
        message: 'Binding "{{ name" opens with "{{" but never closes with "}}".',
      });
    });

    it('reports a path that starts with a digit', () => {
      expect(onlyError('{{ 1st }}').message).toContain('it must start with a node id, "inputs" or "env", not "1"');
    });

    it('reports a missing field name after a dot', () => {
      expect(onlyError('{{ a..b }}').message).toContain('expected a field name after "a.", found "."');
    });

    it('reports a number after a dot', () => {
      expect(onlyError('{{ items.0 }}').message).toContain('expected a field name after "items.", found "0"');
    });

    it('reports a space inside the path', () => {
      expect(onlyError('{{ a b }}').message).toContain('unexpected "b" after "a"');
    });

    it('reports a character that is not part of a path', () => {
      expect(onlyError('{{ a-b }}').message).toContain('unexpected "-" after "a"');
    });

    it('reports a negative index', () => {
      expect(onlyError('{{ a[-1] }}').message).toContain('expected an index or a quoted key after "a[", found "-"');
    });

    it('reports an unclosed bracket', () => {
      expect(onlyError('{{ a[0 }}').message).toContain('expected "]" after "a[0", found a space');
    });

    it('reports an unterminated quoted key', () => {
      expect(onlyError('{{ a["x] }}').message).toContain('the quoted key after "a[" is not a valid JSON string');
    });

    it('reports a quoted key with an invalid escape', () => {
      expect(onlyError('{{ a["\\x"] }}').message).toContain('the quoted key after "a[" is not a valid JSON string');
    });

    it('reports an index beyond the safe integers', () => {
      expect(onlyError('{{ a[99999999999999999999] }}').message).toContain('the index [99999999999999999999] is too large');
    });

    it('reports a single-quoted key', () => {
      expect(onlyError("{{ a['x'] }}").message).toContain('expected an index or a quoted key after "a[", found "\'"');
    });

    it('reports a triple brace', () => {
      expect(onlyError('{{{ a }}}').raw).toBe('{{{ a }}');
    });

    it.each(['{{ env }}', '{{ env.A.B }}', '{{ env[0] }}', '{{ env["A-B"] }}'])('reports %s, which is not one variable name', (text) => {
      expect(onlyError(text).message).toContain('"env" must be followed by exactly one variable name, as in {{ env.NAME }}');
    });

    it('goes on after a malformed binding', () => {
      const { bindings, errors } = parseBindings('{{ a..b }} and {{ c.d }}');
      expect(errors.map((error) => error.raw)).toEqual(['{{ a..b }}']);
      expect(bindings.map((binding) => binding.raw)).toEqual(['{{ c.d }}']);
    });
  });
});

describe(findBindings.name, () => {
  it('finds bindings in nested objects and arrays, with JSON pointers to their strings', () => {
    const { bindings, errors } = findBindings({ value: { result: '{{ llm.text }}' }, list: ['plain', '{{ inputs.x }} {{ env.Y }}'] });
    expect(errors).toEqual([]);
    expect(bindings.map((binding) => [binding.pointer, binding.raw])).toEqual([
      ['/value/result', '{{ llm.text }}'],
      ['/list/1', '{{ inputs.x }}'],
      ['/list/1', '{{ env.Y }}'],
    ]);
  });

  it('reports malformed bindings with the pointer of their string', () => {
    expect(findBindings({ a: ['{{ x..y }}'] }).errors.map((error) => error.pointer)).toEqual(['/a/0']);
  });

  it('does not read object keys', () => {
    expect(findBindings({ '{{ x }}': 'plain' })).toEqual({ bindings: [], errors: [] });
  });

  it('escapes "/" and "~" in pointers', () => {
    expect(findBindings({ 'a/b': { '~c': '{{ x }}' } }).bindings[0].pointer).toBe('/a~1b/~0c');
  });

  it('gives a string at the top the empty pointer', () => {
    expect(findBindings('{{ x }}').bindings[0].pointer).toBe('');
  });

  it('ignores numbers, booleans and null', () => {
    expect(findBindings({ a: 1, b: true, c: null, d: [2.5] })).toEqual({ bindings: [], errors: [] });
  });

  it('walks values nested far deeper than the call stack allows', () => {
    let value: unknown = '{{ deep.end }}';
    for (let level = 0; level < 100_000; level++) value = level % 2 === 0 ? [value] : { next: value };
    const [binding] = findBindings(value).bindings;
    expect(binding.raw).toBe('{{ deep.end }}');
    expect(binding.pointer.split('/')).toHaveLength(100_001);
  });
});
