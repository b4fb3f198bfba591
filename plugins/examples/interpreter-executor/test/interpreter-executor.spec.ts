/**
 * The example interpreter executor against real /usr/bin/python3 processes, with the SDK's fake
 * context. In the server repository it runs in the `local-executor` jest project.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createTestContext, ExecutorUnavailableError, readProgram, silentLogger, testJob } from '@tensorify/executor-sdk';
import definition, { type InterpreterConfig } from '../src/index';

const INTERPRETER = '/usr/bin/python3';
/** The golden hello program the server compiles from shared/examples/hello.json. */
const HELLO = readProgram(path.join(__dirname, '..', '..', '..', '..', 'test', 'fixtures', 'golden', 'hello'));

const tempDirs: string[] = [];
afterAll(() => tempDirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

async function makeExecutor(config: Partial<InterpreterConfig> = {}) {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'tensorify-interpreter-'));
  tempDirs.push(dataDir);
  const full = { interpreter: INTERPRETER, args: ['-X', 'dev'], killGraceSeconds: 1, logLineMaxBytes: 16384, ...config };
  return { executor: await definition.create(full, { dataDir, logger: silentLogger }), dataDir };
}

/** Alive: kill(pid, 0) succeeds and it is not a zombie (a dead process not yet reaped counts as gone). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((done) => setTimeout(done, 20));
  }
}

describe('interpreter executor (example plugin)', () => {
  it('runs the golden hello program to its output, and removes its work dir', async () => {
    const { executor, dataDir } = await makeExecutor();
    const context = createTestContext();

    const result = await executor.run(testJob(HELLO, { inputs: { name: 'Ada' } }), context);

    expect(result).toMatchObject({ exitCode: 0, output: { result: 'Hello, Ada!' } });
    expect(context.externalIds).toEqual([result.externalId]);
    expect(context.of('stderr')).toEqual([]);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('runs main.py with the configured interpreter and arguments, in a clean environment', async () => {
    const { executor } = await makeExecutor();
    const context = createTestContext();
    const program = [
      'import json, os, sys',
      'print("executable", sys.executable)',
      'print("dev_mode", sys.flags.dev_mode)',
      'print("argv", " ".join(sys.argv))',
      'print("tensorify", ",".join(sorted(k for k in os.environ if k.startswith("TENSORIFY_"))))',
      'print("secret", os.environ.get("SERVER_SECRET"))',
      'json.dump(json.loads(os.environ["TENSORIFY_INPUTS"]), open(os.environ["TENSORIFY_OUTPUT"], "w"))',
    ].join('\n');
    process.env.SERVER_SECRET = 'do-not-leak';
    try {
      const result = await executor.run(testJob({ 'main.py': program }, { inputs: { n: 1 } }), context);
      expect(result).toMatchObject({ exitCode: 0, output: { n: 1 } });
    } finally {
      delete process.env.SERVER_SECRET;
    }
    expect(context.of('stdout')).toEqual([
      `executable ${INTERPRETER}`,
      'dev_mode True',
      'argv main.py',
      'tensorify TENSORIFY_DEVICE,TENSORIFY_EXECUTION_ID,TENSORIFY_INPUTS,TENSORIFY_OUTPUT,TENSORIFY_WORKFLOW_ID',
      'secret None',
    ]);
  });

  it('reports the configured interpreter as healthy, and a missing one as unhealthy and unavailable', async () => {
    const { executor } = await makeExecutor();
    expect(await executor.capabilities()).toEqual({ gpu: false, healthy: true, detail: expect.stringMatching(/^\/usr\/bin\/python3 -X dev: Python 3\./) });

    const { executor: missing } = await makeExecutor({ interpreter: '/nonexistent/python' });
    expect(await missing.capabilities()).toMatchObject({ gpu: false, healthy: false });
    await expect(missing.run(testJob({ 'main.py': 'print(1)' }), createTestContext())).rejects.toBeInstanceOf(ExecutorUnavailableError);
  });

  it('stops the program and what it started when the run is cancelled', async () => {
    const { executor, dataDir } = await makeExecutor();
    const context = createTestContext();
    const program = 'import subprocess, time\nchild = subprocess.Popen(["sleep", "60"])\nprint(child.pid, flush=True)\ntime.sleep(60)';

    const running = executor.run(testJob({ 'main.py': program }), context);
    await waitFor(() => context.of('stdout').length > 0);
    const grandchild = Number(context.of('stdout')[0]);
    context.abort('cancelled');

    expect((await running).exitCode).toBeNull();
    expect(isAlive(grandchild)).toBe(false);
    expect(isAlive(Number(context.externalIds[0]))).toBe(false);
    expect(context.of('system')).toEqual([expect.stringMatching(/^stopping process group \d+ \(cancelled\)$/)]);
    expect(readdirSync(dataDir)).toEqual([]);
  });

  it('starts nothing when the signal is already aborted', async () => {
    const { executor } = await makeExecutor();
    const context = createTestContext();
    context.abort('cancelled');
    expect(await executor.run(testJob({ 'main.py': 'print(1)' }), context)).toEqual({ exitCode: null });
    expect(context.externalIds).toEqual([]);
  });

  it('refuses a program with requirements, naming them', async () => {
    const { executor } = await makeExecutor();
    const context = createTestContext();
    const job = testJob({ 'main.py': 'print("never")', 'requirements.txt': '# needs\nnumpy>=1.26\n\nrequests\n' });

    await expect(executor.run(job, context)).rejects.toThrow(
      'the interpreter executor installs no packages, but requirements.txt asks for: numpy>=1.26, requests; run this workflow on the "local" executor',
    );
    expect(context.lines).toEqual([]);
  });
});
