// The future `submit` returns, and the job record the pool keeps in it (one
// object per job, not two). It keeps the owning loop from jumping virtual
// time while the job is out, and routes `cancel()` through the pool, which
// alone knows whether the job is queued, waiting in a worker, or running.

import type { Context } from "../context.ts";
import { type DoneCallback, Future, PENDING } from "../future.ts";
import type { EventLoop } from "../loop.ts";
import type { Task } from "../task.ts";
import type { PoolWorker } from "./pool_worker.ts";

/** Where the job is, as the pool sees it. */
export const JOB_QUEUED = 0;
export const JOB_SENT = 1;
export const JOB_DONE = 2;

/** What the pool does for a job's future; implemented by WorkerPoolExecutor. */
export interface JobOwner {
  /** Decides what `cancel()` on a pending job means. */
  _cancelJob(job: JobFuture<unknown>, msg: string | undefined): boolean;
}

/**
 * What jobs of one kind share (their pool, function, flags and timeout):
 * one object per function and kind, not four fields per job.
 */
export interface JobSpec {
  readonly owner: JobOwner;
  readonly fnId: number;
  /** For error messages. */
  readonly fnName: string;
  readonly flags: number;
  /** Infinity when the job has no timeout. */
  readonly timeoutMs: number;
}

/** What few jobs need: made on first use. */
export interface JobMore {
  xfer: Transferable[] | null;
  timer: ReturnType<typeof setTimeout> | undefined;
  /** The pool asked the worker to stop this job. */
  stopRequested: boolean;
}

/**
 * A job's future. A job that is running cannot be stopped at once, so
 * `cancel()` on it asks the job to stop and returns `false` (as
 * `concurrent.futures` does) unless the pool terminates such workers.
 */
export class JobFuture<T> extends Future<T> {
  // Few fields: a burst of submits keeps thousands of these alive through
  // young-generation collections, whose cost grows with their size.
  /** @internal */
  _spec: JobSpec;
  /** @internal For a chunk, the items. */
  _args: unknown[];
  /** @internal */
  _jstate: number = JOB_QUEUED;
  /** @internal */
  _worker: PoolWorker | null = null;
  /** @internal The job's sequence number in its worker. */
  _seq = -1;
  /** @internal The loop whose virtual clock waits for this job. */
  _extLoop: EventLoop | null = null;
  /** @internal Transfers, timeout timer, stop request; null for most jobs. */
  _more: JobMore | null = null;

  constructor(spec: JobSpec, args: unknown[]) {
    super();
    this._spec = spec;
    this._args = args;
    if (this._loop !== null) this._attach(this._loop);
  }

  /** @internal */
  _moreOf(): JobMore {
    return this._more ??= { xfer: null, timer: undefined, stopRequested: false };
  }

  /**
   * Cancels a job that has not started (it never will) and returns `true`.
   * A running job is asked to stop (its `AbortSignal` aborts, a coroutine
   * job gets `CancelledError`) and the call returns `false`: the future
   * completes when the job does, cancelled if it stopped because of the
   * request. Pools created with `cancelRunning: "terminate"` cancel the
   * future at once and terminate the worker if the job has not stopped
   * after a grace period.
   */
  override cancel(msg?: string): boolean {
    if (this.done()) return super.cancel(msg);
    return this._spec.owner._cancelJob(this, msg);
  }

  /** @internal Cancels the future itself, whatever the job is doing. */
  _cancelFuture(msg: string | undefined): boolean {
    return super.cancel(msg);
  }

  /** @internal */
  override _scheduleCallbacks(): void {
    const loop = this._extLoop;
    if (loop !== null) {
      this._extLoop = null;
      loop._endExternal();
    }
    super._scheduleCallbacks();
  }

  /** @internal */
  override _reprInfo(): string[] {
    const info = super._reprInfo();
    info.splice(2, 0, `job=${this._spec.fnName}`);
    return info;
  }

  /**
   * A job submitted outside any loop binds to the first loop that waits on
   * it (a task's `yield*`, gather, runUntilComplete…). That loop must not jump
   * its virtual clock while the job is out: every way of waiting registers
   * here first, so this is where the loop learns of it.
   */
  override addDoneCallback(fn: DoneCallback<this>, options?: { context?: Context }): void {
    if (this._extLoop === null && this._loop !== null) this._attach(this._loop);
    super.addDoneCallback(fn, options);
  }

  /** @internal */
  override _addWakeup(task: Task<unknown>): void {
    if (this._extLoop === null && this._loop !== null) this._attach(this._loop);
    super._addWakeup(task);
  }

  /** @internal */
  _attach(loop: EventLoop): void {
    if (this._state === PENDING && !loop.isClosed()) {
      loop._beginExternal();
      this._extLoop = loop;
    }
  }
}

// Reported as a Future: the loop's "exception was never retrieved" message
// calls anything not named Future a Task.
Object.defineProperty(JobFuture, "name", { value: "Future" });
