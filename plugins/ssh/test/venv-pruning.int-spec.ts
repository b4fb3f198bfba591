/**
 * Pruning the ssh hosts' venvs through the sshd of scripts/ci/ssh (this machine plays the host):
 * real venvs (`python3 -m venv --without-pip`, laid out as python/venvs.py lays them out) and one
 * built by a run from a local wheel.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestContext, silentLogger, testJob } from '@tensorify/executor-sdk';
import ssh from '../src/index';
import type { SshExecutor } from '../src/executor';
import { buildWheel, CPU_PORT, KEY, KNOWN_HOSTS, PYTHON, startSshd, USER } from './test-hosts';

jest.setTimeout(120_000);

const DAY = 24 * 60 * 60 * 1000;
const MIB = 2 ** 20;
let workRoot: string;
let wheelDir: string;
const executors: SshExecutor[] = [];

beforeAll(() => {
  try {
    startSshd();
  } catch (error) {
    throw new Error(`the test sshd cannot be started (scripts/ci/ssh/start-sshd.sh): ${(error as Error).message}`);
  }
  workRoot = mkdtempSync(path.join(os.tmpdir(), 'tensorify-ssh-prune-'));
  wheelDir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-ssh-prune-wheels-'));
  buildWheel(wheelDir);
});

afterAll(async () => {
  await Promise.all(executors.map((executor) => executor.close()));
  rmSync(workRoot, { recursive: true, force: true });
  rmSync(wheelDir, { recursive: true, force: true });
});

async function makeExecutor(infos: string[] = []): Promise<SshExecutor> {
  const executor = (await ssh.create(
    {
      hosts: [{ name: 'cpu', host: '127.0.0.1', port: CPU_PORT, user: USER, privateKeyPath: KEY, python: PYTHON, workDir: workRoot }],
      knownHostsPath: KNOWN_HOSTS,
      pipArgs: ['--no-index', '--find-links', wheelDir],
      cache: { maxSizeGb: null, maxAgeDays: null }, // pruned when the test says
    },
    { dataDir: workRoot, logger: { ...silentLogger, info: (message) => infos.push(message) } },
  )) as SshExecutor;
  executors.push(executor);
  return executor;
}

const venvDir = (): string => path.join(workRoot, 'venvs');

/** A venv laid out as venvs.py does, last used `daysAgo`, with `fillerBytes` more. */
function makeVenv(daysAgo: number, fillerBytes = MIB): string {
  mkdirSync(venvDir(), { recursive: true });
  const hash = randomBytes(16).toString('hex');
  const target = path.join(venvDir(), `${hash}-${randomBytes(4).toString('hex')}`);
  execFileSync(PYTHON, ['-m', 'venv', '--without-pip', target]);
  writeFileSync(path.join(target, 'filler.bin'), Buffer.alloc(fillerBytes));
  symlinkSync(path.basename(target), path.join(venvDir(), hash));
  markUsed(hash, daysAgo);
  return hash;
}

function markUsed(hash: string, daysAgo: number): void {
  const target = readdirSync(venvDir()).find((name) => name.startsWith(`${hash}-`))!;
  const mark = path.join(venvDir(), target, '.tensorify-last-used');
  if (!existsSync(mark)) writeFileSync(mark, '');
  const at = new Date(Date.now() - daysAgo * DAY);
  utimesSync(mark, at, at);
}

const published = (): string[] =>
  readdirSync(venvDir())
    .filter((name) => /^[0-9a-f]{32}$/.test(name))
    .sort();

describe('ssh executor: pruning the hosts’ virtualenvs', () => {
  it('deletes past the age, then the least recently used beyond the size, listed in one command per host; never one being built or marked by a run', async () => {
    const infos: string[] = [];
    const executor = await makeExecutor(infos);
    const ancient = makeVenv(50);
    const old = makeVenv(9);
    const middle = makeVenv(5);
    const recent = makeVenv(1);
    const building = makeVenv(60);
    mkdirSync(path.join(venvDir(), `${building}.lock`));
    const running = makeVenv(60);
    markUsed(running, 0); // a run in flight touched it just now

    const pruned = await executor.venvPruner.prune({ maxBytes: 4.5 * MIB, maxAgeMs: 30 * DAY });
    expect(pruned.get('cpu')!.map((entry) => [entry.key, entry.reason])).toEqual([
      [ancient, 'age'],
      [old, 'size'],
    ]);
    // building + running (in use, counted) + middle + recent: each a little over 1 MiB, 4.5 MiB in all.
    expect(published()).toEqual([building, running, middle, recent].sort());
    expect(readdirSync(venvDir()).filter((name) => name.startsWith(ancient) || name.startsWith(old) || name.endsWith('.pruning'))).toEqual([]);
    expect(infos).toEqual([
      expect.stringMatching(new RegExp(`^ssh executor: pruned the virtualenv ${ancient}: 1\\.\\d MiB, unused for 50\\.0 days \\(limit 30\\) on cpu$`)),
      expect.stringMatching(new RegExp(`^ssh executor: pruned the virtualenv ${old}: 1\\.\\d MiB, least recently used \\(9\\.0 days ago\\)`)),
    ]);
    rmSync(path.join(venvDir(), `${building}.lock`), { recursive: true });
  });

  it('keeps the venv of a program running on the host, prunes it once unused, and a later run builds it again', async () => {
    const executor = await makeExecutor();
    const files = {
      'main.py': 'import sys, time, tensorify_tiny\nprint(tensorify_tiny.VALUE, flush=True)\ntime.sleep(8)',
      'requirements.txt': 'tensorify-tiny\n',
    };
    const before = new Set(published());
    const context = createTestContext();
    const run = executor.run(testJob(files), context);
    const deadline = Date.now() + 60_000;
    while (!context.of('stdout').includes('42')) {
      if (Date.now() > deadline) throw new Error(`the program did not start: ${context.of('system').join(' | ')}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const hash = published().find((name) => !before.has(name))!;
    markUsed(hash, 60); // as if long unused: only the run's heartbeat (every 5 s) can keep it now
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    const limits = { maxBytes: null, maxAgeMs: 30 * DAY };
    const during = await executor.venvPruner.prune(limits);
    expect(during.get('cpu')!.map((entry) => entry.key)).not.toContain(hash);
    expect((await run).exitCode).toBe(0);

    markUsed(hash, 60);
    const after = await executor.venvPruner.prune(limits);
    expect(after.get('cpu')!.map((entry) => [entry.key, entry.reason])).toEqual([[hash, 'age']]);
    expect(published()).not.toContain(hash);

    const again = createTestContext();
    expect((await executor.run(testJob({ ...files, 'main.py': 'import tensorify_tiny\nprint(tensorify_tiny.VALUE)' }), again)).exitCode).toBe(0);
    expect(again.of('stdout')).toEqual(['42']);
    expect(again.of('system').some((line) => line.startsWith('creating the virtualenv'))).toBe(true);
    expect(published()).toContain(hash);
  });
});
