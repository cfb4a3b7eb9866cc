// Effect (the most used fiber runtime for TypeScript) on W1–W6 and W8, in its
// own idiom: each workload is one `Effect.runPromise` of an `Effect.gen`
// program, as each aio workload is one `run()`.
// - A switch is `yield* Effect.yieldNow` (one turn of Effect's scheduler).
// - W2 and W3 fork every fiber with `Effect.forkChild` (Effect 4's name for
//   `fork`) and wait with `Fiber.joinAll`: what aio does with `createTask` and
//   `gather`. Not `Effect.all` with concurrency "unbounded": it starts each
//   fiber at once (and makes none for an effect that is already done), aio's
//   eager start rather than W3's spawn-then-gather. W3's fibers run
//   `Effect.succeed(1)`, the cheapest body (an `Effect.gen` body, the shape of
//   a coroutine, costs about twice as much per fiber here): this flatters Effect.
// - W4 forks an `Effect.sleep` per delay and joins them all; W5 forks them,
//   lets them run once (each sets its timer), then `Fiber.interruptAll` clears
//   them: Effect has no raw timers, so like Effection it pays for a fiber each.
//   At n = 200,000 the forks take longer than the shortest delay (1 s), so
//   part of the timers fire before the interrupt (about half, measured here
//   on a loaded 2-core machine): W5 is not pure schedule + cancel for Effect.
// - W6 is a `Queue.bounded` with one producer fiber and the main fiber taking.
// - W8 nests an `Effect.gen` per level (each level its own effect, the
//   idiomatic shape of calls), blocks in `Effect.never` at the bottom, and
//   `Fiber.interrupt` cancels it and waits for its end.
// Run: deno run -A bench/compare/effect.ts [--quick] [--workload W3]
// The npm version is pinned inline, where it is used (deno.json has no import map).
// deno-lint-ignore-file no-import-prefix
import { Effect, Fiber, Queue } from "npm:effect@4.1.5";
import {
  delays,
  runWorkloads,
  W2_TASKS,
  W4_SEED,
  W5_SEED,
  W6_CAPACITY,
  W8_DEPTH,
} from "./workloads.ts";

const spin = (k: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < k; i++) yield* Effect.yieldNow;
  });

const one = Effect.succeed(1);

/** Forks every effect, then joins them all (aio: createTask each, then gather). */
const forkJoin = <A>(effects: Iterable<Effect.Effect<A>>) =>
  Effect.gen(function* () {
    const fibers: Fiber.Fiber<A>[] = [];
    for (const e of effects) fibers.push(yield* Effect.forkChild(e));
    return yield* Fiber.joinAll(fibers);
  });

const cancelAll = (ds: Float64Array) =>
  Effect.gen(function* () {
    const fibers: Fiber.Fiber<void>[] = new Array(ds.length);
    for (let i = 0; i < ds.length; i++) fibers[i] = yield* Effect.forkChild(Effect.sleep(ds[i]));
    yield* Effect.yieldNow; // every fiber runs until its sleep has set its timer
    yield* Fiber.interruptAll(fibers);
  });

const pipe = (n: number) =>
  Effect.gen(function* () {
    const q = yield* Queue.bounded<number>(W6_CAPACITY);
    const producer = yield* Effect.forkChild(Effect.gen(function* () {
      for (let i = 0; i < n; i++) yield* Queue.offer(q, i); // waits while the queue is full
    }));
    for (let i = 0; i < n; i++) yield* Queue.take(q);
    yield* Fiber.join(producer);
  });

const deep = (d: number): Effect.Effect<void> =>
  Effect.gen(function* () {
    if (d === 0) yield* Effect.never;
    else yield* deep(d - 1);
  });

const cancelDeep = (n: number) =>
  Effect.gen(function* () {
    for (let i = 0; i < n; i++) {
      const t = yield* Effect.forkChild(deep(W8_DEPTH));
      yield* Effect.yieldNow; // t runs until it blocks at the bottom
      yield* Fiber.interrupt(t);
    }
  });

await runWorkloads("effect", {
  W1: (n) => () => Effect.runPromise(spin(n)),
  W2: (n) => () =>
    Effect.runPromise(forkJoin(Array.from({ length: W2_TASKS }, () => spin(n / W2_TASKS)))),
  W3: (n) => () => Effect.runPromise(forkJoin(Array.from({ length: n }, () => one))),
  W4: (n) => {
    const ds = delays(n, W4_SEED, 0, 100);
    return () => Effect.runPromise(forkJoin(Array.from(ds, (d) => Effect.sleep(d))));
  },
  W5: (n) => {
    const ds = delays(n, W5_SEED, 1000, 2000);
    return () => Effect.runPromise(cancelAll(ds));
  },
  W6: (n) => () => Effect.runPromise(pipe(n)),
  W8: (n) => () => Effect.runPromise(cancelDeep(n)),
});
