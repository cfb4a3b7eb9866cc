// Native Deno on W1–W6, W3e and W8: async functions with `await null`, Promise.all,
// setTimeout/clearTimeout, a minimal promise-based bounded channel, and an
// AbortSignal for W8 (the native way to cancel). The baseline aio must stay near.
// W3e runs W3 again: an async function already runs eagerly, up to its first await.
// Run: deno run -A bench/compare/native.ts [--quick] [--workload W3]
import {
  delays,
  runWorkloads,
  W2_TASKS,
  W4_SEED,
  W5_SEED,
  W6_CAPACITY,
  W8_DEPTH,
} from "./workloads.ts";

async function spin(k: number): Promise<void> {
  for (let i = 0; i < k; i++) await null; // a microtask: unlike aio's yield, no timer or I/O runs
}

// deno-lint-ignore require-await -- the point: Promise.all over async functions
async function one(): Promise<number> {
  return 1;
}

function fireAll(ds: Float64Array): Promise<void> {
  return new Promise((resolve) => {
    let left = ds.length;
    const fire = () => {
      if (--left === 0) resolve();
    };
    for (let i = 0; i < ds.length; i++) setTimeout(fire, ds[i]);
  });
}

function cancelAll(ds: Float64Array): Promise<void> {
  const noop = () => {};
  const ids = new Array<ReturnType<typeof setTimeout>>(ds.length);
  for (let i = 0; i < ds.length; i++) ids[i] = setTimeout(noop, ds[i]);
  for (let i = 0; i < ds.length; i++) clearTimeout(ids[i]);
  return Promise.resolve();
}

/**
 * The smallest correct bounded channel for one producer and one consumer:
 * a promise only when a side must wait, so the baseline pays no microtask per
 * item it does not need.
 */
class Channel<T> {
  #items: T[] = [];
  #getter: ((v: T) => void) | null = null;
  #putter: (() => void) | null = null;
  constructor(readonly capacity: number) {}

  put(v: T): Promise<void> | void {
    if (this.#getter !== null) {
      const g = this.#getter;
      this.#getter = null;
      return g(v);
    }
    this.#items.push(v);
    if (this.#items.length < this.capacity) return;
    return new Promise((resolve) => (this.#putter = resolve));
  }

  get(): Promise<T> | T {
    if (this.#items.length > 0) {
      const v = this.#items.shift()!;
      if (this.#putter !== null) {
        const p = this.#putter;
        this.#putter = null;
        p();
      }
      return v;
    }
    return new Promise((resolve) => (this.#getter = resolve));
  }
}

async function pipe(n: number): Promise<void> {
  const ch = new Channel<number>(W6_CAPACITY);
  const producer = (async () => {
    for (let i = 0; i < n; i++) {
      const wait = ch.put(i);
      if (wait !== undefined) await wait;
    }
  })();
  for (let i = 0; i < n; i++) {
    const v = ch.get();
    if (v instanceof Promise) await v;
  }
  await producer;
}

async function deep(d: number, signal: AbortSignal): Promise<void> {
  if (d > 0) return await deep(d - 1, signal);
  await new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason)));
}

async function cancelDeep(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const ac = new AbortController();
    const p = deep(W8_DEPTH, ac.signal);
    await null; // as the others, let it block first
    ac.abort();
    await p.catch(() => {});
  }
}

await runWorkloads("native", {
  W1: (n) => () => spin(n),
  W2: (n) => () => Promise.all(Array.from({ length: W2_TASKS }, () => spin(n / W2_TASKS))),
  W3: (n) => () => Promise.all(Array.from({ length: n }, one)),
  W3e: (n) => () => Promise.all(Array.from({ length: n }, one)),
  W4: (n) => {
    const ds = delays(n, W4_SEED, 0, 100);
    return () => fireAll(ds);
  },
  W5: (n) => {
    const ds = delays(n, W5_SEED, 1000, 2000);
    return () => cancelAll(ds);
  },
  W6: (n) => () => pipe(n),
  W8: (n) => () => cancelDeep(n),
});
