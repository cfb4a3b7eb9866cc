// What the pool does when something goes wrong with a worker: it dies (its
// running jobs fail with BrokenWorkerError, its unstarted ones go to another
// worker, a replacement starts), it cannot start or its initializer fails or
// hangs (the pool breaks: every pending job and every later submit fails,
// instead of workers respawning forever), or a job it runs was abandoned
// (timed out or cancelled in "terminate" mode) and does not stop within the
// grace period (the worker is terminated once nothing else runs there).
//
// `broken` is this module's: once set it stays, and the pool refuses jobs.

import { BrokenWorkerError } from "../errors.ts";
import { ABANDONED, type JobFuture, type JobLedger, SENT } from "./job.ts";
import type { Dispatcher } from "./dispatch.ts";
import { hasTransfers } from "./dispatch.ts";
import type { PoolWorker } from "./pool_worker.ts";
import { R_ERROR, RING } from "./protocol.ts";

/** What failure handling needs from its pool. */
export interface FailureHost {
  readonly _ledger: JobLedger;
  readonly _dispatch: Dispatcher;
  readonly _minWorkers: number;
  readonly _graceMs: number;
  readonly _initTimeoutMs: number;
  readonly _shutdown: boolean;
  /** After a death or a break: dispatch more, reap, settle `shutdown()`. */
  _afterProgress(w: PoolWorker | null): void;
}

/** A worker's death, a pool's breaking, and the timers that lead to them. */
export class Failures {
  /** Set when workers cannot start: every later submit fails with it. */
  broken: BrokenWorkerError | null = null;
  readonly #host: FailureHost;

  constructor(host: FailureHost) {
    this.#host = host;
  }

  /** A worker reported an error, exited, or broke the protocol. */
  onWorkerError(w: PoolWorker, message: string, cause: unknown, atInit: string): void {
    if (w.dead) return;
    // A worker that dies before it is ready (its initializer called
    // Deno.exit(), it could not load) would die again in any replacement.
    if (!w.ready) this.breakPool(`${atInit}: ${message}`, cause);
    else this.onDeath(w, `worker ${w.id} died: ${message}`, cause);
  }

  /**
   * A worker is gone: the jobs it was running fail, the ones it had not
   * started go back to the queue, and the pool goes on.
   */
  onDeath(w: PoolWorker, message: string, cause: unknown): void {
    if (w.dead) return;
    const host = this.#host;
    const ledger = host._ledger;
    host._dispatch.remove(w);
    const lost: JobFuture<unknown>[] = [];
    const back: JobFuture<unknown>[] = [];
    // Oldest first, so requeued jobs keep their order.
    for (let i = 0; i < RING; i++) {
      const job = w.jobs[(w.seq + i) & (RING - 1)];
      if (job === undefined) continue;
      if (job._jstate === ABANDONED) ledger.release(job);
      // Moved buffers went down with the worker: such a job cannot be resent.
      else if (w.withdraw(job) && !hasTransfers(job)) back.push(job);
      else lost.push(job);
    }
    for (let i = back.length - 1; i >= 0; i--) ledger.requeue(back[i]);
    for (const job of lost) {
      ledger.settle(job, R_ERROR, new BrokenWorkerError(message, causeOf(cause)));
    }
    if (!host._shutdown && this.broken === null) {
      while (host._dispatch.workers.length < host._minWorkers) {
        if (!host._dispatch.spawn()) return;
      }
    }
    host._afterProgress(null);
  }

  /** Workers cannot start: fail everything and refuse new jobs. */
  breakPool(message: string, cause: unknown): void {
    if (this.broken !== null) return;
    const err = new BrokenWorkerError(message, causeOf(cause));
    this.broken = err;
    const host = this.#host;
    const ledger = host._ledger;
    const jobs = ledger.queuedJobs();
    const workers = host._dispatch.workers;
    for (const w of [...workers]) {
      for (const job of w.jobs) {
        if (job === undefined) continue;
        if (job._jstate === SENT) jobs.push(job);
        else ledger.release(job);
      }
      host._dispatch.remove(w);
    }
    for (const job of jobs) {
      ledger.settle(job, R_ERROR, new BrokenWorkerError(message, causeOf(err.cause)));
    }
    host._afterProgress(null);
  }

  /**
   * A job of `w` was abandoned: if it has not stopped after the grace
   * period, the worker goes, as soon as no other job runs there.
   */
  startGrace(w: PoolWorker): void {
    if (w.graceTimer !== undefined) return;
    const graceMs = this.#host._graceMs;
    w.graceTimer = setTimeout(() => {
      w.graceTimer = undefined;
      if (w.abandoned > 0) this.#endIfOnlyAbandoned(w, graceMs);
    }, graceMs);
  }

  /**
   * After a reply from a draining worker: once its abandoned jobs have
   * stopped, it is the dispatcher's again; if they have not and the grace
   * period has passed, it goes as soon as nothing else runs there.
   */
  afterDrainingReply(w: PoolWorker): void {
    if (w.abandoned === 0) {
      if (w.graceTimer !== undefined) clearTimeout(w.graceTimer);
      w.graceTimer = undefined;
      this.#host._dispatch.undrain(w, this.#host._shutdown);
    } else if (w.graceTimer === undefined) {
      this.#endIfOnlyAbandoned(w, this.#host._graceMs);
    }
  }

  #endIfOnlyAbandoned(w: PoolWorker, graceMs: number): void {
    if (w.inflight !== w.abandoned) return; // tried again at its next reply
    this.onDeath(
      w,
      `worker ${w.id} was terminated: a job it ran was cancelled or timed out and did not ` +
        `stop within cancelGraceMs=${graceMs}`,
      undefined,
    );
  }

  /** Breaks the pool if `w`'s initializer has not finished in time. */
  startInitClock(w: PoolWorker): void {
    const ms = this.#host._initTimeoutMs;
    if (ms === Infinity) return;
    w.initTimer = setTimeout(() => {
      w.initTimer = undefined;
      if (!w.ready && !w.dead) {
        this.breakPool(
          `the pool's initializer did not finish within initializerTimeoutMs=${ms}`,
          undefined,
        );
      }
    }, ms);
  }

  /** `w` is ready: its initializer's clock stops. */
  ready(w: PoolWorker): void {
    w.ready = true;
    if (w.initTimer !== undefined) {
      clearTimeout(w.initTimer);
      w.initTimer = undefined;
    }
  }
}

function causeOf(cause: unknown): ErrorOptions | undefined {
  return cause === undefined ? undefined : { cause };
}
