import path from 'node:path';
import { verifyPlugin } from './verify-plugin';
import { formatReport, renderReport, reportExitCode } from './verify-report';

const fixture = (name: string) => path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures', 'plugins', name);

describe(formatReport.name, () => {
  it('prints a checklist: the package, each executor, the verdict', async () => {
    const text = formatReport(await verifyPlugin(fixture('bad-config')));

    expect(text.split('\n')).toEqual(
      expect.arrayContaining([
        `Plugin tensorify-executor-bad-config 0.1.0 at ${fixture('bad-config')}, against executor API 1`,
        '  pass  manifest field        "tensorify" is present',
        'Executor "strict-config"',
        '  FAIL  configuration         invalid configuration: executors.strict-config/host is required',
        '  skip  create()              not checked: the server refuses this definition before create()',
        '15 passed, 0 warnings, 1 failed, 4 skipped: the server would not load this plugin.',
      ]),
    );
  });
});

describe(renderReport.name, () => {
  it('prints the report as indented JSON with --json, else as the checklist; the exit code is 1 when a rule failed, 0 when none did', async () => {
    const broken = await verifyPlugin(fixture('bad-config'));
    const good = await verifyPlugin(fixture('bad-config'), { config: { host: 'gpu-1' } });

    expect(renderReport(broken, true)).toBe(`${JSON.stringify(broken, null, 2)}\n`);
    expect(renderReport(broken, false)).toBe(`${formatReport(broken)}\n`);
    expect(reportExitCode(broken)).toBe(1);
    expect(reportExitCode(good)).toBe(0);
  });
});
