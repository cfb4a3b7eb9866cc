// Shared test plumbing. The suite runs once per scheduler core: CI sets
// AIO_CORE=wasm and AIO_CORE=ts in turn.
import type { CoreKind } from "../src/scheduler/types.ts";

function coreFromEnv(): CoreKind {
  const v = Deno.env.get("AIO_CORE") ?? "wasm";
  if (v !== "wasm" && v !== "ts") {
    throw new Error(`AIO_CORE must be "wasm" or "ts", got ${JSON.stringify(v)}`);
  }
  return v;
}

/** The core under test. */
export const CORE: CoreKind = coreFromEnv();

/**
 * Options of a test that needs Deno itself (Deno.inspect output, signals, a
 * Deno child process): on Node and Bun, where scripts/test_portable.ts runs
 * the suite through a `Deno.test` shim without `Deno.version`, it is ignored.
 */
export const DENO_ONLY: { ignore: boolean } = { ignore: !("version" in Deno) };

let redisServer: boolean | undefined;
/**
 * Options for a test that needs `redis-server` on PATH (Debian's package):
 * without one the test is ignored, so that the README's test command works on
 * a machine that has only Node.js; with AIO_REQUIRE_REDIS set (CI installs the
 * server and sets it) a missing server is an error instead.
 */
export function needsRedis(): { ignore: boolean } {
  if (redisServer === undefined) {
    redisServer = false;
    if ("version" in Deno) {
      try {
        redisServer = new Deno.Command("redis-server", {
          args: ["--version"],
          stdout: "null",
          stderr: "null",
        }).outputSync().success;
      } catch {
        // Not installed.
      }
      if (!redisServer && Deno.env.get("AIO_REQUIRE_REDIS")) {
        throw new Error("AIO_REQUIRE_REDIS is set but redis-server is not on PATH");
      }
    }
  }
  return { ignore: !redisServer };
}

import { run } from "../src/run.ts";
import { sleep } from "../src/sleep.ts";
import type { EventLoopOptions } from "../src/loop.ts";
import type { Coroutine } from "../src/task.ts";

/** `run` on the core under test with the virtual clock (the default for tests). */
export function vrun<T>(
  main: Coroutine<T> | (() => Coroutine<T>),
  options?: EventLoopOptions,
): Promise<T> {
  return run(main, { core: CORE, clock: "virtual", ...options });
}

import { assert } from "../deps.ts";
import { EventLoop } from "../src/loop.ts";
import type { Future } from "../src/future.ts";

/** A loop on the core under test with the virtual clock (real clock if asked). */
export function newLoop(clock: "virtual" | "real" = "virtual"): EventLoop {
  return new EventLoop({ core: CORE, clock });
}

/** Runs `fn` with a fresh virtual-clock loop and closes the loop afterwards. */
export async function withLoop(fn: (loop: EventLoop) => void | Promise<void>): Promise<void> {
  const loop = newLoop();
  try {
    await fn(loop);
  } finally {
    loop.close();
  }
}

/** Awaits `body()` and returns the error it throws, asserting its class; fails if nothing is thrown. */
export function* expectError<E>(
  cls: new (...args: never[]) => E,
  body: () => Coroutine<unknown> | Future<unknown>,
): Coroutine<E> {
  try {
    yield* body();
  } catch (e) {
    assert.ok(e instanceof cls, `expected ${cls.name}, got ${e}`);
    return e;
  }
  throw new assert.AssertionError({ message: `${cls.name} not raised` });
}

/** One turn of the loop for the calling task: `asyncio.sleep(0)`. */
export const turn = (): Coroutine<undefined> => sleep(0);

/** Awaits `aw` and returns what it throws, or `undefined` if it completes. */
export function* caught(aw: Iterable<unknown>): Coroutine<unknown> {
  try {
    yield* aw as Coroutine<unknown>;
  } catch (e) {
    return e;
  }
  return undefined;
}

/**
 * Waits in real time until `cond()` holds, checking every few milliseconds,
 * for state that changes outside the loop (a worker pool's counts). Fails
 * naming `what` after `ms`.
 */
export async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new assert.AssertionError({ message: `timed out: ${what}` });
    await new Promise((r) => setTimeout(r, 2));
  }
}

type Listener = () => void;

/** Runs `body` with Deno's signal listener functions wrapped to record calls. */
export async function recordingListeners(
  body: (calls: string[]) => Promise<void>,
  add: (sig: Deno.Signal, l: Listener) => void = Deno.addSignalListener,
): Promise<void> {
  const realAdd = Deno.addSignalListener;
  const realRemove = Deno.removeSignalListener;
  const calls: string[] = [];
  Deno.addSignalListener = (sig: Deno.Signal, l: Listener) => {
    calls.push(`add ${sig}`);
    add(sig, l);
  };
  Deno.removeSignalListener = (sig: Deno.Signal, l: Listener) => {
    calls.push(`remove ${sig}`);
    realRemove(sig, l);
  };
  try {
    await body(calls);
  } finally {
    Deno.addSignalListener = realAdd;
    Deno.removeSignalListener = realRemove;
  }
}
