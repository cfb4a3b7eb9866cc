/**
 * Context variables: Python's `contextvars` for aio. Every task runs in its
 * own copy of the context that was current when it was created, and every
 * callback runs in the context captured when it was scheduled, so a value set
 * in one task never leaks into another.
 *
 * @module
 */
import { LookupError, RuntimeError, ValueError } from "./errors.ts";
import { describe } from "./util.ts";

// Copy on write: copying a context or capturing its variables for a callback
// shares the Map and marks it shared; `set`/`reset` then replace a shared Map
// with a copy, but change a Map the context owns alone in place. A task that
// sets a variable twice between two awaits copies once.
/** @internal A context's variables. Never changed once shared (captured or copied). */
export type ContextData = Map<ContextVar<unknown>, unknown>;
type Data = ContextData;

/** The variables of an empty context; never written, as it is always shared. */
const EMPTY: Data = new Map();

// A ContextVar without a default.
const NO_DEFAULT: unique symbol = Symbol("NO_DEFAULT");

function checkVar(v: unknown, what: string): void {
  if (!(v instanceof ContextVar)) {
    throw new TypeError(`${what}: a ContextVar key was expected, got ${describe(v)}`);
  }
}

/**
 * A mapping of {@linkcode ContextVar}s to values (Python's
 * `contextvars.Context`). Obtain one with {@linkcode copyContext} (or
 * `new Context()` for an empty one); run code in it with
 * {@linkcode Context.run}; run a coroutine in it with
 * `createTask(coro, { context })`.
 *
 * It is iterable over its variables, like a Python mapping.
 *
 * @example
 * ```ts
 * import { ContextVar, copyContext } from "@aio/aio";
 * const user = new ContextVar<string>("user", { default: "nobody" });
 * const ctx = copyContext();
 * ctx.run(() => user.set("ada"));
 * console.log(user.get(), ctx.get(user)); // "nobody" "ada"
 * ```
 *
 * @category Context
 */
export class Context implements Iterable<ContextVar<unknown>> {
  /** @ignore */
  _data: Data;
  /** @ignore Whether `_data` may be referenced elsewhere (then copy before writing). */
  _shared = false;
  /** @ignore */
  _entered = false;
  /** @ignore Bumped each time the callback scratch context is reused. */
  _epoch = 0;

  /** Creates an empty context (Python's `contextvars.Context()`). */
  constructor() {
    // Shared, so the first `set` copies it: a task's context (a copy of its
    // creator's) never allocates a Map of its own unless the task sets one.
    this._data = EMPTY;
    this._shared = true;
  }

  /**
   * Calls `fn(...args)` with this context as the current one and returns its
   * result; changes `fn` makes to context variables stay in this context.
   * Entering a context that is already entered is a `RuntimeError`. A
   * coroutine only runs synchronously here up to its first suspension: to
   * run one in a context, use `createTask(coro, { context })`.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar("v", { default: 0 });
   * console.log(copyContext().run((x: number) => { v.set(x); return v.get(); }, 5)); // 5
   * ```
   */
  run<A extends unknown[], R>(fn: (...args: A) => R, ...args: A): R {
    if (typeof fn !== "function") {
      throw new TypeError(`Context.run() expects a function, got ${describe(fn)}`);
    }
    if (this._entered) {
      throw new RuntimeError(
        "cannot enter context: it is already entered (use copy() to run in a copy)",
      );
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
   * A shallow copy: the same variables with the same values. Later changes
   * to either do not affect the other.
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
    c._shared = true;
    this._shared = true;
    return c;
  }

  /**
   * The value of `v` in this context, or `dflt` when it has none. A key that
   * is not a `ContextVar` is a `TypeError`.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar<number>("v");
   * console.log(copyContext().get(v, 42)); // 42
   * ```
   */
  get<T>(v: ContextVar<T>, dflt?: T): T | undefined {
    checkVar(v, "Context.get()");
    const x = this._data.get(v);
    if (x !== undefined || this._data.has(v)) return x as T;
    return dflt;
  }

  /**
   * Whether `v` has a value in this context (Python's `v in ctx`).
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar<number>("v");
   * console.log(copyContext().has(v)); // false
   * ```
   */
  has(v: ContextVar<unknown>): boolean {
    checkVar(v, "Context.has()");
    return this._data.has(v);
  }

  /**
   * How many variables have a value in this context (Python's `len(ctx)`).
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
   * The variables that have a value here.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar("v");
   * v.set(1);
   * console.log([...copyContext().keys()].includes(v)); // true
   * ```
   */
  keys(): IterableIterator<ContextVar<unknown>> {
    return this._snapshot().keys();
  }

  /**
   * The values of the variables that have one here.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar("v");
   * v.set("x");
   * console.log([...copyContext().values()].includes("x")); // true
   * ```
   */
  values(): IterableIterator<unknown> {
    return this._snapshot().values();
  }

  /**
   * The variables and their values (Python's `ctx.items()`).
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
    return this._snapshot().entries();
  }

  /**
   * Iterates over the variables, like iterating a Python mapping.
   *
   * @example
   * ```ts
   * import { ContextVar, copyContext } from "@aio/aio";
   * const v = new ContextVar("v");
   * v.set(1);
   * console.log([...copyContext()].length >= 1); // true
   * ```
   */
  [Symbol.iterator](): IterableIterator<ContextVar<unknown>> {
    return this.keys();
  }

  /** @ignore Iteration sees the variables as they are now, whatever happens next. */
  _snapshot(): Data {
    this._shared = true;
    return this._data;
  }
}

let current: Context = new Context();

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
 * current variables. The Map is marked shared, so later `set`s in this
 * context copy it and the snapshot stays as it was; scheduling allocates
 * nothing.
 */
export function captureData(): ContextData {
  current._shared = true;
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
  scratch._shared = true;
  // Tokens made by an earlier callback must not reset this one's variables.
  scratch._epoch++;
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
 *
 * @category Context
 */
export function copyContext(): Context {
  return current.copy();
}

/**
 * What {@linkcode ContextVar.set} returns: hand it to
 * {@linkcode ContextVar.reset} to restore the previous value. A token can be
 * used once, with the variable and in the context that created it.
 *
 * It is also disposable (as Python 3.14's token is a context manager):
 * `using _ = v.set(x);` restores the previous value when the block ends, in
 * a plain function or in a coroutine.
 *
 * @example
 * ```ts
 * import { ContextVar } from "@aio/aio";
 * const v = new ContextVar("v", { default: 1 });
 * const token = v.set(2);
 * v.reset(token);
 * console.log(v.get()); // 1
 * {
 *   using _scoped = v.set(3);
 *   console.log(v.get()); // 3
 * }
 * console.log(v.get()); // 1
 * ```
 *
 * @category Context
 */
export class Token<T> implements Disposable {
  /** Marks "the variable had no value" in {@linkcode Token.oldValue}. */
  static readonly MISSING: unique symbol = Symbol("Token.MISSING");
  /** @ignore */
  _used = false;
  /** @ignore */
  readonly _ctx: Context;
  /** @ignore */
  readonly _epoch: number;
  readonly #var: ContextVar<T>;
  readonly #oldValue: T | typeof Token.MISSING;

  /** @ignore Tokens come from `ContextVar.set`. */
  constructor(ctx: Context, v: ContextVar<T>, oldValue: T | typeof Token.MISSING) {
    this._ctx = ctx;
    this._epoch = ctx._epoch;
    this.#var = v;
    this.#oldValue = oldValue;
  }

  /**
   * The variable this token belongs to.
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * const v = new ContextVar("v");
   * console.log(v.set(1).var === v); // true
   * ```
   */
  get var(): ContextVar<T> {
    return this.#var;
  }

  /**
   * The value before `set`, or `Token.MISSING` if the variable had none.
   *
   * @example
   * ```ts
   * import { ContextVar, Token } from "@aio/aio";
   * const v = new ContextVar<number>("v");
   * console.log(v.set(1).oldValue === Token.MISSING); // true
   * ```
   */
  get oldValue(): T | typeof Token.MISSING {
    return this.#oldValue;
  }

  /**
   * Resets the variable with this token unless it was already used: what
   * `using` calls when the block ends.
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * const v = new ContextVar("v", { default: "a" });
   * const t = v.set("b");
   * t[Symbol.dispose]();
   * console.log(v.get()); // "a"
   * ```
   */
  [Symbol.dispose](): void {
    if (!this._used) this.#var.reset(this);
  }

  /**
   * A short description such as `<Token var=<ContextVar name="v"> used>`.
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * console.log(String(new ContextVar("v").set(1))); // '<Token var=<ContextVar name="v">>'
   * ```
   */
  toString(): string {
    return `<Token${this._used ? " used" : ""} var=${this.#var}>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

/**
 * A context variable (Python's `contextvars.ContextVar`): a value per task,
 * inherited by the tasks it creates, and by the callbacks it schedules.
 * Create variables once, at module level: each `new ContextVar` is a distinct
 * key, whatever its name.
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
 *
 * @category Context
 */
export class ContextVar<T> {
  readonly #name: string;
  readonly #default: T | typeof NO_DEFAULT;

  /**
   * Creates a variable; `options.default` is what `get()` returns when the
   * variable has no value. A name that is not a string is a `TypeError`.
   */
  constructor(name: string, options?: { default?: T }) {
    if (typeof name !== "string") {
      throw new TypeError(`ContextVar name must be a string, got ${describe(name)}`);
    }
    this.#name = name;
    this.#default = options !== undefined && "default" in options
      ? options.default as T
      : NO_DEFAULT;
  }

  /**
   * The name given at construction, for debugging (read-only).
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * console.log(new ContextVar("user").name); // "user"
   * ```
   */
  get name(): string {
    return this.#name;
  }

  /**
   * The value in the current context; else `dflt` if given; else the
   * variable's default; else a `LookupError`.
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
    const x = data.get(this);
    if (x !== undefined || data.has(this)) return x as T;
    if (arguments.length > 0) return dflt as T;
    if (this.#default !== NO_DEFAULT) return this.#default;
    throw new LookupError(
      `ContextVar ${this.#name} has no value and no default: set it, or pass a default`,
    );
  }

  /**
   * Sets the value in the current context and returns a token that undoes
   * it (see {@linkcode ContextVar.reset}; the token is also disposable).
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
    let data = ctx._data;
    const x = data.get(this);
    const old = x !== undefined || data.has(this) ? x as T : Token.MISSING;
    if (ctx._shared) {
      data = new Map(data);
      ctx._data = data;
      ctx._shared = false;
    }
    data.set(this, value);
    return new Token(ctx, this, old);
  }

  /**
   * Restores the value the variable had before the `set` that made `token`
   * (or removes it, if it had none). A token of another variable or made in
   * another context → `ValueError`; a token used twice → `RuntimeError`; not
   * a token → `TypeError`.
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
      throw new TypeError(`reset() expects a Token from set(), got ${describe(token)}`);
    }
    if (token._used) {
      throw new RuntimeError(`Token for ${this.#name} has already been used once`);
    }
    if (token.var !== this) {
      throw new ValueError(
        `Token was created by a different ContextVar (${token.var.name}), not ${this.#name}`,
      );
    }
    const ctx = current;
    if (token._ctx !== ctx || token._epoch !== ctx._epoch) {
      throw new ValueError(`Token for ${this.#name} was created in a different Context`);
    }
    let data = ctx._data;
    if (ctx._shared) {
      data = new Map(data);
      ctx._data = data;
      ctx._shared = false;
    }
    if (token.oldValue === Token.MISSING) data.delete(this);
    else data.set(this, token.oldValue);
    token._used = true;
  }

  /**
   * A short description such as `<ContextVar name="v" default=1>`.
   *
   * @example
   * ```ts
   * import { ContextVar } from "@aio/aio";
   * console.log(String(new ContextVar("v", { default: 1 }))); // '<ContextVar name="v" default=1>'
   * ```
   */
  toString(): string {
    const d = this.#default === NO_DEFAULT ? "" : ` default=${describeDefault(this.#default)}`;
    return `<ContextVar name=${JSON.stringify(this.#name)}${d}>`;
  }

  /** @ignore */
  [Symbol.for("Deno.customInspect")](): string {
    return this.toString();
  }
}

function describeDefault(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 40 ? v.slice(0, 37) + "..." : v);
  if (typeof v === "object" && v !== null) return Array.isArray(v) ? "[...]" : "{...}";
  return String(v);
}
