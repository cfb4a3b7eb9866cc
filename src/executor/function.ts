/**
 * How a job's function reaches a worker: as source text, or as an export of
 * a module the worker imports (`workerFunction`).
 *
 * @module
 */

/**
 * A function a worker can run as a job: plain, async, or a coroutine
 * function (`function*`).
 *
 * @category Executors
 */
// deno-lint-ignore no-explicit-any
export type JobFunction = (...args: any[]) => unknown;

/**
 * What a job produces once it is done: a coroutine function's return value,
 * an async function's resolved value, or a plain function's result.
 *
 * @category Executors
 */
export type JobResult<R> = R extends Generator<unknown, infer T, unknown> ? T : Awaited<R>;

/**
 * A function the worker imports: the export `exportName` of the module at
 * `url`. Made by {@linkcode workerFunction}. The type parameter carries the
 * function's signature so `submit` can check arguments and result.
 *
 * @example
 * ```ts
 * import { WorkerFunction, workerFunction, WorkerPoolExecutor } from "@aio/aio";
 * // A data: URL keeps the example in one file; real code passes
 * // new URL("./jobs.ts", import.meta.url).
 * const double = workerFunction<(x: number) => number>(
 *   "data:text/javascript,export const double = (x) => 2 * x;",
 *   "double",
 * );
 * console.log(double instanceof WorkerFunction, double.exportName); // true "double"
 * await using pool = new WorkerPoolExecutor({ maxWorkers: 1 });
 * console.log(await pool.submit(double, 21)); // 42
 * ```
 *
 * @category Executors
 */
export class WorkerFunction<F extends JobFunction = JobFunction> {
  /** The module's absolute URL (`file:`, `https:`, `jsr:`, `npm:`…). */
  readonly url: string;
  /** The export to call. */
  readonly exportName: string;
  /** @ignore Type-level only: the function's signature. */
  declare readonly _signature?: F;

  /** Prefer {@linkcode workerFunction}. */
  constructor(url: string, exportName: string) {
    this.url = url;
    this.exportName = exportName;
  }

  /** `workerFunction(url#exportName)`, for error messages and logs. */
  toString(): string {
    return `workerFunction(${this.url}#${this.exportName})`;
  }
}

/**
 * Names a function exported by a module, for `submit`, `map` and
 * `runInExecutor`: each worker imports the module once and calls the export.
 * Use it for functions that need imports or module state, which functions
 * sent as source cannot have. An export that is a coroutine function
 * (`function*`) runs on an aio event loop inside the worker, so it can use
 * `sleep`, `gather` and the rest.
 *
 * `moduleUrl` should be absolute: `new URL("./jobs.ts", import.meta.url)`
 * works wherever your code lives, JSR included. A string starting with `./`,
 * `../` or `/` is resolved against the current directory.
 *
 * @example
 * ```ts ignore
 * import { WorkerPoolExecutor, workerFunction } from "@aio/aio";
 * // jobs.ts: export function fib(n: number): number { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
 * const fib = workerFunction<typeof import("./jobs.ts").fib>(
 *   new URL("./jobs.ts", import.meta.url),
 *   "fib",
 * );
 * await using pool = new WorkerPoolExecutor();
 * console.log(await pool.submit(fib, 30)); // 832040
 * ```
 *
 * @category Executors
 */
export function workerFunction<F extends JobFunction = JobFunction>(
  moduleUrl: string | URL,
  exportName = "default",
): WorkerFunction<F> {
  if (typeof exportName !== "string" || exportName === "") {
    throw new TypeError("workerFunction(): exportName must be a non-empty string");
  }
  return new WorkerFunction<F>(resolveModuleUrl(moduleUrl), exportName);
}

function resolveModuleUrl(u: string | URL): string {
  if (u instanceof URL) return u.href;
  if (typeof u !== "string") {
    throw new TypeError("workerFunction(): moduleUrl must be a URL or a string");
  }
  if (u.startsWith("./") || u.startsWith("../") || u.startsWith("/")) {
    let cwd: string;
    try {
      cwd = Deno.cwd();
    } catch {
      throw new TypeError(
        `workerFunction(): cannot resolve ${JSON.stringify(u)} without read access to the ` +
          `current directory; pass new URL(${JSON.stringify(u)}, import.meta.url) instead`,
      );
    }
    const base = "file://" + (cwd.startsWith("/") ? "" : "/") + cwd.replaceAll("\\", "/") + "/";
    return new URL(u, base).href;
  }
  try {
    return new URL(u).href;
  } catch {
    throw new TypeError(
      `workerFunction(): ${JSON.stringify(u)} is not a URL; ` +
        `pass new URL("./module.ts", import.meta.url)`,
    );
  }
}

/**
 * The source a worker compiles for `fn`, after checking that it can run
 * there. Throws a TypeError naming the problem otherwise. Closures cannot be
 * seen from here; the worker reports them at the first call (see
 * {@linkcode selfContainedHint}).
 */
export function functionSource(fn: JobFunction): string {
  const src = Function.prototype.toString.call(fn);
  // The same source passes the same checks: an inline arrow is a new object per call.
  if (checked.has(src)) return src;
  const what = describeFn(fn);
  if (/\{\s*\[native code\]\s*\}\s*$/.test(src)) {
    throw new TypeError(
      `${what} is native or bound, so it has no source to send to a worker. ` +
        `Wrap the call in a self-contained function, e.g. (x) => Math.sqrt(x), ` +
        `and pass bound values as arguments.`,
    );
  }
  const kind = fn.constructor?.name;
  if (kind === "AsyncGeneratorFunction") {
    throw new TypeError(
      `${what} is an async generator: its results cannot cross to the pool one by one. ` +
        `Return an array, or use a function* coroutine.`,
    );
  }
  const code = stripLiterals(src);
  if (/^class\b/.test(code)) {
    throw new TypeError(`${what} is a class, which cannot be called as a job`);
  }
  const form = /^(async\s+)?function\b/.test(code)
    ? "function"
    : isArrow(code)
    ? "arrow"
    : "method";
  if (/\bsuper\b/.test(code)) {
    throw new TypeError(
      `${what} uses super, which refers to a class that does not exist in the worker; ` +
        `submit a standalone function and pass the data as arguments`,
    );
  }
  if (form !== "function" && /\bthis\b/.test(code)) {
    throw new TypeError(
      form === "method"
        ? `${what} is a method that uses this: in the worker it would run without its ` +
          `object. Submit a standalone function and pass the data it needs as arguments.`
        : `${what} is an arrow function that uses this, which it captures from the code ` +
          `around it; that object does not exist in the worker. Pass the data as arguments.`,
    );
  }
  try {
    compileSource(src);
  } catch (e) {
    throw new TypeError(
      `${what} cannot be compiled from its source text: ${(e as Error).message}`,
    );
  }
  if (checked.size > 10_000) checked.clear();
  checked.add(src);
  return src;
}

const checked = new Set<string>();

/**
 * Compiles a function's source in the global scope (indirect eval, strict
 * mode): the function sees globals only, exactly as it will in a worker.
 */
export function compileSource(src: string): JobFunction {
  let fn: unknown;
  try {
    fn = (0, eval)(`"use strict";(${src}\n)`);
  } catch (e) {
    if (!(e instanceof SyntaxError)) throw e;
    // Method shorthand (`name(x) {…}`, `async *name() {…}`) is not an
    // expression on its own; as the only member of an object literal it is.
    const obj = (0, eval)(`"use strict";({${src}\n})`) as object;
    const d = Object.getOwnPropertyDescriptor(obj, Reflect.ownKeys(obj)[0])!;
    fn = d.value ?? d.get ?? d.set;
  }
  if (typeof fn !== "function") throw new SyntaxError("the source is not a function");
  return fn as JobFunction;
}

/**
 * Added to a ReferenceError a source-sent function throws: almost always it
 * used a variable or import of the module it came from.
 */
export function selfContainedHint(name: string): string {
  return ` (in ${name}, sent to the worker as source text: such a function must be ` +
    `self-contained, it cannot use variables, functions or imports from the module that ` +
    `defined it. Pass values as arguments, or export it from a module and submit ` +
    `workerFunction(moduleUrl, exportName).)`;
}

/** `function f`, `arrow function`, … for messages. */
export function describeFn(fn: JobFunction): string {
  const kind = fn.constructor?.name === "GeneratorFunction"
    ? "generator function"
    : fn.constructor?.name === "AsyncFunction"
    ? "async function"
    : "function";
  return fn.name ? `${kind} ${fn.name}` : `anonymous ${kind}`;
}

function isArrow(code: string): boolean {
  // Parameters end at the first `)` at depth zero (or are a single name);
  // an arrow follows them.
  let i = 0;
  if (code.startsWith("async")) {
    const rest = code.slice(5);
    if (/^\s/.test(rest) || rest.startsWith("(")) i = 5;
  }
  while (i < code.length && /\s/.test(code[i])) i++;
  if (code[i] === "(") {
    let depth = 0;
    for (; i < code.length; i++) {
      const c = code[i];
      if (c === "(" || c === "[" || c === "{") depth++;
      else if (c === ")" || c === "]" || c === "}") {
        depth--;
        if (depth === 0) {
          i++;
          break;
        }
      }
    }
  } else {
    const m = /^[\p{L}\p{Nl}$_][\p{L}\p{Nl}\p{Mn}\p{Mc}\p{Nd}\p{Pc}$\u200c\u200d]*/u.exec(
      code.slice(i),
    );
    if (m === null) return false;
    i += m[0].length;
  }
  return /^\s*=>/.test(code.slice(i));
}

/**
 * The source with comments removed and string, template and regex-free
 * literal contents blanked, so a word inside a string does not count as code.
 */
function stripLiterals(src: string): string {
  let out = "";
  let i = 0;
  const n = src.length;
  while (i < n) {
    const c = src[i];
    const d = src[i + 1];
    if (c === "/" && d === "/") {
      while (i < n && src[i] !== "\n") i++;
    } else if (c === "/" && d === "*") {
      const end = src.indexOf("*/", i + 2);
      i = end < 0 ? n : end + 2;
      out += " ";
    } else if (c === "'" || c === '"' || c === "`") {
      i++;
      while (i < n && src[i] !== c) {
        if (src[i] === "\\") i++;
        else if (c === "`" && src[i] === "$" && src[i + 1] === "{") {
          // Template substitutions are code: keep them.
          let depth = 0;
          for (i += 1; i < n; i++) {
            if (src[i] === "{") depth++;
            else if (src[i] === "}" && --depth === 0) break;
            out += src[i];
          }
        }
        i++;
      }
      i++;
      out += c + c;
    } else {
      out += c;
      i++;
    }
  }
  return out.trim();
}
