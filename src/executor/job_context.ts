/**
 * What a job can see of itself while it runs in a worker: its cancellation
 * signal and a way to transfer its result.
 *
 * @module
 */
import { CancelledError, RuntimeError } from "../errors.ts";
import { transfer } from "./transfer.ts";

// The running job sits in a registered-symbol slot so that `jobSignal()`
// works from a job module that imported aio from another URL than the
// worker entry did.
const CURRENT = Symbol.for("aio.executor.currentJob");
const g = globalThis as unknown as Record<symbol, JobContext | undefined>;

/**
 * The job running in a worker, as the job sees it: the `this` of a job
 * function declared with `function` (arrow functions have no `this` of their
 * own), and what {@linkcode currentJob} returns. Gives the job its
 * cancellation state and `transfer`, which a function sent as source cannot
 * import.
 *
 * @example
 * ```ts ignore
 * import { type JobContext, WorkerPoolExecutor } from "@aio/aio";
 * await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
 * const text = await pool.submit(async function (this: JobContext, url: string) {
 *   const res = await fetch(url, { signal: this.signal }); // stops when the job is cancelled
 *   return await res.text();
 * }, "https://example.com");
 * ```
 *
 * @category Executors
 */
export class JobContext {
  /** @ignore */
  _controller: AbortController | null = null;
  /** @ignore */
  _cancelReason: unknown = undefined;
  /** @ignore The worker's slot array, where the pool flags a stop request. */
  _slots: Int32Array | null;
  /** @ignore */
  _slot: number;
  /** @ignore The slot value that means "stop requested". */
  _stopValue: number;

  /** @ignore Made by the worker for each job. */
  constructor(slots: Int32Array | null = null, slot = 0, stopValue = -2) {
    this._slots = slots;
    this._slot = slot;
    this._stopValue = stopValue;
  }

  /**
   * Aborted when the pool asks this job to stop: its future was cancelled,
   * or its `timeoutMs` passed. The abort is an event, so a job that blocks
   * the worker's thread sees it only once it yields; such a job should poll
   * {@linkcode JobContext.cancelled} instead.
   */
  get signal(): AbortSignal {
    if (this._controller === null) this._controller = new AbortController();
    if (!this._controller.signal.aborted && this.cancelled) {
      this._controller.abort(this._cancelReason);
    }
    return this._controller.signal;
  }

  /**
   * Whether the pool asked this job to stop. Read from memory shared with
   * the pool, so it turns true even while the job blocks the worker's thread:
   * poll it in long synchronous loops.
   *
   * @example
   * ```ts ignore
   * import { type JobContext, WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
   * const fut = pool.submit(function (this: JobContext) {
   *   let n = 0;
   *   while (!this.cancelled) n++;
   *   return n;
   * });
   * fut.cancel(); // the loop ends at its next check
   * ```
   */
  get cancelled(): boolean {
    if (this._cancelReason !== undefined) return true;
    const slots = this._slots;
    if (slots === null || Atomics.load(slots, this._slot) !== this._stopValue) return false;
    this._abort(new CancelledError("the job was cancelled by its pool"));
    return true;
  }

  /**
   * Throws a `CancelledError` if the pool asked this job to stop: one call
   * per loop iteration makes a CPU-bound job cancellable.
   *
   * @example
   * ```ts ignore
   * import { type JobContext, WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
   * pool.submit(function (this: JobContext, n: number) {
   *   for (let i = 0; i < n; i++) {
   *     if (i % 1024 === 0) this.throwIfCancelled();
   *   }
   * }, 1e12).cancel();
   * ```
   */
  throwIfCancelled(): void {
    if (this.cancelled) throw this._cancelReason;
  }

  /** Same as the module function `transfer(value, list)`. */
  transfer<T>(value: T, list: Transferable[]): T {
    return transfer(value, list);
  }

  /**
   * @ignore Records the stop request and aborts the signal if a job made
   * one (the `signal` getter aborts one made later). Whichever comes first,
   * the shared flag read by `cancelled` or the pool's message, decides the reason.
   */
  _abort(reason: unknown): void {
    if (this._cancelReason === undefined) this._cancelReason = reason;
    const c = this._controller;
    if (c !== null && !c.signal.aborted) c.abort(this._cancelReason);
  }
}

/** @internal Makes `ctx` the current job; returns the previous one. */
export function enterJob(ctx: JobContext | undefined): JobContext | undefined {
  const prev = g[CURRENT];
  g[CURRENT] = ctx;
  return prev;
}

/**
 * In a worker of a `WorkerPoolExecutor`: the job that is running, for a job
 * function exported by a module (a function sent as source gets it as
 * `this`). Call it synchronously at the start of the job, before any
 * `await`, and keep it; `RuntimeError` outside a job. A coroutine job is
 * cancelled with a `CancelledError` instead, like any aio task.
 *
 * @example
 * ```ts ignore
 * // jobs.ts, submitted with workerFunction(new URL("./jobs.ts", import.meta.url), "count")
 * import { currentJob } from "@aio/aio";
 * export function count(limit: number): number {
 *   const job = currentJob();
 *   let n = 0;
 *   while (n < limit && !job.cancelled) n++;
 *   return n;
 * }
 * ```
 *
 * @category Executors
 */
export function currentJob(): JobContext {
  const ctx = g[CURRENT];
  if (ctx === undefined) {
    throw new RuntimeError(
      "currentJob() and jobSignal() work only while a WorkerPoolExecutor job starts, in its " +
        "worker; call them before the job's first await",
    );
  }
  return ctx;
}

/**
 * In a worker of a `WorkerPoolExecutor`: the `AbortSignal` of the job that
 * is running, aborted when the pool asks the job to stop (`currentJob().signal`).
 * Call it synchronously at the start of the job, before any `await`.
 *
 * The signal may already be aborted when the job starts: a job cancelled
 * between its start and its first look at the signal finds it aborted, and
 * no `"abort"` event will follow. Check `signal.aborted` (or call
 * `signal.throwIfAborted()`) before waiting for the event; `fetch` and other
 * platform APIs that take the signal do this themselves.
 *
 * @example
 * ```ts ignore
 * // jobs.ts: waits until cancelled, started late or not
 * import { jobSignal } from "@aio/aio";
 * export function untilCancelled(): Promise<never> {
 *   const signal = jobSignal();
 *   if (signal.aborted) return Promise.reject(signal.reason); // cancelled already
 *   return new Promise((_, reject) => {
 *     signal.addEventListener("abort", () => reject(signal.reason), { once: true });
 *   });
 * }
 * ```
 *
 * @example
 * ```ts ignore
 * // jobs.ts, submitted with workerFunction(new URL("./jobs.ts", import.meta.url), "download")
 * import { jobSignal } from "@aio/aio";
 * export async function download(url: string): Promise<number> {
 *   const res = await fetch(url, { signal: jobSignal() });
 *   return (await res.arrayBuffer()).byteLength;
 * }
 * ```
 *
 * @category Executors
 */
export function jobSignal(): AbortSignal {
  return currentJob().signal;
}
