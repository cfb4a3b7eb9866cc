// Errors cross the worker boundary as plain data: structured clone keeps only
// the built-in error names and drops custom properties, and Deno's worker
// `error` event carries no stack at all. The worker sends name, message,
// stack, cause, the errors of an AggregateError and cloneable own properties;
// the parent rebuilds an error of the same class where it knows the class.

import * as aioErrors from "../errors.ts";

/** An error as it travels between a worker and the pool. */
export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  cause?: SerializedError | { value: unknown };
  errors?: SerializedError[];
  /** Own enumerable properties that clone (`code`, `errno`, …). */
  props?: Record<string, unknown>;
  /** A thrown value that is not an Error, kept if it clones. */
  thrown?: { value: unknown };
}

const MAX_DEPTH = 8;

/**
 * A worker `error` event as one line: its message, then where it was thrown
 * when the event knows. A worker whose module cannot load (no `--allow-read`
 * for it, a syntax error) reports no file and line 0: no "(:0)" then.
 */
export function errorEventMessage(ev: ErrorEvent): string {
  const message = ev.message || "an error without a message";
  if (!ev.filename) return message;
  return `${message} (${ev.filename}:${ev.lineno}${ev.colno ? `:${ev.colno}` : ""})`;
}

/** Turns anything thrown into data that survives `postMessage`. */
export function serializeError(e: unknown, depth = 0): SerializedError {
  if (!(e instanceof Error) && !isErrorLike(e)) {
    return {
      name: "Error",
      message: `a job threw a non-Error value: ${safeString(e)}`,
      thrown: clones(e) ? { value: e } : undefined,
    };
  }
  const err = e as Error & { errors?: unknown };
  const out: SerializedError = {
    name: String(err.name ?? "Error"),
    message: String(err.message ?? ""),
    stack: typeof err.stack === "string" ? err.stack : undefined,
  };
  if (depth < MAX_DEPTH) {
    if ("cause" in err && err.cause !== undefined) {
      const c = err.cause;
      out.cause = c instanceof Error || isErrorLike(c)
        ? serializeError(c, depth + 1)
        : { value: clones(c) ? c : safeString(c) };
    }
    if (Array.isArray(err.errors)) {
      out.errors = err.errors.map((x) => serializeError(x, depth + 1));
    }
  }
  for (const key of Object.keys(err)) {
    if (key === "cause" || key === "errors" || key === "message" || key === "stack") continue;
    const v = (err as unknown as Record<string, unknown>)[key];
    if (key === "name" || typeof v === "function" || !clones(v)) continue;
    (out.props ??= {})[key] = v;
  }
  return out;
}

// deno-lint-ignore no-explicit-any
type ErrorCtor = new (message?: string, options?: ErrorOptions) => any;

const BUILTIN: Record<string, ErrorCtor> = {
  Error,
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
};

const DOM_NAMES = new Set([
  "AbortError",
  "DataCloneError",
  "NotSupportedError",
  "InvalidStateError",
]);

/** Rebuilds an error in this realm from its serialized form. */
export function deserializeError(s: SerializedError): Error {
  if (s.thrown !== undefined && s.thrown.value !== undefined) {
    // The job threw a plain value: keep it reachable without losing Error-ness.
    const e = new Error(s.message, { cause: s.thrown.value });
    return e;
  }
  const cause = s.cause === undefined
    ? undefined
    : "value" in s.cause && !("name" in s.cause)
    ? s.cause.value
    : deserializeError(s.cause as SerializedError);
  const opts = cause === undefined ? undefined : { cause };
  let err: Error;
  const aio = (aioErrors as unknown as Record<string, ErrorCtor>)[s.name];
  if (s.name === "ExceptionGroup" && s.errors?.length) {
    err = new aioErrors.ExceptionGroup(s.message, s.errors.map(deserializeError), opts);
  } else if (s.name === "AggregateError") {
    err = new AggregateError((s.errors ?? []).map(deserializeError), s.message, opts);
  } else if (typeof aio === "function" && s.name !== "ExceptionGroup") {
    err = new aio(s.message, opts);
  } else if (BUILTIN[s.name] !== undefined) {
    err = new BUILTIN[s.name](s.message, opts);
  } else if (DOM_NAMES.has(s.name)) {
    err = new DOMException(s.message, s.name);
    if (cause !== undefined) Object.defineProperty(err, "cause", { value: cause });
  } else {
    err = new Error(s.message, opts);
    err.name = s.name;
  }
  if (s.stack !== undefined) {
    Object.defineProperty(err, "stack", { value: s.stack, writable: true, configurable: true });
  }
  if (s.props !== undefined) {
    for (const [k, v] of Object.entries(s.props)) {
      try {
        (err as unknown as Record<string, unknown>)[k] = v;
      } catch {
        // A read-only property of the rebuilt class: the original value is lost, not the error.
      }
    }
  }
  return err;
}

function isErrorLike(e: unknown): boolean {
  return typeof e === "object" && e !== null && typeof (e as Error).message === "string" &&
    typeof (e as Error).name === "string";
}

function clones(v: unknown): boolean {
  if (v === null || typeof v !== "object" && typeof v !== "function") {
    return typeof v !== "symbol";
  }
  if (typeof v === "function") return false;
  try {
    structuredClone(v);
    return true;
  } catch {
    return false;
  }
}

function safeString(v: unknown): string {
  try {
    return typeof v === "string" ? JSON.stringify(v) : String(v);
  } catch {
    return Object.prototype.toString.call(v);
  }
}
