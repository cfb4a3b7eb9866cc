// loop.addSignalHandler / removeSignalHandler on Deno's signal listeners.
// Ported from CPython's test_unix_events.py (SelectorEventLoopSignalTests)
// where a counterpart exists; those mock the signal module, these send real
// signals to this process (SIGUSR1, always with a handler registered) or to
// a child. The sanitizers are on: a listener left behind fails the test.
import { assert } from "../deps.ts";
import { ContextVar } from "../src/context.ts";
import { RuntimeError } from "../src/errors.ts";
import type { ExceptionContext } from "../src/loop.ts";
import { getRunningLoop } from "../src/running.ts";
import { sleep } from "../src/sleep.ts";
import { currentTask } from "../src/task.ts";
import { CORE, newLoop, vrun } from "./_util.ts";
import { Child } from "./fixtures/_child.ts";

Deno.test("test_unix_events::test_add_signal_handler — the callback runs as a loop callback, with its arguments", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const user = new ContextVar("user", { default: "nobody" });
    user.set("ada"); // captured when the handler is added
    const got = loop.createFuture<unknown[]>();
    loop.addSignalHandler(
      "SIGUSR1",
      (a: number, b: string) => {
        got.setResult([a, b, getRunningLoop() === loop, currentTask(), user.get()]);
      },
      1,
      "two",
    );
    user.set("grace");
    Deno.kill(Deno.pid, "SIGUSR1");
    // Nothing else is scheduled: the signal wakes the idle loop.
    assert.deepEqual(yield* got, [1, "two", true, null, "ada"]);
    assert.equal(loop.removeSignalHandler("SIGUSR1"), true);
  }));

Deno.test("test_unix_events::test_add_signal_handler_coroutine_error — coroutine functions are refused", () =>
  withClosedLoop((loop) => {
    function* coroFn() {}
    const coro = coroFn();
    for (const bad of [coroFn, coro, async () => {}]) {
      assert.throws(
        () => loop.addSignalHandler("SIGUSR1", bad as () => void),
        (e) =>
          e instanceof TypeError &&
          /coroutines cannot be used with addSignalHandler\(\)/.test(e.message),
      );
    }
  }));

Deno.test("addSignalHandler: a callback that is not a function is a TypeError", () =>
  withClosedLoop((loop) => {
    for (const bad of [null, "cb", 42]) {
      assert.throws(
        () => loop.addSignalHandler("SIGUSR1", bad as unknown as () => void),
        (e) => e instanceof TypeError && /expects a function/.test(e.message),
      );
    }
  }));

Deno.test("test_unix_events::test_check_signal — an unknown signal is a TypeError that names it", () =>
  withClosedLoop((loop) => {
    for (const bad of ["SIGFOO", "sigint", 2, null]) {
      const sig = bad as Deno.Signal;
      const named = (e: unknown) =>
        e instanceof TypeError && /unknown signal/.test(e.message) &&
        e.message.includes(String(bad));
      assert.throws(() => loop.addSignalHandler(sig, () => {}), named);
      assert.throws(() => loop.removeSignalHandler(sig), named);
    }
  }));

Deno.test("test_unix_events::test_add_signal_handler_install_error — SIGKILL and SIGSTOP cannot be caught", () =>
  withClosedLoop((loop) => {
    for (const sig of ["SIGKILL", "SIGSTOP"] as const) {
      assert.throws(
        () => loop.addSignalHandler(sig, () => {}),
        (e) => e instanceof TypeError && e.message.includes(sig),
      );
      assert.equal(loop.removeSignalHandler(sig), false);
    }
    // A failed add leaves the loop without a handler and nothing to clean up.
    assert.equal(loop._resources.size, 0);
  }));

Deno.test("test_unix_events::test_remove_signal_handler — true once, then false", () =>
  withClosedLoop((loop) => {
    assert.equal(loop.removeSignalHandler("SIGHUP"), false);
    loop.addSignalHandler("SIGHUP", () => {});
    assert.equal(loop._resources.size, 1);
    assert.equal(loop.removeSignalHandler("SIGHUP"), true);
    assert.equal(loop.removeSignalHandler("SIGHUP"), false);
    assert.equal(loop._resources.size, 0, "no handler left: not a loop resource any more");
  }));

Deno.test("addSignalHandler: a second handler for the same signal replaces the first", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const calls: string[] = [];
    const second = loop.createFuture();
    loop.addSignalHandler("SIGUSR1", () => calls.push("first"));
    loop.addSignalHandler("SIGUSR1", () => {
      calls.push("second");
      second.setResult(undefined);
    });
    Deno.kill(Deno.pid, "SIGUSR1");
    yield* second;
    yield* sleep(0);
    assert.deepEqual(calls, ["second"]);
    assert.equal(loop.removeSignalHandler("SIGUSR1"), true);
    assert.equal(loop.removeSignalHandler("SIGUSR1"), false);
  }));

Deno.test("addSignalHandler: a handler's exception goes to the exception handler; the loop goes on", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const reports: ExceptionContext[] = [];
    const reported = loop.createFuture();
    loop.setExceptionHandler((_l, ctx) => {
      reports.push(ctx);
      reported.setResult(undefined);
    });
    const again = loop.createFuture<number>();
    let n = 0;
    loop.addSignalHandler("SIGUSR1", function onUsr1() {
      if (++n === 1) throw new URIError("bad handler");
      again.setResult(n);
    });
    Deno.kill(Deno.pid, "SIGUSR1");
    yield* reported;
    assert.match(reports[0].message, /Exception in callback .*onUsr1/);
    assert.ok(reports[0].exception instanceof URIError);
    // The handler stays registered and the loop keeps running.
    Deno.kill(Deno.pid, "SIGUSR1");
    assert.equal(yield* again, 2);
    loop.removeSignalHandler("SIGUSR1");
  }));

Deno.test("addSignalHandler: a handler does not hold the virtual clock", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    loop.addSignalHandler("SIGUSR1", () => {});
    yield* sleep(3_600_000);
    assert.equal(loop.time(), 3_600_000);
    loop.removeSignalHandler("SIGUSR1");
  }));

Deno.test("test_unix_events::test_close — closing the loop removes every handler", () => {
  const loop = newLoop();
  loop.addSignalHandler("SIGHUP", () => {});
  loop.addSignalHandler("SIGUSR2", () => {});
  assert.equal(loop._resources.size, 1);
  loop.close(); // the sanitizers fail the test if a listener is left
  assert.equal(loop._resources.size, 0);
  assert.equal(loop.removeSignalHandler("SIGHUP"), false);
  assert.throws(() => loop.addSignalHandler("SIGHUP", () => {}), RuntimeError);
});

Deno.test("addSignalHandler: run() removes the handlers main left behind", async () => {
  let loopSeen: ReturnType<typeof getRunningLoop> | null = null;
  await vrun(function* () {
    loopSeen = getRunningLoop();
    loopSeen.addSignalHandler("SIGUSR1", () => {});
    loopSeen.addSignalHandler("SIGWINCH", () => {});
    yield* sleep(0);
  });
  assert.equal(loopSeen!.removeSignalHandler("SIGUSR1"), false);
});

Deno.test("addSignalHandler: a signal that arrives while the loop is not running waits for the next run", async () => {
  const loop = newLoop("real");
  try {
    const got = loop.createFuture<string>();
    loop.addSignalHandler("SIGUSR1", () => got.setResult("delivered"));
    Deno.kill(Deno.pid, "SIGUSR1");
    // Let Deno dispatch the signal to the listener before the loop runs.
    while (loop.stats().ready === 0) await new Promise((r) => setTimeout(r, 1));
    assert.equal(await loop.runUntilComplete(got), "delivered");
  } finally {
    loop.close();
  }
});

Deno.test("addSignalHandler: a registered handler keeps the process alive and a signal wakes the loop (child process)", async () => {
  const child = new Child("signal_wait.ts");
  await child.waitLine("ready");
  child.process.kill("SIGUSR1");
  const { status, lines, stderr } = await child.finish();
  assert.equal(status.code, 0, stderr);
  assert.deepEqual(lines, ["ready", "got SIGUSR1"]);
});

/** Runs `fn` with a new loop on the core under test, closed afterwards. */
function withClosedLoop(fn: (loop: ReturnType<typeof newLoop>) => void): void {
  const loop = newLoop();
  try {
    fn(loop);
  } finally {
    loop.close();
  }
  assert.equal(loop.core, CORE);
}
