/**
 * The Python the ssh executor sends to its hosts, on this machine without SSH: its own unit tests
 * (plugins/ssh/test/python, under python3), the code checks generated programs get (pyflakes,
 * black), and the programs exactly as they go over the wire (bundled, started by the bootstrap
 * with the shell command an SSH exec channel runs).
 */
import { spawn, spawnSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { PYTHON, expectPythonChecksPass } from '../../../test/support/python';
import { COMMAND, FRAME, PYTHON_DIR } from '../src/python-programs';
import { checkCommand, FrameParser, Supervisor } from '../src/supervisor';
import type { Connection } from '@tensorify/executor-sdk/ssh';

const TESTS_DIR = path.join(__dirname, 'python');

describe("the ssh executor's Python", () => {
  it('passes its unit tests under python3', () => {
    const result = spawnSync(PYTHON, ['-m', 'unittest', 'discover', '-s', TESTS_DIR, '-t', TESTS_DIR], {
      encoding: 'utf8',
      env: { ...process.env, PYTHONPATH: PYTHON_DIR, PYTHONDONTWRITEBYTECODE: '1' },
      timeout: 120_000,
    });
    expect(result.stderr).toMatch(/\nOK\n?$/);
    expect(result.status).toBe(0);
  });

  it('passes pyflakes and black, as generated programs do', () => {
    expectPythonChecksPass(PYTHON_DIR, TESTS_DIR);
  });

  /** A stand-in for an SSH connection: runs the command with /bin/sh here, as sshd would on a host. */
  const local = {
    exec: (command: string) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['pipe', 'pipe', 'pipe'] });
      // The parts of a ClientChannel the Supervisor uses: data and close events, stderr, write, end, close.
      const channel = Object.assign(new EventEmitter(), {
        stderr: child.stderr,
        write: (data: Buffer | string) => child.stdin.write(data),
        end: () => child.stdin.end(),
        close: () => child.kill('SIGKILL'),
      });
      child.stdout.on('data', (chunk: Buffer) => channel.emit('data', chunk));
      child.once('close', (code: number | null) => channel.emit('close', code));
      return Promise.resolve(channel);
    },
  } as unknown as Connection;

  it('the bundled supervisor, started as over SSH, says hello, runs a program and confirms it gone', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tensorify-supervisor-'));
    try {
      const runDir = path.join(dir, 'run');
      mkdirSync(runDir);
      writeFileSync(path.join(runDir, 'main.py'), 'print("hello from the host")\n');
      const supervisor = await Supervisor.start(local, PYTHON);
      const hello = await supervisor.ready;
      expect(hello.version).toMatch(/^3\.\d+\.\d+$/);
      const frames: [string, string][] = [];
      const ended = new Promise<void>((done) =>
        supervisor.listen((kind, payload) => {
          frames.push([kind, payload.toString('utf8')]);
          if (kind === FRAME.end) done();
        }),
      );
      const spec = {
        dir: runDir,
        env: {},
        configEnv: {},
        passEnv: [],
        jobEnv: {},
        args: ['main.py'],
        requirements: [],
        venvDir: path.join(dir, 'venvs'),
        pipArgs: [],
        graceSeconds: 1,
        keepWorkDir: false,
      };
      supervisor.send(`${COMMAND.run} ${JSON.stringify(spec)}`);
      await ended;
      supervisor.endInput();
      await supervisor.closed;
      expect(
        frames
          .filter(([kind]) => kind === FRAME.stdout)
          .map(([, text]) => text)
          .join(''),
      ).toBe('hello from the host\n');
      const group = JSON.parse(frames.find(([kind]) => kind === FRAME.group)![1]) as { pgid: number };
      expect(JSON.parse(frames[frames.length - 1][1])).toEqual({ exitCode: 0, signal: null, stopped: null, started: true, removed: true });

      const check = spawnSync('/bin/sh', ['-c', checkCommand(PYTHON, { pgids: [group.pgid], dir: runDir, remove: true, wait: 1 })], { encoding: 'utf8' });
      expect(check.stderr).toBe('');
      expect(JSON.parse(check.stdout)).toEqual({ alive: [], killed: [], removed: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('splits supervisor frames across chunks', () => {
    const frames: [string, string][] = [];
    const parser = new FrameParser((kind, payload) => frames.push([kind, payload.toString()]));
    const frame = (kind: string, text: string): Buffer => {
      const head = Buffer.alloc(5);
      head.write(kind, 0);
      head.writeUInt32BE(Buffer.byteLength(text), 1);
      return Buffer.concat([head, Buffer.from(text)]);
    };
    const all = Buffer.concat([frame('o', 'hello\n'), frame('e', ''), frame('X', '{"exitCode":0}')]);
    for (let i = 0; i < all.length; i += 3) parser.push(all.subarray(i, i + 3));
    expect(frames).toEqual([
      ['o', 'hello\n'],
      ['e', ''],
      ['X', '{"exitCode":0}'],
    ]);
  });
});
