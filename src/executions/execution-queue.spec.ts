import { InProcessExecutionQueue, type QueuedExecution, type QueueWorker } from './execution-queue';

/** A worker of this process alone: `process` runs the jobs, `queued` is what the rows held at start; it records its calls. */
function workerOf(process: QueueWorker['process'], queued: QueuedExecution[] = []): QueueWorker & { calls: string[] } {
  const calls: string[] = [];
  return {
    calls,
    process,
    job: () => Promise.resolve(null),
    queued: () => {
      calls.push('queued');
      return Promise.resolve(queued);
    },
    recover: () => {
      calls.push('recover');
      return Promise.resolve();
    },
    failStalled: () => Promise.resolve(0),
    heartbeat: () => Promise.resolve(),
  };
}

/** A processor whose jobs finish when the test says so. */
function controllable() {
  const running = new Map<string, () => void>();
  const started: string[] = [];
  const processor = (job: QueuedExecution) =>
    new Promise<void>((done) => {
      started.push(job.executionId);
      running.set(job.executionId, () => {
        running.delete(job.executionId);
        done();
      });
    });
  const finish = async (id: string) => {
    running.get(id)!();
    await new Promise((resolve) => setImmediate(resolve));
  };
  return { processor, started, running, finish };
}

const job = (executionId: string, workspaceId = 'ws_a', workspaceLimit = 10): QueuedExecution => ({ executionId, workspaceId, workspaceLimit });

describe(InProcessExecutionQueue.name, () => {
  it('runs at most `concurrency` jobs at once, in arrival order', async () => {
    const queue = new InProcessExecutionQueue(2);
    const { processor, started, finish } = controllable();
    await queue.start(workerOf(processor));
    ['e1', 'e2', 'e3', 'e4'].forEach((id) => queue.enqueue(job(id)));
    expect(started).toEqual(['e1', 'e2']);
    expect(queue.stats()).toEqual({ waiting: 2, running: 2 });
    await finish('e2');
    expect(started).toEqual(['e1', 'e2', 'e3']);
  });

  it("holds a workspace at its plan's limit without holding up other workspaces", async () => {
    const queue = new InProcessExecutionQueue(10);
    const { processor, started, finish } = controllable();
    await queue.start(workerOf(processor));
    ['f1', 'f2', 'f3'].forEach((id) => queue.enqueue(job(id, 'ws_free', 2)));
    queue.enqueue(job('p1', 'ws_pro', 10));
    expect(started).toEqual(['f1', 'f2', 'p1']);
    await finish('f1');
    expect(started).toEqual(['f1', 'f2', 'p1', 'f3']);
  });

  it('takes out a job that has not started, and ignores a second enqueue of the same id', async () => {
    const queue = new InProcessExecutionQueue(1);
    const { processor, started } = controllable();
    await queue.start(workerOf(processor));
    queue.enqueue(job('e1'));
    queue.enqueue(job('e2'));
    queue.enqueue(job('e2'));
    expect(queue.stats().waiting).toBe(1);
    expect(queue.remove('e2')).toBe(true);
    expect(queue.remove('e1')).toBe(false);
    expect(started).toEqual(['e1']);
  });

  it('starts nothing before start() and after stop(), and stop() waits for the running jobs', async () => {
    const queue = new InProcessExecutionQueue(2);
    const { processor, started, finish } = controllable();
    queue.enqueue(job('e1'));
    expect(started).toEqual([]);
    await queue.start(workerOf(processor));
    expect(started).toEqual(['e1']);
    let stopped = false;
    const stopping = queue.stop().then(() => (stopped = true));
    queue.enqueue(job('e2'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(stopped).toBe(false);
    await finish('e1');
    await stopping;
    expect(started).toEqual(['e1']);
  });

  it('keeps going when a job fails', async () => {
    const queue = new InProcessExecutionQueue(1);
    const started: string[] = [];
    await queue.start(
      workerOf((queued) => {
        started.push(queued.executionId);
        return Promise.reject(new Error('boom'));
      }),
    );
    queue.enqueue(job('e1'));
    queue.enqueue(job('e2'));
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(started).toEqual(['e1', 'e2']);
    expect(queue.stats()).toEqual({ waiting: 0, running: 0 });
  });

  it('on start, recovers what its previous run left running, then runs what was queued before, ahead of later jobs', async () => {
    const queue = new InProcessExecutionQueue(1);
    const { processor, started, finish } = controllable();
    const worker = workerOf(processor, [job('old1'), job('old2')]);
    await queue.start(worker);
    queue.enqueue(job('new'));
    expect(worker.calls).toEqual(['recover', 'queued']);
    expect(started).toEqual(['old1']);
    await finish('old1');
    await finish('old2');
    expect(started).toEqual(['old1', 'old2', 'new']);
  });
});
