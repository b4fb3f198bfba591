import type { Binding } from '../graph/bindings';
import { parseCondition, type ConditionNode } from '../graph/condition';
import { conditionToPy } from './condition-python';
import { py } from './python/py-expr';

function parsed(text: string): ConditionNode {
  const result = parseCondition(text);
  if (!result.ok) throw new Error(result.error.message);
  return result.condition;
}

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
