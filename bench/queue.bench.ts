// Queue throughput on both scheduler cores; the TS core is each group's
// baseline. A promise-based bounded channel (the usual JavaScript way) runs
// the same workload for reference. Virtual clock: no timers are involved, so
// this measures the queue and the task switches it causes.
//
//   deno bench -A bench/queue.bench.ts
import { type Coroutine, createTask, Queue, run } from "../mod.ts";
import type { CoreKind } from "../src/scheduler/types.ts";
import { RUNS, scale } from "./_util.ts";

const CORES: CoreKind[] = ["ts", "wasm"];
const ITEMS = scale(1_000_000);
const MAXSIZE = 100;

function* produce(q: Queue<number>, from: number, count: number): Coroutine<void> {
  for (let i = from; i < from + count; i++) yield* q.put(i);
}

function* consume(q: Queue<number>, count: number): Coroutine<number> {
  let sum = 0;
  for (let i = 0; i < count; i++) sum += yield* q.get();
  return sum;
}

function* pipeline(producers: number, consumers: number): Coroutine<number> {
  const q = new Queue<number>(MAXSIZE);
  const ps = [];
  const cs = [];
  for (let p = 0; p < producers; p++) {
    ps.push(createTask(produce(q, p * (ITEMS / producers), ITEMS / producers)));
  }
  for (let c = 0; c < consumers; c++) cs.push(createTask(consume(q, ITEMS / consumers)));
  let sum = 0;
  for (const t of ps) yield* t;
  for (const t of cs) sum += yield* t;
  if (sum !== (ITEMS * (ITEMS - 1)) / 2) throw new Error(`lost items: sum ${sum}`);
  return sum;
}

/** A bounded channel on promises: what one writes in plain JavaScript. */
class PromiseChannel<T> {
  items: T[] = [];
  head = 0;
  getters: ((v: void) => void)[] = [];
  putters: ((v: void) => void)[] = [];
  constructor(readonly maxsize: number) {}
  size(): number {
    return this.items.length - this.head;
  }
  async put(x: T): Promise<void> {
    while (this.size() >= this.maxsize) await new Promise<void>((r) => this.putters.push(r));
    this.items.push(x);
    this.getters.shift()?.();
  }
  async get(): Promise<T> {
    while (this.size() === 0) await new Promise<void>((r) => this.getters.push(r));
    const x = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    this.putters.shift()?.();
    return x;
  }
}

async function promiseChannel(producers: number, consumers: number): Promise<void> {
  const ch = new PromiseChannel<number>(MAXSIZE);
  const work: Promise<unknown>[] = [];
  for (let p = 0; p < producers; p++) {
    work.push((async () => {
      const from = p * (ITEMS / producers);
      for (let i = from; i < from + ITEMS / producers; i++) await ch.put(i);
    })());
  }
  let sum = 0;
  for (let c = 0; c < consumers; c++) {
    work.push((async () => {
      let mine = 0;
      for (let i = 0; i < ITEMS / consumers; i++) mine += await ch.get();
      sum += mine;
    })());
  }
  await Promise.all(work);
  if (sum !== (ITEMS * (ITEMS - 1)) / 2) throw new Error(`lost items: sum ${sum}`);
}

for (const [producers, consumers] of [[1, 1], [10, 10]]) {
  const group = `${ITEMS} items through Queue(${MAXSIZE}), ${producers} producer${
    producers > 1 ? "s" : ""
  } -> ${consumers} consumer${consumers > 1 ? "s" : ""}`;
  for (const core of CORES) {
    Deno.bench({
      name: `aio ${core}`,
      group,
      baseline: core === "ts",
      ...RUNS,
      fn: async () => {
        await run(pipeline(producers, consumers), { core, clock: "virtual" });
      },
    });
  }
  Deno.bench({
    name: "promise channel (reference)",
    group,
    ...RUNS,
    // An async function: deno bench awaits only those.
    fn: async () => {
      await promiseChannel(producers, consumers);
    },
  });
}
