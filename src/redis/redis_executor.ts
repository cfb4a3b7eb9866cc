/**
 * `RedisExecutor`: the worker pool's futures, cancellation and failure
 * semantics, with jobs running in worker processes on any number of
 * machines, through Redis Streams.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { BrokenWorkerError, RuntimeError, ValueError } from "../errors.ts";
import { fromPromise } from "../from_promise.ts";
import type { Future } from "../future.ts";
import type { Executor } from "../loop.ts";
import type { Coroutine } from "../task.ts";
import { checkDelay, describe } from "../util.ts";
import {
  describeFn,
  functionSource,
  type JobFunction,
  type JobResult,
  WorkerFunction,
} from "../executor/function.ts";
import { JobFuture, type JobSpec } from "../executor/job.ts";
import { intOption, MapResults, mapSizes } from "../executor/map.ts";
import type { Job, MapOptions } from "../executor/pool.ts";
import {
  type ChunkResult,
  FN_MODULE,
  FN_SOURCE,
  type FnDef,
  J_CHUNK,
  R_CANCELLED,
  R_ERROR,
  R_OK,
} from "../executor/protocol.ts";
import { deserializeError, type SerializedError } from "../executor/remote_error.ts";
import {
  checkQueue,
  checkUrl,
  closeConnection,
  openConnection,
  type Redis,
} from "./redis_connection.ts";
import {
  ADD_SCRIPT,
  BATCH_FIELD,
  CANCEL_SCRIPT,
  decode,
  encode,
  GROUP,
  type JobBody,
  loadCodec,
  prefixOf,
  R_STARTED,
  REAP_SCRIPT,
} from "./redis_protocol.ts";

/**
 * Options of {@linkcode RedisExecutor}.
 *
 * @category Executors
 */
export interface RedisExecutorOptions {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** The queue's name; worker processes started with the same name run its jobs. */
  queue: string;
  /**
   * How many times a job whose worker process died is delivered again to
   * another one; default 0 (it fails with `BrokenWorkerError`). Allow it for
   * idempotent jobs only: a job may have done part of its work before dying.
   */
  retries?: number;
  /**
   * A worker process that has not answered for this long (ms) is taken for
   * dead: its jobs are retried or fail with `BrokenWorkerError`. Default 5000;
   * at least 100. Worker processes refresh their jobs several times within it.
   */
  deadWorkerTimeoutMs?: number;
  /** As for `WorkerPoolExecutor`: `"signal"` (default) or `"terminate"`. */
  cancelRunning?: "signal" | "terminate";
  /** As for `WorkerPoolExecutor`; default 1000. */
  cancelGraceMs?: number;
  /**
   * How long (ms) results and job records this client left in Redis live
   * without being read; default 60,000. A client that goes away leaves
   * nothing behind for longer (nor longer than `deadWorkerTimeoutMs`, for
   * the key that tells it whether Redis lost its data).
   */
  resultTtlMs?: number;
}

/**
 * Options of one job; see {@linkcode RedisExecutor.submitWith}.
 *
 * @category Executors
 */
export interface RedisSubmitOptions {
  /** The job fails with `TimeoutError` if it runs longer than this (ms), counted from its start. */
  timeoutMs?: number;
  /** This job's `retries`, instead of the executor's. */
  retries?: number;
}

/**
 * What a {@linkcode RedisExecutor} knows of its own jobs.
 * `submitted` always equals `queued + running + done`.
 *
 * @category Executors
 */
export interface RedisExecutorStats {
  /** Jobs not known to have started. */
  queued: number;
  /** Jobs a worker process reported started whose futures are pending. */
  running: number;
  /** Jobs whose futures are settled. */
  done: number;
  /** Jobs accepted since the executor was created. */
  submitted: number;
}

/**
 * What Redis knows of a queue, all clients together; see
 * {@linkcode RedisExecutor.remoteStats}.
 *
 * @category Executors
 */
export interface RedisQueueStats {
  /** Jobs waiting for a worker process. */
  queued: number;
  /** Jobs delivered to a worker process and not yet answered. */
  running: number;
  /** Worker processes alive (that refreshed their liveness recently). */
  workers: number;
}

// A job's life, as this client sees it. `_recs` holds every job whose future
// is pending (and those cancelled in "terminate" mode whose stop request is
// on its way); a job leaves it when its future settles.
//
//   UNSENT   In `_outbox`, not yet added to the stream. Cancel: it is
//            dropped and never reaches Redis.
//   ADDING   Its XADD is in flight. Cancel: the future is cancelled now and
//            the cancel script runs when the entry id is known.
//   QUEUED   In the stream; no worker process reported starting it. Cancel:
//            the future is cancelled now; the cancel script then marks it
//            so no worker starts it (or, if one just did, stops it).
//   RUNNING  A worker process reported starting it. Cancel: the cancel
//            script publishes a stop request; in "signal" mode the future
//            settles with the job's answer, in "terminate" mode now.
//
// Invariants between any two calls into this module: submitted === queued +
// running + done; `running` counts RUNNING jobs with pending futures and
// `queued` the others; a job's future is settled only through `_settle`,
// which moves the counters, and only once.
const UNSENT = 0;
const ADDING = 1;
const QUEUED = 2;
const RUNNING = 3;

interface Rec {
  fut: RedisJobFuture;
  id: string;
  state: number;
  entry: string;
  /** What the entry carries, until it is encoded (at the flush, once node:v8 is loaded). */
  body: JobBody | null;
  retries: number;
  fields: (string | Buffer)[];
  /** Cancelled while ADDING: run the cancel script once the entry id is known. */
  cancelAfterAdd: boolean;
  cancelMsg: string | undefined;
}

/** The future of a Redis job: a JobFuture that knows its record. */
class RedisJobFuture extends JobFuture<unknown> {
  /** @internal */
  _rec: Rec | null = null;
}
Object.defineProperty(RedisJobFuture, "name", { value: "Future" });

interface FnRec {
  def: FnDef;
  name: string;
  /** Shared by the function's futures: their owner and, in repr, the function's name. */
  spec: JobSpec;
}

let clientCounter = 0;

/**
 * An executor whose jobs run in worker processes on any number of machines,
 * through Redis (Streams and a consumer group): the same `submit`, `map`,
 * futures, errors and cancellation as {@linkcode WorkerPoolExecutor}, so code
 * written for one machine scales out by changing the executor. Start worker
 * processes with {@linkcode runWorker} or `deno run -A <aio>/worker.ts --url
 * … --queue …`; each runs the queue's jobs on a local pool of its cores.
 *
 * `fn` is a `workerFunction(moduleUrl, exportName)` whose URL resolves on the
 * workers' machines (`https:`, `jsr:`, or a `file:` path deployed there), or a
 * self-contained function sent as source. Arguments and results are copied
 * with structured-clone semantics (`transfer()` copies too).
 *
 * Cancelling a job no worker process started removes it (it never runs) and
 * returns `true`; cancelling a running one aborts its `jobSignal()` on the
 * machine running it and returns `false`, the future settling when the job
 * stops. A worker process that dies fails its jobs with `BrokenWorkerError`
 * within `deadWorkerTimeoutMs`, or, for jobs allowing `retries`, runs them
 * again elsewhere. Shut the executor down when done: its connections keep
 * the process alive.
 *
 * @example
 * ```ts ignore
 * import { RedisExecutor, run } from "@aio/aio";
 * // Elsewhere: deno run -A jsr:@aio/aio/worker --url redis://127.0.0.1:6379 --queue pi
 * await using ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "pi" });
 * console.log(await ex.submit((a: number, b: number) => a + b, 1, 2)); // 3
 * const squares = await run(() => ex.map((x: number) => x * x, [1, 2, 3]).toArray());
 * console.log(squares); // [1, 4, 9]
 * ```
 *
 * @category Executors
 */
export class RedisExecutor implements Executor, AsyncDisposable {
  /** @ignore */
  readonly _url: string;
  /** @ignore */
  readonly _queue: string;
  /** @ignore */
  readonly _prefix: string;
  /** @ignore */
  readonly _retries: number;
  /** @ignore */
  readonly _deadMs: number;
  /** @ignore */
  readonly _terminate: boolean;
  /** @ignore */
  readonly _graceMs: number;
  /** @ignore */
  readonly _ttlMs: number;
  /** @ignore This client's id: its result list and job ids carry it. */
  readonly _client: string;

  /** @ignore */
  _recs: Map<string, Rec> = new Map();
  /** @ignore */
  _outbox: Rec[] = [];
  /** @ignore */
  _flushQueued = false;
  /** @ignore */
  _seq = 0;
  /** @ignore */
  _queued = 0;
  /** @ignore */
  _running = 0;
  /** @ignore */
  _done = 0;
  /** @ignore */
  _submitted = 0;
  /** @ignore */
  _shutdown = false;
  /** @ignore */
  _closed: Promise<void> | null = null;
  /** @ignore */
  _drained: (() => void)[] = [];
  /** @ignore Commands and scripts. */
  _cmd: Redis | null = null;
  /** @ignore Blocking reads of the result list. */
  _blk: Redis | null = null;
  /** @ignore */
  _connecting: Promise<Redis> | null = null;
  /** @ignore The command connection being made (loading the client, not waiting for Redis). */
  _opening: Promise<Redis> | null = null;
  /** @ignore */
  _reading = false;
  /** @ignore The id of the last result entry handled. */
  _lastId = "0-0";
  /** @ignore */
  _reapTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  /** @ignore Commands in flight that shutdown waits for. */
  _inflight: Set<Promise<unknown>> = new Set();
  /** @ignore */
  _fns: WeakMap<object, FnRec> = new WeakMap();
  /** @ignore */
  _fnByKey: Map<string, FnRec> = new Map();

  /**
   * Creates the executor; it connects when the first job is submitted.
   * A missing or malformed `url` or `queue`, or an option out of range, is a
   * `TypeError` or `ValueError` naming it.
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor } from "@aio/aio";
   * const ex = new RedisExecutor({
   *   url: "redis://127.0.0.1:6379",
   *   queue: "thumbnails",
   *   retries: 2, // the jobs are idempotent
   *   deadWorkerTimeoutMs: 3000,
   * });
   * await ex.shutdown();
   * ```
   */
  constructor(options: RedisExecutorOptions) {
    if (options === null || typeof options !== "object") {
      throw new TypeError(
        `RedisExecutor() expects an options object with url and queue, got ${describe(options)}`,
      );
    }
    this._url = checkUrl(options.url, "RedisExecutor()");
    this._queue = checkQueue(options.queue, "RedisExecutor()");
    this._prefix = prefixOf(this._queue);
    this._retries = intOption(options.retries ?? 0, "retries", 0);
    this._deadMs = checkDelay(options.deadWorkerTimeoutMs ?? 5000, "deadWorkerTimeoutMs");
    if (this._deadMs < 100 || this._deadMs === Infinity) {
      throw new ValueError(
        `deadWorkerTimeoutMs must be a finite number >= 100, got ${this._deadMs}`,
      );
    }
    const cr = options.cancelRunning ?? "signal";
    if (cr !== "signal" && cr !== "terminate") {
      throw new TypeError(`cancelRunning must be "signal" or "terminate", got ${describe(cr)}`);
    }
    this._terminate = cr === "terminate";
    this._graceMs = checkDelay(options.cancelGraceMs ?? 1000, "cancelGraceMs");
    this._ttlMs = checkDelay(options.resultTtlMs ?? 60_000, "resultTtlMs");
    if (this._ttlMs < 1 || this._ttlMs === Infinity) {
      throw new ValueError(`resultTtlMs must be a finite number >= 1, got ${this._ttlMs}`);
    }
    for (const k of Object.keys(options)) {
      if (!KNOWN_OPTIONS.has(k)) {
        throw new TypeError(
          `RedisExecutor(): unknown option ${JSON.stringify(k)} (known: ${
            [...KNOWN_OPTIONS].join(", ")
          })`,
        );
      }
    }
    this._client = `${crypto.randomUUID().slice(0, 8)}${(++clientCounter).toString(36)}`;
  }

  /**
   * Sends `fn(...args)` to the queue and returns a future of its result.
   * After `shutdown()`: `RuntimeError`. A function that cannot be sent:
   * `TypeError`. Arguments that cannot be cloned fail the future with
   * `DataCloneError`.
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor } from "@aio/aio";
   * await using ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "q" });
   * console.log(await ex.submit((a: number, b: number) => a ** b, 2, 10)); // 1024
   * ```
   */
  submit<F extends JobFunction>(
    fn: Job<F>,
    ...args: Parameters<F>
  ): Future<JobResult<ReturnType<F>>> {
    return this._submit(fn, args, 0, 0, this._retries, "submit") as Future<
      JobResult<ReturnType<F>>
    >;
  }

  /**
   * `submit` with per-job options: `timeoutMs` (counted from the job's
   * start on its worker process) and `retries`.
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor } from "@aio/aio";
   * await using ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "q" });
   * const fut = ex.submitWith({ timeoutMs: 10_000, retries: 3 }, (x: number) => x + 1, 1);
   * console.log(await fut); // 2
   * ```
   */
  submitWith<F extends JobFunction>(
    options: RedisSubmitOptions,
    fn: Job<F>,
    ...args: Parameters<F>
  ): Future<JobResult<ReturnType<F>>> {
    if (options === null || typeof options !== "object") {
      throw new TypeError(`submitWith() expects an options object, got ${describe(options)}`);
    }
    const t = options.timeoutMs;
    const timeoutMs = t === undefined ? 0 : checkDelay(t, "timeoutMs");
    const retries = options.retries === undefined
      ? this._retries
      : intOption(options.retries, "retries", 0);
    return this._submit(
      fn,
      args,
      0,
      // 0 means "no timeout" on the wire; a timeout of 0 still times out.
      t === undefined || timeoutMs === Infinity ? 0 : Math.max(timeoutMs, 0.001),
      retries,
      "submitWith",
    ) as Future<JobResult<ReturnType<F>>>;
  }

  /**
   * `fn` applied to every item of `iterable` by the worker processes,
   * results in input order, as `WorkerPoolExecutor.map`: lazy, at most
   * `buffersize` chunks ahead; `chunksize` items travel per job (raise it
   * for tiny jobs).
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor } from "@aio/aio";
   * await using ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "q" });
   * for await (const sq of ex.map((x: number) => x * x, [1, 2, 3], { chunksize: 2 })) {
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
    const { chunksize, buffersize } = mapSizes(
      iterable,
      options,
      (c) => Math.max(64, Math.ceil(4096 / c)),
    );
    this._fnRec(fn, "map");
    return new MapResults(
      (items) =>
        this._submit(fn, [items], J_CHUNK, 0, this._retries, "map") as JobFuture<ChunkResult>,
      iterable,
      chunksize,
      buffersize,
    );
  }

  /**
   * Stops accepting jobs. `cancelFutures: true` cancels the jobs no worker
   * process started. With `wait: true` (default) the promise settles once
   * every future has settled and the connections are closed. With
   * `wait: false` it settles at once; the connections close when the last
   * future settles, or at once with `cancelFutures: true`, which then also
   * cancels the running jobs' futures and asks their jobs to stop, so the
   * process can exit. Calling it again is harmless.
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor } from "@aio/aio";
   * const ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "q" });
   * const fut = ex.submit(() => 1);
   * await ex.shutdown();
   * console.log(fut.result()); // 1
   * ```
   */
  shutdown(options?: { wait?: boolean; cancelFutures?: boolean }): Promise<void> {
    const wait = options?.wait ?? true;
    this._shutdown = true;
    if (options?.cancelFutures) {
      for (const rec of [...this._recs.values()]) {
        if (rec.fut.done()) continue;
        if (rec.state !== RUNNING) rec.fut.cancel("the executor was shut down");
        else if (!wait) {
          this._requestStop(rec);
          this._settle(rec, R_CANCELLED, "the executor was shut down");
        }
      }
    }
    if (!wait && options?.cancelFutures) {
      // Nothing is left to wait for: the requests just made go out, then the connections close.
      for (const rec of this._recs.values()) if (rec.fut.done()) this._recs.delete(rec.id);
    }
    const drained = this._pending() === 0
      ? Promise.resolve()
      : new Promise<void>((resolve) => this._drained.push(resolve));
    const closed = drained.then(() => this._close());
    return wait ? closed : Promise.resolve();
  }

  /**
   * `await using ex = new RedisExecutor(…)`: shuts down and waits.
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor } from "@aio/aio";
   * {
   *   await using ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "q" });
   *   console.log(await ex.submit(() => "hi"));
   * } // connections are closed here
   * ```
   */
  [Symbol.asyncDispose](): Promise<void> {
    return this.shutdown({ wait: true });
  }

  /**
   * What this client knows of its jobs, without asking Redis.
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor } from "@aio/aio";
   * await using ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "q" });
   * await ex.submit(() => 1);
   * console.log(ex.stats()); // { queued: 0, running: 0, done: 1, submitted: 1 }
   * ```
   */
  stats(): RedisExecutorStats {
    return {
      queued: this._queued,
      running: this._running,
      done: this._done,
      submitted: this._submitted,
    };
  }

  /**
   * Asks Redis how many jobs of the queue wait and run (all clients
   * together) and how many worker processes are alive.
   *
   * @example
   * ```ts ignore
   * import { RedisExecutor, run } from "@aio/aio";
   * await using ex = new RedisExecutor({ url: "redis://127.0.0.1:6379", queue: "q" });
   * console.log(await run(() => ex.remoteStats())); // { queued: 0, running: 0, workers: 2 }
   * ```
   */
  *remoteStats(): Coroutine<RedisQueueStats> {
    this._checkOpen("remoteStats");
    return yield* fromPromise(async () => {
      const r = await this._connect();
      const key = this._prefix + "jobs";
      const res = await r.multi()
        .xlen(key)
        .xpending(key, GROUP)
        .zcount(this._prefix + "workers", Date.now(), "+inf")
        .exec();
      const len = Number(res?.[0]?.[1] ?? 0);
      const pend = res?.[1]?.[1] as unknown[] | undefined;
      const running = Number(pend?.[0] ?? 0);
      return {
        queued: Math.max(0, len - running),
        running,
        workers: Number(res?.[2]?.[1] ?? 0),
      };
    });
  }

  // ---- submitting -----------------------------------------------------------

  /** @ignore */
  _submit(
    fn: unknown,
    args: unknown[],
    flags: number,
    timeoutMs: number,
    retries: number,
    what: string,
  ): JobFuture<unknown> {
    this._checkOpen(what);
    const f = this._fnRec(fn, what);
    const fut = new RedisJobFuture(f.spec, NO_ARGS);
    const id = `${this._client}.${(++this._seq).toString(36)}`;
    this._submitted++;
    this._queued++;
    const rec: Rec = {
      fut,
      id,
      state: UNSENT,
      entry: "",
      body: null,
      retries: 0,
      fields: [],
      cancelAfterAdd: false,
      cancelMsg: undefined,
    };
    fut._rec = rec;
    rec.body = {
      f: f.def,
      x: args,
      fl: flags,
      t: timeoutMs,
      cm: this._terminate ? "terminate" : "signal",
      g: this._graceMs,
    };
    rec.retries = retries;
    this._recs.set(id, rec);
    this._outbox.push(rec);
    if (!this._flushQueued) {
      this._flushQueued = true;
      queueMicrotask(() => this._track(this._flush()));
    }
    return fut;
  }

  /** @ignore */
  _checkOpen(what: string): void {
    if (this._shutdown) {
      throw new RuntimeError(`cannot ${what}() on a RedisExecutor after shutdown()`);
    }
  }

  /** @ignore The definition of a job function, checked once. */
  _fnRec(fn: unknown, what: string): FnRec {
    if (typeof fn === "function") {
      let rec = this._fns.get(fn);
      if (rec !== undefined) return rec;
      const src = functionSource(fn as JobFunction);
      rec = this._fnByKey.get(src);
      if (rec === undefined) {
        const name = describeFn(fn as JobFunction);
        rec = { def: [0, FN_SOURCE, src], name, spec: this._specOf(name) };
        this._fnByKey.set(src, rec);
      }
      this._fns.set(fn, rec);
      return rec;
    }
    if (fn instanceof WorkerFunction) {
      let rec = this._fns.get(fn);
      if (rec === undefined) {
        rec = {
          def: [0, FN_MODULE, fn.url, fn.exportName],
          name: String(fn),
          spec: this._specOf(String(fn)),
        };
        this._fns.set(fn, rec);
      }
      return rec;
    }
    throw new TypeError(
      `${what}() expects a function or workerFunction(moduleUrl, exportName), got ${describe(fn)}`,
    );
  }

  /** @ignore */
  _specOf(fnName: string): JobSpec {
    return { owner: this, fnId: 0, fnName, flags: 0, timeoutMs: Infinity };
  }

  /** @ignore Adds the jobs submitted since the last flush to the stream, in one pipeline. */
  async _flush(): Promise<void> {
    this._flushQueued = false;
    const recs = this._outbox;
    this._outbox = [];
    let live = recs.filter((r) => r.state === UNSENT && !r.fut.done());
    if (live.length === 0) return;
    for (const rec of live) rec.state = ADDING;
    let r: Redis;
    try {
      r = await this._connect();
    } catch (e) {
      for (const rec of live) this._settle(rec, R_ERROR, e);
      return;
    }
    const key = this._prefix + "jobs";
    const p = r.pipeline();
    // The marker lives while this client has jobs (the reaper renews it); a
    // busy period starts it anew, since it may have expired while idle.
    if (!this._reading) p.set(this._marker(), "1", "PX", this._markerMs());
    this._startReading();
    // Arguments are copied here, as a pool copies them when it sends a batch;
    // what cannot be copied fails its own job only.
    const sent: Rec[] = [];
    for (const rec of live) {
      let bytes: Buffer;
      try {
        bytes = encode(rec.body);
      } catch (e) {
        this._settle(rec, R_ERROR, e);
        continue;
      }
      rec.body = null;
      // The entry's field values, in ADD_SCRIPT's order.
      rec.fields = [
        this._client,
        rec.id,
        String(rec.retries),
        "1",
        String(Math.ceil(this._deadMs)),
        String(Math.ceil(this._ttlMs)),
        bytes,
      ];
      sent.push(rec);
    }
    live = sent;
    for (let i = 0; i < live.length; i += ADD_BATCH) {
      const args: (string | Buffer)[] = [];
      for (const rec of live.slice(i, i + ADD_BATCH)) args.push(...rec.fields);
      // deno-lint-ignore no-explicit-any
      (p as any).aioAdd(key, ...args);
    }
    const first = p.length - Math.ceil(live.length / ADD_BATCH);
    const replies = await p.exec().catch((e: Error) => [[e, null]] as [Error, null][]);
    const res: [Error | null, unknown][] = [];
    for (let i = 0; i < live.length; i += ADD_BATCH) {
      const [err, ids] = replies?.[i / ADD_BATCH + first] ?? [new Error("no reply"), null];
      const n = Math.min(ADD_BATCH, live.length - i);
      for (let k = 0; k < n; k++) res.push([err, err === null ? (ids as string[])[k] : null]);
    }
    for (let i = 0; i < live.length; i++) {
      const rec = live[i];
      const [err, entry] = res[i];
      rec.fields = NO_FIELDS;
      if (err !== null) {
        if (!rec.fut.done()) this._settle(rec, R_ERROR, err);
        continue;
      }
      rec.entry = String(entry);
      if (rec.state === ADDING) rec.state = QUEUED;
      if (rec.cancelAfterAdd) this._track(this._cancelRemote(rec));
    }
  }

  /** @ignore The command connection, opened on first use. */
  _connect(): Promise<Redis> {
    return this._connecting ??= (async () => {
      await loadCodec();
      const r = await (this._opening = openConnection(this._url, `aio-client-${this._client}`));
      this._cmd = r;
      r.defineCommand("aioAdd", { numberOfKeys: 1, lua: ADD_SCRIPT });
      r.defineCommand("aioCancel", { numberOfKeys: 2, lua: CANCEL_SCRIPT });
      r.defineCommand("aioReap", { numberOfKeys: 1, lua: REAP_SCRIPT });
      // Workers create the group too; whoever is first, it starts at the
      // stream's beginning so no job added before it is skipped.
      await r.xgroup("CREATE", this._prefix + "jobs", GROUP, "0", "MKSTREAM").catch(
        (e: Error) => {
          if (!/BUSYGROUP/.test(e.message)) throw e;
        },
      );
      return r;
    })();
  }

  // ---- answers ----------------------------------------------------------------

  /** @ignore Reads this client's result list while jobs are pending. */
  _startReading(): void {
    if (this._reading) return;
    this._reading = true;
    this._scheduleReap();
    this._track(this._readLoop());
  }

  /** @ignore */
  async _readLoop(): Promise<void> {
    const key = this._prefix + "r:" + this._client;
    try {
      this._blk ??= await openConnection(this._url, `aio-client-${this._client}-results`);
      const blk = this._blk;
      if (this._closed !== null) return;
      while (this._pending() > 0 && blk.status !== "end") {
        let res: unknown;
        try {
          res = await blk.xreadBuffer("COUNT", 512, "BLOCK", 1000, "STREAMS", key, this._lastId);
        } catch {
          if (this._closed !== null) break;
          continue;
        }
        if (res === null) continue;
        const entries = (res as [Buffer, [Buffer, Buffer[]][]][])[0][1];
        for (const [id, fields] of entries) {
          this._lastId = id.toString();
          for (let i = 0; i + 1 < fields.length; i += 2) this._onMessage(fields[i], fields[i + 1]);
        }
        // What was read goes (all but the last entry, which marks the place).
        this._cmd?.xtrim(key, "MINID", this._lastId).catch(() => {});
        this._checkDrained();
      }
    } finally {
      this._reading = false;
      if (this._pending() > 0 && this._closed === null) this._startReading();
    }
  }

  /** @ignore One field of a result entry: a batch of answers, or a dead worker's job. */
  _onMessage(field: Buffer, msg: Buffer): void {
    if (field.toString() !== BATCH_FIELD) {
      const [id, worker] = msg.toString().split("\t");
      const rec = this._recs.get(id);
      if (rec === undefined) return;
      this._settle(
        rec,
        R_ERROR,
        new BrokenWorkerError(
          `the worker process running this job (${worker}) stopped answering for ` +
            `deadWorkerTimeoutMs=${this._deadMs}, and the job allows no more retries`,
        ),
      );
      return;
    }
    let batch: unknown[];
    try {
      batch = decode(msg) as unknown[];
      if (!Array.isArray(batch)) return;
    } catch {
      return;
    }
    for (let i = 0; i + 2 < batch.length; i += 3) {
      const rec = this._recs.get(batch[i] as string);
      if (rec === undefined) continue;
      const status = batch[i + 1] as number;
      const value = batch[i + 2];
      if (status === R_STARTED) {
        if (rec.state !== RUNNING && !rec.fut.done()) {
          rec.state = RUNNING;
          this._queued--;
          this._running++;
        }
      } else if (rec.fut.done()) {
        this._recs.delete(rec.id);
      } else if (status === R_OK) this._settle(rec, R_OK, value);
      else if (status === R_CANCELLED) this._settle(rec, R_CANCELLED, rec.cancelMsg);
      else this._settle(rec, R_ERROR, deserializeError(value as SerializedError));
    }
  }

  /** @ignore Settles a job's future (once), moving the counters. */
  _settle(rec: Rec, status: number, value: unknown): void {
    const fut = rec.fut;
    if (fut.done()) return;
    if (rec.state === RUNNING) this._running--;
    else this._queued--;
    this._done++;
    if (!(status === R_CANCELLED && rec.state === RUNNING && this._terminate)) {
      this._recs.delete(rec.id);
    }
    if (status === R_OK) fut.setResult(value);
    else if (status === R_CANCELLED) fut._cancelFuture(value as string | undefined);
    else fut.setException(value);
    this._checkDrained();
  }

  /** @ignore */
  _pending(): number {
    return this._queued + this._running;
  }

  /** @ignore */
  _checkDrained(): void {
    if (this._pending() > 0 || this._drained.length === 0) return;
    const waiters = this._drained;
    this._drained = [];
    for (const resolve of waiters) resolve();
  }

  // ---- cancellation -------------------------------------------------------------

  /** @ignore `cancel()` on a pending job's future. */
  _cancelJob(job: JobFuture<unknown>, msg: string | undefined): boolean {
    const rec = (job as RedisJobFuture)._rec;
    if (rec === null) return job._cancelFuture(msg);
    if (rec.state !== RUNNING) {
      if (rec.state === ADDING) rec.cancelAfterAdd = true;
      else if (rec.state === QUEUED) this._track(this._cancelRemote(rec));
      this._settle(rec, R_CANCELLED, msg);
      return true;
    }
    rec.cancelMsg = msg;
    this._requestStop(rec);
    if (this._terminate) {
      this._settle(rec, R_CANCELLED, msg);
      return true;
    }
    return false;
  }

  /** @ignore Asks the worker process running `rec` to stop it. */
  _requestStop(rec: Rec): void {
    this._track(this._cancelRemote(rec));
  }

  /**
   * @ignore Runs the cancel script: a job nobody started is marked so that
   * nobody will, and its entry deleted; a running one gets a stop request.
   */
  async _cancelRemote(rec: Rec): Promise<void> {
    const r = this._cmd;
    if (r === null) return;
    const mode = this._terminate ? "terminate" : "signal";
    try {
      // deno-lint-ignore no-explicit-any
      await (r as any).aioCancel(
        this._prefix + "s:" + rec.id,
        this._prefix + "jobs",
        rec.entry,
        String(Math.ceil(this._ttlMs)),
        this._prefix + "cancel",
        `${rec.id} ${mode}`,
      );
    } catch {
      // The connection closed: the job's future is settled either way.
    }
    if (this._terminate || rec.fut.done()) this._recs.delete(rec.id);
  }

  // ---- dead workers and shutdown ---------------------------------------------------

  /**
   * @ignore While jobs are pending, looks every half deadWorkerTimeoutMs for
   * entries no live worker refreshed (REAP_SCRIPT): clients do this too, so a
   * job is settled even when every worker process is gone.
   */
  _scheduleReap(): void {
    if (this._reapTimer !== undefined || this._closed !== null) return;
    this._reapTimer = setTimeout(async () => {
      this._reapTimer = undefined;
      if (this._pending() === 0 || this._closed !== null) return;
      const r = this._cmd;
      if (r !== null) {
        const p = (async () => {
          try {
            const [[, kept]] = await r.pipeline()
              .pexpire(this._marker(), this._markerMs())
              // Only entries idle for this client's timeout: live workers keep theirs
              // fresher than a quarter of it, so dead ones are not starved behind them.
              .aioReap(
                this._prefix + "jobs",
                this._prefix,
                String(Math.floor(this._deadMs)),
                String(Date.now()),
                "100",
              )
              .exec();
            if (kept === 0) this._onDataLost(r);
          } catch {
            // Redis is away; the next round tries again.
          }
        })();
        this._track(p);
        await p;
      }
      this._scheduleReap();
    }, this._deadMs / 2);
  }

  /** @ignore A key this client keeps alive while it has jobs: gone means Redis lost its data. */
  _marker(): string {
    return this._prefix + "c:" + this._client;
  }

  /** @ignore */
  _markerMs(): number {
    // Renewed every deadWorkerTimeoutMs / 2 while jobs are pending.
    return Math.ceil(Math.max(this._ttlMs, this._deadMs));
  }

  /**
   * @ignore Redis came back without the data this client put there (it
   * restarted without persistence, or was flushed): the jobs it held will
   * never run or be reaped, so their futures fail now rather than wait forever.
   */
  _onDataLost(r: Redis): void {
    for (const rec of [...this._recs.values()]) {
      if (rec.state === UNSENT || rec.fut.done()) continue;
      this._settle(
        rec,
        R_ERROR,
        new RuntimeError(
          `Redis at ${this._url} lost this job (queue ${this._queue}): it restarted without ` +
            `its data (turn persistence on: appendonly yes) or was flushed`,
        ),
      );
    }
    this._track(r.set(this._marker(), "1", "PX", this._markerMs()).catch(() => {}));
  }

  /** @ignore Keeps `p` until it settles, so close waits for it. */
  _track(p: Promise<unknown>): void {
    this._inflight.add(p);
    p.finally(() => this._inflight.delete(p));
  }

  /** @ignore */
  _close(): Promise<void> {
    return this._closed ??= (async () => {
      if (this._reapTimer !== undefined) {
        clearTimeout(this._reapTimer);
        this._reapTimer = undefined;
      }
      if (this._opening !== null) await this._opening.catch(() => {});
      // The blocking read is abandoned; commands already sent (cancels)
      // may finish first, but not wait for a Redis that is away: closing
      // the connection then rejects them.
      if (this._blk !== null) await closeConnection(this._blk, true);
      const cmd = this._cmd;
      if (cmd !== null && cmd.status !== "reconnecting") {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this._settleInflight(),
          new Promise((r) => timer = setTimeout(r, CLOSE_WAIT_MS)),
        ]);
        clearTimeout(timer);
      }
      if (cmd !== null) {
        if (cmd.status === "ready") cmd.del(this._marker()).catch(() => {});
        await closeConnection(cmd);
      }
      await this._settleInflight();
      // A read loop that opened its connection meanwhile has seen _closed.
      if (this._blk !== null) await closeConnection(this._blk, true);
    })();
  }

  /** @ignore */
  async _settleInflight(): Promise<void> {
    while (this._inflight.size > 0) await Promise.allSettled([...this._inflight]);
  }
}

const KNOWN_OPTIONS = new Set([
  "url",
  "queue",
  "retries",
  "deadWorkerTimeoutMs",
  "cancelRunning",
  "cancelGraceMs",
  "resultTtlMs",
]);

const NO_ARGS: unknown[] = [];
const NO_FIELDS: (string | Buffer)[] = [];
// How long closing waits for commands in flight (cancels) before closing the
// connection under them: Redis may be away.
const CLOSE_WAIT_MS = 2000;
// Jobs per ADD_SCRIPT call: 7 arguments each, well within Lua's limits.
const ADD_BATCH = 500;
