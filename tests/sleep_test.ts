// sleep(): virtual-clock durations, one-turn sleep(0), argument checks,
// timer cleanup on cancel. Ported from test_tasks.py's sleep tests where a
// counterpart exists. Virtual clock except the real-clock test.
import { assert } from "../deps.ts";
import {
  CancelledError,
  createTask,
  EventLoop,
  getRunningLoop,
  run,
  RuntimeError,
  sleep,
} from "../mod.ts";
import { CORE, vrun } from "./_util.ts";

Deno.test("test_tasks::test_sleep", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    function* sleeper(dt: number, arg: string) {
      yield* sleep(dt / 2);
      const res = yield* sleep(dt / 2, arg);
      return res;
    }
    const t = createTask(sleeper(100, "yeah"));
    assert.equal(yield* t, "yeah");
    assert.equal(t.result(), "yeah");
    assert.equal(loop.time(), 100);
  }));

Deno.test("sleep: the virtual clock advances by exactly the duration", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    assert.equal(loop.time(), 0);
    assert.equal(yield* sleep(1500, "rested"), "rested");
    assert.equal(loop.time(), 1500);
    yield* sleep(0.25);
    assert.equal(loop.time(), 1500.25);
    yield* sleep(3_600_000); // an hour, at once
    assert.equal(loop.time(), 3_601_500.25);
    assert.equal(yield* sleep(1), undefined, "default result");
    assert.equal(loop.time(), 3_601_501.25);
  }));

Deno.test("sleep: concurrent sleeps overlap; each wakes at its own deadline", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const woke: [string, number][] = [];
    function* sleeper(name: string, ms: number) {
      yield* sleep(ms);
      woke.push([name, loop.time()]);
      return name;
    }
    const a = createTask(sleeper("a", 20));
    const b = createTask(sleeper("b", 10));
    const c = createTask(sleeper("c", 10.5));
    assert.equal(yield* a, "a");
    assert.equal(yield* b, "b");
    assert.equal(yield* c, "c");
    assert.deepEqual(woke, [["b", 10], ["c", 10.5], ["a", 20]]);
    assert.equal(loop.time(), 20, "20 ms in all, not 40.5");
  }));

function interleaving(pause: () => Generator<unknown, unknown, unknown>) {
  return vrun(function* () {
    const loop = getRunningLoop();
    const log: string[] = [];
    function* worker(name: string) {
      for (let i = 0; i < 3; i++) {
        log.push(`${name}${i}`);
        yield* pause() as Generator<undefined, unknown, unknown>;
      }
    }
    const a = createTask(worker("a"));
    const b = createTask(worker("b"));
    yield* a;
    yield* b;
    assert.deepEqual(log, ["a0", "b0", "a1", "b1", "a2", "b2"]);
    assert.equal(loop.time(), 0, "no time passes");
  });
}

Deno.test("sleep(0) gives other tasks exactly one turn", () => interleaving(() => sleep(0)));

Deno.test("a bare yield is the same as sleep(0)", () =>
  interleaving(function* () {
    yield;
  }));

Deno.test("sleep with a negative delay behaves like sleep(0)", () => interleaving(() => sleep(-5)));

Deno.test("sleep(0) does not touch the timer queue", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const order: string[] = [];
    loop.callSoon(() => order.push("callback"));
    const v = yield* sleep(0, "zero");
    order.push("after sleep(0)");
    assert.equal(v, "zero");
    assert.deepEqual(order, ["callback", "after sleep(0)"]);
    assert.equal(loop.stats().timers, 0);
  }));

Deno.test("sleep(NaN), sleep('1') and other non-numbers → TypeError thrown at the call", () => {
  // Outside any loop: the check happens when sleep() is called, not when the
  // coroutine first runs.
  for (const bad of [NaN, "1", undefined, null, {}, 1n]) {
    assert.throws(
      () => sleep(bad as number),
      (e) => e instanceof TypeError && /sleep\(\)/.test(e.message),
      String(bad),
    );
  }
  assert.throws(() => sleep("1" as unknown as number), /"1"/);
  assert.throws(() => sleep(NaN), /NaN/);
});

Deno.test("sleep(NaN) inside a task: the task gets the TypeError synchronously", () =>
  vrun(function* () {
    let caught: unknown;
    try {
      yield* sleep(NaN);
    } catch (e) {
      caught = e;
    }
    assert.ok(caught instanceof TypeError);
    assert.equal(getRunningLoop().stats().timers, 0);
  }));

Deno.test("sleep is lazy: the coroutine needs a running loop only when it runs", () => {
  const coro = sleep(10); // no loop needed to create it
  assert.throws(() => coro.next(), RuntimeError);
});

Deno.test("test_tasks::test_sleep_cancel", () =>
  vrun(function* () {
    // Cancelling a sleeping task removes its timer.
    const loop = getRunningLoop();
    const t = createTask(sleep(10_000, "yeah"));
    yield;
    assert.equal(loop.stats().timers, 1);
    t.cancel();
    yield;
    assert.equal(t.cancelled(), true);
    assert.equal(loop.stats().timers, 0);
    yield* sleep(1);
    assert.equal(loop.time(), 1, "the clock never went to the cancelled deadline");
  }));

Deno.test("a sleep that ends normally leaves no timer behind", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const t = createTask(sleep(50));
    yield;
    assert.equal(loop.stats().timers, 1);
    yield* t;
    assert.equal(loop.stats().timers, 0);
  }));

Deno.test("the task sleeping receives CancelledError at its sleep, with the message", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const t = createTask(function* () {
      try {
        yield* sleep(10_000);
      } catch (e) {
        return [e instanceof CancelledError, (e as Error).message, loop.time()];
      }
    });
    yield* sleep(30);
    t.cancel("wake up");
    assert.deepEqual(yield* t, [true, "wake up", 30]);
  }));

Deno.test("sleep(Infinity) sleeps until cancelled and uses no timer", () =>
  vrun(function* () {
    const loop = getRunningLoop();
    const forever = createTask(sleep(Infinity, "woke"));
    yield;
    assert.equal(loop.stats().timers, 0);
    yield* sleep(1e12);
    assert.equal(forever.done(), false);
    forever.cancel();
    yield;
    assert.equal(forever.cancelled(), true);
    assert.equal(loop.time(), 1e12);
  }));

Deno.test("sleep on the real clock never wakes early", async () => {
  const t0 = performance.now();
  const [loopElapsed, v] = await run(function* () {
    const loop = getRunningLoop();
    const start = loop.time();
    const v = yield* sleep(15, "real");
    return [loop.time() - start, v] as const;
  }, { core: CORE, clock: "real" });
  const hostElapsed = performance.now() - t0;
  assert.equal(v, "real");
  assert.ok(loopElapsed >= 15, `loop time advanced ${loopElapsed} ms`);
  assert.ok(hostElapsed >= 15, `host time advanced ${hostElapsed} ms`);
  assert.ok(hostElapsed < 1000, `took ${hostElapsed} ms`);
});

Deno.test({
  name: "virtual clock: a timer due at Infinity never fires",
  fn: async () => {
    const loop = new EventLoop({ core: CORE, clock: "virtual" });
    let fired = false;
    loop.callLater(Infinity, () => {
      fired = true;
    });
    const stopper = setTimeout(() => loop.stop(), 20);
    try {
      await loop.runForever();
    } finally {
      clearTimeout(stopper);
      loop.close();
    }
    assert.equal(fired, false);
    assert.equal(loop.time(), 0);
  },
});
