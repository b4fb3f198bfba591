import { findJsonProblem, MAX_JSON_DEPTH } from './json-body';

/** A value nested `levels` deep in arrays (`levels` 1: `[]`). */
const nested = (levels: number): unknown => (levels === 0 ? 0 : [nested(levels - 1)]);

describe(findJsonProblem.name, () => {
  it('finds nothing in what can be stored', () => {
    expect(findJsonProblem({ a: [1, 'two', null, true, { 'b/c~d': 'é😀' }], e: {} })).toBeNull();
    expect(findJsonProblem('text')).toBeNull();
    expect(findJsonProblem(nested(MAX_JSON_DEPTH))).toBeNull();
  });

  it('names the NUL character or lone surrogate of a value by its JSON pointer (/ and ~ escaped)', () => {
    expect(findJsonProblem({ a: { 'b/c~d': ['x', 'y\u0000'] } })).toEqual({ path: '/a/b~1c~0d/1', problem: 'contains a NUL character (\\u0000)' });
    expect(findJsonProblem({ a: 'x\ud800' })).toEqual({ path: '/a', problem: 'contains an unpaired UTF-16 surrogate' });
    expect(findJsonProblem('\u0000')).toEqual({ path: '/', problem: 'contains a NUL character (\\u0000)' });
  });

  it("names a key's problem by the path with the key as it is", () => {
    expect(findJsonProblem({ a: { 'b/\u0000': 1 } })).toEqual({ path: '/a/b/\u0000', problem: 'key contains a NUL character (\\u0000)' });
    expect(findJsonProblem({ '\udc00': 1 })).toEqual({ path: '/\udc00', problem: 'key contains an unpaired UTF-16 surrogate' });
  });

  it('refuses nesting deeper than MAX_JSON_DEPTH levels, at the first object too deep', () => {
    expect(findJsonProblem(nested(MAX_JSON_DEPTH + 1))).toEqual({
      path: '/0'.repeat(MAX_JSON_DEPTH),
      problem: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
    expect(findJsonProblem({ x: nested(MAX_JSON_DEPTH) })).toEqual({
      path: `/x${'/0'.repeat(MAX_JSON_DEPTH - 1)}`,
      problem: `is nested deeper than ${MAX_JSON_DEPTH} levels`,
    });
  });

  it('tells the problem met first, walking the last key (or item) first, depth first', () => {
    expect(findJsonProblem({ a: '\u0000', b: { c: '\u0000' } })).toEqual({ path: '/b/c', problem: 'contains a NUL character (\\u0000)' });
    expect(findJsonProblem(['\u0000', ['\ud800'], 'ok'])).toEqual({ path: '/1/0', problem: 'contains an unpaired UTF-16 surrogate' });
    expect(findJsonProblem({ '\u0000': 'x', b: '\u0000' })).toEqual({ path: '/\u0000', problem: 'key contains a NUL character (\\u0000)' });
  });
});
