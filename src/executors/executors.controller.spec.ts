import { warmProcesses } from './executors.controller';

describe('warmProcesses (GET /v1/executors)', () => {
  const now = Date.parse('2026-01-01T12:05:00.000Z');

  it("gives each warm process its age, and keeps only what the API promises of a plugin's answer", () => {
    expect(
      warmProcesses(
        [
          {
            environment: 'abc',
            command: '/venvs/abc/bin/python',
            pid: 42,
            state: 'ready',
            startedAt: '2026-01-01T12:00:00.000Z',
            runs: 3,
            running: 1,
            memoryBytes: 1024,
            loaded: ['torch', 7],
          },
          { environment: 5, command: 'python3', state: 'starting', startedAt: '2026-01-01T12:04:59.500Z', runs: -1, running: 1.5 },
        ],
        now,
      ),
    ).toEqual([
      {
        environment: 'abc',
        command: '/venvs/abc/bin/python',
        pid: 42,
        state: 'ready',
        startedAt: '2026-01-01T12:00:00.000Z',
        ageSeconds: 300,
        runs: 3,
        running: 1,
        memoryBytes: 1024,
        loaded: ['torch'],
      },
      {
        environment: null,
        command: 'python3',
        pid: null,
        state: 'starting',
        startedAt: '2026-01-01T12:04:59.500Z',
        ageSeconds: 0,
        runs: 0,
        running: 0,
        memoryBytes: null,
        loaded: [],
      },
    ]);
  });

  it('drops malformed entries and answers an empty list for anything but an array', () => {
    expect(warmProcesses(undefined, now)).toEqual([]);
    expect(warmProcesses('zygotes', now)).toEqual([]);
    expect(
      warmProcesses([null, { state: 'busy', command: 'x', startedAt: '2026-01-01T00:00:00Z' }, { state: 'ready', command: 'x', startedAt: 'yesterday' }], now),
    ).toEqual([]);
  });
});
