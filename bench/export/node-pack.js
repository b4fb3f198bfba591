#!/usr/bin/env node
/*
 * Export time with one extra node pack of 50 types loaded, against the built-in catalogue alone,
 * measured in the same run (issue 18: within 5 %). Both compilers compile the same generated
 * workflow (a chain of transform and code nodes; the pack's compiler is first shown to compile one
 * of the pack's types), in alternating rounds, so that machine load affects both alike. Prints the
 * ratio of the medians.
 *
 *   npm run build && node bench/export/node-pack.js [rounds=41] [size=300]
 */
'use strict';
const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const DIST = join(__dirname, '..', '..', 'dist');
const rounds = Number(process.argv[2] ?? 41);
const size = Number(process.argv[3] ?? 300);
const TYPES = 50;

/** A pack of TYPES types, each a step with one setting and a helper of its own. */
function writePack(dir) {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify({ name: 'bench-pack', version: '1.0.0', tensorify: { nodeApiVersion: 1, nodes: 'nodes', namespace: 'bench' } }),
  );
  for (let i = 0; i < TYPES; i++) {
    const type = `step-${i}`;
    const folder = join(dir, 'nodes', type);
    mkdirSync(folder, { recursive: true });
    writeFileSync(
      join(folder, 'node.json'),
      JSON.stringify({
        type,
        version: '1.0.0',
        category: 'bench',
        displayName: `Step ${i}`,
        description: 'A generated type.',
        trigger: false,
        inputs: [{ id: 'in', dataType: 'any', description: 'Input.' }],
        outputs: [{ id: 'out', dataType: 'object', description: 'Output.' }],
        settingsSchema: { type: 'object', properties: { factor: { description: 'A factor.', type: 'number' } }, additionalProperties: false },
        defaults: { factor: 1 },
        requirements: [`bench-lib-${i}>=1.0`],
        imports: [],
        python: { returns: 'dict', helpers: [`bench_step_${i}`] },
        example: { factor: 2 },
      }),
    );
    writeFileSync(join(folder, `${type}.py.hbs`), `    return {{py (call "bench_step_${i}" factor=settings.factor)}}\n`);
    writeFileSync(join(folder, 'helpers.py'), `def bench_step_${i}(factor: float) -> dict:\n    return {"value": factor * ${i}}\n`);
  }
}

function chain(extraType) {
  const nodes = [{ id: 'trigger', type: 'manual', settings: {} }];
  const edges = [];
  for (let i = 0; i < size; i++) {
    const id = `n${i}`;
    const type = i % 2 === 0 ? 'transform' : 'code';
    const settings = type === 'transform' ? { value: { step: i, previous: `{{ ${nodes[nodes.length - 1].id}.value }}` } } : { code: `return {"value": ${i}}` };
    edges.push({ source: nodes[nodes.length - 1].id, target: id });
    nodes.push({ id, type, settings });
  }
  if (extraType) {
    edges.push({ source: nodes[nodes.length - 1].id, target: 'extra' });
    nodes.push({ id: 'extra', type: extraType, settings: { factor: 3 } });
  }
  return { id: 'wf_BenchPack001', version: 1, name: 'Bench', description: '', nodes, edges };
}

async function compilerOf(catalog) {
  const { TemplateSet, defaultCodegenRoot } = require(join(DIST, 'codegen', 'template-set.js'));
  const { GraphValidator } = require(join(DIST, 'graph', 'graph-validator.js'));
  const { WorkflowCompiler } = require(join(DIST, 'codegen', 'workflow-compiler.js'));
  return new WorkflowCompiler(catalog, await TemplateSet.load(defaultCodegenRoot(), catalog), new GraphValidator(catalog));
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const { NodeCatalog, defaultTemplatesDir } = require(join(DIST, 'nodes', 'node-catalog.js'));
  const scratch = mkdtempSync(join(tmpdir(), 'bench-node-pack-'));
  try {
    writePack(scratch);
    const baseline = await compilerOf(await NodeCatalog.load(defaultTemplatesDir()));
    const packed = await NodeCatalog.loadPacks(defaultTemplatesDir(), { extra: [scratch] });
    if (packed.list().filter((definition) => definition.type.startsWith('bench/')).length !== TYPES) throw new Error('the bench pack did not load whole');
    const withPack = await compilerOf(packed);
    const plain = chain();
    const extended = chain('bench/step-7');
    if (!withPack.compile(extended)['requirements.txt'].includes('bench-lib-7>=1.0')) throw new Error('the pack type was not compiled');
    for (let i = 0; i < 20; i++) (baseline.compile(plain), withPack.compile(plain));
    const times = { baseline: [], pack: [] };
    for (let round = 0; round < rounds; round++) {
      for (const [name, compiler] of round % 2 === 0
        ? [
            ['baseline', baseline],
            ['pack', withPack],
          ]
        : [
            ['pack', withPack],
            ['baseline', baseline],
          ]) {
        const started = performance.now();
        compiler.compile(plain);
        times[name].push(performance.now() - started);
      }
    }
    const base = median(times.baseline);
    const pack = median(times.pack);
    console.log(
      `export of a ${size + 1}-node workflow, median of ${rounds} rounds: built-in only ${base.toFixed(2)} ms, with a ${TYPES}-type pack ${pack.toFixed(2)} ms`,
    );
    console.log(`ratio (with pack / built-in only): ${(pack / base).toFixed(3)}`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
