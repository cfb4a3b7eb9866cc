// The pool anyone would write first, the baseline of bench/executor.bench.ts:
// one job in flight per worker, one postMessage each way per job, functions
// sent as source and compiled once per worker (as aio does).

const WORKER_SRC = `
const fns = new Map();
onmessage = (e) => {
  const [src, args] = e.data;
  let fn = fns.get(src);
  if (fn === undefined) fns.set(src, fn = (0, eval)("(" + src + ")"));
  postMessage(fn(...args));
};`;

/** N workers, each given the next job when it answers the last. */
export class OneInFlightPool {
  #workers: Worker[] = [];
  #idle: Worker[] = [];
  #queue: [string, unknown[], (r: unknown) => void][] = [];
  #url: string;

  constructor(size: number) {
    this.#url = URL.createObjectURL(new Blob([WORKER_SRC], { type: "text/javascript" }));
    for (let i = 0; i < size; i++) {
      const w = new Worker(this.#url, { type: "module" });
      this.#workers.push(w);
      this.#idle.push(w);
    }
  }

  // deno-lint-ignore no-explicit-any
  run<A extends any[], R>(fn: (...args: A) => R, ...args: A): Promise<R> {
    return new Promise((resolve) => {
      this.#queue.push([fn.toString(), args, resolve as (r: unknown) => void]);
      this.#dispatch();
    });
  }

  #dispatch(): void {
    while (this.#idle.length > 0 && this.#queue.length > 0) {
      const w = this.#idle.pop()!;
      const [src, args, resolve] = this.#queue.shift()!;
      w.onmessage = (e) => {
        this.#idle.push(w);
        resolve(e.data);
        this.#dispatch();
      };
      w.postMessage([src, args]);
    }
  }

  close(): void {
    for (const w of this.#workers) w.terminate();
    URL.revokeObjectURL(this.#url);
  }
}
