// The chaos driver for WorkerPoolExecutor, shared by tests/executor_chaos_test.ts
// (a CI-sized run) and scripts/chaos_soak.ts (minutes of it).
//
// Each iteration is a plan drawn from a PRNG seeded by (seed, iteration)
// alone, then executed against the current pool: a few submits of random
// job kinds (values, coroutines, errors, jobs that exit, close, hang, spin or
// post garbage to the parent), cancels at random moments, now and then a
// `map`, a `shutdown` in the middle, or a new pool with other options. After
// each iteration every future must have settled within the deadline with an
// outcome its job allows, and the pool's counts must add up. Plans depend
// on nothing that happened, so `AIO_CHAOS_SEED` and the iteration number
// name a failing plan exactly; timing, of course, is not replayed.
//
// What an outcome may be, per job (see `judge`):
// - a value only if the job returns one, and then exactly its token;
// - its own error (name and token) for a throwing job;
// - `TimeoutError` only if it was submitted with `timeoutMs`;
// - `BrokenWorkerError` for a job that kills its worker (exit, close, a
//   garbage message), and for any job of a pool where something could kill
//   a worker (a hostile job, a timeout, a cancel with "terminate");
// - cancelled only after `cancel()` or `shutdown({ cancelFutures: true })`,
//   and always when `cancel()` returned true.

import {
  BrokenWorkerError,
  type Future,
  type JobFunction,
  RuntimeError,
  TimeoutError,
  workerFunction,
  WorkerPoolExecutor,
} from "../mod.ts";

// ---- the seeded PRNG ----------------------------------------------------------

/** mulberry32: a fast 32-bit PRNG; numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The seed of one iteration's PRNG: (seed, iteration) mixed (murmur3's finalizer). */
function iterationSeed(seed: number, iteration: number): number {
  let h = (seed ^ Math.imul(iteration + 1, 0x9e3779b1)) | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
}

class Rng {
  readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
  /** One of `weights`' keys, in proportion to its weight. */
  weighted<K extends string>(weights: Partial<Record<K, number>>): K {
    let total = 0;
    for (const k in weights) total += weights[k]!;
    let x = this.next() * total;
    let last: K | undefined;
    for (const k in weights) {
      last = k;
      x -= weights[k]!;
      if (x < 0) return k;
    }
    return last!;
  }
}

// ---- what can be switched on and off (AIO_CHAOS_KINDS) --------------------------

/** Job kinds. */
export const JOB_KINDS = [
  "value", // a self-contained function returning its token (sync, async, or the initializer's state)
  "module", // a workerFunction returning its token
  "coro", // a coroutine (aio sleep in a module, or a self-contained function* that yields)
  "throw", // throws or rejects a RangeError naming its token
  "finish", // finishes after a few ms; usually cancelled right around then
  "coop", // waits for cancellation and honours it (cancel or timeout always planned)
  "spin", // blocks its worker 30-120 ms ignoring its signal
  "hang", // never settles, ignores its signal (always with timeoutMs)
  "exit", // Deno.exit(3)
  "close", // self.close()
  "null", // self.postMessage(null)
  "undefined", // self.postMessage(undefined)
  "forged", // posts a message shaped like a result reply
] as const;
export type JobKind = typeof JOB_KINDS[number];

/** Pool-level hostility and driver actions, switchable like job kinds. */
export const OTHER_KINDS = [
  "initthrow", // a pool whose initializer throws
  "initexit", // a pool whose initializer calls Deno.exit
  "cancel", // cancel() at random moments
  "timeout", // submitWith({ timeoutMs }) on jobs that do not need it
  "map", // pool.map now and then
  "shutdown", // shutdown({ wait, cancelFutures }) in the middle of an iteration
] as const;
export type OtherKind = typeof OTHER_KINDS[number];
export type Kind = JobKind | OtherKind;
export const ALL_KINDS: readonly Kind[] = [...JOB_KINDS, ...OTHER_KINDS];

/** Kinds that attack the pool rather than use it. */
export const HOSTILE_KINDS: ReadonlySet<Kind> = new Set<Kind>([
  "spin",
  "hang",
  "exit",
  "close",
  "null",
  "undefined",
  "forged",
  "initthrow",
  "initexit",
]);

/**
 * Parses `AIO_CHAOS_KINDS`: a comma list of kinds to use (`value,coro,exit`),
 * or of kinds to leave out of all (`-null,-undefined`). Empty: all.
 */
export function parseKinds(spec: string | undefined): Set<Kind> {
  const words = (spec ?? "").split(",").map((w) => w.trim()).filter((w) => w !== "");
  if (words.length === 0) return new Set(ALL_KINDS);
  const excluding = words.every((w) => w.startsWith("-"));
  if (!excluding && words.some((w) => w.startsWith("-"))) {
    throw new TypeError(`AIO_CHAOS_KINDS: either list kinds or exclude them (-kind), not both`);
  }
  const set = new Set<Kind>(excluding ? ALL_KINDS : []);
  for (const w of words) {
    const name = (excluding ? w.slice(1) : w) as Kind;
    if (!ALL_KINDS.includes(name)) {
      throw new TypeError(
        `AIO_CHAOS_KINDS: unknown kind ${JSON.stringify(name)}; known: ${ALL_KINDS.join(", ")}`,
      );
    }
    if (excluding) set.delete(name);
    else set.add(name);
  }
  return set;
}

// ---- options ------------------------------------------------------------------------

export interface ChaosOptions {
  /** The run's seed (32 bits). */
  seed: number;
  /** Stop starting iterations after this long (ms)… */
  budgetMs: number;
  /** …but not before this many have run. */
  minIterations: number;
  /** Never more than this many. */
  maxIterations: number;
  /** Start at this iteration (the plans before it are drawn, not run). */
  from: number;
  /** What a plan may contain. */
  kinds: ReadonlySet<Kind>;
  /** How long a future, a map or `shutdown()` may take to settle (ms). */
  deadlineMs: number;
  /** Each iteration's plan and outcomes, for debugging. */
  verbose: boolean;
  /** Where progress and verbose lines go. */
  log: (line: string) => void;
  /** Called every `progressMs` with the report so far (the soak script prints it). */
  onProgress?: (report: ChaosReport) => void;
  progressMs?: number;
}

function envOf(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no --allow-env: defaults
  }
}

function parseNumber(name: string, v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !Number.isFinite(n)) {
    throw new TypeError(`${name} must be a number, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** A random 32-bit seed. */
export function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0];
}

/** The seed as the environment variable that replays it. */
export function seedText(seed: number): string {
  return `0x${(seed >>> 0).toString(16).padStart(8, "0")}`;
}

/** The environment that draws the same plans: the seed, and the kinds if not all. */
function replayEnv(opts: ChaosOptions): string {
  const kinds = ALL_KINDS.filter((k) => opts.kinds.has(k));
  const left = ALL_KINDS.filter((k) => !opts.kinds.has(k));
  const list = left.length === 0
    ? ""
    : left.length < kinds.length
    ? left.map((k) => `-${k}`).join(",")
    : kinds.join(",");
  return `AIO_CHAOS_SEED=${seedText(opts.seed)}` + (list === "" ? "" : ` AIO_CHAOS_KINDS=${list}`);
}

/**
 * Options from `AIO_CHAOS_SEED` (decimal or 0x…), `AIO_CHAOS_MS`,
 * `AIO_CHAOS_KINDS`, `AIO_CHAOS_FROM`, `AIO_CHAOS_ITERATIONS` (the most to
 * run) and `AIO_CHAOS_VERBOSE`, over `defaults`.
 */
export function chaosOptionsFromEnv(defaults: Partial<ChaosOptions> = {}): ChaosOptions {
  const seedEnv = envOf("AIO_CHAOS_SEED");
  const msEnv = envOf("AIO_CHAOS_MS");
  const fromEnv = envOf("AIO_CHAOS_FROM");
  const itEnv = envOf("AIO_CHAOS_ITERATIONS");
  const verbose = envOf("AIO_CHAOS_VERBOSE");
  return {
    seed: seedEnv !== undefined
      ? parseNumber("AIO_CHAOS_SEED", seedEnv) >>> 0
      : defaults.seed ?? randomSeed(),
    budgetMs: msEnv !== undefined
      ? parseNumber("AIO_CHAOS_MS", msEnv)
      : defaults.budgetMs ?? 35_000,
    minIterations: defaults.minIterations ?? 200,
    maxIterations: itEnv !== undefined
      ? parseNumber("AIO_CHAOS_ITERATIONS", itEnv)
      : defaults.maxIterations ?? 5000,
    from: fromEnv !== undefined ? parseNumber("AIO_CHAOS_FROM", fromEnv) : defaults.from ?? 0,
    kinds: envOf("AIO_CHAOS_KINDS") !== undefined
      ? parseKinds(envOf("AIO_CHAOS_KINDS"))
      : defaults.kinds ?? new Set(ALL_KINDS),
    deadlineMs: defaults.deadlineMs ?? 10_000,
    verbose: verbose !== undefined ? verbose !== "" && verbose !== "0" : defaults.verbose ?? false,
    log: defaults.log ?? ((line) => console.log(line)),
    onProgress: defaults.onProgress,
    progressMs: defaults.progressMs,
  };
}

// ---- plans ----------------------------------------------------------------------------

type Init = "none" | "ok" | "throw" | "exit";

interface PoolPlan {
  /** Pools are numbered from 1 in a run. */
  id: number;
  options: {
    maxWorkers: number;
    minWorkers: number;
    idleTimeoutMs: number;
    cancelRunning: "signal" | "terminate";
    cancelGraceMs: number;
  };
  init: Init;
  /** No hostile jobs and no timeouts: nothing may break a worker. */
  benign: boolean;
  /** Iterations before it is shut down (unless a planned shutdown comes first). */
  lifetime: number;
}

/** When a planned cancel happens. */
type CancelAt =
  | "now" // right after submit: before the job is dispatched
  | "micro" // after a microtask: dispatched, maybe not started
  | "macro" // after a macrotask: in flight
  | "started" // once the job says it started: while it runs
  | "end" // when the job should be finishing (its ms ± jitter)
  | "later"; // after a random few ms

type Gap = "none" | "micro" | "macro";

interface JobPlan {
  /** Position in the iteration. */
  n: number;
  kind: JobKind;
  variant: string;
  /** The job's own duration parameter, where it has one. */
  ms: number;
  timeoutMs: number | undefined;
  cancel: CancelAt | undefined;
  /** For "later": the delay; for "end": the jitter around `ms`. */
  cancelMs: number;
  /** What happens before it is submitted. */
  gap: Gap;
  /** For "forged": the sequence numbers forged. */
  forge: [number, number];
}

interface MapPlan {
  variant: "source" | "module";
  items: number[];
  chunksize: number;
  /** Leave the loop after this many results (then the rest is cancelled). */
  breakAfter: number | null;
  /** Started after this many jobs were submitted. */
  at: number;
}

interface ShutdownPlan {
  /** Called after this many jobs were submitted. */
  at: number;
  gap: Gap | "ms";
  ms: number;
  wait: boolean;
  cancelFutures: boolean;
}

interface IterationPlan {
  iteration: number;
  /** Set when this iteration starts a new pool. */
  newPool: PoolPlan | null;
  pool: PoolPlan;
  jobs: JobPlan[];
  map: MapPlan | null;
  shutdown: ShutdownPlan | null;
  /** Shut the pool down (wait: true) after the iteration and check it is empty. */
  retire: boolean;
}

/** Draws the plans, in order; each from its iteration's PRNG and the pool it runs on. */
class Planner {
  pool: PoolPlan | null = null;
  left = 0;
  pools = 0;
  constructor(readonly seed: number, readonly kinds: ReadonlySet<Kind>) {}

  has(k: Kind): boolean {
    return this.kinds.has(k);
  }

  plan(iteration: number): IterationPlan {
    const rng = new Rng(iterationSeed(this.seed, iteration));
    let newPool: PoolPlan | null = null;
    if (this.pool === null) {
      newPool = this.pool = this.drawPool(rng);
      this.left = this.pool.lifetime;
    }
    const pool = this.pool;
    const jobs: JobPlan[] = [];
    const n = pool.init === "throw" || pool.init === "exit"
      ? rng.int(1, 3)
      : Number(rng.weighted({ "1": 3, "2": 4, "3": 3, "4": 2, "5": 1 }));
    for (let i = 0; i < n; i++) jobs.push(this.drawJob(rng, pool, i));
    const map = this.has("map") && rng.chance(0.08)
      ? {
        variant: rng.pick(["source", "module"] as const),
        items: Array.from({ length: rng.int(1, 16) }, () => rng.int(0, 1000)),
        chunksize: rng.int(1, 4),
        breakAfter: rng.chance(0.25) ? rng.int(0, 6) : null,
        at: rng.int(0, n),
      }
      : null;
    if (map !== null && rng.chance(0.2)) {
      map.items[rng.int(0, map.items.length - 1)] = -rng.int(1, 1000);
    }
    const shutdown = this.has("shutdown") && rng.chance(0.05)
      ? {
        at: rng.int(0, n),
        gap: rng.pick(["none", "micro", "macro", "ms"] as const),
        ms: rng.int(0, 30),
        wait: rng.chance(0.5),
        cancelFutures: rng.chance(0.5),
      }
      : null;
    const retire = shutdown !== null || --this.left <= 0;
    if (retire) this.pool = null;
    return { iteration, newPool, pool, jobs, map, shutdown, retire };
  }

  drawPool(rng: Rng): PoolPlan {
    const maxWorkers = rng.int(1, 3);
    const hostileInit = [
      ...(this.has("initthrow") ? ["throw" as const] : []),
      ...(this.has("initexit") ? ["exit" as const] : []),
    ];
    let init: Init = rng.chance(0.15) ? "ok" : "none";
    if (hostileInit.length > 0 && rng.chance(0.06)) init = rng.pick(hostileInit);
    const broken = init === "throw" || init === "exit";
    return {
      id: ++this.pools,
      options: {
        maxWorkers,
        minWorkers: rng.chance(0.15) ? 1 : 0,
        idleTimeoutMs: rng.pick([10, 50, 200, 1000, 5000]),
        cancelRunning: rng.chance(0.5) ? "signal" : "terminate",
        cancelGraceMs: rng.int(20, 100),
      },
      init,
      benign: !broken && rng.chance(0.3),
      lifetime: broken ? 1 : rng.int(3, 60),
    };
  }

  drawJob(rng: Rng, pool: PoolPlan, n: number): JobPlan {
    const weights: Partial<Record<JobKind, number>> = {
      value: 24,
      module: 12,
      coro: 12,
      throw: 8,
      finish: 8,
      coop: 5,
    };
    if (!pool.benign) {
      Object.assign(weights, {
        spin: 1.5,
        hang: 1.5,
        exit: 1.5,
        close: 1.5,
        null: 0.7,
        undefined: 0.7,
        forged: 1.5,
      });
    }
    for (const k of JOB_KINDS) if (!this.has(k)) delete weights[k];
    if (Object.keys(weights).length === 0) weights.value = 1; // nothing left: values
    const kind = rng.weighted(weights);
    let variant = "module";
    let ms = 0;
    let timeoutMs: number | undefined;
    let cancel: CancelAt | undefined;
    const canCancel = this.has("cancel");
    const canTimeout = this.has("timeout") && !pool.benign;
    switch (kind) {
      case "value":
        variant = rng.pick(pool.init === "ok" ? ["sync", "async", "init"] : ["sync", "async"]);
        ms = rng.int(0, 5);
        break;
      case "module":
        variant = rng.pick(["sync", "async"]);
        ms = rng.int(0, 5);
        break;
      case "coro":
        variant = rng.pick(["sleep", "yield"]);
        ms = variant === "sleep" ? rng.int(0, 10) : rng.int(0, 20);
        break;
      case "throw":
        variant = rng.pick(["sync", "async", "coro"]);
        ms = rng.int(0, 5);
        break;
      case "finish":
        variant = rng.pick(["timer", "spin"]);
        ms = rng.int(0, 8);
        if (canCancel && rng.chance(0.8)) cancel = "end";
        break;
      case "coop":
        variant = rng.pick(["signal", "coro"]);
        break;
      case "spin":
        variant = rng.pick(["module", "source"]);
        ms = rng.int(30, 120);
        if (canTimeout && rng.chance(0.4)) timeoutMs = rng.int(10, ms);
        break;
      case "hang":
        variant = rng.pick(["promise", "coro", "source"]);
        timeoutMs = rng.int(20, 80);
        break;
      case "exit":
      case "close":
        variant = rng.pick(["module", "source"]);
        break;
      case "null":
      case "undefined":
      case "forged":
        variant = rng.pick(["module", "source"]);
        break;
    }
    if (timeoutMs === undefined && canTimeout && kind !== "coop" && rng.chance(0.1)) {
      timeoutMs = rng.int(5, 200);
    }
    if (cancel === undefined && canCancel && rng.chance(0.35)) {
      cancel = rng.weighted<CancelAt>({
        now: 20,
        micro: 15,
        macro: 15,
        started: 25,
        end: 10,
        later: 15,
      });
    }
    if (kind === "coop") {
      // It stops only when asked: something must ask (a timeout if cancels are off).
      if (cancel === undefined && canCancel && (pool.benign || rng.chance(0.6))) {
        cancel = rng.pick(["macro", "started", "later"] as const);
      }
      if (cancel === undefined || (canTimeout && rng.chance(0.3))) timeoutMs = rng.int(10, 40);
    }
    return {
      n,
      kind,
      variant,
      ms,
      timeoutMs,
      cancel,
      cancelMs: cancel === "end" ? rng.int(-2, 2) : rng.int(0, 20),
      gap: rng.weighted<Gap>({ none: 70, micro: 15, macro: 15 }),
      forge: rng.chance(0.5) ? [0, 1] : [rng.int(0, 4), rng.int(1, 16)],
    };
  }
}

// ---- jobs sent as source (self-contained: they use nothing from this module) ----

const SRC = {
  echo(tok: string, flag: Int32Array): string {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return tok;
  },
  async echoLater(ms: number, tok: string, flag: Int32Array): Promise<string> {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    await new Promise((resolve) => setTimeout(resolve, ms));
    return tok;
  },
  *yieldEcho(turns: number, tok: string, flag: Int32Array) {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    for (let i = 0; i < turns; i++) yield;
    return tok;
  },
  throwNow(tok: string, flag: Int32Array): never {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    throw new RangeError(`chaos ${tok}`);
  },
  spin(ms: number, tok: string, flag: Int32Array): string {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const end = performance.now() + ms;
    while (performance.now() < end);
    return tok;
  },
  hang(flag: Int32Array): Promise<never> {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    return new Promise(() => {});
  },
  exit(flag: Int32Array): never {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    Deno.exit(3);
  },
  close(flag: Int32Array): void {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    (self as unknown as { close(): void }).close();
  },
  garbage(what: string, first: number, count: number, tok: string, flag: Int32Array): string {
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
    const scope = self as unknown as { postMessage(m: unknown): void };
    if (what === "null") scope.postMessage(null);
    else if (what === "undefined") scope.postMessage(undefined);
    else {
      const r: unknown[] = [first, count];
      for (let i = 0; i < count; i++) r.push("forged");
      scope.postMessage({ t: 12, r, x: null, busy: 0, n: 1 });
    }
    return tok;
  },
  mapItem(x: number): number {
    if (x < 0) throw new RangeError(`map item ${x}`);
    return x * 3 + 1;
  },
};

const JOBS_URL = new URL("./fixtures/chaos_jobs.ts", import.meta.url);
type Jobs = typeof import("./fixtures/chaos_jobs.ts");
const MOD = {
  echo: workerFunction<Jobs["echo"]>(JOBS_URL, "echo"),
  echoLater: workerFunction<Jobs["echoLater"]>(JOBS_URL, "echoLater"),
  sleepEcho: workerFunction<Jobs["sleepEcho"]>(JOBS_URL, "sleepEcho"),
  sleepThrow: workerFunction<Jobs["sleepThrow"]>(JOBS_URL, "sleepThrow"),
  rejectLater: workerFunction<Jobs["rejectLater"]>(JOBS_URL, "rejectLater"),
  exitNow: workerFunction<Jobs["exitNow"]>(JOBS_URL, "exitNow"),
  closeNow: workerFunction<Jobs["closeNow"]>(JOBS_URL, "closeNow"),
  hangForever: workerFunction<Jobs["hangForever"]>(JOBS_URL, "hangForever"),
  hangCoroutine: workerFunction<Jobs["hangCoroutine"]>(JOBS_URL, "hangCoroutine"),
  spin: workerFunction<Jobs["spin"]>(JOBS_URL, "spin"),
  untilAborted: workerFunction<Jobs["untilAborted"]>(JOBS_URL, "untilAborted"),
  sleepUntilCancelled: workerFunction<Jobs["sleepUntilCancelled"]>(
    JOBS_URL,
    "sleepUntilCancelled",
  ),
  postGarbage: workerFunction<Jobs["postGarbage"]>(JOBS_URL, "postGarbage"),
  mapItem: workerFunction<Jobs["mapItem"]>(JOBS_URL, "mapItem"),
  initOk: workerFunction<Jobs["initOk"]>(JOBS_URL, "initOk"),
  initState: workerFunction<Jobs["initState"]>(JOBS_URL, "initState"),
  initThrow: workerFunction<Jobs["initThrow"]>(JOBS_URL, "initThrow"),
  initExit: workerFunction<Jobs["initExit"]>(JOBS_URL, "initExit"),
};

type AnyJob = JobFunction | ReturnType<typeof workerFunction>;

/** The function, arguments and expected outcome of a planned job. */
function materialize(
  p: JobPlan,
  tok: string,
  initToken: string,
  flag: Int32Array,
): { fn: AnyJob; args: unknown[]; expect: Expect } {
  const value = (v: string): Expect => ({ value: v, error: null, kills: false });
  const error = (name: string): Expect => ({ value: undefined, error: name, kills: false });
  const kills: Expect = { value: undefined, error: null, kills: true };
  const never: Expect = { value: undefined, error: null, kills: false };
  switch (p.kind) {
    case "value":
      if (p.variant === "init") {
        return { fn: MOD.initState, args: [flag], expect: value(initToken) };
      }
      return p.variant === "sync"
        ? { fn: SRC.echo, args: [tok, flag], expect: value(tok) }
        : { fn: SRC.echoLater, args: [p.ms, tok, flag], expect: value(tok) };
    case "module":
      return p.variant === "sync"
        ? { fn: MOD.echo, args: [tok, flag], expect: value(tok) }
        : { fn: MOD.echoLater, args: [p.ms, tok, flag], expect: value(tok) };
    case "coro":
      return p.variant === "sleep"
        ? { fn: MOD.sleepEcho, args: [p.ms, tok, flag], expect: value(tok) }
        : { fn: SRC.yieldEcho, args: [p.ms, tok, flag], expect: value(tok) };
    case "throw":
      return p.variant === "sync"
        ? { fn: SRC.throwNow, args: [tok, flag], expect: error("RangeError") }
        : p.variant === "async"
        ? { fn: MOD.rejectLater, args: [p.ms, tok, flag], expect: error("RangeError") }
        : { fn: MOD.sleepThrow, args: [p.ms, tok, flag], expect: error("RangeError") };
    case "finish":
      return p.variant === "timer"
        ? { fn: MOD.echoLater, args: [p.ms, tok, flag], expect: value(tok) }
        : { fn: SRC.spin, args: [p.ms, tok, flag], expect: value(tok) };
    case "coop":
      return p.variant === "signal"
        ? { fn: MOD.untilAborted, args: [flag], expect: never }
        : { fn: MOD.sleepUntilCancelled, args: [flag], expect: never };
    case "spin":
      return p.variant === "module"
        ? { fn: MOD.spin, args: [p.ms, tok, flag], expect: value(tok) }
        : { fn: SRC.spin, args: [p.ms, tok, flag], expect: value(tok) };
    case "hang":
      return p.variant === "promise"
        ? { fn: MOD.hangForever, args: [flag], expect: never }
        : p.variant === "coro"
        ? { fn: MOD.hangCoroutine, args: [flag], expect: never }
        : { fn: SRC.hang, args: [flag], expect: never };
    case "exit":
      return p.variant === "module"
        ? { fn: MOD.exitNow, args: [flag], expect: kills }
        : { fn: SRC.exit, args: [flag], expect: kills };
    case "close":
      return p.variant === "module"
        ? { fn: MOD.closeNow, args: [flag], expect: kills }
        : { fn: SRC.close, args: [flag], expect: kills };
    case "null":
    case "undefined":
    case "forged": {
      const args = [p.kind, p.forge[0], p.forge[1], tok, flag];
      return p.variant === "module"
        ? { fn: MOD.postGarbage, args, expect: kills }
        : { fn: SRC.garbage, args, expect: kills };
    }
  }
}

// ---- running plans ------------------------------------------------------------------

/** What a job may produce besides cancellation, timeouts and broken workers. */
interface Expect {
  /** Its result, exactly. */
  value: string | undefined;
  /** The name of the error it throws (its message names the token). */
  error: string | null;
  /** It kills its worker: `BrokenWorkerError` is the only outcome. */
  kills: boolean;
}

type Outcome =
  | { type: "value"; value: unknown }
  | { type: "cancelled" }
  | { type: "error"; error: unknown };

/** A submitted job, as the driver follows it. */
interface Tracked {
  iteration: number;
  plan: JobPlan;
  tok: string;
  flag: Int32Array;
  expect: Expect;
  fut: Future<unknown>;
  settled: Promise<void>;
  outcome: Outcome | null;
  /** What cancel() returned, if called; and whether the future was done then. */
  cancelResult: boolean | undefined;
  cancelledDone: boolean;
  /** It was pending when shutdown({ cancelFutures: true }) was called. */
  shutdownCancel: boolean;
  /** The job had started when its iteration ended. */
  ran: boolean;
}

/** A pool and what the driver knows of it. */
interface PoolRun {
  plan: PoolPlan;
  pool: WorkerPoolExecutor;
  initToken: string;
  /** Something happened that may kill a worker (and fail its running jobs). */
  mayBreak: boolean;
  shutdownCalled: boolean;
  /** Successful submit() / submitWith() calls. */
  submits: number;
  usedMap: boolean;
  /** The iteration that opened it. */
  since: number;
  /** Every future of the pool. */
  futures: Tracked[];
}

/** What a run did, for the summary line. */
export interface ChaosReport {
  seed: number;
  iterations: number;
  pools: number;
  jobs: number;
  maps: number;
  shutdowns: number;
  elapsedMs: number;
  /** Outcomes by kind: "value", "cancelled", or the error's name. */
  outcomes: Record<string, number>;
  /** cancel() results. */
  cancels: { true: number; false: number };
}

/** A broken promise of the executor: its message names the seed and iteration. */
export class ChaosFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ChaosFailure";
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function gap(g: Gap | "ms", ms = 0): Promise<void> {
  if (g === "micro") await Promise.resolve();
  else if (g === "macro") await delay(0);
  else if (g === "ms") await delay(ms);
}

/** Resolves true when `p` settles within `ms`, false otherwise; leaves no timer behind. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([p.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves once the job has set its start flag (or the flag was released). */
function started(flag: Int32Array): Promise<unknown> {
  const r = Atomics.waitAsync(flag, 0, 0);
  return r.async ? r.value : Promise.resolve();
}

/**
 * Wakes whoever still waits for the job's start flag (nothing may stay
 * pending after a run), noting first whether the job had started.
 */
function releaseFlag(t: Tracked): void {
  if (Atomics.exchange(t.flag, 0, 2) === 1) t.ran = true;
  Atomics.notify(t.flag, 0);
}

function describeError(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return `a non-error ${typeof e === "string" ? JSON.stringify(e) : String(e)}`;
}

function describeOutcome(o: Outcome | null): string {
  if (o === null) return "pending";
  if (o.type === "value") return `value ${JSON.stringify(o.value)}`;
  if (o.type === "cancelled") return "cancelled";
  return describeError(o.error);
}

function describeJob(t: Tracked | JobPlan): string {
  const p = "plan" in t ? t.plan : t;
  let s = `job #${p.n} ${p.kind}/${p.variant}`;
  if (p.ms !== 0) s += ` ms=${p.ms}`;
  if (p.timeoutMs !== undefined) s += ` timeoutMs=${p.timeoutMs}`;
  if (p.kind === "forged") s += ` seqs=${p.forge[0]}+${p.forge[1]}`;
  if (p.cancel !== undefined) {
    s += ` cancel@${p.cancel}`;
    if (p.cancel === "later" || p.cancel === "end") s += `(${p.cancelMs})`;
  }
  if (p.gap !== "none") s += ` after a ${p.gap}task`;
  if ("plan" in t) {
    s += ` [token ${t.tok}`;
    if (t.cancelResult !== undefined) {
      s += `, cancel() -> ${t.cancelResult}${t.cancelledDone ? " (already done)" : ""}`;
    }
    if (t.shutdownCancel) s += ", pending at shutdown(cancelFutures)";
    s += `, outcome: ${describeOutcome(t.outcome)}]`;
  }
  return s;
}

function describePlan(plan: IterationPlan): string {
  const lines = [
    `pool ${plan.pool.id}: ${JSON.stringify(plan.pool.options)} init=${plan.pool.init}` +
    ` ${plan.pool.benign ? "benign" : "hostile"}`,
  ];
  for (const j of plan.jobs) lines.push(`  ${describeJob(j)}`);
  if (plan.map !== null) {
    lines.push(
      `  map/${plan.map.variant} after job ${plan.map.at}: ${plan.map.items.length} items` +
        ` chunksize=${plan.map.chunksize}` +
        (plan.map.breakAfter !== null ? ` break after ${plan.map.breakAfter}` : "") +
        (plan.map.items.some((x) => x < 0) ? " (one item fails)" : ""),
    );
  }
  if (plan.shutdown !== null) {
    const s = plan.shutdown;
    lines.push(
      `  shutdown({ wait: ${s.wait}, cancelFutures: ${s.cancelFutures} }) after job ${s.at}` +
        ` and a ${s.gap === "ms" ? `${s.ms} ms wait` : `${s.gap} gap`}`,
    );
  }
  if (plan.retire) lines.push("  then the pool is shut down and checked");
  return lines.join("\n");
}

type FullStats = {
  workers: number;
  queued: number;
  running: number;
  abandoned?: number;
  submitted?: number;
  done?: number;
};

/**
 * Runs the chaos loop. Resolves with a report; rejects with a
 * `ChaosFailure` naming the seed and iteration at the first broken promise.
 */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const t0 = performance.now();
  const report: ChaosReport = {
    seed: opts.seed,
    iterations: 0,
    pools: 0,
    jobs: 0,
    maps: 0,
    shutdowns: 0,
    elapsedMs: 0,
    outcomes: {},
    cancels: { true: 0, false: 0 },
  };
  const planner = new Planner(opts.seed, opts.kinds);
  for (let i = 0; i < opts.from; i++) planner.plan(i);

  // An error escaping the pool's handlers in this process (a reply it cannot
  // read, say) would end the process; it is caught here and fails the run.
  let iteration = opts.from;
  const parentErrors: string[] = [];
  const onError = (e: ErrorEvent) => {
    e.preventDefault();
    parentErrors.push(`uncaught in the parent: ${describeError(e.error ?? e.message)}`);
  };
  const onRejection = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    parentErrors.push(`unhandled rejection in the parent: ${describeError(e.reason)}`);
  };
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onRejection);

  let run: PoolRun | null = null;
  let lastProgress = t0;
  try {
    for (;;) {
      const elapsed = performance.now() - t0;
      const done = iteration - opts.from;
      if (done >= opts.maxIterations) break;
      if (elapsed >= opts.budgetMs && done >= opts.minIterations) break;
      const plan = planner.plan(iteration);
      if (opts.verbose) opts.log(`iteration ${iteration}\n${describePlan(plan)}`);
      const failures: string[] = [];
      try {
        if (run === null) {
          run = openPool(plan.pool, iteration);
          report.pools++;
        }
        await runIteration(run, plan, opts, report, failures);
        if (parentErrors.length > 0) failures.unshift(...parentErrors.splice(0));
        if (failures.length === 0 && plan.retire) {
          await retire(run, opts, failures);
          if (failures.length === 0) run = null;
        }
        if (parentErrors.length > 0) failures.unshift(...parentErrors.splice(0));
      } catch (e) {
        failures.push(`the driver itself failed: ${e instanceof Error ? e.stack : e}`);
      }
      if (failures.length > 0) {
        const stats = run !== null ? JSON.stringify(run.pool.stats()) : "(retired)";
        const others = run !== null ? run.futures.filter((t) => !t.fut.done()).length : 0;
        const since = run?.since ?? iteration;
        throw new ChaosFailure(
          `chaos failure (seed ${seedText(opts.seed)}, iteration ${iteration}):\n` +
            failures.map((f) => `  - ${f}`).join("\n") +
            `\npool stats: ${stats}; unsettled futures of this pool: ${others}` +
            `\nthe iteration's plan:\n${describePlan(plan)}` +
            `\nreplay: ${replayEnv(opts)} AIO_CHAOS_FROM=${since}` +
            (since !== iteration
              ? ` (from iteration ${since}, which opened pool ${plan.pool.id}; ` +
                `AIO_CHAOS_FROM=${iteration} runs this plan on a fresh pool)`
              : "") +
            `; AIO_CHAOS_VERBOSE=1 prints each plan`,
        );
      }
      iteration++;
      report.iterations++;
      if (
        opts.onProgress !== undefined &&
        performance.now() - lastProgress >= (opts.progressMs ?? 10_000)
      ) {
        lastProgress = performance.now();
        report.elapsedMs = lastProgress - t0;
        opts.onProgress(report);
      }
    }
    if (run !== null) {
      const failures: string[] = [];
      const since = run.since;
      await retire(run, opts, failures);
      if (failures.length === 0) run = null;
      if (parentErrors.length > 0) failures.unshift(...parentErrors.splice(0));
      if (failures.length > 0) {
        throw new ChaosFailure(
          `chaos failure (seed ${seedText(opts.seed)}, after iteration ${iteration - 1}, ` +
            `shutting the last pool down):\n${failures.map((f) => `  - ${f}`).join("\n")}` +
            `\nreplay: ${replayEnv(opts)} AIO_CHAOS_FROM=${since}` +
            ` AIO_CHAOS_ITERATIONS=${iteration - since}`,
        );
      }
    }
  } finally {
    if (run !== null) forceClose(run);
    globalThis.removeEventListener("error", onError);
    globalThis.removeEventListener("unhandledrejection", onRejection);
  }
  report.elapsedMs = performance.now() - t0;
  return report;
}

function openPool(plan: PoolPlan, since: number): PoolRun {
  const initToken = `init-${plan.id}`;
  const init = plan.init === "ok"
    ? { initializer: MOD.initOk, initargs: [initToken] }
    : plan.init === "throw"
    ? { initializer: MOD.initThrow }
    : plan.init === "exit"
    ? { initializer: MOD.initExit }
    : {};
  const pool = new WorkerPoolExecutor({ ...plan.options, ...init, name: `chaos-${plan.id}` });
  return {
    plan,
    pool,
    initToken,
    mayBreak: plan.init === "throw" || plan.init === "exit",
    shutdownCalled: false,
    submits: 0,
    usedMap: false,
    since,
    futures: [],
  };
}

async function runIteration(
  run: PoolRun,
  plan: IterationPlan,
  opts: ChaosOptions,
  report: ChaosReport,
  failures: string[],
): Promise<void> {
  const tracked: Tracked[] = [];
  const side: { what: string; done: boolean; p: Promise<void> }[] = [];
  const start = (what: string, p: Promise<void>) => {
    const s = { what, done: false, p };
    s.p = p.then(() => {
      s.done = true;
    }, (e) => {
      s.done = true;
      failures.push(`${what}: the driver failed: ${e instanceof Error ? e.stack : e}`);
    });
    side.push(s);
  };
  let mapActive = false;
  for (let k = 0; k <= plan.jobs.length; k++) {
    if (plan.shutdown !== null && plan.shutdown.at === k) {
      report.shutdowns++;
      start("shutdown", shutdownMidway(run, plan.shutdown, opts, failures));
    }
    if (plan.map !== null && plan.map.at === k) {
      report.maps++;
      mapActive = true;
      start("map", runMap(run, plan.map, plan.iteration, failures));
    }
    if (k === plan.jobs.length) break;
    const p = plan.jobs[k];
    if (p.gap !== "none") await gap(p.gap);
    const t = submitJob(run, p, plan.iteration, failures);
    if (t === null) continue;
    report.jobs++;
    tracked.push(t);
    if (p.cancel !== undefined) {
      start(`cancel of job #${p.n}`, cancelLater(run, t, report, failures));
    }
  }

  const everything = Promise.all([...tracked.map((t) => t.settled), ...side.map((s) => s.p)]);
  if (!(await within(everything, opts.deadlineMs))) {
    for (const t of tracked) {
      if (t.outcome === null) {
        failures.push(`${describeJob(t)}: did not settle within ${opts.deadlineMs} ms`);
      }
    }
    for (const s of side) {
      if (!s.done) failures.push(`${s.what} did not finish within ${opts.deadlineMs} ms`);
    }
    const early = leftRunning(run);
    if (early !== "") failures.push(`maybe still running in the pool's workers${early}`);
    for (const t of tracked) releaseFlag(t);
    return;
  }
  for (const t of tracked) releaseFlag(t);

  for (const t of tracked) {
    const o = t.outcome!;
    const key = o.type === "error" ? (o.error as Error)?.name ?? "non-error" : o.type;
    report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
    const wrong = judge(t, run);
    if (wrong !== null) failures.push(`${describeJob(t)}: ${wrong}`);
  }
  if (failures.length > 0) return;
  await checkStats(run, mapActive, opts, failures);
}

function submitJob(
  run: PoolRun,
  p: JobPlan,
  iteration: number,
  failures: string[],
): Tracked | null {
  const tok = `c${iteration}.${p.n}`;
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { fn, args, expect } = materialize(p, tok, run.initToken, flag);
  const pool = run.pool;
  if (p.timeoutMs !== undefined || HOSTILE_KINDS.has(p.kind)) run.mayBreak = true;
  let fut: Future<unknown>;
  try {
    const f = fn as JobFunction;
    fut = p.timeoutMs === undefined
      ? pool.submit(f, ...args)
      : pool.submitWith({ timeoutMs: p.timeoutMs }, f, ...args);
  } catch (e) {
    // Refused at submit: only after shutdown (RuntimeError) or by a broken pool.
    const ok = run.shutdownCalled
      ? e instanceof RuntimeError || e instanceof BrokenWorkerError
      : (run.plan.init === "throw" || run.plan.init === "exit") && e instanceof BrokenWorkerError;
    if (!ok) failures.push(`${describeJob(p)}: submit threw ${describeError(e)}`);
    return null;
  }
  run.submits++;
  const t: Tracked = {
    iteration,
    plan: p,
    tok,
    flag,
    expect,
    fut,
    settled: Promise.resolve(),
    outcome: null,
    cancelResult: undefined,
    cancelledDone: false,
    shutdownCancel: false,
    ran: false,
  };
  t.settled = Promise.resolve(fut).then(
    (value) => {
      t.outcome = { type: "value", value };
    },
    (error) => {
      t.outcome = fut.cancelled() ? { type: "cancelled" } : { type: "error", error };
    },
  );
  run.futures.push(t);
  return t;
}

/** Cancels `t` at its planned moment (synchronously for "now"). */
async function cancelLater(
  run: PoolRun,
  t: Tracked,
  report: ChaosReport,
  failures: string[],
): Promise<void> {
  const p = t.plan;
  switch (p.cancel) {
    case "micro":
      await Promise.resolve();
      break;
    case "macro":
      await delay(0);
      break;
    case "started":
      await Promise.race([started(t.flag), t.settled]);
      break;
    case "end":
      await Promise.race([started(t.flag), t.settled]);
      if (p.ms + p.cancelMs > 0) await delay(p.ms + p.cancelMs);
      break;
    case "later":
      await delay(p.cancelMs);
      break;
  }
  if (run.plan.options.cancelRunning === "terminate") run.mayBreak = true;
  t.cancelledDone = t.fut.done();
  const r = t.fut.cancel(`chaos cancel of ${t.tok}`);
  t.cancelResult = r;
  report.cancels[r ? "true" : "false"]++;
  // Checked at once: true means cancelled now, not later.
  if (r && !t.fut.cancelled()) {
    failures.push(`${describeJob(t)}: cancel() returned true, but the future is not cancelled`);
  }
}

async function shutdownMidway(
  run: PoolRun,
  s: ShutdownPlan,
  opts: ChaosOptions,
  failures: string[],
): Promise<void> {
  if (s.gap !== "none") await gap(s.gap, s.ms);
  run.shutdownCalled = true;
  if (s.cancelFutures) {
    for (const t of run.futures) if (!t.fut.done()) t.shutdownCancel = true;
  }
  const p = run.pool.shutdown({ wait: s.wait, cancelFutures: s.cancelFutures });
  if (!s.wait) {
    if (!(await within(p, 1000))) {
      failures.push("shutdown({ wait: false }) did not resolve at once");
    }
    return;
  }
  if (!(await within(p, opts.deadlineMs))) {
    failures.push(
      `shutdown({ wait: true }) did not settle within ${opts.deadlineMs} ms${leftRunning(run)}`,
    );
    return;
  }
  checkEmpty(run, "after shutdown({ wait: true })", failures);
}

async function runMap(
  run: PoolRun,
  m: MapPlan,
  iteration: number,
  failures: string[],
): Promise<void> {
  run.usedMap = true;
  const what = `map/${m.variant} of ${JSON.stringify(m.items)} chunksize=${m.chunksize}` +
    (m.breakAfter !== null ? ` break after ${m.breakAfter}` : "") + ` (iteration ${iteration})`;
  const bad = m.items.findIndex((x) => x < 0);
  const got: unknown[] = [];
  try {
    const results = m.variant === "source"
      ? run.pool.map(SRC.mapItem, m.items, { chunksize: m.chunksize })
      : run.pool.map(MOD.mapItem, m.items, { chunksize: m.chunksize });
    for await (const r of results) {
      if (m.breakAfter !== null && got.length >= m.breakAfter) break;
      got.push(r);
    }
  } catch (e) {
    const at = got.length;
    const fine =
      (bad === at && e instanceof RangeError && e.message.includes(`map item ${m.items[bad]}`)) ||
      (e instanceof BrokenWorkerError && run.mayBreak) ||
      (run.shutdownCalled &&
        (e instanceof RuntimeError || (e as Error)?.name === "CancelledError"));
    if (!fine) failures.push(`${what}: threw ${describeError(e)} at item ${at}`);
    checkPrefix(m, got, what, failures);
    return;
  }
  checkPrefix(m, got, what, failures);
  const expected = m.breakAfter === null ? m.items.length : Math.min(m.breakAfter, m.items.length);
  // Breaking off after n results consumes result n first.
  const consumed = Math.min(expected + (m.breakAfter === null ? 0 : 1), m.items.length);
  if (bad >= 0 && bad < consumed) {
    failures.push(`${what}: item ${bad} should have thrown, got ${JSON.stringify(got[bad])}`);
  } else if (got.length !== expected) {
    failures.push(`${what}: ${got.length} results, expected ${expected}`);
  }
}

function checkPrefix(m: MapPlan, got: unknown[], what: string, failures: string[]): void {
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== m.items[i] * 3 + 1) {
      failures.push(
        `${what}: result ${i} is ${JSON.stringify(got[i])}, expected ${m.items[i] * 3 + 1}`,
      );
      return;
    }
  }
}

/** Why `t`'s outcome is not allowed, or null if it is. */
function judge(t: Tracked, run: PoolRun): string | null {
  const o = t.outcome!;
  const e = t.expect;
  const cancelAsked = t.cancelResult !== undefined || t.shutdownCancel;
  if (o.type === "value" && containsForged(o.value)) {
    return "settled with a forged value: another job's message was taken for its reply";
  }
  if (t.cancelResult === true && o.type !== "cancelled") {
    return "cancel() returned true, but the future was not cancelled";
  }
  if (t.cancelResult === true && t.cancelledDone) {
    return "cancel() returned true on a future that was already done";
  }
  // The future must keep the outcome it first had.
  const now = t.fut.cancelled() ? "cancelled" : t.fut.exception() !== undefined ? "error" : "value";
  if (now !== o.type || (o.type === "value" && t.fut.result() !== o.value)) {
    return `the future changed its outcome from ${describeOutcome(o)} to ${now}`;
  }
  if (o.type === "value" && (run.plan.init === "throw" || run.plan.init === "exit")) {
    return `returned ${JSON.stringify(o.value)}, but every worker's initializer fails`;
  }
  switch (o.type) {
    case "cancelled":
      return cancelAsked ? null : "cancelled, but nobody cancelled it";
    case "value":
      if (e.kills) {
        return `returned ${JSON.stringify(o.value)}, but the job ${
          t.plan.kind === "exit" || t.plan.kind === "close"
            ? "ended its worker"
            : "posted a message that is not the worker's reply: the worker should be blamed"
        } (BrokenWorkerError expected)`;
      }
      if (e.value === undefined) {
        return `returned ${JSON.stringify(o.value)}, but the job never returns`;
      }
      return o.value === e.value
        ? null
        : `returned ${JSON.stringify(o.value)}, expected ${JSON.stringify(e.value)}`;
    case "error": {
      const err = o.error;
      if (err instanceof TimeoutError) {
        return t.plan.timeoutMs !== undefined ? null : "TimeoutError, but it had no timeoutMs";
      }
      if (err instanceof BrokenWorkerError) {
        return e.kills || run.mayBreak
          ? null
          : "BrokenWorkerError in a pool where nothing could break a worker";
      }
      if (e.kills) return `${describeError(err)}, expected BrokenWorkerError`;
      if (
        e.error !== null && err instanceof Error && err.name === e.error &&
        err.message.includes(`chaos ${t.tok}`)
      ) {
        return null;
      }
      if ((err as Error)?.name === "CancelledError") {
        return cancelAsked ? null : "CancelledError, but nobody cancelled it";
      }
      return `unexpected ${describeError(err)}`;
    }
  }
}

function containsForged(v: unknown): boolean {
  return v === "forged" || (Array.isArray(v) && v.includes("forged"));
}

/** The pool's counts, where `stats()` has the full shape (submitted, done, abandoned). */
async function checkStats(
  run: PoolRun,
  mapActive: boolean,
  opts: ChaosOptions,
  failures: string[],
): Promise<void> {
  let s = run.pool.stats() as FullStats;
  if (typeof s.submitted !== "number") return;
  if (mapActive) {
    // Chunks a map left behind (cancelled when it broke off) may still be
    // settling in a worker: wait for that, not for a guess of time.
    const until = performance.now() + opts.deadlineMs;
    while ((s.queued > 0 || s.running > 0) && performance.now() < until) {
      await delay(1);
      s = run.pool.stats() as FullStats;
    }
  }
  const where = `stats() after every future settled: ${JSON.stringify(s)}`;
  for (const [k, v] of Object.entries(s)) {
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0) {
      failures.push(`${where}: ${k} is not a count`);
      return;
    }
  }
  if (s.submitted !== s.queued + s.running + s.done!) {
    failures.push(`${where}: submitted !== queued + running + done`);
  }
  if (s.queued !== 0 || s.running !== 0) {
    failures.push(`${where}: nothing should be queued or running`);
  }
  if (run.usedMap ? s.submitted! < run.submits : s.submitted !== run.submits) {
    failures.push(`${where}: the driver's submit() calls that returned a future: ${run.submits}`);
  }
  if (s.workers > run.plan.options.maxWorkers + (s.abandoned ?? 0)) {
    failures.push(
      `${where}: more workers than maxWorkers=${run.plan.options.maxWorkers} + abandoned`,
    );
  }
}

/**
 * Jobs of the pool whose futures settled (timed out or cancelled) while the
 * job may still be running: what keeps a worker busy after its futures are done.
 */
function leftRunning(run: PoolRun): string {
  const early = run.futures.filter((t) =>
    t.ran && (
      (t.outcome?.type === "error" && t.outcome.error instanceof TimeoutError) ||
      (t.outcome?.type === "cancelled" && t.cancelResult === true)
    )
  );
  if (early.length === 0) return "";
  const shown = early.slice(-3).map((t) => `iteration ${t.iteration}: ${describeJob(t)}`);
  return ` (futures settled before their job ended: ${early.length}; last: ${shown.join("; ")})`;
}

/** After shutdown({ wait: true }): every future settled, no worker, nothing counted as live. */
function checkEmpty(run: PoolRun, when: string, failures: string[]): void {
  const pending = run.futures.filter((t) => !t.fut.done());
  if (pending.length > 0) {
    failures.push(
      `${when}: ${pending.length} futures still pending: ${pending.map(describeJob).join("; ")}`,
    );
  }
  const s = run.pool.stats() as FullStats;
  if (s.workers !== 0) failures.push(`${when}: stats().workers is ${s.workers}, not 0`);
  if (typeof s.submitted === "number") {
    if (s.queued !== 0 || s.running !== 0 || s.abandoned !== 0 || s.submitted !== s.done) {
      failures.push(`${when}: stats() ${JSON.stringify(s)} should show only done jobs`);
    }
  }
}

/** Shuts the pool down (wait: true) and checks it is empty and refuses work. */
async function retire(run: PoolRun, opts: ChaosOptions, failures: string[]): Promise<void> {
  run.shutdownCalled = true;
  if (!(await within(run.pool.shutdown(), opts.deadlineMs))) {
    failures.push(
      `retiring the pool: shutdown() did not settle within ${opts.deadlineMs} ms` +
        leftRunning(run),
    );
    return;
  }
  checkEmpty(run, "retiring the pool, after shutdown()", failures);
  try {
    run.pool.submit(SRC.echo, "after shutdown", new Int32Array(1));
    failures.push("submit() after shutdown() did not throw");
  } catch (e) {
    if (!(e instanceof RuntimeError)) {
      failures.push(`submit() after shutdown() threw ${describeError(e)}, not RuntimeError`);
    }
  }
  // Future flags nobody waits on any more.
  for (const t of run.futures) releaseFlag(t);
}

/**
 * After a failure: stop the pool as well as the public API allows, then
 * terminate what it still holds (best effort, through whatever internals
 * the pool has) so a wedged pool does not keep the process alive.
 */
function forceClose(run: PoolRun): void {
  for (const t of run.futures) releaseFlag(t);
  try {
    void run.pool.shutdown({ wait: false, cancelFutures: true }).catch(() => {});
  } catch {
    // already broken
  }
  const internals = run.pool as unknown as {
    _workers?: Iterable<{ terminate?: () => void }>;
  };
  try {
    for (const w of [...(internals._workers ?? [])]) w.terminate?.();
  } catch {
    // best effort
  }
}
