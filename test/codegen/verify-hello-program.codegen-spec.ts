import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { CompileInput } from '../../src/codegen/workflow-compiler';
import { HELLO_PROGRAM_DIR, helloProgram } from '../../src/executors/verify/hello-program';
import { shippedCompiler } from '../support/compiler';

/** Set UPDATE_GOLDEN=1 (as for the golden files of examples.codegen-spec.ts) to rewrite the shipped program on purpose. */
const UPDATE = process.env.UPDATE_GOLDEN === '1';

describe('The hello program that `plugins verify --run` ships (assets/verify/hello)', () => {
  it('is, byte for byte, what the compiler makes of the workflow.json beside it', async () => {
    const workflow = JSON.parse(readFileSync(path.join(HELLO_PROGRAM_DIR, 'workflow.json'), 'utf8')) as CompileInput;
    const compiled = (await shippedCompiler()).compile(workflow);
    if (UPDATE) for (const [name, content] of Object.entries(compiled)) writeFileSync(path.join(HELLO_PROGRAM_DIR, name), content);

    expect(helloProgram().files).toEqual({ ...compiled });
  });
});
