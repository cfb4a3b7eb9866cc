/**
 * Context variables: Python's `contextvars` for aio. Every task runs in its
 * own copy of the context that was current when it was created, and every
 * callback runs in the context captured when it was scheduled, so a value set
 * in one task never leaks into another.
 *
 * @module
 */
import { RuntimeError, ValueError } from "./errors.ts";
import { describe } from "./util.ts";

// A context's data is a Map treated as immutable: `set` swaps in a copy, so
// `copy()` can share the map and costs nothing until someone writes.
/** @internal A context's variables; never mutated once built, so it can be shared. */
export type ContextData = Map<ContextVar<unknown>, unknown>;
type Data = ContextData;

const MISSING: unique symbol = Symbol("MISSING");

/**
 * A mapping of {@linkcode ContextVar}s to values. Obtain one with
 * {@linkcode copyContext}; run code in it with {@linkcode Context.run}.
 *
 * @example
 * ```ts
 * import { ContextVar, copyContext } from "@aio/aio";
 * const user = new ContextVar<string>("user", { default: "nobody" });
 * const ctx = copyContext();
 * ctx.run(() => user.set("ada"));
 * console.log(user.get(), ctx.get(user)); // "nobody" "ada"
 * ```
 */
export class Context {
  /** @internal */
  _data: Data;
  /** @internal */
  _entered = false;

  /** Creates an empty context (Python's `contextvars.Context()`). */
  constructor() {
    this._data = new Map();
  }

  /**
   * Calls `fn(...args)` with this context as the current one and returns its
   * result; changes `fn` makes to context variables stay in this context.
   * Entering a context that is already entered is a `RuntimeError`.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar("v", { default: 0 });
   * console.log(copyContext().run((x: number) => { v.set(x); return v.get(); }, 5)); // 5
   * ```
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    if (this._entered) {
      throw new RuntimeError("cannot enter context: it is already entered");
    }
    const prev = current;
    this._entered = true;
    current = this;
    try {
      return fn(...args);
    } finally {
      current = prev;
      this._entered = false;
    }
  }

  /**
   * A shallow copy: the same variables with the same values.
   *
   * @example
   * ```ts
   * import { copyContext } from "@aio/aio";
   * const a = copyContext();
   * console.log(a.copy().size === a.size); // true
   * ```
   */
  copy(): Context {
    const c = new Context();
    c._data = this._data;
    return c;
  }

  /**
   * The value of `v` in this context, or `dflt` when it has none.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar<number>("v");
   * console.log(copyContext().get(v, 42)); // 42
   * ```
   */
  get<T>(v: ContextVar<T>, dflt?: T): T | undefined {
    return this._data.has(v) ? this._data.get(v) as T : dflt;
  }

  /**
   * Whether `v` has a value in this context.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar<number>("v");
   * console.log(copyContext().has(v)); // false
   * ```
   */
  has(v: ContextVar<unknown>): boolean {
    return this._data.has(v);
  }

  /**
   * How many variables have a value in this context.
   *
   * @example
   * ```ts
   * import { Context } from "@aio/aio";
   * console.log(new Context().size); // 0
   * ```
   */
  get size(): number {
    return this._data.size;
  }

  /**
   * The variables and their values.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar("v");
   * v.set(1);
   * for (const [k, x] of copyContext().entries()) console.log(k.name, x);
   * ```
   */
  entries(): IterableIterator<[ContextVar<unknown>, unknown]> {
    return this._data.entries();
  }
}

let current: Context = new Context();

/** @internal The context callbacks and task steps run in. */
export function currentContext(): Context {
  return current;
}

/**
 * @internal Makes `ctx` current and returns the previous one; the event loop
 * uses this pair on its hot path instead of `run` to avoid a closure per step.
 */
export function swapContext(ctx: Context): Context {
  const prev = current;
  current = ctx;
  return prev;
}

/**
 * @internal What a callback captures instead of a copied `Context`: the
 * current variables. `set` replaces a context's map rather than changing it,
 * so this snapshot stays as it was, and scheduling allocates nothing.
 */
export function captureData(): ContextData {
  return current._data;
}

// The context a callback scheduled with captured data runs in. Callbacks never
// nest, so one object serves them all; what a callback sets dies with it, as
// it would in a fresh copy.
const scratch = new Context();

/** @internal Calls `fn(arg)` in an explicit context or in captured data. */
export function runCaptured<A>(ctx: Context | ContextData, fn: (arg: A) => void, arg: A): void {
  const prev = ctx instanceof Context ? swapContext(ctx) : enterData(ctx);
  try {
    fn(arg);
  } finally {
    current = prev;
  }
}

/** @internal Enters captured data (see `captureData`); returns the previous context. */
export function enterData(data: ContextData): Context {
  const prev = current;
  scratch._data = data;
  current = scratch;
  return prev;
}

/**
 * A copy of the current context (Python's `contextvars.copy_context()`).
 *
 * @example
 * ```ts
 * import { ContextVar, copyContext } from "@aio/aio";
 * const v = new ContextVar("v", { default: "a" });
 * const snapshot = copyContext();
 * v.set("b");
 * console.log(snapshot.get(v), v.get()); // undefined "b"
 * ```
 */
export function copyContext(): Context {
  return current.copy();
}

/**
 * What {@linkcode ContextVar.set} returns: hand it to
 * {@linkcode ContextVar.reset} to restore the previous value. A token can be
 * used once, with the variable and in the context that created it.
 *
 * @example
 * ```ts
 * import { ContextVar } from "@aio/aio";
 * const v = new ContextVar("v", { default: 1 });
 * const token = v.set(2);
 * v.reset(token);
 * console.log(v.get()); // 1
 * ```
 */
export class Token<T> {
  /** Marks "the variable had no value" in {@linkcode Token.oldValue}. */
  static readonly MISSING: typeof MISSING = MISSING;
  /** @internal */
  _used = false;
  /** @internal */
  readonly _ctx: Context;
  /** The variable this token belongs to. */
  readonly var: ContextVar<T>;
  /** The value before `set`, or `Token.MISSING`. */
  readonly oldValue: T | typeof MISSING;

  /** @internal Tokens come from `ContextVar.set`. */
  constructor(ctx: Context, v: ContextVar<T>, oldValue: T | typeof MISSING) {
    this._ctx = ctx;
    this.var = v;
    this.oldValue = oldValue;
  }
}

/**
 * A context variable (Python's `contextvars.ContextVar`): a value per task,
 * inherited by the tasks it creates.
 *
 * @example
 * ```ts
 * import { ContextVar, createTask, run } from "@aio/aio";
 * const requestId = new ContextVar<string>("requestId", { default: "-" });
 * await run(function* () {
 *   requestId.set("req-1");
 *   const child = createTask((function* () {
 *     return requestId.get(); // inherited from the creating task
 *   })());
 *   console.log(yield* child); // "req-1"
 * });
 * ```
 */
export class ContextVar<T> {
  /** The name given at construction, for debugging. */
  readonly name: string;
  readonly #default: T | typeof MISSING;

  /** Creates a variable; `options.default` is returned by `get()` when it has no value. */
  constructor(name: string, options?: { default?: T }) {
    if (typeof name !== "string") {
      throw new TypeError(`ContextVar name must be a string, got ${describe(name)}`);
    }
    this.name = name;
    this.#default = options !== undefined && "default" in options ? options.default as T : MISSING;
  }

  /**
   * The value in the current context; else `dflt` if given; else the
   * variable's default; else a `LookupError`-like `RuntimeError`.
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * const v = new ContextVar<number>("v");
   * console.log(v.get(7)); // 7
   * ```
   */
  get(dflt?: T): T {
    const data = current._data;
    if (data.has(this)) return data.get(this) as T;
    if (arguments.length > 0) return dflt as T;
    if (this.#default !== MISSING) return this.#default;
    throw new RuntimeError(`ContextVar ${this.name} has no value and no default (LookupError)`);
  }

  /**
   * Sets the value in the current context and returns a token that undoes it.
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * const v = new ContextVar("v", { default: 0 });
   * v.set(3);
   * console.log(v.get()); // 3
   * ```
   */
  set(value: T): Token<T> {
    const ctx = current;
    const old = ctx._data.has(this) ? ctx._data.get(this) as T : MISSING;
    const data = new Map(ctx._data);
    data.set(this, value);
    ctx._data = data;
    return new Token(ctx, this, old);
  }

  /**
   * Restores the value the variable had before the `set` that made `token`.
   * A token of another variable or context → `ValueError`; used twice →
   * `RuntimeError`.
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * const v = new ContextVar("v", { default: "x" });
   * const t = v.set("y");
   * v.reset(t);
   * console.log(v.get()); // "x"
   * ```
   */
  reset(token: Token<T>): void {
    if (!(token instanceof Token)) {
      throw new TypeError(`reset() expects a Token, got ${describe(token)}`);
    }
    if (token._used) throw new RuntimeError(`Token for ${this.name} has already been used once`);
    if (token.var !== this) {
      throw new ValueError(`Token was created by ContextVar ${token.var.name}, not ${this.name}`);
    }
    if (token._ctx !== current) {
      throw new ValueError(`Token for ${this.name} was created in a different Context`);
    }
    const data = new Map(current._data);
    if (token.oldValue === MISSING) data.delete(this);
    else data.set(this, token.oldValue);
    current._data = data;
    token._used = true;
  }
}
