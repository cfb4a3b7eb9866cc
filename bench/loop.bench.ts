// Event-loop workloads on both scheduler cores; the TS core is each group's
// baseline. Run: deno bench -A bench/loop.bench.ts
import { type Coroutine, createTask, getRunningLoop, run, type TimerHandle } from "../mod.ts";
import type { CoreKind } from "../src/scheduler/types.ts";
import { rng, RUNS, scale } from "./_util.ts";

const CORES: CoreKind[] = ["ts", "wasm"];
const SWITCHES = scale(1_000_000);
const TASKS = scale(1_000) >= 1000 ? 1000 : 10;
const SPAWN = scale(100_000);
const TIMERS = scale(200_000);
const LIVE = scale(100_000);

function* spinner(k: number): Coroutine<void> {
  for (let i = 0; i < k; i++) yield;
}

/** The floor for a task switch: generators stepped round robin by hand. */
function roundRobin(tasks: number, k: number): void {
  const gens: (Generator | null)[] = Array.from({ length: tasks }, () => spinner(k));
  let live = tasks;
  while (live > 0) {
    for (let i = 0; i < tasks; i++) {
      const g = gens[i];
      if (g !== null && g.next().done) {
        gens[i] = null;
        live--;
      }
    }
  }
}

function* manyTasks(tasks: number, k: number): Coroutine<void> {
  const ts = [];
  for (let i = 0; i < tasks; i++) ts.push(createTask(spinner(k)));
  for (const t of ts) yield* t;
}

function* one(): Coroutine<number> {
  return 1;
}

function* spawnAndAwait(n: number): Coroutine<number> {
  const ts = new Array(n);
  for (let i = 0; i < n; i++) ts[i] = createTask(one());
  let sum = 0;
  for (let i = 0; i < n; i++) sum += (yield* ts[i]) as number;
  return sum;
}

function* timersAllFired(n: number, maxDelay: number): Coroutine<void> {
  const loop = getRunningLoop();
  const done = loop.createFuture<void>();
  const random = rng(42);
  let left = n;
  const fire = () => {
    if (--left === 0) done.setResult(undefined);
  };
  for (let i = 0; i < n; i++) loop.callLater(random() * maxDelay, fire);
  yield* done;
}

function* timersMostlyCancelled(n: number): Coroutine<void> {
  const loop = getRunningLoop();
  const done = loop.createFuture<void>();
  const random = rng(7);
  const kept = n - Math.floor(n * 0.9);
  let left = kept;
  const fire = () => {
    if (--left === 0) done.setResult(undefined);
  };
  const hs: TimerHandle[] = new Array(n);
  for (let i = 0; i < n; i++) hs[i] = loop.callLater(1000 + random() * 1000, fire);
  for (let i = 0; i < n; i++) if (i % 10 !== 0) hs[i].cancel();
  yield* done;
}

/**
 * Timers that reach the core before they are cancelled: a timer cancelled in
 * the iteration that made it never does (see `EventLoop._addTimer`).
 */
function* timersCancelledNextTurn(n: number): Coroutine<void> {
  const loop = getRunningLoop();
  const random = rng(11);
  const noop = () => {};
  const hs: TimerHandle[] = new Array(n);
  for (let i = 0; i < n; i++) hs[i] = loop.callLater(1000 + random() * 1000, noop);
  yield;
  for (let i = 0; i < n; i++) hs[i].cancel();
}

/** The same with setTimeout/clearTimeout, one microtask turn apart. */
async function nativeCancelledNextTurn(n: number): Promise<void> {
  const random = rng(11);
  const noop = () => {};
  const ids = new Array<ReturnType<typeof setTimeout>>(n);
  for (let i = 0; i < n; i++) ids[i] = setTimeout(noop, 1000 + random() * 1000);
  await null;
  for (let i = 0; i < n; i++) clearTimeout(ids[i]);
}

function* timerChurn(live: number, ops: number): Coroutine<void> {
  const loop = getRunningLoop();
  const random = rng(3);
  const noop = () => {};
  const hs: TimerHandle[] = new Array(live);
  for (let i = 0; i < live; i++) hs[i] = loop.callLater(1000 + random() * 1000, noop);
  for (let i = 0; i < ops; i++) {
    const j = (random() * live) | 0;
    hs[j].cancel();
    hs[j] = loop.callLater(1000 + random() * 1000, noop);
    if ((i & 1023) === 0) yield;
  }
  for (const h of hs) h.cancel();
}

for (const tasks of [1, TASKS]) {
  const k = SWITCHES / tasks;
  const group = `switch ${SWITCHES} yields across ${tasks} task${tasks > 1 ? "s" : ""}`;
  Deno.bench({ name: "hand-written round robin", group, ...RUNS, fn: () => roundRobin(tasks, k) });
  for (const core of CORES) {
    Deno.bench({
      name: `aio ${core}`,
      group,
      baseline: core === "ts",
      ...RUNS,
      fn: async () => {
        await run(tasks === 1 ? spinner(k) : manyTasks(tasks, k), { core, clock: "virtual" });
      },
    });
  }
}

Deno.bench({
  name: "native setTimeout + clearTimeout",
  group: `${TIMERS} timers in [1,2] s, cancelled one turn later, real clock`,
  ...RUNS,
  fn: () => nativeCancelledNextTurn(TIMERS),
});

for (const core of CORES) {
  const common = { baseline: core === "ts", ...RUNS };
  Deno.bench({
    name: `aio ${core}`,
    group: `${TIMERS} timers in [1,2] s, cancelled one turn later, real clock`,
    ...common,
    fn: async () => {
      await run(timersCancelledNextTurn(TIMERS), { core, clock: "real" });
    },
  });
  Deno.bench({
    name: `aio ${core}`,
    group: `createTask + await x${SPAWN}`,
    ...common,
    fn: async () => {
      await run(spawnAndAwait(SPAWN), { core, clock: "virtual" });
    },
  });
  Deno.bench({
    name: `aio ${core}`,
    group: `${TIMERS} timers in [0,100] ms, all fired, virtual clock`,
    ...common,
    fn: async () => {
      await run(timersAllFired(TIMERS, 100), { core, clock: "virtual" });
    },
  });
  Deno.bench({
    name: `aio ${core}`,
    group: `${TIMERS} timers in [0,100] ms, all fired, real clock`,
    ...common,
    fn: async () => {
      await run(timersAllFired(TIMERS, 100), { core, clock: "real" });
    },
  });
  Deno.bench({
    name: `aio ${core}`,
    group: `${TIMERS} timers, 90% cancelled`,
    ...common,
    fn: async () => {
      await run(timersMostlyCancelled(TIMERS), { core, clock: "virtual" });
    },
  });
  Deno.bench({
    name: `aio ${core}`,
    group: `${LIVE} live timers, ${LIVE} cancel+add churn`,
    ...common,
    fn: async () => {
      await run(timerChurn(LIVE, LIVE), { core, clock: "virtual" });
    },
  });
}
