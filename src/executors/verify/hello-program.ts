import { readProgram, type ProgramFiles } from '@tensorify/executor-sdk';
import path from 'node:path';
import { PACKAGE_ROOT } from '../../common/package-info';

/**
 * The program `plugins verify --run` runs through each executor: the compiler's export of the
 * hello workflow (`workflow.json` beside it), shipped in the npm package (`assets/` in the "files"
 * of package.json). hello-program.spec.ts fails when the compiler's output drifts from it.
 */
export const HELLO_PROGRAM_DIR = path.join(PACKAGE_ROOT, 'assets', 'verify', 'hello');
/** How the report names it: the same bytes as the golden files of the compiler's tests. */
export const HELLO_PROGRAM_NAME = 'the golden hello program';

/** The inputs of the hello run and the output the hello program makes of them. */
export const HELLO_INPUTS = { name: 'Ada' };
export const HELLO_OUTPUT = { result: 'Hello, Ada!' };

let helloFiles: ProgramFiles | undefined;

/** The hello program's files, read once per process. */
export function helloProgram(): { files: ProgramFiles; name: string } {
  helloFiles ??= readProgram(HELLO_PROGRAM_DIR);
  return { files: helloFiles, name: HELLO_PROGRAM_NAME };
}
