// The entry module of a WorkerPoolExecutor's workers. It compiles or imports
// job functions, runs jobs in the order they arrive, and answers in batches.
// It imports nothing heavy up front: the event loop is loaded on the first
// coroutine job, so a pool of plain functions starts in a few milliseconds.
//
// Its messages carry the key M_INIT brought, kept where no job can read it,
// so a job cannot speak for the worker (see pool_worker.ts); a job calling
// `self.postMessage` ends the worker.

import { CancelledError } from "../errors.ts";
import { compileSource, describeFn, type JobFunction, selfContainedHint } from "./function.ts";
import { enterJob, JobContext } from "./job_context.ts";
import {
  type ChunkResult,
  FN_SOURCE,
  type FnDef,
  type FromWorker,
  type FromWorkerBody,
  J_CHUNK,
  J_REPORT_START,
  M_CANCEL,
  M_CLOSING,
  M_DONE,
  M_FATAL,
  M_INIT,
  M_INIT_FAILED,
  M_JOBS,
  M_READY,
  M_STARTED,
  M_WITHDRAW,
  R_CANCELLED,
  R_ERROR,
  R_OK,
  RING,
  S_CANCELLED,
  S_QUEUED,
  S_RUNNING,
  S_STOP,
  SEQ_WRAP,
  type ToWorker,
} from "./protocol.ts";
import { errorEventMessage, type SerializedError, serializeError } from "./remote_error.ts";
import { takeTransfer } from "./transfer.ts";

// ---- the channel to the pool ---------------------------------------------------
//
// A Web Worker's scope (Deno, Bun, browsers; Deno's node:worker_threads too)
// posts and listens on `globalThis`; a Node worker_threads worker has no such
// scope and talks through `parentPort`. Bun's and Node's workers have no
// `close()`: `process.exit()` ends the worker alone there, after the
// messages already posted are delivered.

interface WorkerScope {
  close?(): void;
  postMessage(message: unknown, transfer?: Transferable[]): void;
  addEventListener(type: string, listener: (e: Event) => void): void;
}
interface NodePort {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  on(event: "message", listener: (data: unknown) => void): void;
}
interface NodeProcess {
  exit(code?: number): never;
  on(event: string, listener: (e: unknown) => void): void;
  getBuiltinModule?(id: string): unknown;
}
const scope = globalThis as unknown as WorkerScope;
const nodeProcess = (globalThis as { process?: NodeProcess }).process;
/** Node's worker_threads port, when there is no Web Worker scope. */
const nodePort: NodePort | null = typeof scope.postMessage === "function" ? null : (
  nodeProcess?.getBuiltinModule?.("node:worker_threads") as { parentPort: NodePort | null }
)?.parentPort ?? null;
const exitWorker = nodeProcess?.exit.bind(nodeProcess);
const realClose: () => void = typeof scope.close === "function"
  ? scope.close.bind(scope)
  : () => exitWorker!(0);
const rawPost = nodePort !== null
  ? nodePort.postMessage.bind(nodePort)
  : scope.postMessage.bind(scope);
/** The key of this worker's messages (see pool_worker.ts); 0 until M_INIT. */
let key = 0;
/** Posts to the pool with the key; `rawPost` is bound now, so a job patching the scope changes nothing. */
function post(message: FromWorkerBody, transfer?: Transferable[]): void {
  (message as FromWorker).k = key;
  rawPost(message, transfer ?? []);
}

/** A compiled or imported job function. */
interface Fn {
  fn: JobFunction;
  /** Sent as source: a ReferenceError most likely means it was a closure. */
  source: boolean;
  name: string;
}
type FnEntry = Fn | Promise<void> | { error: SerializedError };

const fns = new Map<number, FnEntry>();
/** Jobs that returned a promise or coroutine and have not settled. */
const running = new Map<number, JobContext>();
let slots: Int32Array = new Int32Array(RING);

// Replies wait here until the batch that produced them is done, or 1 ms of
// work has passed, so a long job's result is not held back by the next one.
const FLUSH_MS = 1;
let out: unknown[] = [];
/** Index in `out` of the current run's count, and the seq that would extend it. */
let runCount = 0;
let runNext = -1;
let outX: unknown[] | null = null;
let outTransfer: Transferable[] = [];
let busy = 0;
let started = 0;
let flushQueued = false;

// While an initializer or a module import is pending, later messages wait.
let paused = false;
const inbox: ToWorker[] = [];

// ---- liveness: the pool has no exit event, so the worker says goodbye ----

function goodbye(how: string): void {
  flush();
  post({ t: M_CLOSING, how });
  realClose();
}
/** Replaces `name` on the scope and on the prototype that defines it (a job may reach for either). */
function guard(name: string, fn: (...args: unknown[]) => void): void {
  (scope as unknown as Record<string, unknown>)[name] = fn;
  for (let p = Object.getPrototypeOf(scope); p !== null; p = Object.getPrototypeOf(p)) {
    if (Object.hasOwn(p, name)) {
      Object.defineProperty(p, name, { value: fn, configurable: true, writable: true });
    }
  }
}
function stolenChannel(): never {
  const call = nodePort === null ? "self.postMessage()" : "parentPort.postMessage()";
  die(
    new TypeError(
      `a job called ${call}: the worker's channel belongs to the pool; jobs return their results`,
    ),
  );
  throw new CancelledError(`${call} ended the worker`);
}
/** An exit function for jobs: the worker says goodbye, and the job does not go on. */
function exitFor(what: string): (code?: number) => never {
  return (code?: number): never => {
    goodbye(`${what}(${code ?? ""})`);
    // Like exit: the job does not go on. The pool already counts it as lost.
    throw new CancelledError(`${what}() was called in a worker`);
  };
}
if (nodePort === null) {
  guard("close", () => goodbye("self.close()"));
  guard("postMessage", stolenChannel);
} else {
  (nodePort as { postMessage: unknown }).postMessage = stolenChannel;
}
if (typeof Deno !== "undefined") {
  try {
    (Deno as unknown as { exit: (code?: number) => never }).exit = exitFor("Deno.exit");
  } catch {
    // A read-only Deno.exit: the pool then learns of the exit from its next timeout or shutdown.
  }
} else if (nodeProcess !== undefined) {
  // Bun and Node: process.exit() ends only this worker; say why first.
  nodeProcess.exit = exitFor("process.exit");
}

function die(error: unknown): void {
  flush();
  post({ t: M_FATAL, error: serializeError(error) });
  realClose();
}
if (nodePort === null) {
  scope.addEventListener("error", (e) => {
    e.preventDefault();
    const ev = e as ErrorEvent;
    die(ev.error ?? new Error(errorEventMessage(ev)));
  });
  scope.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    die((e as PromiseRejectionEvent).reason);
  });
} else {
  nodeProcess!.on("uncaughtException", die);
  nodeProcess!.on("unhandledRejection", die);
}

// ---- messages ---------------------------------------------------------------

// In a heap-limited worker (node:worker_threads), jobs start from a timer
// task: Deno 2.9 reports a heap exhausted there (ERR_WORKER_OUT_OF_MEMORY),
// but may freeze the worker instead when it happens inside a message event.
let deferJobs = false;

/**
 * The slot array is shared with the pool when the runtime allows it
 * (SharedArrayBuffer; in a browser, a cross-origin isolated page). Otherwise
 * it is this worker's own: the worker marks each job QUEUED as its batch
 * arrives and plays the pool's part in M_CANCEL (see `cancel`), so claiming
 * a job below is the same compareExchange either way.
 */
let shared = true;

function onMessage(m: ToWorker): void {
  if (m.t === M_CANCEL) cancel(m.seqs);
  else if (m.t === M_WITHDRAW) withdraw(m.seqs);
  else if (m.t === M_INIT) {
    deferJobs = m.maxHeapMb > 0;
    receive(m);
  } else {
    if (!shared && m.t === M_JOBS) markQueued(m.jobs);
    if (deferJobs) setTimeout(receive, 0, m);
    else receive(m);
  }
}
// A listener, not `onmessage`: a job assigning `self.onmessage` cannot unplug it.
if (nodePort === null) {
  scope.addEventListener("message", (e) => onMessage((e as MessageEvent<ToWorker>).data));
} else {
  nodePort.on("message", (data) => onMessage(data as ToWorker));
}

/** Without shared memory: the jobs of a batch (layout in protocol.ts) are QUEUED from now on. */
function markQueued(jobs: unknown[]): void {
  if (jobs.length === 0) return;
  let seq = jobs[0] as number;
  for (let p = 1; p < jobs.length;) {
    const argc = jobs[p + 2] as number;
    const count = jobs[p + 3] as number;
    for (let k = 0; k < count; k++) {
      slots[seq & (RING - 1)] = seq * 4 + S_QUEUED;
      seq = seq + 1 === SEQ_WRAP ? 0 : seq + 1;
    }
    p += 4 + count * argc;
  }
}

function receive(m: ToWorker): void {
  if (paused) inbox.push(m);
  else handle(m);
}

function handle(m: ToWorker): void {
  if (m.t === M_JOBS) {
    if (m.defs !== null) { for (const def of m.defs) define(def); }
    if (m.jobs.length > 0) runJobs(m.jobs, m.jobs[0] as number, 1);
  } else if (m.t === M_INIT) {
    key = m.k;
    shared = m.slots !== null;
    slots = m.slots !== null ? new Int32Array(m.slots) : new Int32Array(RING).fill(-1);
    init(m.init, m.initArgs);
  }
}

function resume(): void {
  if (deferJobs) setTimeout(drainInbox, 0);
  else drainInbox();
}

function drainInbox(): void {
  paused = false;
  while (!paused && inbox.length > 0) handle(inbox.shift()!);
}

function init(def: FnDef | null, args: unknown[]): void {
  if (def === null) {
    post({ t: M_READY });
    return;
  }
  paused = true;
  const failed = (error: SerializedError) => post({ t: M_INIT_FAILED, error });
  define(def);
  const run = () => {
    const entry = fns.get(def[0])!;
    if ("error" in entry) return failed(entry.error);
    const ctx = new JobContext();
    const fail = (e: unknown) => failed(jobError(e, entry as Fn, ctx));
    let r: unknown;
    try {
      r = (entry as Fn).fn.apply(ctx, args);
    } catch (e) {
      return fail(e);
    }
    settle(r, ctx).then(() => {
      post({ t: M_READY });
      resume();
    }, fail);
  };
  const entry = fns.get(def[0])!;
  if (entry instanceof Promise) entry.then(run);
  else run();
}

function define(def: FnDef): void {
  const id = def[0];
  if (def[1] === FN_SOURCE) {
    try {
      const fn = compileSource(def[2]);
      fns.set(id, { fn, source: true, name: describeFn(fn) });
    } catch (e) {
      fns.set(id, { error: serializeError(e) });
    }
    return;
  }
  const url = def[2];
  const name = def[3];
  fns.set(
    id,
    import(url).then(
      (mod: Record<string, unknown>) => {
        const fn = mod[name];
        if (typeof fn !== "function") {
          throw new TypeError(
            `module ${url} has no function export named ${JSON.stringify(name)} ` +
              `(found ${fn === undefined ? "nothing" : typeof fn})`,
          );
        }
        fns.set(id, { fn: fn as JobFunction, source: false, name: `${url}#${name}` });
      },
    ).catch((e) => {
      fns.set(id, { error: serializeError(e) });
    }),
  );
}

// ---- running jobs -----------------------------------------------------------

// The clock is read after every `stride` jobs: after each one while jobs are
// slow, every few dozen while they take microseconds (reading it costs about
// as much as such a job).
const STRIDE_MAX = 64;
const STRIDE_FAST_MS = 0.05;

/**
 * Runs the jobs of a batch from its run at `from`, the first having sequence
 * number `seq`. False if it stopped early, to go on later (a module still
 * loading, or a pause to read messages): whoever goes on drains the inbox.
 */
function runJobs(jobs: unknown[], seq: number, from: number): boolean {
  let mark = performance.now();
  let batchStart = mark;
  let stride = 1;
  let left = 1;
  for (let p = from; p < jobs.length;) {
    const fnId = jobs[p] as number;
    const flags = jobs[p + 1] as number;
    const argc = jobs[p + 2] as number;
    const count = jobs[p + 3] as number;
    const entry = fns.get(fnId)!;
    if (entry instanceof Promise) {
      // The module is still loading: continue this batch, then the inbox, once it has.
      paused = true;
      busy += performance.now() - mark;
      flush();
      const at = p;
      const first = seq;
      const go = () => {
        if (runJobs(jobs, first, at)) drainInbox();
      };
      entry.then(() => deferJobs ? setTimeout(go, 0) : go());
      return false;
    }
    const end = p + 4 + count * argc;
    for (let k = 0, a = p + 4; k < count; k++, a += argc) {
      const s = seq;
      seq = s + 1 === SEQ_WRAP ? 0 : s + 1;
      const base = s * 4;
      const slot = s & (RING - 1);
      // Cancelled while it waited here: the pool already settled its future.
      if (Atomics.compareExchange(slots, slot, base + S_QUEUED, base + S_RUNNING) !== base) {
        continue;
      }
      if (flags & J_REPORT_START) post({ t: M_STARTED, seq: s });
      if ("error" in entry) {
        reply(s, R_ERROR, entry.error);
        continue;
      }
      const ctx = new JobContext(slots, slot, base + S_STOP);
      const prev = enterJob(ctx);
      const fn = entry.fn;
      let r: unknown;
      let failed = false;
      try {
        if (flags & J_CHUNK) r = runChunk(entry, ctx, jobs[a] as unknown[]);
        else if (argc === 1) r = fn.call(ctx, jobs[a]);
        else if (argc === 0) r = fn.call(ctx);
        else if (argc === 2) r = fn.call(ctx, jobs[a], jobs[a + 1]);
        else r = fn.apply(ctx, jobs.slice(a, a + argc));
      } catch (e) {
        failed = true;
        r = e;
      }
      enterJob(prev);
      if (failed) {
        if (ctx._cancelReason !== undefined && isCancellation(r, ctx)) {
          reply(s, R_CANCELLED, null);
        } else reply(s, R_ERROR, jobError(r, entry, ctx));
      } else if (isThenable(r) || isCoroutine(r)) track(s, settle(r, ctx), entry, ctx);
      else reply(s, R_OK, r);
      started++;
      if (--left === 0) {
        const now = performance.now();
        const dt = now - mark;
        busy += dt;
        mark = now;
        stride = dt < STRIDE_FAST_MS ? Math.min(stride * 2, STRIDE_MAX) : 1;
        left = stride;
        if (now - batchStart >= FLUSH_MS) {
          flush();
          batchStart = now;
          // Without shared memory a cancel is a message, read only between
          // tasks: a long batch pauses here to let them in, and goes on
          // from the next job (a run's rest gets a header in place of what
          // it has consumed).
          if (!shared) {
            const rest = count - k - 1;
            const next = rest > 0 ? a + argc - 4 : end;
            if (next < jobs.length) {
              if (rest > 0) {
                jobs[next] = fnId;
                jobs[next + 1] = flags;
                jobs[next + 2] = argc;
                jobs[next + 3] = rest;
              }
              pauseThenRun(jobs, seq, next);
              return false;
            }
          }
        }
      }
    }
    p = end;
  }
  busy += performance.now() - mark;
  flush();
  return true;
}

/** Resumes a paused batch; one channel, made on first use (not a timer: no 4 ms clamp). */
let resumeBatch: (() => void) | null = null;
let pausePort: MessagePort | null = null;

function pauseThenRun(jobs: unknown[], seq: number, from: number): void {
  paused = true;
  resumeBatch = () => {
    if (runJobs(jobs, seq, from)) drainInbox();
  };
  if (pausePort === null) {
    const channel = new MessageChannel();
    channel.port1.onmessage = () => {
      const go = resumeBatch!;
      resumeBatch = null;
      go();
    };
    pausePort = channel.port2;
  }
  pausePort.postMessage(null);
}

function track(seq: number, p: Promise<unknown>, entry: Fn, ctx: JobContext): void {
  running.set(seq, ctx);
  p.then(
    (v) => {
      running.delete(seq);
      reply(seq, R_OK, v);
      queueFlush();
    },
    (e) => {
      running.delete(seq);
      if (ctx._cancelReason !== undefined && isCancellation(e, ctx)) {
        reply(seq, R_CANCELLED, null);
      } else {
        reply(seq, R_ERROR, jobError(e, entry, ctx));
      }
      queueFlush();
    },
  );
}

/** Runs `fn` on each item; failures are kept per item so the rest still run. */
function runChunk(
  entry: Fn,
  ctx: JobContext,
  items: unknown[],
): ChunkResult | Promise<ChunkResult> {
  const n = items.length;
  const r = new Array<unknown>(n);
  let e: unknown[] | null = null;
  let pending: Promise<void>[] | null = null;
  const fn = entry.fn;
  for (let k = 0; k < n; k++) {
    try {
      const v = fn.call(ctx, items[k]);
      if (isThenable(v) || isCoroutine(v)) {
        (pending ??= []).push(
          settle(v, ctx).then(
            (x) => {
              r[k] = x;
            },
            (err) => {
              (e ??= []).push(k, jobError(err, entry, ctx));
            },
          ),
        );
      } else {
        r[k] = v;
      }
    } catch (err) {
      (e ??= []).push(k, jobError(err, entry, ctx));
    }
  }
  if (pending === null) return { r, e };
  return Promise.all(pending).then(() => ({ r, e }));
}

/** A promise of what `r` produces: a thenable's value, a coroutine's result, or `r`. */
function settle(r: unknown, ctx: JobContext): Promise<unknown> {
  if (isCoroutine(r)) return runCoroutine(r, ctx);
  return Promise.resolve(r);
}

let coroutineRunner:
  | Promise<(coro: Generator<unknown, unknown, unknown>, ctx: JobContext) => Promise<unknown>>
  | null = null;

function runCoroutine(
  coro: Generator<unknown, unknown, unknown>,
  ctx: JobContext,
): Promise<unknown> {
  coroutineRunner ??= import("./coroutine_job.ts").then((m) => m.runCoroutineJob);
  return coroutineRunner.then((runJob) => runJob(coro, ctx));
}

/** Without shared memory, a job not started yet never will be; the pool learns it from the reply. */
function withdrawOne(seq: number): boolean {
  const base = seq * 4;
  if (
    Atomics.compareExchange(slots, seq & (RING - 1), base + S_QUEUED, base + S_CANCELLED) !== base
  ) {
    return false;
  }
  reply(seq, R_CANCELLED, null);
  queueFlush();
  return true;
}

/** M_WITHDRAW: the jobs of `seqs` that have not started are not to (running ones go on). */
function withdraw(seqs: number[]): void {
  for (const seq of seqs) withdrawOne(seq);
}

function cancel(seqs: number[]): void {
  for (const seq of seqs) {
    if (!shared) {
      // The pool's part, done here: a job not started yet never will be; a
      // running one is flagged for JobContext.cancelled.
      if (withdrawOne(seq)) continue;
      const base = seq * 4;
      Atomics.compareExchange(slots, seq & (RING - 1), base + S_RUNNING, base + S_STOP);
    }
    running.get(seq)?._abort(new CancelledError("the job was cancelled by its pool"));
  }
}

function jobError(e: unknown, entry: Fn, ctx: JobContext): SerializedError {
  const s = serializeError(e);
  if (entry.source && s.name === "ReferenceError" && ctx._cancelReason === undefined) {
    s.message += selfContainedHint(entry.name);
    if (s.stack !== undefined) {
      s.stack = s.stack.replace(/^ReferenceError: .*$/m, `ReferenceError: ${s.message}`);
    }
  }
  return s;
}

function isCancellation(e: unknown, ctx: JobContext): boolean {
  if (e === ctx._cancelReason) return true;
  const name = (e as Error | null)?.name;
  return name === "CancelledError" || name === "AbortError";
}

// ---- replies ------------------------------------------------------------------

function reply(seq: number, status: number, value: unknown): void {
  if (status !== R_OK) {
    (outX ??= []).push(seq, status, value);
    return;
  }
  if (seq === runNext && out.length > 0) {
    out.push(value);
    out[runCount] = (out[runCount] as number) + 1;
  } else {
    out.push(seq, 1, value);
    runCount = out.length - 2;
  }
  runNext = seq + 1 === SEQ_WRAP ? 0 : seq + 1;
  if (typeof value === "object" && value !== null) {
    const list = takeTransfer(value);
    if (list !== undefined) outTransfer.push(...list);
    else if ("r" in value && Array.isArray((value as ChunkResult).r)) {
      for (const x of (value as ChunkResult).r) {
        const l = takeTransfer(x);
        if (l !== undefined) outTransfer.push(...l);
      }
    }
  }
}

function queueFlush(): void {
  if (flushQueued) return;
  flushQueued = true;
  queueMicrotask(() => {
    flushQueued = false;
    flush();
  });
}

function flush(): void {
  if (out.length === 0 && outX === null) return;
  const r = out;
  const x = outX;
  const xfer = outTransfer;
  const msg: FromWorkerBody = { t: M_DONE, r, x, busy, n: started };
  out = [];
  outX = null;
  outTransfer = [];
  busy = 0;
  started = 0;
  try {
    post(msg, xfer);
  } catch {
    // One result does not clone: send them one by one so only its job fails.
    const one = (seq: number, status: number, value: unknown) => {
      const m: FromWorkerBody = status === R_OK
        ? { t: M_DONE, r: [seq, 1, value], x: null, busy: 0, n: 0 }
        : { t: M_DONE, r: [], x: [seq, status, value], busy: 0, n: 0 };
      try {
        post(m, xfer.filter((t) => holds(value, t)));
      } catch (e) {
        const err = serializeError(e);
        err.message = `the job's result could not be sent back to the pool: ${err.message}`;
        post({ t: M_DONE, r: [], x: [seq, R_ERROR, err], busy: 0, n: 0 });
      }
    };
    for (let i = 0; i < r.length;) {
      const first = r[i] as number;
      const count = r[i + 1] as number;
      for (let k = 0; k < count; k++) one((first + k) % SEQ_WRAP, R_OK, r[i + 2 + k]);
      i += 2 + count;
    }
    if (x !== null) {
      for (let i = 0; i < x.length; i += 3) one(x[i] as number, x[i + 1] as number, x[i + 2]);
    }
    if (msg.n > 0) post({ t: M_DONE, r: [], x: null, busy: msg.busy, n: msg.n });
  }
}

/** Whether `value` could hold transferable `x` (the only cheap check: identity or view). */
function holds(value: unknown, x: Transferable): boolean {
  if (value === x) return true;
  if (ArrayBuffer.isView(value)) return value.buffer === x;
  return typeof value === "object" && value !== null;
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === "object" && x !== null &&
    typeof (x as PromiseLike<unknown>).then === "function";
}

function isCoroutine(x: unknown): x is Generator<unknown, unknown, unknown> {
  return typeof x === "object" && x !== null &&
    typeof (x as Generator).next === "function" &&
    typeof (x as Generator).throw === "function" &&
    Object.prototype.toString.call(x) === "[object Generator]";
}
