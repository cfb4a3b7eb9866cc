// A job's life in a WorkerPoolExecutor: the future `submit` returns (one
// object per job: the future is the job record), and the ledger that alone
// moves jobs from one state to the next.
//
// States (`JobFuture._jstate`), as the parent sees them:
//
//   QUEUED     In the ledger's queue, waiting for a worker. No worker knows it.
//   SENT       In one worker's slot table (`_worker`, `_seq`). The worker may
//              or may not have started it: the shared slot word says which
//              (protocol.ts), and whoever moves that word out of S_QUEUED first
//              decides whether the job runs or is withdrawn.
//   ABANDONED  Its future is settled (timed out, or cancelled with
//              `cancelRunning: "terminate"`) but the job still runs, and its
//              worker keeps its slot until it answers or dies.
//   DONE       Settled, and no worker holds it.
//
// Invariants, true between any two calls into this module:
//   - submitted === queued + running + done (the counters below).
//   - The future is pending iff the job is QUEUED or SENT.
//   - A job is in a worker's table iff it is SENT or ABANDONED, and then
//     `_worker` is that worker; `_worker` is null otherwise.
//   - `queued` counts QUEUED jobs, `running` SENT ones, `abandoned` the
//     ABANDONED ones, `done` the ABANDONED and DONE ones.
//   - Only this module writes `_jstate`, `_worker`, `_seq` and the counters,
//     and only through the transitions below:
//
//   (new)   → QUEUED     enqueue        submit
//   QUEUED  → SENT       sendBatch      dispatch chose a worker
//   SENT    → QUEUED     requeue        withdrawn unstarted: taken back, or its worker died
//   QUEUED  → DONE       settle…        cancelled, or the pool broke
//   SENT    → DONE       settle…        answered, withdrawn and cancelled, failed to send,
//                                       its worker died while running it, or the pool broke
//   SENT    → ABANDONED  abandon        timed out, or cancelled in "terminate" mode
//   ABANDONED → DONE     release        its worker answered at last, or is gone

import type { Context } from "../context.ts";
import { type DoneCallback, Future, PENDING } from "../future.ts";
import type { EventLoop } from "../loop.ts";
import type { Task } from "../task.ts";
import type { PoolWorker } from "./pool_worker.ts";
import { R_CANCELLED, R_OK } from "./protocol.ts";

export const QUEUED = 0;
export const SENT = 1;
export const ABANDONED = 2;
export const DONE = 3;

/** What the pool does for a job's future. */
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
  /** @internal One of QUEUED, SENT, ABANDONED, DONE. */
  _jstate: number = QUEUED;
  /** @internal The worker holding it (SENT or ABANDONED). */
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

const NO_ARGS: unknown[] = [];

/** The pool's books: the queue of jobs waiting for a worker and every transition. */
export class JobLedger {
  /**
   * QUEUED jobs, oldest first, from `head` on. Settled ones are left in
   * place and skipped. A plain array with a head index: a burst of submits
   * appends thousands, and a ring buffer's regrowth cost more than it saved.
   */
  queue: (JobFuture<unknown> | undefined)[] = [];
  head = 0;
  queued = 0;
  running = 0;
  abandoned = 0;
  done = 0;
  submitted = 0;

  /** (new) → QUEUED. */
  enqueue(job: JobFuture<unknown>): void {
    this.queue.push(job);
    this.queued++;
    this.submitted++;
  }

  /**
   * QUEUED → SENT for up to `max` of the oldest queued jobs, which take the
   * next slots of `w` in order and are appended to `batch`; returns how many.
   */
  sendBatch(w: PoolWorker, max: number, batch: JobFuture<unknown>[]): number {
    const q = this.queue;
    let n = 0;
    let head = this.head;
    while (n < max && head < q.length) {
      const job = q[head];
      q[head++] = undefined;
      if (job === undefined || job._jstate !== QUEUED) continue;
      job._seq = w.hold(job);
      job._worker = w;
      job._jstate = SENT;
      batch.push(job);
      n++;
    }
    this.head = head;
    this.queued -= n;
    this.running += n;
    if (head === q.length) {
      // Drained: start again at 0 rather than let the array grow forever.
      q.length = 0;
      this.head = 0;
    } else if (head > 1024 && head * 2 > q.length) {
      // Mostly drained: drop the dead front.
      this.queue = q.slice(head);
      this.head = 0;
    }
    return n;
  }

  /** SENT → QUEUED, at the front: a job its worker never started (it was withdrawn). */
  requeue(job: JobFuture<unknown>): void {
    job._worker!.release(job);
    job._worker = null;
    job._seq = -1;
    job._jstate = QUEUED;
    if (this.head > 0) this.queue[--this.head] = job;
    else this.queue.unshift(job);
    this.running--;
    this.queued++;
  }

  /** QUEUED|SENT → DONE, settling the future with `status` and `value`. */
  settle(job: JobFuture<unknown>, status: number, value: unknown): void {
    this._close(job);
    if (status === R_OK) job.setResult(value);
    else if (status === R_CANCELLED) job._cancelFuture(value as string | undefined);
    else job.setException(value);
  }

  /**
   * SENT → ABANDONED: the future is settled now (`status`, `value` as in
   * `settle`) while the job goes on running in its worker.
   */
  abandon(job: JobFuture<unknown>, status: number, value: unknown): void {
    if (job._more !== null) this._clearMore(job);
    job._jstate = ABANDONED;
    job._args = NO_ARGS;
    this.running--;
    this.done++;
    this.abandoned++;
    job._worker!.abandoned++;
    if (status === R_CANCELLED) job._cancelFuture(value as string | undefined);
    else job.setException(value);
  }

  /** ABANDONED → DONE: its worker answered at last or is gone. */
  release(job: JobFuture<unknown>): void {
    const w = job._worker!;
    w.release(job);
    w.abandoned--;
    job._worker = null;
    job._jstate = DONE;
    this.abandoned--;
  }

  /** Leaves the books: QUEUED or SENT → DONE, before the future is settled. */
  _close(job: JobFuture<unknown>): void {
    if (job._jstate === QUEUED) this.queued--;
    else {
      job._worker!.release(job);
      job._worker = null;
      this.running--;
    }
    job._jstate = DONE;
    job._args = NO_ARGS;
    if (job._more !== null) this._clearMore(job);
    this.done++;
  }

  _clearMore(job: JobFuture<unknown>): void {
    const more = job._more!;
    more.xfer = null;
    if (more.timer !== undefined) {
      clearTimeout(more.timer);
      more.timer = undefined;
    }
  }

  /** The QUEUED jobs, oldest first (a copy). */
  queuedJobs(): JobFuture<unknown>[] {
    const out: JobFuture<unknown>[] = [];
    const q = this.queue;
    for (let i = this.head; i < q.length; i++) {
      const job = q[i];
      if (job !== undefined && job._jstate === QUEUED) out.push(job);
    }
    return out;
  }

  /** Jobs whose futures are pending: QUEUED or SENT. */
  get pending(): number {
    return this.queued + this.running;
  }
}
