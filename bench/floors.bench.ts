// The floors under two of issue 6's missed goals: what the runtime itself
// charges for the work, measured beside aio. bench/RESULTS.md quotes them.
// Run: deno bench -A bench/floors.bench.ts
import { CancelledError, type Coroutine, createTask, getRunningLoop, Queue, run } from "../mod.ts";
import { RUNS, scale } from "./_util.ts";

const SWITCHES = scale(1_000_000);
const CANCELS = scale(100_000);
const DEPTH = 10;
const ITEMS = scale(1_000_000);
const CAPACITY = 100;

function* spin(k: number): Coroutine<void> {
  for (let i = 0; i < k; i++) yield;
}

// ---- W1: a switch in one task -------------------------------------------------
// aio must let microtasks run between two iterations, so one switch costs at
// least a microtask turn plus a generator resume.

const w1 = `W1 floor: ${SWITCHES} switches in 1 task`;

Deno.bench({
  name: "native: await null",
  group: w1,
  baseline: true,
  ...RUNS,
  fn: async () => {
    for (let i = 0; i < SWITCHES; i++) await null;
  },
});

Deno.bench({
  name: "floor: a generator resumed once per queueMicrotask turn",
  group: w1,
  ...RUNS,
  // async: Deno.bench ignores `n` for a plain function that returns a promise.
  fn: async () => {
    await new Promise<void>((resolve) => {
      const g = spin(SWITCHES);
      const turn = () => {
        if (g.next().done) resolve();
        else queueMicrotask(turn);
      };
      turn();
    });
  },
});

Deno.bench({
  name: "aio: yield",
  group: w1,
  ...RUNS,
  fn: async () => {
    await run(spin(SWITCHES));
  },
});

// ---- W8: cancelling a task 10 yield* deep ---------------------------------------
// The CancelledError must unwind every generator frame of the chain, and an
// exception through a generator frame is expensive in V8.

/** A plain generator chain over `bottom`, as `yield*` builds it. */
function* chain(d: number, bottom: Iterable<undefined>): Generator<undefined, void> {
  if (d === 0) yield* bottom;
  else yield* chain(d - 1, bottom);
}

/** Suspends the chain once, then throws when resumed: what a cancelled future does. */
class ThrowingBottom implements Iterator<undefined>, Iterable<undefined> {
  armed = false;
  [Symbol.iterator](): this {
    return this;
  }
  next(): IteratorResult<undefined> {
    if (this.armed) throw thrown;
    return { value: undefined, done: false };
  }
}

/** The same chain as a task blocked on a future nobody sets (W8 in bench/compare/aio.ts). */
function* blocked(d: number): Coroutine<void> {
  if (d === 0) yield* getRunningLoop().createFuture<void>();
  else yield* blocked(d - 1);
}

const w8 = `W8 floor: ${CANCELS} errors through ${DEPTH} yield* frames`;
// Made once: this measures the unwinding, not the error.
const thrown = new CancelledError("cancelled");

Deno.bench({
  name: "floor: build the chain, resume it, its bottom throws",
  group: w8,
  baseline: true,
  ...RUNS,
  fn: () => {
    for (let i = 0; i < CANCELS; i++) {
      const bottom = new ThrowingBottom();
      const g = chain(DEPTH, bottom);
      g.next();
      bottom.armed = true;
      try {
        g.next();
      } catch {
        // expected
      }
    }
  },
});

Deno.bench({
  name: "the same chain closed with return() instead: no exception",
  group: w8,
  ...RUNS,
  fn: () => {
    for (let i = 0; i < CANCELS; i++) {
      const g = chain(DEPTH, new ThrowingBottom());
      g.next();
      g.return();
    }
  },
});

Deno.bench({
  name: "new Error() alone (Deno captures a stack even at stackTraceLimit 0)",
  group: w8,
  ...RUNS,
  fn: () => {
    let e: unknown;
    for (let i = 0; i < CANCELS; i++) e = new Error("cancelled");
    if (!(e instanceof Error)) throw new Error("unreachable");
  },
});

Deno.bench({
  name: "aio: cancel a task blocked 10 deep, await it",
  group: w8,
  ...RUNS,
  fn: async () => {
    await run(function* () {
      for (let i = 0; i < CANCELS; i++) {
        const t = createTask(blocked(DEPTH));
        yield;
        t.cancel();
        try {
          yield* t;
        } catch (e) {
          if (!(e instanceof CancelledError)) throw e;
        }
      }
    });
  },
});

// ---- W6: items through a bounded queue ------------------------------------------
// `q.put(x)` is a coroutine: nothing happens until it is awaited, so each put
// and get is a `yield*` over a fresh object. Stepping the two generators by
// hand, with a bare array for a queue and no loop at all, gives the floor.

/** Runs producer and consumer round robin until both finish. */
function stepBoth(p: Generator<unknown, void>, c: Generator<unknown, void>): void {
  let pDone = false;
  let cDone = false;
  while (!pDone || !cDone) {
    if (!pDone) pDone = p.next().done === true;
    if (!cDone) cDone = c.next().done === true;
  }
}

/** A `yield*` operand that completes at once, as a queue op with room does. */
class DoneOp implements Iterator<unknown>, Iterable<unknown> {
  done = true;
  value: unknown = undefined;
  [Symbol.iterator](): this {
    return this;
  }
  next(): IteratorResult<unknown> {
    return this as IteratorResult<unknown>;
  }
}

function handQueue(withOps: boolean): void {
  const q: number[] = [];
  let head = 0;
  function* producer(): Generator<unknown, void> {
    for (let i = 0; i < ITEMS; i++) {
      while (q.length - head >= CAPACITY) yield;
      q.push(i);
      if (withOps) yield* new DoneOp();
    }
  }
  function* consumer(): Generator<unknown, void> {
    let sum = 0;
    for (let i = 0; i < ITEMS; i++) {
      while (q.length === head) yield;
      sum += q[head++];
      if (head > 4096) {
        q.splice(0, head);
        head = 0;
      }
      if (withOps) yield* new DoneOp();
    }
    if (sum < 0) throw new Error("unreachable");
  }
  stepBoth(producer(), consumer());
}

const w6 = `W6 floor: ${ITEMS} items through a queue of ${CAPACITY}`;

Deno.bench({
  name: "floor: two generators stepped by hand, a yield* per put and get",
  group: w6,
  baseline: true,
  ...RUNS,
  fn: () => handQueue(true),
});

Deno.bench({
  name: "the same without the yield*s (not a coroutine API)",
  group: w6,
  ...RUNS,
  fn: () => handQueue(false),
});

Deno.bench({
  name: "aio: Queue(100), a producer task and a consumer",
  group: w6,
  ...RUNS,
  fn: async () => {
    await run(function* () {
      const q = new Queue<number>(CAPACITY);
      const producer = createTask(function* () {
        for (let i = 0; i < ITEMS; i++) yield* q.put(i);
      });
      for (let i = 0; i < ITEMS; i++) yield* q.get();
      yield* producer;
    });
  },
});
