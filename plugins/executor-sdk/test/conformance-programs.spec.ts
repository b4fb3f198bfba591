/** The programs of the SDK's conformance suite (conformance/*.py) get the code checks generated programs get. */
import * as path from 'node:path';
import { expectPythonChecksPass } from '../../../test/support/python';

const PROGRAMS = path.join(__dirname, '..', 'conformance');

describe("the conformance suite's programs", () => {
  it('pass pyflakes and black', () => {
    expectPythonChecksPass(PROGRAMS);
  });
});
