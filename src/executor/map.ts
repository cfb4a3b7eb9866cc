/**
 * The results of `WorkerPoolExecutor.map`: in input order, read lazily,
 * a bounded number of chunks ahead.
 *
 * @module
 */
import { ValueError } from "../errors.ts";
import type { Coroutine } from "../task.ts";
import { describe } from "../util.ts";
import type { JobFuture } from "./job.ts";
import type { MapOptions } from "./pool.ts";
import type { ChunkResult } from "./protocol.ts";
import { deserializeError, type SerializedError } from "./remote_error.ts";

interface Chunk {
  fut: JobFuture<ChunkResult>;
  n: number;
}

/**
 * @internal An executor option that must be an integer `>= min`: a
 * `TypeError` for a non-number, a `ValueError` otherwise, naming `what`.
 */
export function intOption(v: unknown, what: string, min: number): number {
  if (typeof v !== "number" || Number.isNaN(v)) {
    throw new TypeError(`${what} must be a number, got ${describe(v)}`);
  }
  if (!Number.isInteger(v) || v < min) {
    throw new ValueError(`${what} must be an integer >= ${min}, got ${v}`);
  }
  return v;
}

/**
 * @internal `map()`'s arguments, checked as every executor checks them:
 * `iterable` must be iterable; `chunksize` defaults to 1 and `buffersize`
 * to `defaultBuffersize(chunksize)`.
 */
export function mapSizes(
  iterable: unknown,
  options: MapOptions | undefined,
  defaultBuffersize: (chunksize: number) => number,
): { chunksize: number; buffersize: number } {
  const chunksize = intOption(options?.chunksize ?? 1, "chunksize", 1);
  const buffersize = options?.buffersize === undefined
    ? defaultBuffersize(chunksize)
    : intOption(options.buffersize, "buffersize", 1);
  if (
    iterable === null || typeof (iterable as Iterable<unknown>)?.[Symbol.iterator] !== "function"
  ) {
    throw new TypeError(`map() expects an iterable, got ${describe(iterable)}`);
  }
  return { chunksize, buffersize };
}

/**
 * What `pool.map(fn, items)` returns. In a coroutine, each element is a
 * coroutine that evaluates to the next result:
 * `for (const next of results) console.log(yield* next)`. In async code it
 * is an async iterable: `for await (const r of results)`. Leaving either loop
 * early (`break`, an error) cancels the chunks not consumed.
 *
 * @example
 * ```ts ignore
 * import { run, WorkerPoolExecutor } from "@aio/aio";
 * await using pool = new WorkerPoolExecutor();
 * await run(function* () {
 *   for (const next of pool.map((s: string) => s.toUpperCase(), ["a", "b"])) {
 *     console.log(yield* next); // "A", then "B"
 *   }
 * });
 * ```
 *
 * @category Executors
 */
export class MapResults<R> implements Iterable<Coroutine<R>>, AsyncIterable<R> {
  /** @ignore */
  _submit: (items: unknown[]) => JobFuture<ChunkResult>;
  /** @ignore */
  _it: Iterator<unknown> | null;
  /** @ignore */
  _chunksize: number;
  /** @ignore */
  _buffersize: number;
  /** @ignore Submitted chunks after `_cur`, oldest first. */
  _ahead: Chunk[] = [];
  /** @ignore The chunk results are being taken from. */
  _cur: Chunk | null = null;
  /** @ignore Next index in `_cur`. */
  _pos = 0;
  /** @ignore */
  _closed = false;

  /** @ignore Made by `WorkerPoolExecutor.map`. */
  constructor(
    submit: (items: unknown[]) => JobFuture<ChunkResult>,
    iterable: Iterable<unknown>,
    chunksize: number,
    buffersize: number,
  ) {
    this._submit = submit;
    this._it = iterable[Symbol.iterator]();
    this._chunksize = chunksize;
    this._buffersize = buffersize;
    // Like Executor.map, work starts now, not at the first read.
    this._fill();
  }

  /**
   * Coroutines evaluating to the results in input order.
   *
   * @example
   * ```ts ignore
   * import { run, WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * await run(function* () {
   *   for (const next of pool.map((x: number) => x + 1, [1, 2])) console.log(yield* next);
   * });
   * ```
   */
  [Symbol.iterator](): Iterator<Coroutine<R>> {
    return {
      next: (): IteratorResult<Coroutine<R>> => {
        const chunk = this._next();
        if (chunk === null) return { done: true, value: undefined };
        return { done: false, value: item<R>(chunk.fut, this._pos++) };
      },
      return: (): IteratorResult<Coroutine<R>> => {
        this.close();
        return { done: true, value: undefined };
      },
    };
  }

  /**
   * The results in input order, for `for await`.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * console.log(await Array.fromAsync(pool.map((x: number) => x * 2, [1, 2, 3]))); // [2, 4, 6]
   * ```
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<R, void, undefined> {
    let finished = false;
    try {
      for (;;) {
        const chunk = this._next();
        if (chunk === null) break;
        const k = this._pos++;
        yield pick<R>(await chunk.fut, k);
      }
      finished = true;
    } finally {
      if (!finished) this.close();
    }
  }

  /**
   * A coroutine evaluating to all results as an array (Python's
   * `list(executor.map(...))`).
   *
   * @example
   * ```ts ignore
   * import { run, WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * const squares = await run(() => pool.map((x: number) => x * x, [1, 2, 3]).toArray());
   * console.log(squares); // [1, 4, 9]
   * ```
   */
  *toArray(): Coroutine<R[]> {
    const out: R[] = [];
    for (const next of this) out.push(yield* next);
    return out;
  }

  /**
   * Stops reading the input and cancels the chunks whose results were not
   * consumed. Called for you when a loop over the results exits early.
   *
   * @example
   * ```ts ignore
   * import { WorkerPoolExecutor } from "@aio/aio";
   * await using pool = new WorkerPoolExecutor();
   * const results = pool.map((x: number) => x, [1, 2, 3]);
   * results.close();
   * ```
   */
  close(): void {
    if (this._closed) return;
    this._closed = true;
    const it = this._it;
    this._it = null;
    it?.return?.();
    if (this._cur !== null && this._pos < this._cur.n) drop(this._cur.fut);
    this._cur = null;
    for (const c of this._ahead) drop(c.fut);
    this._ahead = [];
  }

  /** @ignore The chunk holding the next result, or null at the end. */
  _next(): Chunk | null {
    const cur = this._cur;
    if (cur !== null && this._pos < cur.n) return cur;
    if (this._closed) return null;
    this._cur = null;
    if (this._ahead.length === 0) this._fill();
    const next = this._ahead.shift();
    if (next === undefined) return null;
    this._cur = next;
    this._pos = 0;
    // Refill in bulk, once half the window is consumed: the new chunks then
    // share a message per worker instead of one message each.
    if (2 * (this._ahead.length + 1) <= this._buffersize) this._fill();
    return next;
  }

  /** @ignore Submits chunks until `buffersize` are unconsumed or the input ends. */
  _fill(): void {
    const it = this._it;
    if (it === null) return;
    while (this._ahead.length + (this._cur === null ? 0 : 1) < this._buffersize) {
      const items: unknown[] = [];
      while (items.length < this._chunksize) {
        const r = it.next();
        if (r.done) {
          this._it = null;
          break;
        }
        items.push(r.value);
      }
      if (items.length > 0) this._ahead.push({ fut: this._submit(items), n: items.length });
      if (this._it === null) return;
    }
  }
}

/** Cancels a chunk nobody will read; a failure it already had is nobody's news either. */
function drop(fut: JobFuture<ChunkResult>): void {
  if (!fut.cancel() && fut.done() && !fut.cancelled()) fut.exception();
}

function* item<R>(fut: JobFuture<ChunkResult>, k: number): Coroutine<R> {
  return pick<R>(yield* fut, k);
}

const rebuilt = new WeakMap<ChunkResult, Map<number, Error>>();

function pick<R>(res: ChunkResult, k: number): R {
  const e = res.e;
  if (e !== null) {
    for (let i = 0; i < e.length; i += 2) {
      if (e[i] !== k) continue;
      let errors = rebuilt.get(res);
      if (errors === undefined) rebuilt.set(res, errors = new Map());
      let err = errors.get(k);
      if (err === undefined) errors.set(k, err = deserializeError(e[i + 1] as SerializedError));
      throw err;
    }
  }
  return res.r[k] as R;
}
