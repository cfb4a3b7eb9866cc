// Effection (structured concurrency on generators, the closest JS peer) on
// W1–W6 and W8, version 3 or 4. A switch is `until(resolved)`: the cheapest
// operation that lets other tasks run in both versions (v3's synchronous
// `action` does not give up its turn). Timers are `sleep`, cancelling is
// `halt()`, and the bounded queue is built from two `createQueue`s (Effection
// has no bounded channel).
// Run: deno run -A bench/compare/effection.ts [--version 3|4] [--quick] [--workload W3]
// npm versions are pinned inline, where they are used (deno.json has no import map).
// deno-lint-ignore-file no-import-prefix
import type * as E4 from "npm:effection@4.1.1";
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

type Operation<T> = E4.Operation<T>;

async function load(version: string): Promise<typeof E4> {
  // Literal specifiers, so `deno check` and the lock see both versions.
  if (version === "3") return (await import("npm:effection@3.6.1")) as unknown as typeof E4;
  return await import("npm:effection@4.1.1");
}

async function main(version: string) {
  const { all, createQueue, run, sleep, spawn, suspend, until } = await load(version);
  const resolved = Promise.resolve();

  function* spin(k: number): Operation<void> {
    for (let i = 0; i < k; i++) yield* until(resolved);
  }

  function* one(): Operation<number> {
    return 1;
  }

  function* cancelAll(ds: Float64Array): Operation<void> {
    const tasks = [];
    for (let i = 0; i < ds.length; i++) tasks.push(yield* spawn(() => sleep(ds[i])));
    for (const t of tasks) yield* t.halt();
  }

  // A bounded queue: the producer waits for an ack once W6_CAPACITY items are unread.
  function* pipe(n: number): Operation<void> {
    const items = createQueue<number, void>();
    const acks = createQueue<void, void>();
    const producer = yield* spawn(function* () {
      for (let i = 0; i < n; i++) {
        if (i >= W6_CAPACITY) yield* acks.next();
        items.add(i);
      }
    });
    for (let i = 0; i < n; i++) {
      yield* items.next();
      acks.add();
    }
    yield* producer;
  }

  function* deep(d: number): Operation<void> {
    if (d === 0) yield* suspend();
    else yield* deep(d - 1);
  }

  function* cancelDeep(n: number): Operation<void> {
    for (let i = 0; i < n; i++) {
      const t = yield* spawn(() => deep(W8_DEPTH));
      yield* until(resolved); // t runs until it blocks at the bottom
      yield* t.halt();
    }
  }

  await runWorkloads(`effection${version}`, {
    W1: (n) => () => run(() => spin(n)),
    W2: (n) => () => run(() => all(Array.from({ length: W2_TASKS }, () => spin(n / W2_TASKS)))),
    W3: (n) => () => run(() => all(Array.from({ length: n }, one))),
    W4: (n) => {
      const ds = delays(n, W4_SEED, 0, 100);
      return () => run(() => all(Array.from(ds, (d) => sleep(d))));
    },
    W5: (n) => {
      const ds = delays(n, W5_SEED, 1000, 2000);
      return () => run(() => cancelAll(ds));
    },
    W6: (n) => () => run(() => pipe(n)),
    W8: (n) => () => run(() => cancelDeep(n)),
  });
}

if (import.meta.main) await main(arg("--version") ?? "4");
