// Small helpers shared by the modules; not exported from mod.ts.

/** A short, readable description of any value for error messages. */
export function describe(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > 60 ? value.slice(0, 57) + "..." : value);
    case "function": {
      const name = value.name || "anonymous";
      const kind = value.constructor?.name === "GeneratorFunction"
        ? "generator function"
        : value.constructor?.name === "AsyncFunction"
        ? "async function"
        : "function";
      return `${kind} ${name}`;
    }
    case "object": {
      if (value === null) return "null";
      if (Array.isArray(value)) return `an array of length ${value.length}`;
      if (typeof (value as { addDoneCallback?: unknown }).addDoneCallback === "function") {
        // An aio Future or Task: thenable too, but no promise to wrap.
        return `a ${value.constructor?.name ?? "Future"}`;
      }
      if (typeof (value as PromiseLike<unknown>).then === "function") {
        return `a ${value.constructor?.name ?? "thenable"} (a promise: wrap it with fromPromise())`;
      }
      const ctor = value.constructor?.name;
      return ctor ? `a ${ctor} object` : "an object";
    }
    case "bigint":
      return `${value}n`;
    case "symbol":
      return value.toString();
    default:
      return String(value);
  }
}

/** Whether `x` is a coroutine object: what calling a `function*` returns. */
export function isCoroutine(x: unknown): x is Generator<unknown, unknown, unknown> {
  return typeof x === "object" && x !== null &&
    typeof (x as Generator).next === "function" &&
    typeof (x as Generator).throw === "function" &&
    typeof (x as Generator).return === "function";
}

/**
 * Validates a delay or timeout in ms: fractions allowed, negatives behave
 * like 0, `NaN` and non-numbers are a `TypeError` naming `what`.
 */
export function checkDelay(ms: unknown, what: string): number {
  if (typeof ms !== "number" || Number.isNaN(ms)) {
    throw new TypeError(`${what} must be a number of milliseconds, got ${describe(ms)}`);
  }
  return ms < 0 ? 0 : ms;
}
