/**
 * What a job can see of itself while it runs in a worker: its cancellation
 * signal and a way to transfer its result.
 *
 * @module
 */
import { RuntimeError } from "../errors.ts";
import { transfer } from "./transfer.ts";

// The running job sits in a registered-symbol slot so that `jobSignal()`
// works from a job module that imported aio from another URL than the
// worker entry did.
const CURRENT = Symbol.for("aio.executor.currentJob");
const g = globalThis as unknown as Record<symbol, JobContext | undefined>;

/**
 * The `this` of a job function declared with `function` (arrow functions
 * have no `this` of their own): gives the job its `AbortSignal` and
 * `transfer`, which a function sent as source cannot import.
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
 */
export class JobContext {
  /** @internal */
  _controller: AbortController | null = null;
  /** @internal */
  _cancelReason: unknown = undefined;

  /**
   * Aborted when the pool asks this job to stop: its future was cancelled,
   * or its `timeoutMs` passed. A job that blocks the worker's thread sees the
   * abort only once it yields to the worker's event loop.
   */
  get signal(): AbortSignal {
    if (this._controller === null) {
      this._controller = new AbortController();
      if (this._cancelReason !== undefined) this._controller.abort(this._cancelReason);
    }
    return this._controller.signal;
  }

  /** Same as the module function `transfer(value, list)`. */
  transfer<T>(value: T, list: Transferable[]): T {
    return transfer(value, list);
  }

  /** @internal Aborts the signal (made now if nobody asked for it yet). */
  _abort(reason: unknown): void {
    if (this._cancelReason !== undefined) return;
    this._cancelReason = reason;
    this._controller?.abort(reason);
  }
}

/** @internal Makes `ctx` the current job; returns the previous one. */
export function enterJob(ctx: JobContext | undefined): JobContext | undefined {
  const prev = g[CURRENT];
  g[CURRENT] = ctx;
  return prev;
}

/**
 * In a worker of a `WorkerPoolExecutor`: the `AbortSignal` of the job that is
 * running. Call it synchronously at the start of the job (before any
 * `await`) and keep the signal; `RuntimeError` outside a job. A coroutine job
 * is cancelled with a `CancelledError` instead, like any aio task.
 *
 * @example
 * ```ts ignore
 * // jobs.ts, submitted with workerFunction(new URL("./jobs.ts", import.meta.url), "download")
 * import { jobSignal } from "@aio/aio";
 * export async function download(url: string): Promise<number> {
 *   const signal = jobSignal();
 *   const res = await fetch(url, { signal });
 *   return (await res.arrayBuffer()).byteLength;
 * }
 * ```
 */
export function jobSignal(): AbortSignal {
  const ctx = g[CURRENT];
  if (ctx === undefined) {
    throw new RuntimeError(
      "jobSignal() is only available while a WorkerPoolExecutor job starts, in its worker; " +
        "call it before the job's first await",
    );
  }
  return ctx.signal;
}
