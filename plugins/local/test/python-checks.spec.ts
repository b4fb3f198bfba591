/**
 * The Python the local executor runs itself (the warm mode's zygote): the code checks generated
 * programs and the ssh executor's Python get (pyflakes, black, pinned in test/support/python.ts).
 */
import * as path from 'node:path';
import { expectPythonChecksPass, usePythonTools } from '../../../test/support/python';

const PYTHON_DIR = path.join(__dirname, '..', 'python');

describe("the local executor's Python", () => {
  usePythonTools();

  it('passes pyflakes and black, as generated programs do', () => {
    expectPythonChecksPass(PYTHON_DIR);
  });
});
