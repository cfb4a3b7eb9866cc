// aio on W1–W6, W3e and W8 (W7 is in pools.ts), on the WASM core (default) or the
// TS core, real clock. Each workload is one `run()`, so loop creation counts,
// as asyncio.run() does for CPython.
// W3e is W3 with every task made by `createTask(coro, { eagerStart: true })`:
// a coroutine that returns without suspending is done inside createTask.
// Run: deno run -A bench/compare/aio.ts [--core wasm|ts] [--quick] [--workload W3]
import {
  CancelledError,
  type Coroutine,
  createTask,
  gather,
  getRunningLoop,
  Queue,
  run,
  type Task,
  type TimerHandle,
} from "../../mod.ts";
import type { CoreKind } from "../../src/scheduler/types.ts";
import {
  arg,
  delays,
  runWorkloads,
  W2_TASKS,
  W4_SEED,
  W5_SEED,
  W6_CAPACITY,
  W8_DEPTH,
} from "./workloads.ts";

const core = (arg("--core") ?? "wasm") as CoreKind;

function* spin(k: number): Coroutine<void> {
  for (let i = 0; i < k; i++) yield; // one turn, like asyncio.sleep(0)
}

function* one(): Coroutine<number> {
  return 1;
}

function* fireAll(ds: Float64Array): Coroutine<void> {
  const loop = getRunningLoop();
  const done = loop.createFuture<void>();
  let left = ds.length;
  const fire = () => {
    if (--left === 0) done.setResult(undefined);
  };
  for (let i = 0; i < ds.length; i++) loop.callLater(ds[i], fire);
  yield* done;
}

function* cancelAll(ds: Float64Array): Coroutine<void> {
  const loop = getRunningLoop();
  const noop = () => {};
  const hs: TimerHandle[] = new Array(ds.length);
  for (let i = 0; i < ds.length; i++) hs[i] = loop.callLater(ds[i], noop);
  for (let i = 0; i < ds.length; i++) hs[i].cancel();
}

function* pipe(n: number): Coroutine<void> {
  const q = new Queue<number>(W6_CAPACITY);
  const producer = createTask(function* () {
    for (let i = 0; i < n; i++) yield* q.put(i);
  }());
  for (let i = 0; i < n; i++) yield* q.get();
  yield* producer;
}

function* deep(d: number): Coroutine<void> {
  if (d === 0) yield* getRunningLoop().createFuture<void>(); // never set
  else yield* deep(d - 1);
}

function* cancelDeep(n: number): Coroutine<void> {
  for (let i = 0; i < n; i++) {
    const t: Task<void> = createTask(deep(W8_DEPTH));
    yield; // t runs until it blocks at the bottom
    t.cancel();
    try {
      yield* t;
    } catch (e) {
      if (!(e instanceof CancelledError)) throw e;
    }
  }
}

function gatherOnes(n: number, options?: { eagerStart: boolean }): () => Promise<unknown> {
  return () =>
    run(function* () {
      const ts = new Array(n);
      for (let i = 0; i < n; i++) ts[i] = createTask(one(), options);
      yield* gather(ts);
    }, { core });
}

await runWorkloads(core === "wasm" ? "aio" : `aio-${core}`, {
  W1: (n) => () => run(spin(n), { core }),
  W2: (n) => () =>
    run(function* () {
      const ts = [];
      for (let i = 0; i < W2_TASKS; i++) ts.push(createTask(spin(n / W2_TASKS)));
      yield* gather(ts);
    }, { core }),
  W3: (n) => gatherOnes(n),
  W3e: (n) => gatherOnes(n, { eagerStart: true }),
  W4: (n) => {
    const ds = delays(n, W4_SEED, 0, 100);
    return () => run(fireAll(ds), { core });
  },
  W5: (n) => {
    const ds = delays(n, W5_SEED, 1000, 2000);
    return () => run(cancelAll(ds), { core });
  },
  W6: (n) => () => run(pipe(n), { core }),
  W8: (n) => () => run(cancelDeep(n), { core }),
});
