/**
 * `transfer`: move buffers to or from a worker instead of copying them.
 *
 * @module
 */

// The marks live in one WeakMap per realm, reached through a registered
// symbol: a job module that imports aio from another URL (JSR in the worker,
// a local checkout in the pool, or the reverse) still marks values the
// worker entry can see.
const KEY = Symbol.for("aio.executor.transfer");
const g = globalThis as unknown as Record<symbol, WeakMap<object, Transferable[]>>;
const marks: WeakMap<object, Transferable[]> = g[KEY] ??= new WeakMap();

/**
 * Marks `value` (an argument of `submit`, or what a job returns) so that the
 * objects in `list` (`ArrayBuffer`s, `MessagePort`s, …) are moved to the
 * other side instead of copied: fast for large buffers, and the sender's
 * copies become detached (zero length). Returns `value` itself, so it fits
 * anywhere `value` does.
 *
 * In a function sent as source, where imports are out of reach, use
 * `this.transfer(value, list)` instead (see `JobContext`).
 *
 * @example
 * ```ts ignore
 * import { transfer, WorkerPoolExecutor } from "@aio/aio";
 * await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
 * const bytes = new Uint8Array(1 << 20);
 * const sum = await pool.submit(
 *   (b: Uint8Array) => b.reduce((a, x) => a + x, 0),
 *   transfer(bytes, [bytes.buffer]),
 * );
 * console.log(sum, bytes.byteLength); // 0 0: the buffer moved to the worker
 * ```
 *
 * @category Executors
 */
export function transfer<T>(value: T, list: Transferable[]): T {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      "transfer() marks an object (an ArrayBuffer, a typed array, an object holding them); " +
        `got ${value === null ? "null" : typeof value}. Primitives are copied anyway.`,
    );
  }
  if (!Array.isArray(list)) {
    throw new TypeError("transfer(value, list): list must be an array of transferable objects");
  }
  marks.set(value as object, list);
  return value;
}

/** @internal The transfer list marked on `value`, removing the mark. */
export function takeTransfer(value: unknown): Transferable[] | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const list = marks.get(value);
  if (list !== undefined) marks.delete(value);
  return list;
}
