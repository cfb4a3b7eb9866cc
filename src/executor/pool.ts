/**
 * `WorkerPoolExecutor`: Python's `concurrent.futures` executor on workers
 * (Deno's, Bun's and browsers' Web Workers, Node's `worker_threads`), with
 * aio futures.
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
import { Dispatcher } from "./dispatch.ts";
import { Failures } from "./failure.ts";
import { ABANDONED, JobFuture, JobLedger, type JobSpec, QUEUED, SENT } from "./job.ts";
import { intOption, MapResults, mapSizes } from "./map.ts";
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
  R_ERROR,
  R_OK,
  SEQ_WRAP,
} from "./protocol.ts";
import { deserializeError, type SerializedError } from "./remote_error.ts";
import { takeTransfer } from "./transfer.ts";

/**
 * Options of {@linkcode WorkerPoolExecutor}.
 *
 * @category Executors
 */
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
  /**
   * How long (ms) a worker's initializer may take before the pool is broken
   * with a `BrokenWorkerError` saying so; default 60,000. `Infinity` waits
   * forever.
   */
  initializerTimeoutMs?: number;
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
  /**
   * Grace period (ms) a job whose future was settled without it (timed out,
   * or cancelled in `"terminate"` mode) has to stop before its worker is
   * terminated; default 1000. Meanwhile that worker takes no new jobs and
   * a replacement may start, so the job does not hold the pool's capacity.
   */
  cancelGraceMs?: number;
  /**
   * Heap limit of each worker in MB (V8's old generation), default 0: the
   * runtime's default. A job that exceeds it ends its worker, and the jobs
   * running there fail with `BrokenWorkerError`, instead of the runtime's
   * fatal out-of-memory error taking the whole process down.
   */
  maxHeapMb?: number;
  /** Prefix of the workers' names, seen in stack traces and the inspector. */
  name?: string;
  /**
   * Where the workers' entry module is, for code that a bundler has packed
   * into one file: aio's `src/executor/worker.ts` (`.js` in an npm package)
   * built as an ES module of its own, served beside the page or script.
   * Default: the entry module beside aio's own files, which is right when
   * aio runs as published (from JSR, npm, or its source tree); in a bundle
   * the pool cannot find it and fails with a `BrokenWorkerError` saying so.
   *
   * @example
   * ```ts ignore
   * // esbuild app.ts --bundle --format=esm --outfile=dist/app.js
   * // esbuild node_modules/@aio/aio/src/executor/worker.js --bundle --format=esm \
   * //   --outfile=dist/aio-worker.js
   * import { WorkerPoolExecutor } from "@aio/aio";
   * const pool = new WorkerPoolExecutor({
   *   workerUrl: new URL("./aio-worker.js", import.meta.url),
   * });
   * ```
   */
  workerUrl?: string | URL;
}

/**
 * Options of one job; see {@linkcode WorkerPoolExecutor.submitWith}.
 *
 * @category Executors
 */
export interface SubmitOptions {
  /**
   * The job fails with `TimeoutError` if it runs longer than this (ms). The
   * clock starts when a worker starts the job, not at submit. The job is
   * then asked to stop as if cancelled (see `cancelRunning`).
   */
  timeoutMs?: number;
}

/**
 * Options of {@linkcode WorkerPoolExecutor.map}.
 *
 * @category Executors
 */
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

/**
 * A snapshot of a pool, for tests and monitoring. `submitted` always equals
 * `queued + running + done`.
 *
 * @category Executors
 */
export interface PoolStats {
  /** Live workers, including those finishing an abandoned job. */
  workers: number;
  /** Jobs waiting for a worker. */
  queued: number;
  /** Jobs sent to a worker whose futures are pending. */
  running: number;
  /**
   * Jobs whose futures are settled (timed out, or cancelled in `"terminate"`
   * mode) but which still run in a worker; counted in `done` too.
   */
  abandoned: number;
  /** Jobs whose futures are settled. */
  done: number;
  /** Jobs accepted since the pool was created. */
  submitted: number;
}

/**
 * Shown as the `fn` of `submit`, `map` and `runInExecutor`.
 *
 * @category Executors
 */
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

// Jobs submitted in one synchronous run beyond which they are sent at once.
const FLUSH_EARLY = 256;

let poolCounter = 0;

/**
 * A pool of workers running jobs (Web Workers on Deno, Bun and in
 * browsers, `node:worker_threads` on Node): Python's `concurrent.futures`
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
 *
 * @category Executors
 */
export class WorkerPoolExecutor implements Executor, AsyncDisposable, Disposable {
  /** @ignore */
  readonly _maxWorkers: number;
  /** @ignore */
  readonly _minWorkers: number;
  /** @ignore */
  readonly _idleMs: number;
  /** @ignore */
  readonly _maxQueue: number;
  /** @ignore */
  readonly _terminateOnCancel: boolean;
  /** @ignore */
  readonly _graceMs: number;
  /** @ignore */
  readonly _initTimeoutMs: number;
  /** @ignore */
  readonly _maxHeapMb: number;
  /** @ignore */
  readonly _name: string;
  /** @ignore */
  readonly _workerUrl: URL | null;
  /** @ignore */
  _initDef: FnDef | null = null;
  /** @ignore */
  _initArgs: unknown[];

  /** @ignore Every job's state and the counters (job.ts). */
  readonly _ledger: JobLedger = new JobLedger();
  /** @ignore The workers and what each is sent (dispatch.ts). */
  readonly _dispatch: Dispatcher = new Dispatcher(this);
  /** @ignore Deaths, breaking, grace and initializer timers (failure.ts). */
  readonly _failures: Failures = new Failures(this);

  /** @ignore */
  _flushQueued = false;
  /** @ignore Queued jobs at which `submit` sends without waiting for the flush task. */
  _earlyAt = FLUSH_EARLY;

  /** @ignore */
  _fnByObject: WeakMap<object, FnRecord> = new WeakMap();
  /** @ignore */
  _fnByKey: Map<string, FnRecord> = new Map();
  /** @ignore */
  _fnDefs: FnDef[] = [];
  /** @ignore */
  _lastFn: unknown = undefined;
  /** @ignore */
  _lastRec: FnRecord | null = null;
  /** @ignore */
  _shutdown = false;
  /** @ignore */
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
    this._maxWorkers = intOption(
      options.maxWorkers ?? (globalThis.navigator?.hardwareConcurrency || 4),
      "maxWorkers",
      1,
    );
    this._minWorkers = intOption(options.minWorkers ?? 0, "minWorkers", 0);
    if (this._minWorkers > this._maxWorkers) {
      throw new ValueError(
        `minWorkers (${this._minWorkers}) must not exceed maxWorkers (${this._maxWorkers})`,
      );
    }
    this._idleMs = checkDelay(options.idleTimeoutMs ?? 5000, "idleTimeoutMs");
    this._maxQueue = options.maxQueue === undefined || options.maxQueue === Infinity
      ? Infinity
      : intOption(options.maxQueue, "maxQueue", 1);
    const cr = options.cancelRunning ?? "signal";
    if (cr !== "signal" && cr !== "terminate") {
      throw new TypeError(`cancelRunning must be "signal" or "terminate", got ${describe(cr)}`);
    }
    this._terminateOnCancel = cr === "terminate";
    this._graceMs = checkDelay(options.cancelGraceMs ?? 1000, "cancelGraceMs");
    this._name = options.name ?? `aio-pool-${++poolCounter}`;
    this._workerUrl = options.workerUrl === undefined ? null : workerUrlOf(options.workerUrl);
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
    this._initTimeoutMs = checkDelay(
      options.initializerTimeoutMs ?? 60_000,
      "initializerTimeoutMs",
    );
    this._maxHeapMb = options.maxHeapMb === undefined
      ? 0
      : intOption(options.maxHeapMb, "maxHeapMb", 0);
    for (let i = 0; i < this._minWorkers; i++) if (!this._dispatch.spawn()) break;
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
    // By default, enough chunks that each worker has some queued behind the
    // one it runs, and at least 256 items per worker so small chunks still
    // fill a message.
    const workers = this._maxWorkers;
    const { chunksize, buffersize } = mapSizes(
      iterable,
      options,
      (c) => Math.max(4 * workers, Math.ceil((256 * workers) / c)),
    );
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
      const ledger = this._ledger;
      for (const job of ledger.queuedJobs()) {
        ledger.settle(job, R_CANCELLED, "the pool was shut down");
      }
      for (const w of this._dispatch.workers) {
        // Without shared memory only the worker can tell which have not started.
        const later: JobFuture<unknown>[] = [];
        for (const job of w.jobs) {
          if (job === undefined || job._jstate !== SENT) continue;
          if (w.withdraw(job)) ledger.settle(job, R_CANCELLED, "the pool was shut down");
          else if (!w.shared) {
            job._cancelMessage = "the pool was shut down";
            later.push(job);
          }
        }
        w.withdrawLater(later);
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
   * Counts of workers and jobs; `submitted` always equals `queued + running + done`.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * await pool.submit(() => 1);
   * console.log(pool.stats());
   * // { workers: 1, queued: 0, running: 0, abandoned: 0, done: 1, submitted: 1 }
   * ```
   */
  stats(): PoolStats {
    const l = this._ledger;
    return {
      workers: this._dispatch.workers.length,
      queued: l.queued,
      running: l.running,
      abandoned: l.abandoned,
      done: l.done,
      submitted: l.submitted,
    };
  }

  // ---- submitting -----------------------------------------------------------

  /** @ignore */
  _submit(
    fn: unknown,
    args: unknown[],
    flags: number,
    timeoutMs: number,
    what: string,
  ): JobFuture<unknown> {
    this._checkOpen(what);
    const rec = this._fnRecord(fn, what);
    const ledger = this._ledger;
    if (ledger.queued >= this._maxQueue) {
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
    ledger.enqueue(job);
    if (!this._flushQueued) {
      this._flushQueued = true;
      queueMicrotask(this._flushTask);
    } else if (ledger.queued >= this._earlyAt) {
      // Many jobs submitted in one go: send what running workers can take
      // now rather than at the end of the caller's synchronous code, so
      // they work while the caller goes on submitting; the next early send
      // waits for FLUSH_EARLY more, so messages stay full.
      this._flush(false);
      this._earlyAt = ledger.queued + FLUSH_EARLY;
    }
    return job;
  }

  /** @ignore */
  _spec(rec: FnRecord, flags: number, timeoutMs: number): JobSpec {
    return { owner: this, fnId: rec.id, fnName: rec.name, flags, timeoutMs };
  }

  /** @ignore */
  _checkOpen(what: string): void {
    if (this._shutdown) {
      throw new RuntimeError(`cannot ${what}() on a WorkerPoolExecutor after shutdown()`);
    }
    const broken = this._failures.broken;
    if (broken !== null) {
      throw new BrokenWorkerError(broken.message, { cause: broken.cause });
    }
  }

  /** @ignore The id and definition of a job function, checked once. */
  _fnRecord(fn: unknown, what: string): FnRecord {
    // A burst of submits is most often of one function.
    if (fn === this._lastFn) return this._lastRec!;
    const rec = this._findFnRecord(fn, what);
    this._lastFn = fn;
    this._lastRec = rec;
    return rec;
  }

  /** @ignore */
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

  /** @ignore */
  _defOf = (id: number): FnDef => this._fnDefs[id];

  /** @ignore */
  _flushTask = (): void => {
    this._flushQueued = false;
    this._flush(true);
  };

  /** @ignore */
  _flush(spawn: boolean): void {
    this._earlyAt = this._ledger.queued + FLUSH_EARLY;
    if (this._failures.broken === null) this._dispatch.flush(spawn);
  }

  /** @ignore Starts a worker for the dispatcher, or breaks the pool if that is impossible. */
  _newWorker(): PoolWorker | null {
    if (this._failures.broken !== null) return null;
    let w: PoolWorker;
    try {
      w = new PoolWorker(this, {
        name: this._name,
        init: this._initDef,
        initArgs: this._initArgs,
        maxHeapMb: this._maxHeapMb,
        workerUrl: this._workerUrl,
      });
    } catch (e) {
      // No permission to read the worker module, no Worker at all, …
      this._failures.breakPool(`cannot start a worker: ${(e as Error)?.message ?? e}`, e);
      return null;
    }
    if (this._initDef !== null) this._failures.startInitClock(w);
    return w;
  }

  // ---- replies ----------------------------------------------------------------

  /** @ignore A protocol message from `w` (pool_worker.ts checked its shape). */
  _onMessage(w: PoolWorker, m: FromWorker): void {
    switch (m.t) {
      case M_DONE:
        this._onDone(w, m.r, m.x, m.busy, m.n);
        break;
      case M_STARTED:
        this._onStarted(w, m.seq);
        break;
      case M_READY:
        this._failures.ready(w);
        break;
      case M_INIT_FAILED:
        this._failures.breakPool(
          `the pool's initializer failed: ${m.error.name}: ${m.error.message}`,
          deserializeError(m.error),
        );
        break;
      case M_FATAL:
        this._onWorkerError(
          w,
          `an uncaught error: ${m.error.name}: ${m.error.message}`,
          deserializeError(m.error),
        );
        break;
      case M_CLOSING:
        this._onWorkerError(w, `it exited: ${w.ready ? "a job" : "it"} called ${m.how}`);
        break;
      default:
        throw new TypeError(`unknown message tag ${describe((m as { t: unknown }).t)}`);
    }
  }

  /** @ignore The worker died, could not start, or broke the protocol. */
  _onWorkerError(w: PoolWorker, message: string, cause?: unknown): void {
    const atInit = this._initDef === null
      ? "a worker failed to start"
      : "the pool's initializer failed (its worker died before it finished)";
    this._failures.onWorkerError(w, message, cause, atInit);
  }

  /** @ignore */
  _onDone(w: PoolWorker, r: unknown[], x: unknown[] | null, busy: number, n: number): void {
    this._dispatch.record(busy, n);
    for (let i = 0; i < r.length;) {
      let seq = r[i] as number;
      const end = i + 2 + (r[i + 1] as number);
      for (let k = i + 2; k < end; k++) {
        this._answer(w, seq, R_OK, r[k]);
        seq = seq + 1 === SEQ_WRAP ? 0 : seq + 1;
      }
      i = end;
    }
    if (x !== null) {
      for (let i = 0; i < x.length; i += 3) {
        const status = x[i + 1] as number;
        this._answer(w, x[i] as number, status, x[i + 2]);
      }
    }
    this._afterProgress(w);
  }

  /** @ignore One job's answer. */
  _answer(w: PoolWorker, seq: number, status: number, value: unknown): void {
    const job = w.jobAt(seq);
    if (job === undefined) return;
    if (job._jstate === ABANDONED) {
      // Its future was settled early (cancelled or timed out); the worker is free of it now.
      this._ledger.release(job);
      return;
    }
    if (status === R_OK) this._ledger.settle(job, R_OK, value);
    else if (status === R_CANCELLED) this._ledger.settle(job, R_CANCELLED, job._cancelMessage);
    else this._ledger.settle(job, R_ERROR, deserializeError(value as SerializedError));
  }

  /** @ignore After replies, a cancel or a death: dispatch more, idle, reap, drain. */
  _afterProgress(w: PoolWorker | null): void {
    const ledger = this._ledger;
    const dispatch = this._dispatch;
    if (w !== null && !w.dead) {
      if (w.draining) this._failures.afterDrainingReply(w);
      else if (w.inflight === 0 && ledger.queued === 0) dispatch.steal();
    }
    if (ledger.queued > 0) this._flush(true);
    if (this._shutdown) this._reap();
    else if (w !== null) dispatch.startIdleClock(w);
  }

  /** @ignore A timed job started: its clock starts now. */
  _onStarted(w: PoolWorker, seq: number): void {
    const job = w.jobAt(seq);
    if (job === undefined || job._jstate !== SENT) return;
    const more = job._moreOf();
    const spec = job._spec;
    more.timer = setTimeout(() => {
      more.timer = undefined;
      if (job._jstate !== SENT) return;
      this._abandon(
        job,
        R_ERROR,
        new TimeoutError(`job ${spec.fnName} ran longer than timeoutMs=${spec.timeoutMs}`),
      );
    }, spec.timeoutMs);
  }

  // ---- cancellation -------------------------------------------------------------

  /** @ignore */
  _cancelJob(job: JobFuture<unknown>, msg: string | undefined): boolean {
    const ledger = this._ledger;
    if (job._jstate === QUEUED) {
      ledger.settle(job, R_CANCELLED, msg);
      this._afterProgress(null);
      return true;
    }
    if (job._jstate !== SENT) return job._cancelFuture(msg);
    const w = job._worker!;
    if (w.withdraw(job)) {
      // The worker had not started it and now never will.
      ledger.settle(job, R_CANCELLED, msg);
      this._afterProgress(w);
      return true;
    }
    // Running: ask it to stop.
    job._cancelMessage = msg;
    if (this._terminateOnCancel) {
      this._abandon(job, R_CANCELLED, msg);
      return true;
    }
    const more = job._moreOf();
    if (!more.stopRequested) {
      more.stopRequested = true;
      w.requestStop(job);
    }
    return false;
  }

  /**
   * @ignore Settles a running job's future now (`status`, `value`) and
   * asks the job to stop. The job may never stop: its worker takes no new
   * jobs, gives back those it has not started, no longer counts toward
   * `maxWorkers`, and is terminated after the grace period.
   */
  _abandon(job: JobFuture<unknown>, status: number, value: unknown): void {
    const w = job._worker!;
    const more = job._moreOf();
    if (!more.stopRequested) {
      more.stopRequested = true;
      w.requestStop(job);
    }
    this._ledger.abandon(job, status, value);
    this._dispatch.drain(w);
    this._failures.startGrace(w);
    if (this._ledger.queued > 0 && !this._flushQueued) {
      this._flushQueued = true;
      queueMicrotask(this._flushTask);
    }
  }

  // ---- shutdown -----------------------------------------------------------------

  /**
   * @ignore After shutdown: stops workers with nothing left to do, and
   * those left with only abandoned jobs (they would otherwise run forever).
   */
  _reap(): void {
    if (!this._shutdown) return;
    const ledger = this._ledger;
    if (ledger.queued === 0) {
      for (const w of [...this._dispatch.workers]) {
        if (w.inflight === 0) this._dispatch.remove(w);
        else if (w.inflight === w.abandoned) {
          for (const job of w.jobs) if (job !== undefined) ledger.release(job);
          this._dispatch.remove(w);
        }
      }
    }
    if (this._drained.length > 0 && this._isDrained()) {
      const waiters = this._drained;
      this._drained = [];
      for (const resolve of waiters) resolve();
    }
  }

  /** @ignore */
  _isDrained(): boolean {
    return this._ledger.pending === 0 && this._dispatch.workers.length === 0;
  }
}

/** `workerUrl` as a URL: relative strings resolve against the page (browsers) or fail. */
function workerUrlOf(v: unknown): URL {
  if (v instanceof URL) return v;
  if (typeof v !== "string") {
    throw new TypeError(`workerUrl must be a URL or a string, got ${describe(v)}`);
  }
  let base: string | undefined;
  try {
    base = (globalThis as { location?: { href: string } }).location?.href;
  } catch {
    // Deno without --location throws on reading `location`.
  }
  try {
    return new URL(v, base);
  } catch {
    throw new TypeError(
      `workerUrl ${JSON.stringify(v)} is not a URL` +
        (base === undefined ? " (a relative one needs a page to resolve against)" : ""),
    );
  }
}

// `runInExecutor(null, …)` and `toThread` use a pool made on first use.
setDefaultExecutorFactory(() => new WorkerPoolExecutor({ name: "aio-default" }));
