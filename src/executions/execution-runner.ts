import { Inject, Injectable, Logger } from '@nestjs/common';
import {
  type AbortReason,
  type ExecutionContext,
  type ExecutionResult,
  type Executor,
  ExecutorUnavailableError,
  type LogStream,
} from '@tensorify/executor-sdk';
import { Clock, CLOCK } from '../common/clock';
import { ExecutorRegistry } from '../executors/executor-registry';
import { errorMessage } from '../executors/plugin-loader';
import { ExecutionErrorCode, type ExecutionStatus, type RetryReason } from './execution.entity';
import { ExecutionBus } from './execution-bus';
import { ExecutionEvents } from './execution-events';
import { ExecutionLogs } from './execution-logs';
import { EXECUTION_QUEUE, type ExecutionQueue, type QueuedExecution } from './execution-queue';
import { type ExecutionEnd, type ExecutionRecord, ExecutionsRepository, type ExecutionToRun, type HeldRun } from './executions.repository';

/** How many of the executor's own lines after the program's output a failed execution's error quotes (after the stderr lines). */
const SYSTEM_LINES_IN_ERROR = 5;
/** How many of the last stderr lines a failed execution's error message quotes. */
const STDERR_LINES_IN_ERROR = 20;

interface Outcome {
  status: ExecutionEnd['status'];
  exitCode?: number | null;
  output?: unknown;
  errorCode?: ExecutionErrorCode;
  errorMessage?: string;
  externalId?: string | null;
}

interface Finish {
  executionId: string;
  outcome: Outcome;
  /** Only while the execution is in one of these statuses (default: queued or running). */
  from?: ExecutionStatus[];
  /** Only if its worker has not stamped it since (the reconciler). */
  staleBefore?: Date;
  /** What the caller already knows of the run, so that the `finished` event needs no read. */
  run?: { executor: string | null; startedAt: Date | null };
  /** The attempt that ran (the runner's own runs): the row is ended, or queued again, only while still at it. */
  attempt?: number;
  /** The job that ran it (the runner's own runs): a retry is queued again at once; otherwise the queue's upkeep finds it. */
  job?: QueuedExecution;
  /** Only while a worker holds it (running, or queued and taken), or only while none does. */
  held?: boolean;
}

/** A run being followed: what `follow` needs besides the row. */
interface Follow {
  executor: Executor;
  controller: AbortController;
  /** When its program started; null while an executor that reports its start has not. */
  startedAt: Date | null;
  /** The queue's job, for a run the queue started. */
  job?: QueuedExecution;
  /** For a run followed again after a restart: what `resume` gets. */
  resume?: { externalId: string; wasStarted: boolean; logged: Record<LogStream, number> };
}

/** Why an ended attempt may be tried again; null when it may not (completed, cancelled). */
export function retryReason(outcome: Pick<Outcome, 'status' | 'errorCode'>): RetryReason | null {
  if (outcome.status === 'timed_out') return 'timed_out';
  if (outcome.status !== 'failed') return null;
  return outcome.errorCode === ExecutionErrorCode.WORKER_LOST ? 'worker_lost' : 'failed';
}

/**
 * Runs one queued execution: marks it running, hands its stored files to its executor, streams
 * the lines into its log, enforces its time limit, and stores how it ended. Cancel and timeout
 * abort the executor's signal; the status is written only once the executor has returned, so
 * `cancelled` means the process is gone. Cancel requests reach it through the ExecutionBus, from
 * whichever process took the request.
 */
@Injectable()
export class ExecutionRunner {
  private readonly logger = new Logger(ExecutionRunner.name);
  private readonly active = new Map<string, AbortController>();
  /** The queue's job of a `queued` execution (the processor's), for a retry of a run that has none. */
  private jobOf?: (executionId: string) => Promise<QueuedExecution | null>;
  /** Runs this process follows again (after a restart), outside the queue. */
  private readonly resuming = new Set<Promise<void>>();
  private stopListening?: () => void;

  constructor(
    private readonly executions: ExecutionsRepository,
    private readonly registry: ExecutorRegistry,
    private readonly logs: ExecutionLogs,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly events: ExecutionEvents,
    private readonly bus: ExecutionBus,
    @Inject(EXECUTION_QUEUE) private readonly queue: ExecutionQueue,
  ) {}

  /**
   * Listens for cancel requests from any process (the API instance that took the request may not
   * be the one running it). Resolves once listening.
   */
  async listenForCancels(): Promise<void> {
    if (this.stopListening) return;
    const { unsubscribe, ready } = this.bus.onCancel((executionId) => this.cancel(executionId));
    this.stopListening = unsubscribe;
    await ready;
  }

  /** How to make the queue's job of a `queued` execution (the processor gives it at boot). */
  useJobs(jobOf: (executionId: string) => Promise<QueuedExecution | null>): void {
    this.jobOf = jobOf;
  }

  /** Asks whichever process runs the execution to stop it (this one included). */
  requestCancel(executionId: string): void {
    this.bus.requestCancel(executionId);
  }

  /** Stamps the executions this process runs, so the others know it is alive. */
  async heartbeat(): Promise<void> {
    const ids = [...this.active.keys()];
    if (ids.length === 0) return;
    await this.executions.heartbeat(ids, new Date(this.clock.now()));
  }

  /**
   * Held executions whose worker has not stamped them since `before` (it died) end WORKER_LOST,
   * unless their executor can resume them: then a process that runs executions (`canResume`)
   * takes the run over and follows it again, and one that does not leaves it to the workers. Each
   * is checked again in its own conditional update, so a late heartbeat wins and one reconciler
   * only takes a run over.
   */
  async failStalled(before: Date, canResume = false): Promise<number> {
    let lost = 0;
    for (const run of await this.executions.findRunning(before)) {
      if (this.active.has(run.id)) continue;
      // A resumable run is left to a process that runs executions (an API instance's reconciler does not end it).
      if (this.resumable(run)) {
        if (canResume && (await this.executions.takeOver(run.id, before, new Date(this.clock.now())))) {
          this.logger.warn(`${run.id}: its worker stopped answering; this worker follows its run ${run.externalId} again`);
          this.startResume(run);
        }
        continue;
      }
      const ended = await this.finish({
        executionId: run.id,
        outcome: {
          status: 'failed',
          errorCode: ExecutionErrorCode.WORKER_LOST,
          errorMessage: 'The worker running this execution stopped answering (it died, or lost the database); it did not finish',
        },
        from: ['queued', 'running'],
        held: true,
        staleBefore: before,
      });
      if (ended) lost++;
    }
    return lost;
  }

  /** The queue's processor. */
  readonly process = async (job: QueuedExecution): Promise<void> => {
    const execution = await this.executions.findToRun(job.executionId);
    // A queued row with a heartbeat is held by a worker (its executor's job waits to start).
    if (!execution || execution.status !== 'queued' || execution.heartbeatAt !== null) return;
    if (execution.cancelRequestedAt) {
      await this.finishCancelledBeforeStart(execution.id);
      return;
    }
    const plugin = this.registry.get(execution.executor ?? '');
    if (plugin?.executor === undefined) {
      await this.finish({
        executionId: execution.id,
        outcome: {
          status: 'failed',
          errorCode: ExecutionErrorCode.EXECUTOR_UNAVAILABLE,
          errorMessage: `Executor "${execution.executor}" is not loaded on this server`,
        },
      });
      return;
    }
    const executor = plugin.executor;
    // Registered before the claim: a cancel asked for before the claim keeps it from running (the
    // request's process ends it), one asked for after finds the run here to abort.
    const controller = new AbortController();
    this.active.set(execution.id, controller);
    const takenAt = new Date(this.clock.now());
    // An executor that reports its program's start takes the row and leaves it `queued` until then.
    const reportsStart = executor.reportsStart === true;
    let claimed = false;
    try {
      claimed = reportsStart ? await this.executions.take(execution.id, takenAt) : await this.executions.claim(execution.id, takenAt);
    } finally {
      if (!claimed) this.active.delete(execution.id);
    }
    if (!claimed) return;
    if (!reportsStart) this.emitStarted(execution, takenAt);
    this.logs.open(execution.id, execution.logCount);
    if (execution.attempt > 1) {
      const waited = execution.nextAttemptAt === null ? 0 : Math.max(0, Math.round((takenAt.getTime() - execution.nextAttemptAt.getTime()) / 1000));
      this.logs.append(
        execution.id,
        'system',
        `[attempt ${execution.attempt} of ${execution.maxAttempts}] started after a backoff of ${execution.retryBackoffSeconds} s` +
          (waited > 0 ? ` (and ${waited} s in the queue)` : ''),
      );
    }
    await this.follow(execution, { executor, controller, startedAt: reportsStart ? null : takenAt, job });
  };

  /**
   * Runs (or, after a restart, resumes) the execution with its executor to its end, and stores how
   * it ended; or, when the executor detached from it at shutdown, leaves it held for the next
   * server. The time limit counts from the program's start (as Slurm's own `--time` does).
   */
  private async follow(execution: ExecutionToRun, run: Follow): Promise<void> {
    const { executor, controller } = run;
    let startedAt = run.startedAt;
    let timer: NodeJS.Timeout | undefined;
    const armTimer = (from: Date): void => {
      const left = from.getTime() + execution.timeoutSeconds * 1000 - this.clock.now();
      timer = setTimeout(() => controller.abort('timed_out' satisfies AbortReason), Math.max(0, left));
    };
    if (startedAt !== null) armTimer(startedAt);
    const stderr: string[] = [];
    // The executor's own lines after the program's last output (e.g. "ran out of memory"): quoted after stderr.
    let trailingSystem: string[] = [];
    let externalId: string | null = run.resume?.externalId ?? null;
    // Stores of the external id and of the start, in order: the end waits for them.
    let storing: Promise<unknown> = Promise.resolve();
    const store = (what: string, write: () => Promise<unknown>): void => {
      storing = storing.then(write).catch((error: unknown) => this.logger.warn(`could not store the ${what} of ${execution.id}: ${errorMessage(error)}`));
    };
    const context: ExecutionContext = {
      signal: controller.signal,
      log: (stream, line) => {
        if (stream === 'system') {
          trailingSystem.push(line);
          if (trailingSystem.length > SYSTEM_LINES_IN_ERROR) trailingSystem.shift();
        } else trailingSystem = [];
        if (stream === 'stderr') {
          stderr.push(line);
          if (stderr.length > STDERR_LINES_IN_ERROR) stderr.shift();
        }
        this.logs.append(execution.id, stream, line);
      },
      // Stored at once, so an operator can find a long run while it runs (and after a crash).
      setExternalId: (id) => {
        externalId = id;
        store('external id', () => this.executions.setExternalId(execution.id, id));
      },
      started: () => {
        if (startedAt !== null || controller.signal.aborted) return;
        const at = new Date(this.clock.now());
        startedAt = at;
        armTimer(at);
        store('start', async () => {
          if (await this.executions.start(execution.id, at)) this.emitStarted(execution, at);
        });
      },
    };
    const job = {
      executionId: execution.id,
      workflowId: execution.workflowId,
      workflowVersion: execution.workflowVersion,
      files: execution.files,
      inputs: execution.inputs,
      env: {},
      gpu: execution.gpu,
      timeoutMs: execution.timeoutSeconds * 1000,
    };
    let outcome: Outcome;
    let detached = false;
    try {
      const result: ExecutionResult =
        run.resume !== undefined && executor.resume !== undefined
          ? await executor.resume(job, { ...context, ...run.resume })
          : await executor.run(job, context);
      detached = result.detached === true && controller.signal.reason === 'shutdown' && executor.resume !== undefined;
      outcome = this.outcomeOf(result, controller.signal, [...stderr, ...trailingSystem], execution.timeoutSeconds);
      outcome.externalId = result.externalId ?? externalId;
    } catch (error) {
      outcome = this.outcomeOfError(error, controller.signal, execution.timeoutSeconds);
      outcome.externalId = externalId;
    } finally {
      clearTimeout(timer);
      this.active.delete(execution.id);
    }
    await storing;
    if (detached) {
      // The program goes on without this server: the row stays held, with its external id, for the next one to resume.
      await this.logs.flush();
      await this.executions.detach(execution.id, this.logs.close(execution.id));
      this.logger.log(`${execution.id}: left running as ${externalId} at shutdown; the next start of the server follows it again`);
      return;
    }
    await this.finish({
      executionId: execution.id,
      outcome,
      run: { executor: execution.executor, startedAt },
      job: run.job,
      attempt: execution.attempt,
    });
  }

  private emitStarted(execution: ExecutionRecord, startedAt: Date): void {
    this.events.emit('started', {
      executionId: execution.id,
      executor: execution.executor ?? '',
      queuedMs: startedAt.getTime() - execution.createdAt.getTime(),
    });
  }

  /** Whether a held run can be followed again: its executor has `resume` and the run recorded where it lives. */
  private resumable(run: HeldRun): boolean {
    return run.externalId !== null && this.registry.get(run.executor ?? '')?.executor?.resume !== undefined;
  }

  /** Follows a held run again (after a restart, or for a dead worker), in the background; `settled()` waits for it. */
  private startResume(run: HeldRun): void {
    const resuming = this.resume(run)
      .catch((error: unknown) => this.logger.error(`Resuming ${run.id} failed: ${errorMessage(error)}`))
      .finally(() => this.resuming.delete(resuming));
    this.resuming.add(resuming);
  }

  private async resume(run: HeldRun): Promise<void> {
    const execution = await this.executions.findToRun(run.id);
    const executor = this.registry.get(execution?.executor ?? '')?.executor;
    if (!execution || executor === undefined || run.externalId === null) return;
    const controller = new AbortController();
    this.active.set(execution.id, controller);
    const wasStarted = execution.status === 'running';
    const logged = await this.executions.storedLogCounts(execution.id);
    this.logs.open(execution.id, await this.executions.storedLogCount(execution.id));
    this.logs.append(execution.id, 'system', `[tensorify] following ${run.externalId} again after a restart of the server`);
    // A cancel asked for while no server followed it: the executor stops it now.
    if (execution.cancelRequestedAt !== null) controller.abort('cancelled' satisfies AbortReason);
    await this.follow(execution, {
      executor,
      controller,
      startedAt: wasStarted ? execution.startedAt : null,
      resume: { externalId: run.externalId, wasStarted, logged },
    });
  }

  /** Resolves once the runs this process resumed have settled (shutdown). */
  async settled(): Promise<void> {
    await Promise.all([...this.resuming]);
  }

  /** Asks the running execution to stop; false when it is not running in this process. */
  cancel(executionId: string): boolean {
    const controller = this.active.get(executionId);
    if (!controller) return false;
    controller.abort('cancelled' satisfies AbortReason);
    return true;
  }

  /** Aborts every running execution (shutdown) and waits for nothing: the queue's stop() does. */
  abortAll(): void {
    for (const controller of this.active.values()) controller.abort('shutdown' satisfies AbortReason);
  }

  /** Ends a queued execution `cancelled`; false when it is no longer queued (it started meanwhile). */
  async finishCancelledBeforeStart(executionId: string): Promise<boolean> {
    return this.finish({
      executionId,
      outcome: { status: 'cancelled', errorCode: ExecutionErrorCode.CANCELLED, errorMessage: 'Cancelled before it started' },
      from: ['queued'],
      // Not one an executor took: its job must be cancelled by the worker that follows it.
      held: false,
    });
  }

  /**
   * At start (the only process): runs left held by the previous run of the server are followed
   * again when their executor can resume them (a Slurm job outlives the server); the others end
   * `failed` with WORKER_LOST (their processes died with it).
   */
  async recover(): Promise<void> {
    let lost = 0;
    for (const run of await this.executions.findRunning()) {
      if (this.resumable(run)) {
        this.logger.log(`${run.id}: following ${run.externalId} again (it outlived the previous run of the server)`);
        this.startResume(run);
        continue;
      }
      const ended = await this.finish({
        executionId: run.id,
        outcome: {
          status: 'failed',
          errorCode: ExecutionErrorCode.WORKER_LOST,
          errorMessage: 'The server stopped while this execution ran; it did not finish',
        },
        from: ['queued', 'running'],
        held: true,
      });
      if (ended) lost++;
    }
    if (lost > 0) this.logger.warn(`${lost} execution(s) left running by a previous run of the server ended as WORKER_LOST`);
  }

  private outcomeOf(result: ExecutionResult, signal: AbortSignal, stderr: string[], timeoutSeconds: number): Outcome {
    if (signal.aborted) return { ...this.abortedOutcome(signal, timeoutSeconds), exitCode: result.exitCode };
    if (result.exitCode === 0) return { status: 'completed', exitCode: 0, output: result.output ?? {} };
    const tail = stderr.length > 0 ? `:\n${stderr.join('\n')}` : '';
    return {
      status: 'failed',
      exitCode: result.exitCode,
      output: result.output,
      errorCode: ExecutionErrorCode.EXECUTION_FAILED,
      errorMessage: `The program exited with ${result.exitCode === null ? 'a signal' : `code ${result.exitCode}`}${tail}`,
    };
  }

  private outcomeOfError(error: unknown, signal: AbortSignal, timeoutSeconds: number): Outcome {
    if (signal.aborted) return this.abortedOutcome(signal, timeoutSeconds);
    const message = error instanceof Error ? error.message : String(error);
    if (error instanceof ExecutorUnavailableError || (error as Error | undefined)?.name === 'ExecutorUnavailableError') {
      return { status: 'failed', errorCode: ExecutionErrorCode.EXECUTOR_UNAVAILABLE, errorMessage: message };
    }
    return { status: 'failed', errorCode: ExecutionErrorCode.EXECUTION_FAILED, errorMessage: message };
  }

  private abortedOutcome(signal: AbortSignal, timeoutSeconds: number): Outcome {
    if (signal.reason === 'timed_out') {
      return {
        status: 'timed_out',
        errorCode: ExecutionErrorCode.TIMED_OUT,
        errorMessage: `The execution ran past its limit of ${timeoutSeconds} s and was stopped`,
      };
    }
    if (signal.reason === 'shutdown') {
      return { status: 'failed', errorCode: ExecutionErrorCode.WORKER_LOST, errorMessage: 'The server shut down while this execution ran' };
    }
    return { status: 'cancelled', errorCode: ExecutionErrorCode.CANCELLED, errorMessage: 'Cancelled while running; the process is gone' };
  }

  /** Stores how the execution ended (only if it meets the conditions), then tells live readers; true when it did. */
  private async finish({ executionId, outcome, from = ['queued', 'running'], staleBefore, run, job, attempt, held }: Finish): Promise<boolean> {
    await this.logs.flush();
    const logCount = this.logs.close(executionId);
    if (await this.retry({ executionId, outcome, from, staleBefore, job, attempt, held }, logCount)) return true;
    const end: ExecutionEnd = {
      status: outcome.status,
      completedAt: new Date(this.clock.now()),
      exitCode: outcome.exitCode ?? null,
      output: outcome.output === undefined ? null : outcome.output,
      errorCode: outcome.errorCode ?? null,
      errorMessage: outcome.errorMessage ?? null,
      ...(logCount > 0 ? { logCount } : {}),
      ...(outcome.externalId ? { externalId: outcome.externalId } : {}),
    };
    const updated = await this.executions.finish(executionId, end, { from, staleBefore, attempt, held });
    this.logs.ended(executionId, outcome.status);
    if (updated) {
      const known = run ?? (await this.executions.findRun(executionId));
      const runMs = known?.startedAt ? end.completedAt.getTime() - known.startedAt.getTime() : null;
      this.events.emit('finished', { executionId, executor: known?.executor ?? null, status: outcome.status, runMs });
    }
    return updated;
  }

  /**
   * Queues the next attempt instead of ending the execution, when the outcome is one its retry
   * policy names and attempts are left; true when it did. The row's conditional update lets one
   * process only queue it again (a worker and a reconciler that both saw a lost run).
   */
  private async retry({ executionId, outcome, from = ['queued', 'running'], staleBefore, job, attempt, held }: Finish, logCount: number): Promise<boolean> {
    const reason = retryReason(outcome);
    if (reason === null) return false;
    const row = await this.executions.find(executionId);
    if (row === null || row.attempt >= row.maxAttempts || !row.retryOn.includes(reason) || row.cancelRequestedAt !== null) return false;
    if (attempt !== undefined && row.attempt !== attempt) return false;
    // A run lost with its worker was not logging here: its lines are stored, its row does not count them.
    if (logCount === 0) logCount = await this.executions.storedLogCount(executionId);
    const now = this.clock.now();
    const delayMs = row.retryBackoffSeconds * 1000;
    const queued = await this.executions.retry(
      executionId,
      {
        attempt: row.attempt,
        status: outcome.status as 'failed' | 'timed_out',
        errorCode: outcome.errorCode ?? null,
        errorMessage: outcome.errorMessage ?? null,
        startedAt: row.startedAt,
        completedAt: new Date(now),
        nextAttemptAt: new Date(now + delayMs),
        ...(logCount > 0 ? { logCount } : {}),
      },
      { from, staleBefore, held },
    );
    if (!queued) return false;
    this.logger.log(`${executionId}: attempt ${row.attempt} of ${row.maxAttempts} ended ${reason}; attempt ${row.attempt + 1} in ${row.retryBackoffSeconds} s`);
    this.events.emit('retried', { executionId, reason, attempt: row.attempt + 1 });
    // A run without its queue's job (resumed after a restart, or lost): its next attempt's job is read from the row.
    const next = job !== undefined ? { ...job, attempt: row.attempt + 1, delayMs } : await this.jobOf?.(executionId).catch(() => null);
    if (next) this.queue.enqueue(next);
    return true;
  }
}
