import { readFileSync } from 'node:fs';
import path from 'node:path';
import { helloProgram } from './hello-program';

// That it is what the compiler makes of its workflow.json: test/codegen/verify-hello-program.codegen-spec.ts.
describe(helloProgram.name, () => {
  it("reads the shipped program: the same bytes as the golden hello files of the compiler's tests, which the report names it after", () => {
    const golden = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'golden', 'hello');
    const { files, name } = helloProgram();

    expect(name).toBe('the golden hello program');
    expect(Object.keys(files).sort()).toEqual(['main.py', 'requirements.txt', 'utils.py']);
    for (const file of Object.keys(files) as (keyof typeof files)[]) expect(files[file]).toBe(readFileSync(path.join(golden, file), 'utf8'));
  });
});
