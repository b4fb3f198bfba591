import { runtimeDependencies } from './dependencies.rules';

describe(runtimeDependencies.name, () => {
  it('lists what npm installs with the package: dependencies, optional ones and peers not marked optional', () => {
    expect(
      runtimeDependencies({
        dependencies: { b: '1', a: '1' },
        optionalDependencies: { c: '1' },
        devDependencies: { jest: '1' },
        peerDependencies: { a: '1', d: '1', e: '1' },
        peerDependenciesMeta: { e: { optional: true } },
      }),
    ).toEqual(['a', 'b', 'c', 'd']);
    expect(runtimeDependencies({ dependencies: 'nonsense' })).toEqual([]);
  });
});
