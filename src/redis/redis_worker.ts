/**
 * `runWorker`: a worker process of a `RedisExecutor` queue.
 *
 * @module
 */
import type { Buffer } from "node:buffer";
import { ValueError } from "../errors.ts";
import type { Future } from "../future.ts";
import { compileSource, type JobFunction, workerFunction } from "../executor/function.ts";
import { QUEUED as LOCAL_QUEUED } from "../executor/job.ts";
import type { JobFuture } from "../executor/job.ts";
import { WorkerPoolExecutor } from "../executor/pool.ts";
import { FN_MODULE, FN_SOURCE, J_CHUNK, R_CANCELLED, R_ERROR, R_OK } from "../executor/protocol.ts";
import { serializeError } from "../executor/remote_error.ts";
import { describe } from "../util.ts";
import {
  checkQueue,
  checkUrl,
  closeConnection,
  openConnection,
  type Redis,
} from "./redis_connection.ts";
import {
  BATCH_FIELD,
  decode,
  encode,
  FINISH_SCRIPT,
  GROUP,
  HAND_BACK_SCRIPT,
  type JobBody,
  loadCodec,
  prefixOf,
  R_STARTED,
  REAP_SCRIPT,
  START_SCRIPT,
  TAKE_SCRIPT,
} from "./redis_protocol.ts";

/**
 * Options of {@linkcode runWorker}.
 *
 * @category Executors
 */
export interface RunWorkerOptions {
  /** The Redis server, as given to `RedisExecutor`. */
  url: string;
  /** The queue whose jobs this process runs. */
  queue: string;
  /** Jobs running at once, on a local `WorkerPoolExecutor`; default the machine's cores. */
  concurrency?: number;
  /** Stops the worker gracefully when aborted (as SIGTERM does). */
  signal?: AbortSignal;
  /** Stop on SIGINT and SIGTERM; default `true`. */
  handleSignals?: boolean;
  /** This process's name in Redis (unique per queue); default host, pid and a random suffix. */
  name?: string;
}

// A worker process's jobs. Invariants, true between any two turns:
//   - `held` maps a job id to a job this process started (its state word
//     names this process and the entry) and has not answered yet. Only
//     take() adds to it and answer(…, final) or drain()'s hand-back remove.
//   - Every held entry is in this consumer's pending list in Redis, and the
//     heartbeat refreshes its idle time at a quarter of the shortest
//     deadWorkerTimeoutMs among them, so no reaper takes it while we live.
//   - A job's answer and its entry's acknowledgement leave in the same
//     flush; an entry is acknowledged only after its answer was queued.
//   - held.size <= concurrency × factor (the window) whenever take() runs;
//     the jobs beyond `concurrency` wait in the local pool's queue.
//
// One job this process took from the stream, from its start until its
// answer is queued for Redis. `local` is the local pool's future;
// `handedBack` jobs were given back to the queue on a graceful stop and are
// not answered.
interface Held {
  id: string;
  client: string;
  entry: string;
  dw: number;
  tt: number;
  local: Future<unknown> | null;
  /** The local pool running it. */
  pool: WorkerPoolExecutor | null;
  stopAsked: boolean;
  handedBack: boolean;
}

const WINDOW_TARGET_MS = 20;
const MAX_FACTOR = 128;
// A started job's state word lives this long (it is "d" once answered, or
// cleared if the job is reaped or handed back).
const START_TTL_MS = 24 * 3600_000;
// The shortest idle time of an entry this worker's reaper looks at.
const WORKER_REAP_IDLE_MS = 1000;
// A worker process counts as alive this long after its last refresh (every second at most).
const LIVENESS_MS = 5000;

/**
 * Runs a worker process of a {@linkcode RedisExecutor} queue: takes jobs
 * from Redis and runs them on a local `WorkerPoolExecutor` with
 * `concurrency` workers, answers each job's client, refreshes the jobs it
 * holds so that Redis knows it is alive, and stops the jobs their clients
 * cancel. It reconnects by itself after Redis restarts.
 *
 * The promise resolves once the worker has stopped: on SIGINT or SIGTERM
 * (unless `handleSignals: false`) or when `signal` aborts. Stopping is
 * graceful: jobs not started yet go back to the queue for another worker,
 * running ones finish and are answered.
 *
 * The command line `deno run -A <aio>/worker.ts --url redis://… --queue NAME
 * [--concurrency N]` runs this.
 *
 * @example
 * ```ts ignore
 * import { runWorker } from "@aio/aio";
 * const stop = new AbortController();
 * const done = runWorker({ url: "redis://127.0.0.1:6379", queue: "pi", signal: stop.signal });
 * // … later
 * stop.abort();
 * await done;
 * ```
 *
 * @category Executors
 */
export function runWorker(options: RunWorkerOptions): Promise<void> {
  if (options === null || typeof options !== "object") {
    throw new TypeError(
      `runWorker() expects an options object with url and queue, got ${describe(options)}`,
    );
  }
  const url = checkUrl(options.url, "runWorker()");
  const queue = checkQueue(options.queue, "runWorker()");
  const concurrency = options.concurrency ?? (globalThis.navigator?.hardwareConcurrency || 2);
  if (typeof concurrency !== "number" || !Number.isInteger(concurrency) || concurrency < 1) {
    throw new ValueError(
      `runWorker(): concurrency must be an integer >= 1, got ${describe(concurrency)}`,
    );
  }
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new TypeError(
      `runWorker(): signal must be an AbortSignal, got ${describe(options.signal)}`,
    );
  }
  let name = options.name;
  if (name === undefined) {
    let host = "host";
    try {
      host = Deno.hostname();
    } catch {
      // No --allow-sys: the pid and suffix keep the name unique.
    }
    name = `${host}:${Deno.pid}:${crypto.randomUUID().slice(0, 6)}`;
  }
  const w = new RedisWorker(url, queue, concurrency, name);
  return w.run(options.signal, options.handleSignals ?? true);
}

/** @ignore The state of one running worker process; see runWorker. */
class RedisWorker {
  readonly url: string;
  readonly prefix: string;
  readonly key: string;
  readonly concurrency: number;
  readonly name: string;
  cmd: Redis | null = null;
  rd: Redis | null = null;
  sub: Redis | null = null;
  held: Map<string, Held> = new Map();
  pools: Map<string, WorkerPoolExecutor> = new Map();
  fns: Map<string, JobFunction> = new Map();
  /** Answers waiting to be written: per client, flat [job, status, value, …]. */
  answers: Map<string, { batch: unknown[]; tt: number }> = new Map();
  /** Entries to acknowledge and delete, with their state keys and ttl. */
  finished: { entry: string; id: string; tt: number }[] = [];
  flushQueued = false;
  flushing: Promise<void> = Promise.resolve();
  stopping = false;
  room: (() => void) | null = null;
  factor = 1;
  hbTimer: ReturnType<typeof setTimeout> | undefined = undefined;
  hbEvery = 1000;
  reapAt = 0;
  /** Stop requests that arrived before their job was registered here. */
  early: Set<string> = new Set();

  constructor(url: string, queue: string, concurrency: number, name: string) {
    this.url = url;
    this.prefix = prefixOf(queue);
    this.key = this.prefix + "jobs";
    this.concurrency = concurrency;
    this.name = name;
  }

  async run(signal: AbortSignal | undefined, handleSignals: boolean): Promise<void> {
    const stop = () => this.stop();
    const sigs: Deno.Signal[] = handleSignals ? ["SIGINT", "SIGTERM"] : [];
    for (const s of sigs) Deno.addSignalListener(s, stop);
    signal?.addEventListener("abort", stop);
    try {
      if (signal?.aborted) return;
      await loadCodec();
      this.cmd = await openConnection(this.url, `aio-worker-${this.name}`);
      this.cmd.defineCommand("aioTake", { numberOfKeys: 1, lua: TAKE_SCRIPT });
      this.rd = await openConnection(this.url, `aio-worker-${this.name}-read`);
      this.sub = await openConnection(this.url, `aio-worker-${this.name}-cancel`);
      this.sub.on("message", (_ch: string, msg: string) => this.onStopRequest(msg));
      await this.sub.subscribe(this.prefix + "cancel");
      await this.ensureGroup();
      await this.cmd.zadd(this.prefix + "workers", Date.now() + LIVENESS_MS, this.name);
      this.heartbeat();
      await this.readLoop();
      await this.drain();
    } finally {
      for (const s of sigs) Deno.removeSignalListener(s, stop);
      signal?.removeEventListener("abort", stop);
      this.stopping = true;
      if (this.hbTimer !== undefined) clearTimeout(this.hbTimer);
      await Promise.all([...this.pools.values()].map((p) => p.shutdown({ wait: true })));
      if (this.cmd !== null) {
        // Bounded: with Redis away, the entry expires by itself (LIVENESS_MS).
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          this.cmd.zrem(this.prefix + "workers", this.name).catch(() => {}),
          new Promise((r) => timer = setTimeout(r, 1000)),
        ]);
        clearTimeout(timer);
      }
      for (const r of [this.sub, this.rd]) if (r !== null) await closeConnection(r, true);
      if (this.cmd !== null) await closeConnection(this.cmd);
    }
  }

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.room?.();
    // Ends the blocking read at once (a connection still connecting is
    // closed by run(); the read loop sees `stopping` before reading).
    if (this.rd !== null && this.rd.status === "ready") this.rd.disconnect();
  }

  async ensureGroup(): Promise<void> {
    await this.cmd!.xgroup("CREATE", this.key, GROUP, "0", "MKSTREAM").catch((e: Error) => {
      if (!/BUSYGROUP/.test(e.message)) throw e;
    });
  }

  // ---- taking jobs --------------------------------------------------------------

  async readLoop(): Promise<void> {
    const rd = this.rd!;
    while (!this.stopping) {
      const window = this.concurrency * this.factor;
      const room = window - this.held.size;
      // Refill by halves: taking each freed slot alone would cost a round
      // trip per tiny job.
      if (room <= 0 || this.held.size > 0 && 2 * room < window) {
        await new Promise<void>((resolve) => this.room = resolve);
        this.room = null;
        continue;
      }
      // Entries waiting: taken and started in one call.
      let quick: unknown;
      try {
        // deno-lint-ignore no-explicit-any
        quick = await (this.cmd as any).aioTakeBuffer(
          this.key,
          this.name,
          room,
          this.prefix,
          String(START_TTL_MS),
        );
      } catch (e) {
        if (this.stopping) break;
        if (/NOGROUP/.test((e as Error).message)) await this.ensureGroup().catch(() => {});
        else await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (quick !== null) {
        const rows = quick as [Buffer, Buffer[], number][];
        await this.take(rows.map((r) => [r[0], r[1]]), rows.map((r) => r[2]));
        continue;
      }
      // None: wait for one.
      let res: unknown;
      try {
        res = await rd.callBuffer(
          "XREADGROUP",
          "GROUP",
          GROUP,
          this.name,
          "COUNT",
          room,
          "BLOCK",
          1000,
          "STREAMS",
          this.key,
          ">",
        );
      } catch (e) {
        if (this.stopping) break;
        // Redis came back empty (no persistence): the group is gone.
        if (/NOGROUP/.test((e as Error).message)) await this.ensureGroup().catch(() => {});
        else await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      if (res === null) continue;
      const entries = (res as [Buffer, [Buffer, Buffer[]][]][])[0][1];
      await this.take(entries);
    }
  }

  /**
   * Starts the entries read (those the start script gives us, or gave
   * already: `started`) and answers malformed ones.
   */
  async take(entries: [Buffer, Buffer[]][], started?: number[]): Promise<void> {
    const cand: { held: Held; body: unknown }[] = [];
    for (const [idBuf, raw] of entries) {
      const entry = idBuf.toString();
      const f: Record<string, Buffer> = {};
      for (let i = 0; i + 1 < raw.length; i += 2) f[raw[i].toString()] = raw[i + 1];
      const id = f.j?.toString();
      const client = f.c?.toString();
      const tt = Number(f.tt?.toString() ?? "60000") || 60000;
      if (id === undefined || client === undefined || !/^[\w.:-]+$/.test(id + client)) {
        // Not ours to answer: nobody would read it.
        console.error(`aio worker: dropped a foreign entry ${entry} on ${this.key}`);
        this.finished.push({ entry, id: "", tt });
        this.scheduleFlush();
        continue;
      }
      const held: Held = {
        id,
        client,
        entry,
        dw: Number(f.dw?.toString()) || 5000,
        tt,
        local: null,
        pool: null,
        stopAsked: false,
        handedBack: false,
      };
      let body: unknown;
      try {
        body = f.m === undefined ? undefined : decode(f.m);
      } catch (e) {
        body = e;
      }
      cand.push({ held, body });
    }
    if (cand.length === 0) return;
    let ok: number[];
    if (started !== undefined) {
      const byEntry = new Map(entries.map((e, i) => [e[0].toString(), started[i]]));
      ok = cand.map((c) => byEntry.get(c.held.entry) ?? 0);
    } else {
      try {
        ok = await this.cmd!.eval(
          START_SCRIPT,
          cand.length,
          ...cand.map((c) => this.prefix + "s:" + c.held.id),
          this.name,
          String(START_TTL_MS),
          ...cand.map((c) => c.held.entry),
        ) as number[];
      } catch {
        // Redis went away: the entries stay pending and are reaped or redelivered.
        return;
      }
    }
    for (let i = 0; i < cand.length; i++) {
      const { held, body } = cand[i];
      if (ok[i] !== 1) {
        // Cancelled before it started, or a copy of a job already started.
        this.finished.push({ entry: held.entry, id: "", tt: held.tt });
        continue;
      }
      this.held.set(held.id, held);
      if (held.dw / 4 < this.hbEvery && this.hbTimer !== undefined) {
        // Its client waits less than the next refresh would take: refresh sooner.
        clearTimeout(this.hbTimer);
        this.heartbeat();
      }
      this.answer(held, R_STARTED, null, false);
      const problem = checkBody(body);
      if (problem !== null) {
        this.answer(
          held,
          R_ERROR,
          serializeError(
            new TypeError(`malformed job message on queue ${this.key}: ${problem}`),
          ),
          true,
        );
        continue;
      }
      this.start(held, body as JobBody);
    }
    this.scheduleFlush();
  }

  /** Hands the job to the local pool. */
  start(held: Held, body: JobBody): void {
    let fut: Future<unknown>;
    try {
      const pool = held.pool = this.pool(body.cm, body.g);
      const fn = this.fn(body.f);
      if (body.fl & J_CHUNK) {
        fut = pool._submit(fn, body.x[0] as unknown[], J_CHUNK, body.t || Infinity, "map");
      } else if (body.t > 0) {
        fut = pool.submitWith({ timeoutMs: body.t }, fn, ...body.x);
      } else fut = pool.submit(fn, ...body.x);
    } catch (e) {
      this.answer(held, R_ERROR, serializeError(e), true);
      return;
    }
    held.local = fut;
    if (held.stopAsked || this.early.delete(held.id)) fut.cancel();
    fut.addDoneCallback(() => this.onLocalDone(held, fut));
  }

  onLocalDone(held: Held, fut: Future<unknown>): void {
    if (held.handedBack) return;
    // Jobs taken beyond the free slots wait in the local pool's queue: take
    // about WINDOW_TARGET_MS of work per slot, by the pool's estimate of a
    // job's run time. Tiny jobs then need fewer round trips each; long ones
    // stay in Redis, where an idle worker process can take them.
    const perJobMs = held.pool?._dispatch.perJobMs ?? 0;
    this.factor = perJobMs > 0
      ? Math.max(1, Math.min(MAX_FACTOR, Math.floor(WINDOW_TARGET_MS / perJobMs)))
      : 1;
    if (fut.cancelled()) this.answer(held, R_CANCELLED, null, true);
    else {
      const e = fut.exception();
      if (e !== null && e !== undefined) this.answer(held, R_ERROR, serializeError(e), true);
      else this.answer(held, R_OK, fut.result(), true);
    }
    this.scheduleFlush();
  }

  pool(mode: "signal" | "terminate", graceMs: number): WorkerPoolExecutor {
    const k = `${mode}:${graceMs}`;
    let p = this.pools.get(k);
    if (p === undefined) {
      p = new WorkerPoolExecutor({
        maxWorkers: this.concurrency,
        cancelRunning: mode,
        cancelGraceMs: graceMs,
        idleTimeoutMs: 30_000,
        name: `aio-redis-${this.name}`,
      });
      this.pools.set(k, p);
    }
    return p;
  }

  fn(def: JobBody["f"]): JobFunction {
    if (def[1] === FN_SOURCE) {
      let fn = this.fns.get(def[2]);
      if (fn === undefined) {
        fn = compileSource(def[2]);
        if (this.fns.size > 1000) this.fns.clear();
        this.fns.set(def[2], fn);
      }
      return fn;
    }
    return workerFunction(def[2], def[3]) as unknown as JobFunction;
  }

  // ---- answering ----------------------------------------------------------------

  /** Queues an answer; `final` ones also acknowledge the entry and free the slot. */
  answer(held: Held, status: number, value: unknown, final: boolean): void {
    let a = this.answers.get(held.client);
    if (a === undefined) this.answers.set(held.client, a = { batch: [], tt: held.tt });
    a.batch.push(held.id, status, value);
    if (final) {
      this.held.delete(held.id);
      this.finished.push({ entry: held.entry, id: held.id, tt: held.tt });
      this.room?.();
    }
  }

  scheduleFlush(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushing = this.flushing.then(() => this.flush());
    });
  }

  /** Writes the queued answers and acknowledgements in one pipeline. */
  async flush(): Promise<void> {
    this.flushQueued = false;

    const answers = this.answers;
    const finished = this.finished;
    if (answers.size === 0 && finished.length === 0) return;
    this.answers = new Map();
    this.finished = [];
    const p = this.cmd!.pipeline();
    for (const [client, { batch, tt }] of answers) {
      const rk = this.prefix + "r:" + client;
      p.xadd(rk, "*", BATCH_FIELD, encodeBatch(batch));
      p.pexpire(rk, tt);
    }
    if (finished.length > 0) {
      const args: string[] = [this.prefix];
      for (const f of finished) args.push(f.entry, f.id, String(f.tt));
      p.eval(FINISH_SCRIPT, 1, this.key, ...args);
    }
    // Commands wait through a Redis restart (the connection queues them).
    await p.exec().catch(() => {});
  }

  // ---- liveness and stopping jobs ---------------------------------------------------

  /**
   * Refreshes the idle time of every entry this process holds, often enough
   * that no client's deadWorkerTimeoutMs passes, and its own liveness;
   * every few seconds also reaps entries of dead workers.
   */
  heartbeat(): void {
    let minDw = 4000;
    for (const h of this.held.values()) if (h.dw < minDw) minDw = h.dw;
    const every = this.hbEvery = Math.max(20, Math.min(1000, minDw / 4));
    this.hbTimer = setTimeout(async () => {
      this.hbTimer = undefined;
      const r = this.cmd!;
      const entries = [...this.held.values()].map((h) => h.entry);
      const p = r.pipeline();
      if (entries.length > 0) p.xclaim(this.key, GROUP, this.name, 0, ...entries, "JUSTID");
      p.zadd(this.prefix + "workers", Date.now() + LIVENESS_MS, this.name);
      p.zremrangebyscore(this.prefix + "workers", "-inf", Date.now());
      const now = Date.now();
      if (now >= this.reapAt) {
        this.reapAt = now + 1000;
        // A backup for clients that reap too (they do so at their own timeouts).
        p.eval(
          REAP_SCRIPT,
          1,
          this.key,
          this.prefix,
          String(WORKER_REAP_IDLE_MS),
          String(now),
          "100",
        );
      }
      await p.exec().catch(() => {});
      if (!this.stopping || this.held.size > 0) this.heartbeat();
    }, every);
  }

  onStopRequest(msg: string): void {
    const [id, _mode] = msg.split(" ");
    const held = this.held.get(id);
    if (held === undefined) {
      // Its start script may have run but our reply not arrived yet.
      if (this.early.size > 10_000) this.early.clear();
      this.early.add(id);
      return;
    }
    held.stopAsked = true;
    held.local?.cancel();
  }

  /**
   * After the read loop: jobs the local pool has not started go back to
   * the queue; running ones finish and are answered.
   */
  async drain(): Promise<void> {
    const back: Held[] = [];
    for (const h of this.held.values()) {
      const local = h.local as JobFuture<unknown> | null;
      if (local !== null && !local.done() && local._jstate === LOCAL_QUEUED) {
        h.handedBack = true;
        local.cancel();
        back.push(h);
      }
    }
    for (const h of back) this.held.delete(h.id);
    if (back.length > 0) {
      const p = this.cmd!.pipeline();
      for (const h of back) {
        p.eval(HAND_BACK_SCRIPT, 2, this.key, this.prefix + "s:" + h.id, h.entry);
      }
      await p.exec().catch(() => {});
    }
    const running = [...this.held.values()].map((h) => h.local).filter((f) => f !== null);
    await Promise.allSettled(running.map((f) => new Promise((r) => f!.addDoneCallback(r))));
    await new Promise((r) => queueMicrotask(() => r(null)));
    await this.flushing;
    await this.flush();
  }
}

/** Why a decoded job body cannot run, or null. */
function checkBody(b: unknown): string | null {
  if (b instanceof Error) return `its body does not decode (${b.message})`;
  if (b === null || typeof b !== "object") return "it has no body (field m)";
  const body = b as Partial<JobBody>;
  const f = body.f;
  if (
    !Array.isArray(f) ||
    !(f[1] === FN_SOURCE && typeof f[2] === "string" ||
      f[1] === FN_MODULE && typeof f[2] === "string" && typeof f[3] === "string")
  ) return "its function (f) is neither source text nor a module export";
  if (!Array.isArray(body.x)) return "its arguments (x) are not an array";
  if (typeof body.fl !== "number" || typeof body.t !== "number") return "fl or t is not a number";
  if ((body.fl & J_CHUNK) && !Array.isArray(body.x[0])) return "a chunk's items are not an array";
  if (body.cm !== "signal" && body.cm !== "terminate") return "cm is not signal or terminate";
  if (typeof body.g !== "number") return "g is not a number";
  return null;
}

/** One answer batch; a value v8 cannot encode becomes that job's error. */
function encodeBatch(batch: unknown[]): Buffer {
  try {
    return encode(batch);
  } catch {
    const out: unknown[] = [];
    for (let i = 0; i < batch.length; i += 3) {
      try {
        encode(batch[i + 2]);
        out.push(batch[i], batch[i + 1], batch[i + 2]);
      } catch (e) {
        out.push(batch[i], R_ERROR, serializeError(e));
      }
    }
    return encode(out);
  }
}
