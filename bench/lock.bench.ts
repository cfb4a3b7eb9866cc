// Lock hand-offs on both scheduler cores; the TS core is the baseline. A
// promise-based mutex runs the same workload for reference. Each task holds
// the lock across one loop turn, so every acquisition after the first waits
// and is handed the lock by the previous holder's release.
//
//   deno bench -A bench/lock.bench.ts
import { type Coroutine, createTask, Lock, run } from "../mod.ts";
import type { CoreKind } from "../src/scheduler/types.ts";
import { RUNS, scale } from "./_util.ts";

const CORES: CoreKind[] = ["ts", "wasm"];
const HANDOFFS = scale(100_000);
const TASKS = 100;
const EACH = HANDOFFS / TASKS;

function* worker(lock: Lock, counter: { n: number }): Coroutine<void> {
  for (let i = 0; i < EACH; i++) {
    yield* lock.acquire();
    const seen = counter.n;
    yield; // hold it across a turn: everyone else queues
    counter.n = seen + 1;
    lock.release();
  }
}

function* handoffs(): Coroutine<void> {
  const lock = new Lock();
  const counter = { n: 0 };
  const ts = [];
  for (let t = 0; t < TASKS; t++) ts.push(createTask(worker(lock, counter)));
  for (const t of ts) yield* t;
  if (counter.n !== HANDOFFS) throw new Error(`lost updates: ${counter.n}`);
}

/** A FIFO mutex on promises: what one writes in plain JavaScript. */
class PromiseMutex {
  locked = false;
  waiters: (() => void)[] = [];
  head = 0;
  acquire(): Promise<void> {
    if (!this.locked) {
      this.locked = true;
      return Promise.resolve();
    }
    return new Promise((r) => this.waiters.push(r));
  }
  release(): void {
    if (this.head < this.waiters.length) {
      const next = this.waiters[this.head++]; // hand over: stays locked
      if (this.head > 1024 && this.head * 2 > this.waiters.length) {
        this.waiters = this.waiters.slice(this.head);
        this.head = 0;
      }
      next();
    } else this.locked = false;
  }
}

async function promiseHandoffs(): Promise<void> {
  const m = new PromiseMutex();
  const counter = { n: 0 };
  await Promise.all(Array.from({ length: TASKS }, async () => {
    for (let i = 0; i < EACH; i++) {
      await m.acquire();
      const seen = counter.n;
      await null;
      counter.n = seen + 1;
      m.release();
    }
  }));
  if (counter.n !== HANDOFFS) throw new Error(`lost updates: ${counter.n}`);
}

const group = `${HANDOFFS} Lock hand-offs between ${TASKS} tasks`;
for (const core of CORES) {
  Deno.bench({
    name: `aio ${core}`,
    group,
    baseline: core === "ts",
    ...RUNS,
    fn: async () => {
      await run(handoffs(), { core, clock: "virtual" });
    },
  });
}
Deno.bench({ name: "promise mutex (reference)", group, ...RUNS, fn: promiseHandoffs });
