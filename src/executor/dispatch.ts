// Which worker gets which queued job, and when: the pool's live workers,
// spawning, batching, taking unstarted jobs back from a busy worker, and
// stopping idle workers. Job states change only through the ledger
// (job.ts); a worker's death and the pool's breaking are failure.ts's.
//
// A worker holds at most `perWorker()` jobs, sized from how long jobs take
// (enough queued work to hide a message round trip, little enough that a
// worker freed early finds work left in the pool rather than stuck behind a
// busy one). A draining worker (it runs an abandoned job) gets nothing new
// and does not count toward `maxWorkers`, so a job that ignores its timeout
// cannot take the pool's capacity with it.

import { type JobFuture, type JobLedger, SENT } from "./job.ts";
import type { PoolWorker } from "./pool_worker.ts";
import { type FnDef, R_ERROR, RING } from "./protocol.ts";

const TARGET_QUEUED_MS = 2;
const MAX_PER_WORKER = RING >> 1;
// Jobs per message. Each postMessage costs tens of microseconds beyond
// cloning (waking the worker's thread), so fewer, fuller messages win;
// the worker answers every millisecond of work, which keeps the pipe full.
const BATCH_MAX = 1024;
const INITIAL_PER_WORKER = 8;
// Stealing jobs back from a busy worker pays once they would wait this long (ms).
const STEAL_MIN_MS = 1;

/** What the dispatcher needs from its pool. */
export interface DispatchHost {
  readonly _ledger: JobLedger;
  readonly _maxWorkers: number;
  readonly _minWorkers: number;
  readonly _idleMs: number;
  /** Starts a worker; null (and the pool is broken) if that is impossible. */
  _newWorker(): PoolWorker | null;
  _defOf(id: number): FnDef;
}

/** The pool's workers and the sending of jobs to them. */
export class Dispatcher {
  /** Live workers, draining ones included. */
  readonly workers: PoolWorker[] = [];
  /** Smoothed synchronous run time of one job (ms). */
  perJobMs = NaN;
  #statMs = 0;
  #statJobs = 0;
  readonly #host: DispatchHost;

  constructor(host: DispatchHost) {
    this.#host = host;
  }

  /** Workers that take new jobs. */
  active(): number {
    let n = 0;
    for (const w of this.workers) if (!w.draining) n++;
    return n;
  }

  /** Starts a worker; false if the pool broke instead. */
  spawn(): boolean {
    const w = this.#host._newWorker();
    if (w === null) return false;
    this.workers.push(w);
    return true;
  }

  /** Terminates `w` and forgets it. Its jobs are the caller's business. */
  remove(w: PoolWorker): void {
    w.terminate();
    const i = this.workers.indexOf(w);
    if (i >= 0) this.workers.splice(i, 1);
  }

  /** Folds a reply's run time into the per-job estimate. */
  record(busy: number, n: number): void {
    if (n === 0) return;
    // Weighted by jobs, decayed by reply: one slow first call (compiling,
    // JIT) does not outweigh the hundred fast jobs of the next batch.
    this.#statMs = this.#statMs * 0.5 + busy;
    this.#statJobs = this.#statJobs * 0.5 + n;
    this.perJobMs = this.#statMs / this.#statJobs;
  }

  /** How many jobs a worker may hold, from how long jobs take. */
  perWorker(): number {
    const ms = this.perJobMs;
    if (ms !== ms) return INITIAL_PER_WORKER;
    const n = Math.floor(TARGET_QUEUED_MS / Math.max(ms, 1e-4)) + 1;
    return n > MAX_PER_WORKER ? MAX_PER_WORKER : n;
  }

  /**
   * Sends queued jobs to workers, starting workers as needed (unless
   * `spawn` is false: many jobs submitted in one go are sent early to the
   * workers already running, and new ones start at the end of the burst).
   */
  flush(spawn: boolean): void {
    const ledger = this.#host._ledger;
    if (ledger.queued === 0) return;
    const workers = this.workers;
    if (spawn) {
      let idle = 0;
      let active = 0;
      for (const w of workers) {
        if (w.draining) continue;
        active++;
        if (w.inflight === 0) idle++;
      }
      // A new worker costs a blocking isolate start (~10 ms): only for work
      // that the idle ones cannot take.
      while (ledger.queued > idle && active < this.#host._maxWorkers) {
        if (!this.spawn()) return;
        idle++;
        active++;
      }
    }
    const cap = this.perWorker();
    // A worker is topped up once half of what it may hold is left: it is
    // still busy with that while the next batch travels, and batches stay
    // large instead of one small message per reply.
    const low = cap >> 1;
    const open: PoolWorker[] = [];
    for (const w of workers) if (!w.draining && w.inflight <= low) open.push(w);
    if (open.length === 0) return;
    // Least loaded first; each takes an even share of what is left.
    if (open.length > 1) open.sort((a, b) => a.inflight - b.inflight);
    for (let k = 0; k < open.length && ledger.queued > 0; k++) {
      const w = open[k];
      let share = Math.min(cap - w.inflight, Math.ceil(ledger.queued / (open.length - k)));
      if (w.idleTimer !== undefined) {
        clearTimeout(w.idleTimer);
        w.idleTimer = undefined;
      }
      while (share > 0 && ledger.queued > 0) {
        const batch: JobFuture<unknown>[] = [];
        if (ledger.sendBatch(w, share < BATCH_MAX ? share : BATCH_MAX, batch) === 0) break;
        share -= batch.length;
        const failed = w.send(batch, this.#host._defOf);
        for (const [job, error] of failed) ledger.settle(job, R_ERROR, error);
      }
    }
  }

  /**
   * A worker ran dry while others still hold jobs they have not started:
   * take those back so the idle worker gets them. Only worth it when the
   * waiting work outlasts a message round trip.
   */
  steal(): void {
    const ms = this.perJobMs;
    for (const w of this.workers) {
      const waiting = w.inflight - w.abandoned - 1;
      if (waiting < 1 || !(waiting * ms > STEAL_MIN_MS)) continue;
      this.takeBack(w, Math.ceil(waiting / 2));
    }
  }

  /**
   * Withdraws up to `max` of the newest jobs `w` has not started and puts
   * them back at the front of the queue, in their order.
   */
  takeBack(w: PoolWorker, max: number): void {
    const back: JobFuture<unknown>[] = [];
    for (let i = 1; i <= RING && back.length < max; i++) {
      const job = w.jobs[(w.seq - i) & (RING - 1)];
      // Moved buffers are already in that worker: such a job stays there.
      if (job === undefined || job._jstate !== SENT || hasTransfers(job)) continue;
      // Jobs start in order: once one has started, all older ones have.
      if (!w.withdraw(job)) break;
      back.push(job);
    }
    // Newest first in `back`: requeueing each at the front restores the order.
    const ledger = this.#host._ledger;
    for (const job of back) ledger.requeue(job);
  }

  /** `w` runs an abandoned job: it gets nothing new, and gives back what it has not started. */
  drain(w: PoolWorker): void {
    w.draining = true;
    if (w.idleTimer !== undefined) {
      clearTimeout(w.idleTimer);
      w.idleTimer = undefined;
    }
    this.takeBack(w, Infinity);
  }

  /**
   * `w`'s abandoned jobs all stopped: it serves again if the pool has room
   * for it (a replacement may have taken its place), or goes once idle.
   */
  undrain(w: PoolWorker, shutdown: boolean): void {
    if (!shutdown && this.active() < this.#host._maxWorkers) w.draining = false;
    else if (w.inflight === 0) this.remove(w);
  }

  /** Starts `w`'s idle clock if it has nothing to do: idle workers above `minWorkers` stop. */
  startIdleClock(w: PoolWorker): void {
    if (w.dead || w.inflight !== 0 || w.draining || w.idleTimer !== undefined) return;
    const idleMs = this.#host._idleMs;
    if (idleMs === Infinity || this.workers.length <= this.#host._minWorkers) return;
    w.idleTimer = setTimeout(() => {
      w.idleTimer = undefined;
      if (w.inflight === 0 && this.workers.length > this.#host._minWorkers) this.remove(w);
    }, idleMs);
  }
}

/** Moved buffers are already in the worker the job was sent to. */
export function hasTransfers(job: JobFuture<unknown>): boolean {
  return job._more !== null && job._more.xfer !== null;
}
