/**
 * `WorkerPoolExecutor`: Python's `concurrent.futures` executor on Deno
 * workers, with aio futures.
 *
 * @module
 */
import { BrokenWorkerError, QueueFull, RuntimeError, TimeoutError, ValueError } from "../errors.ts";
import type { Future } from "../future.ts";
import { type Executor, setDefaultExecutorFactory } from "../loop.ts";
import { checkDelay, describe } from "../util.ts";
import {
  describeFn,
  functionSource,
  type JobFunction,
  type JobResult,
  WorkerFunction,
} from "./function.ts";
import {
  JOB_DONE,
  JOB_QUEUED,
  JOB_SENT,
  JobFuture,
  type JobMore,
  type JobSpec,
} from "./job_future.ts";
import { MapResults } from "./map.ts";
import { PoolWorker } from "./pool_worker.ts";
import {
  type ChunkResult,
  FN_MODULE,
  FN_SOURCE,
  type FnDef,
  type FromWorker,
  J_CHUNK,
  J_REPORT_START,
  M_CLOSING,
  M_DONE,
  M_FATAL,
  M_INIT_FAILED,
  M_READY,
  M_STARTED,
  R_CANCELLED,
  R_OK,
  RING,
  SEQ_WRAP,
} from "./protocol.ts";
import { deserializeError, type SerializedError } from "./remote_error.ts";
import { takeTransfer } from "./transfer.ts";

/** Options of {@linkcode WorkerPoolExecutor}. */
export interface WorkerPoolOptions {
  /** Most workers at once; default `navigator.hardwareConcurrency`. `< 1` is a `ValueError`. */
  maxWorkers?: number;
  /** Workers started with the pool and kept through idle periods; default 0. */
  minWorkers?: number;
  /**
   * A worker idle this long (ms) is stopped, down to `minWorkers`; default
   * 5000. Idle workers would otherwise keep the process alive.
   */
  idleTimeoutMs?: number;
  /**
   * Runs once in each worker before its first job (a self-contained
   * function or a `workerFunction`); may be async or a coroutine. If it
   * throws, the pool is broken: pending jobs and later `submit` calls fail
   * with `BrokenWorkerError` instead of workers respawning forever.
   */
  initializer?: JobFunction | WorkerFunction;
  /** Arguments for `initializer`. */
  initargs?: unknown[];
  /** Most jobs waiting for a worker; `submit` beyond it throws `QueueFull`. Default unbounded. */
  maxQueue?: number;
  /**
   * What cancelling a running job does. `"signal"` (default): the job's
   * `AbortSignal` aborts (a coroutine job is cancelled), `cancel()` returns
   * `false` and the future completes when the job stops. `"terminate"`: the
   * future is cancelled at once, and if the job is still running after
   * `cancelGraceMs` its worker is terminated and replaced.
   */
  cancelRunning?: "signal" | "terminate";
  /** Grace period (ms) before `"terminate"` stops a worker; default 1000. */
  cancelGraceMs?: number;
  /** Prefix of the workers' names, seen in stack traces and the inspector. */
  name?: string;
}

/** Options of one job; see {@linkcode WorkerPoolExecutor.submitWith}. */
export interface SubmitOptions {
  /**
   * The job fails with `TimeoutError` if it runs longer than this (ms). The
   * clock starts when a worker starts the job, not at submit. The job is
   * then asked to stop as if cancelled (see `cancelRunning`).
   */
  timeoutMs?: number;
}

/** Options of {@linkcode WorkerPoolExecutor.map}. */
export interface MapOptions {
  /** Items sent to a worker per message (one job per chunk); default 1. */
  chunksize?: number;
  /**
   * Most chunks submitted whose results have not been consumed (Python
   * 3.14's `buffersize`); default enough to keep every worker busy. Bounds
   * memory for huge or endless inputs.
   */
  buffersize?: number;
}

/** A snapshot of a pool, for tests and monitoring. */
export interface PoolStats {
  /** Live workers. */
  workers: number;
  /** Jobs waiting for a worker. */
  queued: number;
  /** Jobs sent to workers and not answered (including abandoned ones). */
  running: number;
}

/** Shown as the `fn` of `submit`, `map` and `runInExecutor`. */
export type Job<F extends JobFunction> = F | WorkerFunction<F>;

interface FnRecord {
  id: number;
  def: FnDef;
  name: string;
  /** Shared by this pool's `submit` jobs of the function; made on first use. */
  plain: JobSpec | null;
  /** Shared by its `map` chunks. */
  chunk: JobSpec | null;
}

// How much queued work (ms) a worker holds beyond the job it runs: enough to
// hide a message round trip, little enough that a worker freed early finds
// work left in the pool rather than stuck behind a busy one.
const TARGET_QUEUED_MS = 2;
const MAX_PER_WORKER = RING >> 1;
// Jobs per message. Each postMessage costs tens of microseconds beyond
// cloning (waking the worker's thread), so fewer, fuller messages win;
// the worker answers every millisecond of work, which keeps the pipe full.
const BATCH_MAX = 1024;
const INITIAL_PER_WORKER = 8;
// Jobs submitted in one synchronous run beyond which they are sent at once.
const FLUSH_EARLY = 256;
// Stealing jobs back from a busy worker pays once they would wait this long (ms).
const STEAL_MIN_MS = 1;

let poolCounter = 0;

/**
 * A pool of Deno workers running jobs: Python's `concurrent.futures`
 * executor, with aio futures. `submit(fn, ...args)` returns a
 * {@linkcode Future} you can `yield*` in a coroutine, `await` anywhere, or
 * pass to `gather`, `wait` and `asCompleted`.
 *
 * `fn` is either a self-contained function, sent as source and compiled once
 * per worker (it cannot use variables or imports from around it), or a
 * `workerFunction(moduleUrl, exportName)` the worker imports. Arguments and
 * results travel by structured clone; `transfer(value, list)` moves buffers
 * instead. A coroutine function (`function*`) runs on an aio loop in the
 * worker. A job's error rejects its future with the worker's name, message,
 * stack and `cause`.
 *
 * Better than CPython's pools: several jobs are in flight per worker and
 * batched per message, so tiny jobs are cheap; a worker that dies fails only
 * the jobs it was running (with `BrokenWorkerError`), jobs it had not started
 * move to another worker, and the pool replaces it and keeps serving.
 *
 * Shut the pool down when done (`await pool.shutdown()` or `await using`):
 * live workers keep the process running.
 *
 * @example
 * ```ts ignore
 * import { gather, run, WorkerPoolExecutor } from "@aio/aio";
 * await using pool = new WorkerPoolExecutor({ maxWorkers: 2 });
 * const fib = (n: number): number => {
 *   const f = (k: number): number => (k < 2 ? k : f(k - 1) + f(k - 2));
 *   return f(n);
 * };
 * const results = await run(function* () {
 *   return yield* gather([pool.submit(fib, 30), pool.submit(fib, 31)]);
 * });
 * console.log(results); // [832040, 1346269]
 * ```
 */
export class WorkerPoolExecutor implements Executor, AsyncDisposable, Disposable {
  /** @internal */
  readonly _maxWorkers: number;
  /** @internal */
  readonly _minWorkers: number;
  /** @internal */
  readonly _idleMs: number;
  /** @internal */
  readonly _maxQueue: number;
  /** @internal */
  readonly _terminateOnCancel: boolean;
  /** @internal */
  readonly _graceMs: number;
  /** @internal */
  readonly _name: string;
  /** @internal */
  _initDef: FnDef | null = null;
  /** @internal */
  _initArgs: unknown[];

  /** @internal Live workers. */
  _workers: PoolWorker[] = [];
  /** @internal Jobs waiting for a worker, from `_head` on. */
  _queue: (JobFuture<unknown> | undefined)[] = [];
  /** @internal */
  _head = 0;
  /** @internal Jobs in `_queue` that are still queued (cancelled ones are skipped). */
  _queued = 0;
  /** @internal Jobs not settled yet, queued or sent. */
  _pending = 0;
  /** @internal */
  _flushQueued = false;
  /** @internal Queued jobs at which `submit` sends without waiting for the flush task. */
  _earlyAt = FLUSH_EARLY;
  /** @internal Smoothed synchronous run time of one job (ms). */
  _perJobMs = NaN;
  /** @internal Decayed sums behind `_perJobMs`. */
  _statMs = 0;
  /** @internal */
  _statJobs = 0;

  /** @internal */
  _fnByObject: WeakMap<object, FnRecord> = new WeakMap();
  /** @internal */
  _fnByKey: Map<string, FnRecord> = new Map();
  /** @internal */
  _fnDefs: FnDef[] = [];

  /** @internal */
  _shutdown = false;
  /** @internal Set when workers cannot start: every later submit fails with it. */
  _broken: BrokenWorkerError | null = null;
  /** @internal */
  _drained: (() => void)[] = [];

  /**
   * Creates a pool; workers start when jobs arrive (`minWorkers` of them at
   * once). `maxWorkers < 1` is a `ValueError`.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * const pool = new WorkerPoolExecutor({ maxWorkers: 4, idleTimeoutMs: 30_000 });
   * await pool.shutdown();
   * ```
   */
  constructor(options: WorkerPoolOptions = {}) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `WorkerPoolExecutor() expects an options object, got ${describe(options)}`,
      );
    }
    this._maxWorkers = count(
      options.maxWorkers ?? (globalThis.navigator?.hardwareConcurrency || 4),
      "maxWorkers",
      1,
    );
    this._minWorkers = count(options.minWorkers ?? 0, "minWorkers", 0);
    if (this._minWorkers > this._maxWorkers) {
      throw new ValueError(
        `minWorkers (${this._minWorkers}) must not exceed maxWorkers (${this._maxWorkers})`,
      );
    }
    this._idleMs = checkDelay(options.idleTimeoutMs ?? 5000, "idleTimeoutMs");
    this._maxQueue = options.maxQueue === undefined || options.maxQueue === Infinity
      ? Infinity
      : count(options.maxQueue, "maxQueue", 1);
    const cr = options.cancelRunning ?? "signal";
    if (cr !== "signal" && cr !== "terminate") {
      throw new TypeError(`cancelRunning must be "signal" or "terminate", got ${describe(cr)}`);
    }
    this._terminateOnCancel = cr === "terminate";
    this._graceMs = checkDelay(options.cancelGraceMs ?? 1000, "cancelGraceMs");
    this._name = options.name ?? `aio-pool-${++poolCounter}`;
    this._initArgs = options.initargs ?? [];
    if (!Array.isArray(this._initArgs)) {
      throw new TypeError(`initargs must be an array, got ${describe(this._initArgs)}`);
    }
    if (options.initializer !== undefined) {
      this._initDef = this._fnRecord(options.initializer, "initializer").def;
      try {
        structuredClone(this._initArgs);
      } catch (e) {
        throw new TypeError(`initargs cannot be sent to a worker: ${(e as Error).message}`);
      }
    }
    for (let i = 0; i < this._minWorkers; i++) this._spawn();
  }

  /**
   * Schedules `fn(...args)` on a worker and returns a future of its result
   * (`concurrent.futures.Executor.submit`). After `shutdown()`:
   * `RuntimeError`. A function that cannot be sent (native, bound, a method
   * using `this`, a class): `TypeError`. Arguments that cannot be cloned
   * fail the future with `DataCloneError`.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * const fut = pool.submit((a: number, b: number) => a ** b, 2, 10);
   * console.log(await fut); // 1024
   * ```
   */
  submit<F extends JobFunction>(
    fn: Job<F>,
    ...args: Parameters<F>
  ): Future<JobResult<ReturnType<F>>> {
    return this._submit(fn, args, 0, Infinity, "submit") as Future<JobResult<ReturnType<F>>>;
  }

  /**
   * `submit` with per-job options, such as `timeoutMs`.
   *
   * @example
   * ```ts ignore
   * import { TimeoutError, WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor({ cancelRunning: "terminate", cancelGraceMs: 50 });
   * const spin = () => { for (;;); };
   * try {
   *   await pool.submitWith({ timeoutMs: 100 }, spin);
   * } catch (e) {
   *   console.log(e instanceof TimeoutError); // true; the spinning worker is replaced
   * }
   * ```
   */
  submitWith<F extends JobFunction>(
    options: SubmitOptions,
    fn: Job<F>,
    ...args: Parameters<F>
  ): Future<JobResult<ReturnType<F>>> {
    const t = options?.timeoutMs;
    const timeoutMs = t === undefined ? Infinity : checkDelay(t, "timeoutMs");
    return this._submit(
      fn,
      args,
      timeoutMs === Infinity ? 0 : J_REPORT_START,
      timeoutMs,
      "submitWith",
    ) as Future<JobResult<ReturnType<F>>>;
  }

  /**
   * `fn` applied to every item of `iterable` on the workers, results in
   * input order (`Executor.map`). Lazy: items are read and sent as results
   * are consumed, at most `buffersize` chunks ahead, so an endless input
   * works. `chunksize` items travel per message; raise it for tiny jobs.
   *
   * Consume it in a coroutine with `for (const next of pool.map(…)) { const
   * r = yield* next; }` or in async code with `for await`. An item that
   * failed throws its error where it is consumed; leaving the loop early
   * cancels the chunks not yet consumed.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * for await (const sq of pool.map((x: number) => x * x, [1, 2, 3], { chunksize: 2 })) {
   *   console.log(sq); // 1, 4, 9
   * }
   * ```
   */
  map<F extends JobFunction>(
    fn: Job<F>,
    iterable: Iterable<Parameters<F>[0]>,
    options?: MapOptions,
  ): MapResults<JobResult<ReturnType<F>>> {
    this._checkOpen("map");
    const chunksize = count(options?.chunksize ?? 1, "chunksize", 1);
    // By default, enough chunks that each worker has some queued behind the
    // one it runs, and at least 256 items per worker so small chunks still
    // fill a message.
    const buffersize = options?.buffersize === undefined
      ? Math.max(4 * this._maxWorkers, Math.ceil((256 * this._maxWorkers) / chunksize))
      : count(options.buffersize, "buffersize", 1);
    if (
      iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== "function"
    ) {
      throw new TypeError(`map() expects an iterable, got ${describe(iterable)}`);
    }
    this._fnRecord(fn, "map");
    return new MapResults(
      (items) => this._submit(fn, items, J_CHUNK, Infinity, "map") as JobFuture<ChunkResult>,
      iterable,
      chunksize,
      buffersize,
    );
  }

  /**
   * Stops accepting jobs and releases the workers once their jobs are done.
   * `cancelFutures: true` cancels the jobs no worker has started. With
   * `wait: true` (default) the promise settles when every job is done and
   * every worker is gone; with `wait: false` at once (the workers still
   * finish the jobs they have, then stop). Calling it again is harmless.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * const pool = new WorkerPoolExecutor();
   * const fut = pool.submit(() => 1);
   * await pool.shutdown();
   * console.log(fut.result()); // 1
   * ```
   */
  shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void> {
    const wait = options?.wait ?? true;
    this._shutdown = true;
    if (options?.cancelFutures) {
      for (let i = this._head; i < this._queue.length; i++) {
        const job = this._queue[i];
        if (job !== undefined && job._jstate === JOB_QUEUED) {
          this._finish(job);
          job._cancelFuture("the pool was shut down");
        }
      }
      this._queue = [];
      this._head = 0;
      this._queued = 0;
      for (const w of this._workers) {
        for (const job of w.jobs) {
          if (job !== undefined && !job.done() && w.withdraw(job)) {
            this._finish(job);
            job._cancelFuture("the pool was shut down");
          }
        }
      }
    }
    this._reap();
    if (!wait) return Promise.resolve();
    if (this._isDrained()) return Promise.resolve();
    return new Promise<void>((resolve) => this._drained.push(resolve));
  }

  /**
   * `await using pool = new WorkerPoolExecutor()`: shuts down and waits.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * {
   *   await using pool = new WorkerPoolExecutor();
   *   console.log(await pool.submit(() => "hi"));
   * } // workers are gone here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }

  /**
   * `using pool = new WorkerPoolExecutor()`, for coroutines, which cannot
   * `await`: `shutdown({ wait: false })`. The pool takes no new jobs; the
   * workers finish the jobs they have, then stop.
   *
   * @example
   * ```ts ignore
   * import { run, WorkerPoolExecutor } from "@aio/aio";
   * await run(function* () {
   *   using pool = new WorkerPoolExecutor();
   *   console.log(yield* pool.submit(() => "hi"));
   * });
   * ```
   */
  [Symbol.dispose](): void {
    void this.shutdown({ wait: false });
  }

  /**
   * Counts of workers, queued and running jobs.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * console.log(pool.stats()); // { workers: 0, queued: 0, running: 0 }
   * ```
   */
  stats(): PoolStats {
    let running = 0;
    for (const w of this._workers) running += w.inflight;
    return { workers: this._workers.length, queued: this._queued, running };
  }

  // ---- submitting -----------------------------------------------------------

  /** @internal */
  _submit(
    fn: unknown,
    args: unknown[],
    flags: number,
    timeoutMs: number,
    what: string,
  ): JobFuture<unknown> {
    this._checkOpen(what);
    const rec = this._fnRecord(fn, what);
    if (this._queued >= this._maxQueue) {
      throw new QueueFull(
        `the pool's queue is full (maxQueue=${this._maxQueue}): wait for jobs to finish`,
      );
    }
    const spec = timeoutMs !== Infinity
      ? this._spec(rec, flags, timeoutMs)
      : flags === 0
      ? rec.plain ??= this._spec(rec, flags, timeoutMs)
      : flags === J_CHUNK
      ? rec.chunk ??= this._spec(rec, flags, timeoutMs)
      : this._spec(rec, flags, timeoutMs);
    const job = new JobFuture<unknown>(spec, args);
    let xfer: Transferable[] | null = null;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (typeof a === "object" && a !== null) {
        const list = takeTransfer(a);
        if (list !== undefined) (xfer ??= []).push(...list);
      }
    }
    if (xfer !== null) job._moreOf().xfer = xfer;
    this._queue.push(job);
    this._queued++;
    this._pending++;
    if (!this._flushQueued) {
      this._flushQueued = true;
      queueMicrotask(this._flushTask);
    } else if (this._queued >= this._earlyAt) {
      this._flushEarly();
    }
    return job;
  }

  /**
   * @internal Many jobs submitted in one go: send what running workers can
   * take now rather than at the end of the caller's synchronous code, so
   * they work while the caller goes on submitting.
   */
  _flushEarly(): void {
    this._flush(false);
    this._earlyAt = this._queued + FLUSH_EARLY;
  }

  /** @internal */
  _spec(rec: FnRecord, flags: number, timeoutMs: number): JobSpec {
    return { owner: this, fnId: rec.id, fnName: rec.name, flags, timeoutMs };
  }

  /** @internal */
  _checkOpen(what: string): void {
    if (this._shutdown) {
      throw new RuntimeError(`cannot ${what}() on a WorkerPoolExecutor after shutdown()`);
    }
    if (this._broken !== null) {
      throw new BrokenWorkerError(this._broken.message, { cause: this._broken.cause });
    }
  }

  /** @internal The id and definition of a job function, checked once. */
  _fnRecord(fn: unknown, what: string): FnRecord {
    // A burst of submits is most often of one function.
    if (fn === this._lastFn) return this._lastRec!;
    const rec = this._findFnRecord(fn, what);
    this._lastFn = fn;
    this._lastRec = rec;
    return rec;
  }

  /** @internal */
  _lastFn: unknown = undefined;
  /** @internal */
  _lastRec: FnRecord | null = null;

  /** @internal */
  _findFnRecord(fn: unknown, what: string): FnRecord {
    if (typeof fn === "function") {
      let rec = this._fnByObject.get(fn);
      if (rec !== undefined) return rec;
      const src = functionSource(fn as JobFunction);
      rec = this._fnByKey.get(src);
      if (rec === undefined) {
        const id = this._fnDefs.length;
        rec = {
          id,
          def: [id, FN_SOURCE, src],
          name: describeFn(fn as JobFunction),
          plain: null,
          chunk: null,
        };
        this._fnDefs.push(rec.def);
        this._fnByKey.set(src, rec);
      }
      this._fnByObject.set(fn, rec);
      return rec;
    }
    if (fn instanceof WorkerFunction) {
      const key = `\0module ${fn.url}#${fn.exportName}`;
      let rec = this._fnByKey.get(key);
      if (rec === undefined) {
        const id = this._fnDefs.length;
        rec = {
          id,
          def: [id, FN_MODULE, fn.url, fn.exportName],
          name: String(fn),
          plain: null,
          chunk: null,
        };
        this._fnDefs.push(rec.def);
        this._fnByKey.set(key, rec);
      }
      return rec;
    }
    throw new TypeError(
      `${what}() expects a function or workerFunction(moduleUrl, exportName), got ${describe(fn)}`,
    );
  }

  /** @internal */
  _defOf = (id: number): FnDef => this._fnDefs[id];

  // ---- dispatching ------------------------------------------------------------

  /** @internal */
  _flushTask = (): void => {
    this._flushQueued = false;
    this._flush();
  };

  /**
   * @internal Sends queued jobs to workers, starting workers as needed
   * (unless `spawn` is false).
   */
  _flush(spawn = true): void {
    this._earlyAt = this._queued + FLUSH_EARLY;
    if (this._queued === 0 || this._broken !== null) return;
    const workers = this._workers;
    if (spawn) {
      let idle = 0;
      for (const w of workers) if (w.inflight === 0 && !w.draining) idle++;
      // A new worker costs a blocking isolate start (~10 ms): only for work
      // that the idle ones cannot take.
      while (this._queued > idle && workers.length < this._maxWorkers) {
        if (!this._trySpawn()) return;
        idle++;
      }
    }
    const cap = this._perWorker();
    // A worker is topped up once half of what it may hold is left: it is
    // still busy with that while the next batch travels, and batches stay
    // large instead of one small message per reply.
    const low = cap >> 1;
    let open = 0;
    for (const w of workers) if (!w.draining && w.inflight <= low) open++;
    if (open === 0) return;
    // Least loaded first; each takes an even share of what is left.
    const order = workers.filter((w) => !w.draining && w.inflight <= low);
    if (order.length > 1) order.sort((a, b) => a.inflight - b.inflight);
    for (let k = 0; k < order.length && this._queued > 0; k++) {
      const w = order[k];
      let share = Math.min(cap - w.inflight, Math.ceil(this._queued / (order.length - k)));
      if (w.idleTimer !== undefined) {
        clearTimeout(w.idleTimer);
        w.idleTimer = undefined;
      }
      while (share > 0 && this._queued > 0) {
        const batch: JobFuture<unknown>[] = [];
        while (batch.length < share && batch.length < BATCH_MAX && this._queued > 0) {
          const job = this._queue[this._head];
          this._queue[this._head++] = undefined;
          if (job === undefined || job._jstate !== JOB_QUEUED) continue;
          this._queued--;
          batch.push(job);
        }
        share -= batch.length;
        if (batch.length > 0) w.send(this, batch, this._defOf);
      }
    }
    if (this._head > 1024 && this._head * 2 > this._queue.length) {
      this._queue = this._queue.slice(this._head);
      this._head = 0;
    }
  }

  /** @internal How many jobs a worker may hold, from how long jobs take. */
  _perWorker(): number {
    const ms = this._perJobMs;
    if (ms !== ms) return INITIAL_PER_WORKER;
    const n = Math.floor(TARGET_QUEUED_MS / Math.max(ms, 1e-4)) + 1;
    return n > MAX_PER_WORKER ? MAX_PER_WORKER : n;
  }

  /** @internal Spawns a worker, or breaks the pool if that is impossible. */
  _trySpawn(): boolean {
    try {
      this._spawn();
      return true;
    } catch (e) {
      // No permission to read the worker module, no Worker at all, …
      this._break(`cannot start a worker: ${(e as Error)?.message ?? e}`, e);
      return false;
    }
  }

  /** @internal */
  _spawn(): PoolWorker {
    const w = new PoolWorker(this, this._name, this._initDef, this._initArgs);
    this._workers.push(w);
    return w;
  }

  /** @internal Puts a job a dead worker never started back at the front. */
  _requeue(job: JobFuture<unknown>): void {
    job._jstate = JOB_QUEUED;
    job._worker = null;
    job._seq = -1;
    if (this._head > 0) this._queue[--this._head] = job;
    else this._queue.unshift(job);
    this._queued++;
  }

  // ---- replies ----------------------------------------------------------------

  /** @internal */
  _onMessage(w: PoolWorker, m: FromWorker): void {
    if (w.dead) return;
    switch (m.t) {
      case M_DONE:
        this._onDone(w, m.r, m.x, m.busy, m.n);
        break;
      case M_STARTED:
        this._onStarted(w, m.seq);
        break;
      case M_READY:
        w.ready = true;
        break;
      case M_INIT_FAILED:
        this._break(
          `the pool's initializer failed: ${m.error.name}: ${m.error.message}`,
          deserializeError(m.error),
        );
        break;
      case M_FATAL:
        this._onDeath(
          w,
          `worker ${w.id} died of an uncaught error: ${m.error.name}: ${m.error.message}`,
          deserializeError(m.error),
        );
        break;
      case M_CLOSING:
        this._onDeath(w, `worker ${w.id} exited: a job called ${m.how}`, undefined);
        break;
    }
  }

  /** @internal */
  _onDone(w: PoolWorker, r: unknown[], x: unknown[] | null, busy: number, n: number): void {
    if (n > 0) {
      // Weighted by jobs, decayed by reply: one slow first call (compiling,
      // JIT) does not outweigh the hundred fast jobs of the next batch.
      this._statMs = this._statMs * 0.5 + busy;
      this._statJobs = this._statJobs * 0.5 + n;
      this._perJobMs = this._statMs / this._statJobs;
    }
    for (let i = 0; i < r.length;) {
      let seq = r[i] as number;
      const end = i + 2 + (r[i + 1] as number);
      for (let k = i + 2; k < end; k++) {
        this._settle(w, seq, R_OK, r[k]);
        seq = seq + 1 === SEQ_WRAP ? 0 : seq + 1;
      }
      i = end;
    }
    if (x !== null) {
      for (let i = 0; i < x.length; i += 3) {
        this._settle(w, x[i] as number, x[i + 1] as number, x[i + 2]);
      }
    }
    this._afterProgress(w);
  }

  /** @internal One job's answer. */
  _settle(w: PoolWorker, seq: number, status: number, value: unknown): void {
    const slot = seq & (RING - 1);
    const job = w.jobs[slot];
    if (job === undefined || job._seq !== seq) return;
    w.jobs[slot] = undefined;
    w.inflight--;
    if (job._more !== null) clearTimer(job._more);
    if (job._jstate === JOB_DONE) {
      // Its future was settled early (cancelled or timed out); the worker is free of it now.
      if (--w.abandoned === 0) {
        if (w.graceTimer !== undefined) clearTimeout(w.graceTimer);
        w.graceTimer = undefined;
        w.draining = false;
      }
      return;
    }
    this._finish(job);
    if (status === R_OK) job.setResult(value);
    else if (status === R_CANCELLED) job._cancelFuture(job._cancelMessage);
    else job.setException(deserializeError(value as SerializedError));
  }

  /** @internal After replies or a death: dispatch more, idle, reap, drain. */
  _afterProgress(w: PoolWorker | null): void {
    if (this._queued === 0 && w !== null && !w.dead && w.inflight === 0 && !w.draining) {
      this._steal();
    }
    if (this._queued > 0) this._flush();
    if (this._shutdown) {
      this._reap();
    } else if (w !== null && !w.dead && w.inflight === 0 && this._idleMs !== Infinity) {
      if (w.idleTimer === undefined && this._workers.length > this._minWorkers) {
        w.idleTimer = setTimeout(() => {
          w.idleTimer = undefined;
          if (w.inflight === 0 && this._workers.length > this._minWorkers) this._remove(w);
        }, this._idleMs);
      }
    }
  }

  /**
   * @internal A worker ran dry while others still hold jobs they have not
   * started: take those back so the idle worker gets them. Only worth it
   * when the waiting work outlasts a message round trip.
   */
  _steal(): void {
    const ms = this._perJobMs;
    for (const w of this._workers) {
      const waiting = w.inflight - w.abandoned - 1;
      if (waiting < 1 || !(waiting * ms > STEAL_MIN_MS)) continue;
      this._takeBack(w, Math.ceil(waiting / 2));
    }
  }

  /**
   * @internal Withdraws up to `max` of the newest jobs `w` has not started
   * and puts them back at the front of the queue, in their order.
   */
  _takeBack(w: PoolWorker, max: number): number {
    const back: JobFuture<unknown>[] = [];
    for (let i = 1; i <= RING && back.length < max; i++) {
      const job = w.jobs[(w.seq - i) & (RING - 1)];
      // Moved buffers are already in that worker: such a job stays there.
      if (job === undefined || job._jstate !== JOB_SENT || hasTransfers(job)) continue;
      // Jobs start in order: once one has started, all older ones have.
      if (!w.withdraw(job)) break;
      back.push(job);
    }
    for (const job of back) this._requeue(job);
    return back.length;
  }

  /** @internal The job left the pool's books (settled now or about to be). */
  _finish(job: JobFuture<unknown>): void {
    if (job._jstate === JOB_QUEUED) this._queued--;
    job._jstate = JOB_DONE;
    job._args = NO_ARGS;
    const more = job._more;
    if (more !== null) {
      more.xfer = null;
      clearTimer(more);
    }
    this._pending--;
  }

  /** @internal A timed job started: its clock starts now. */
  _onStarted(w: PoolWorker, seq: number): void {
    const job = w.jobs[seq & (RING - 1)];
    if (job === undefined || job._seq !== seq || job._jstate !== JOB_SENT) return;
    const more = job._moreOf();
    const spec = job._spec;
    more.timer = setTimeout(() => {
      more.timer = undefined;
      if (job.done() || job._jstate !== JOB_SENT) return;
      this._abandon(job);
      job.setException(
        new TimeoutError(`job ${spec.fnName} ran longer than timeoutMs=${spec.timeoutMs}`),
      );
    }, spec.timeoutMs);
  }

  // ---- cancellation -------------------------------------------------------------

  /** @internal */
  _cancelJob(job: JobFuture<unknown>, msg: string | undefined): boolean {
    if (job._jstate === JOB_QUEUED) {
      this._finish(job);
      const ok = job._cancelFuture(msg);
      this._afterProgress(null);
      return ok;
    }
    if (job._jstate !== JOB_SENT) return job._cancelFuture(msg);
    const w = job._worker!;
    if (w.withdraw(job)) {
      // The worker had not started it and now never will.
      this._finish(job);
      const ok = job._cancelFuture(msg);
      this._afterProgress(w);
      return ok;
    }
    // Running: ask it to stop.
    job._cancelMessage = msg;
    if (this._terminateOnCancel) {
      this._abandon(job);
      return job._cancelFuture(msg);
    }
    const more = job._moreOf();
    if (!more.stopRequested) {
      more.stopRequested = true;
      w.requestStop(job);
    }
    return false;
  }

  /**
   * @internal The job's future is about to be settled while the job still
   * runs: tell the job to stop and, with "terminate", give it a grace period.
   */
  _abandon(job: JobFuture<unknown>): void {
    const w = job._worker!;
    this._pending--;
    job._jstate = JOB_DONE;
    job._args = NO_ARGS;
    const more = job._moreOf();
    clearTimer(more);
    if (!more.stopRequested) {
      more.stopRequested = true;
      w.requestStop(job);
    }
    w.abandoned++;
    // The job may never stop: send nothing more there, and move what waits
    // behind it to other workers.
    w.draining = true;
    this._takeBack(w, RING);
    if (this._queued > 0 && !this._flushQueued) {
      this._flushQueued = true;
      queueMicrotask(this._flushTask);
    }
    if (this._terminateOnCancel && w.graceTimer === undefined) {
      w.graceTimer = setTimeout(() => {
        w.graceTimer = undefined;
        if (w.abandoned > 0) {
          this._onDeath(
            w,
            `worker ${w.id} was terminated: a cancelled job did not stop within ` +
              `cancelGraceMs=${this._graceMs}`,
            undefined,
          );
        }
      }, this._graceMs);
    }
  }

  // ---- failure ----------------------------------------------------------------

  /** @internal The worker's `error` event: it died, or never started. */
  _onWorkerError(w: PoolWorker, message: string): void {
    if (w.dead) return;
    if (!w.ready) {
      this._break(`a worker failed to start: ${message}`, undefined);
    } else {
      this._onDeath(w, `worker ${w.id} died: ${message}`, undefined);
    }
  }

  /**
   * @internal A worker is gone: the jobs it was running fail, the ones it
   * had not started go back to the queue, and the pool goes on.
   */
  _onDeath(w: PoolWorker, message: string, cause: unknown): void {
    if (w.dead) return;
    w.terminate();
    this._workers.splice(this._workers.indexOf(w), 1);
    const lost: JobFuture<unknown>[] = [];
    const back: JobFuture<unknown>[] = [];
    // Oldest first, so requeued jobs keep their order.
    for (let i = 0; i < RING; i++) {
      const job = w.jobs[(w.seq + i) & (RING - 1)];
      if (job === undefined) continue;
      w.jobs[(w.seq + i) & (RING - 1)] = undefined;
      if (job._jstate === JOB_DONE) continue;
      // Moved buffers went down with the worker: such a job cannot be resent.
      if (w.withdraw(job) && !hasTransfers(job)) back.push(job);
      else lost.push(job);
    }
    w.inflight = 0;
    for (let i = back.length - 1; i >= 0; i--) this._requeue(back[i]);
    for (const job of lost) {
      this._finish(job);
      job.setException(new BrokenWorkerError(message, cause === undefined ? undefined : { cause }));
    }
    if (!this._shutdown) {
      while (this._workers.length < this._minWorkers) if (!this._trySpawn()) return;
    }
    this._afterProgress(null);
  }

  /** @internal Workers cannot start: fail everything and refuse new jobs. */
  _break(message: string, cause: unknown): void {
    if (this._broken !== null) return;
    const err = new BrokenWorkerError(message, cause === undefined ? undefined : { cause });
    this._broken = err;
    const jobs: JobFuture<unknown>[] = [];
    for (let i = this._head; i < this._queue.length; i++) {
      const job = this._queue[i];
      if (job !== undefined && job._jstate === JOB_QUEUED) jobs.push(job);
    }
    this._queue = [];
    this._head = 0;
    for (const w of this._workers) {
      for (const job of w.jobs) if (job !== undefined && job._jstate === JOB_SENT) jobs.push(job);
      w.terminate();
    }
    this._workers = [];
    for (const job of jobs) {
      this._finish(job);
      job.setException(new BrokenWorkerError(message, { cause: err.cause }));
    }
    this._queued = 0;
    this._checkDrained();
  }

  /** @internal A job failed to be sent: its arguments do not clone. */
  _onSendFailed(job: JobFuture<unknown>, error: unknown): void {
    job._jstate = JOB_SENT; // counted as sent: _finish must not touch _queued
    this._finish(job);
    job.setException(error);
  }

  // ---- shutdown -----------------------------------------------------------------

  /** @internal Stops workers that have nothing left to do after shutdown. */
  _reap(): void {
    if (!this._shutdown) return;
    if (this._queued === 0) {
      for (const w of [...this._workers]) if (w.inflight === 0) this._remove(w);
    }
    this._checkDrained();
  }

  /** @internal */
  _remove(w: PoolWorker): void {
    w.terminate();
    const i = this._workers.indexOf(w);
    if (i >= 0) this._workers.splice(i, 1);
  }

  /** @internal */
  _isDrained(): boolean {
    return this._pending <= 0 && this._workers.length === 0;
  }

  /** @internal */
  _checkDrained(): void {
    if (this._drained.length > 0 && this._isDrained()) {
      const waiters = this._drained;
      this._drained = [];
      for (const resolve of waiters) resolve();
    }
  }
}

const NO_ARGS: unknown[] = [];

function clearTimer(more: JobMore): void {
  if (more.timer !== undefined) {
    clearTimeout(more.timer);
    more.timer = undefined;
  }
}

/** Moved buffers are already in the worker the job was sent to. */
function hasTransfers(job: JobFuture<unknown>): boolean {
  return job._more !== null && job._more.xfer !== null;
}

function count(v: unknown, what: string, min: number): number {
  if (typeof v !== "number" || Number.isNaN(v)) {
    throw new TypeError(`${what} must be a number, got ${describe(v)}`);
  }
  if (!Number.isInteger(v) || v < min) {
    throw new ValueError(`${what} must be an integer >= ${min}, got ${v}`);
  }
  return v;
}

// `runInExecutor(null, …)` and `toThread` use a pool made on first use.
setDefaultExecutorFactory(() => new WorkerPoolExecutor({ name: "aio-default" }));
