/** The programs of the SDK's conformance suite (conformance/*.py) get the code checks generated programs get. */
import * as path from 'node:path';
import { runTool } from '../../../test/support/python';

const PROGRAMS = path.join(__dirname, '..', 'conformance');

describe("the conformance suite's programs", () => {
  it('pass pyflakes and black', () => {
    const flakes = runTool('pyflakes', [PROGRAMS]);
    expect(flakes.stdout + flakes.stderr).toBe('');
    expect(flakes.status).toBe(0);
    const black = runTool('black', ['--check', '--diff', '--quiet', PROGRAMS]);
    expect(black.stdout + black.stderr).toBe('');
    expect(black.status).toBe(0);
  });
});
