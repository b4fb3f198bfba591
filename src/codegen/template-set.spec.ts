import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { NodeCatalog } from '../nodes/node-catalog';
import { py } from './python/py-expr';
import { defaultCodegenRoot, indentBody, OMITTED, PyArgs, PyValue, splitFragment, TemplateSet } from './template-set';

describe(TemplateSet.name, () => {
  let root: string;

  beforeEach(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'codegen-templates-'));
    await cp(defaultCodegenRoot(), root, { recursive: true });
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  async function loadWithTransformTemplate(source: string): Promise<TemplateSet> {
    await writeFile(path.join(root, 'nodes', 'transform', 'transform.py.hbs'), source);
    const catalog = await NodeCatalog.load(path.join(root, 'nodes'));
    return TemplateSet.load(root, catalog);
  }

  it('loads the shipped templates', async () => {
    await expect(loadWithTransformTemplate('    return {{py settings.value}}\n')).resolves.toBeInstanceOf(TemplateSet);
  });

  it.each([
    [
      'a raw value, which would be HTML-escaped text',
      '    return "{{settings.value}}"\n',
      'write values as {{py value}} or {{body setting}}, not {{settings.value…}}',
    ],
    ['a triple-stash, which would be raw text', '    return {{{settings.value}}}\n', 'triple-stash {{{…}}} is not allowed'],
    ['a partial', '{{> other}}\n', 'partials and decorators are not allowed'],
    ['a subexpression other than call', '    return {{py (lookup settings "value")}}\n', 'the subexpression (lookup …) is not allowed'],
    ['a block helper other than if, unless and each', '{{#with settings}}{{py value}}{{/with}}\n', 'the block {{#with}} is not allowed'],
    ['compiler code in a node template', '    {{code settings.value}}\n', 'not {{code…}}'],
  ])('refuses a node template holding %s', async (_, source, message) => {
    await expect(loadWithTransformTemplate(source)).rejects.toThrow(message);
  });

  it('refuses helpers listed in node.json that helpers.py does not define', async () => {
    await writeFile(path.join(root, 'nodes', 'http-request', 'helpers.py'), 'import json\n\n\ndef other():\n    pass\n');
    await expect(NodeCatalog.load(path.join(root, 'nodes'))).rejects.toThrow('does not define http_request, which node.json lists in python.helpers');
  });

  it('refuses two values on one line, which could not be laid out as one statement', async () => {
    const templates = await loadWithTransformTemplate('    return [{{py settings.value}}, {{py settings.value}}]\n');
    expect(() => templates.renderNode('transform', { settings: {} }, new Set())).toThrow('a line may hold one {{py …}} or {{body …}}, found 2');
  });

  it('refuses (call …) of a function the node type does not declare', async () => {
    const templates = await loadWithTransformTemplate('    return {{py (call "exec" settings.value)}}\n');
    expect(() => templates.renderNode('transform', { settings: {} }, new Set(['other']))).toThrow('(call "exec" …) names neither a helper');
  });

  it('leaves out keyword arguments holding OMITTED and folds int() and float() of literals', async () => {
    const templates = await loadWithTransformTemplate('    return {{py (call "nn.Linear" 8 (call "int" epochs) lr=(call "float" lr) bias=bias)}}\n');
    const render = (context: object) => templates.renderNode('transform', context, new Set(['nn'])).body;
    expect(render({ epochs: 5, lr: 0.5, bias: OMITTED })).toBe('    return nn.Linear(8, 5, lr=0.5)\n');
    const bound = new PyValue(py.subscript(py.name('trigger_output'), py.str('lr')));
    expect(render({ epochs: bound, lr: bound, bias: false })).toBe(
      '    return nn.Linear(\n        8, int(trigger_output["lr"]), lr=float(trigger_output["lr"]), bias=False\n    )\n',
    );
    expect(render({ epochs: 2.5, lr: 1, bias: true })).toBe('    return nn.Linear(8, int(2.5), lr=1, bias=True)\n');
  });

  it('calls attributes of imported names and splices PyArgs as positional arguments', async () => {
    const templates = await loadWithTransformTemplate('    return {{py (call "nn.Sequential" layers last=1)}}\n');
    const layers = new PyArgs([py.call(py.attr(py.name('nn'), 'ReLU')), py.num(2)]);
    expect(templates.renderNode('transform', { layers }, new Set(['nn'])).body).toBe('    return nn.Sequential(nn.ReLU(), 2, last=1)\n');
    const dunder = await loadWithTransformTemplate('    return {{py (call "nn.__class__.x()" layers)}}\n');
    expect(() => dunder.renderNode('transform', { layers }, new Set(['nn']))).toThrow('names neither a helper');
    expect(() => templates.renderNode('transform', { layers }, new Set(['other']))).toThrow('(call "nn.Sequential" …) names neither');
  });
});

describe('indentBody', () => {
  it('dedents, indents, keeps blank lines empty and trims blank edges', () => {
    expect(indentBody('\n  x = 1\r\n\n  if x:\n    return {}\n\n', 4)).toBe('    x = 1\n\n    if x:\n      return {}');
  });

  it('makes an empty body a pass statement', () => {
    expect(indentBody('  \n', 8)).toBe('        pass');
  });
});

describe('splitFragment', () => {
  it('separates the leading imports and lists the top-level definitions', () => {
    const fragment = splitFragment(
      'import json\nfrom typing import Any\n\n\nLIMIT = 3\n\n\nclass Boom(Exception):\n    pass\n\n\ndef helper():\n    def inner():\n        pass\n',
    );
    expect(fragment.imports).toEqual(['import json', 'from typing import Any']);
    expect(fragment.defines).toEqual(['LIMIT', 'Boom', 'helper']);
    expect(fragment.body.startsWith('LIMIT = 3')).toBe(true);
  });
});
