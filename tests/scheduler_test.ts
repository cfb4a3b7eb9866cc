// Scheduler cores through the SchedulerCore interface. Every unit test runs
// against both cores whatever AIO_CORE says: the cores are small and the
// differential test below needs both anyway.

import { assert } from "../deps.ts";
import { createCore } from "../src/scheduler/mod.ts";
import type { CoreKind, SchedulerCore } from "../src/scheduler/mod.ts";

const KINDS: CoreKind[] = ["ts", "wasm"];
const DAY = 86_400_000;

function drain(core: SchedulerCore): number[] {
  const out: number[] = [];
  while (core.readyCount() > 0) out.push(core.popReady());
  return out;
}

/** Steps `advance(nextDeadline())` until something fires; bounded. */
function stepToNext(core: SchedulerCore): { t: number; ids: number[] } {
  for (let i = 0; i < 16; i++) {
    const t = core.nextDeadline();
    if (t === Infinity) return { t, ids: [] };
    if (core.advance(t) > 0) return { t, ids: drain(core) };
  }
  throw new Error("advance(nextDeadline()) made no progress");
}

function bothCores(name: string, fn: (core: SchedulerCore) => void): void {
  for (const kind of KINDS) {
    Deno.test(`scheduler [${kind}]: ${name}`, () => fn(createCore(kind)));
  }
}

/** mulberry32: small, seeded, and the same on every run. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

Deno.test("scheduler: createCore reports its kind and rejects unknown kinds", () => {
  for (const kind of KINDS) assert.equal(createCore(kind).kind, kind);
  assert.throws(() => createCore("js" as CoreKind), TypeError);
});

bothCores("ready ring is FIFO and grows", (core) => {
  for (let i = 0; i < 1000; i++) core.pushReady(i);
  for (let i = 0; i < 500; i++) assert.equal(core.popReady(), i);
  for (let i = 1000; i < 70_000; i++) core.pushReady(i);
  assert.equal(core.readyCount(), 69_500);
  const out = drain(core);
  assert.equal(out.length, 69_500);
  for (let i = 0; i < out.length; i++) {
    if (out[i] !== i + 500) assert.fail(`ring out of order at ${i}: ${out[i]}`);
  }
  core.pushReady(2 ** 30 - 1);
  assert.equal(core.popReady(), 2 ** 30 - 1);
});

bothCores("timers fire by deadline, ties in insertion order", (core) => {
  const deadlines = [5, 3, 5, 3, 4.5, 3];
  deadlines.forEach((d, i) => core.addTimer(d, i + 1));
  assert.equal(core.timerCount(), 6);
  assert.equal(core.advance(10), 6);
  assert.deepEqual(drain(core), [2, 4, 6, 5, 1, 3]);
  assert.equal(core.timerCount(), 0);
});

bothCores("fired timers go behind ids already ready", (core) => {
  core.addTimer(1, 7);
  core.pushReady(100);
  core.pushReady(101);
  assert.equal(core.advance(1), 1);
  assert.deepEqual(drain(core), [100, 101, 7]);
});

bothCores("never fires early; fractional deadlines are exact", (core) => {
  core.addTimer(10.25, 1);
  core.addTimer(10, 2);
  core.addTimer(9.999, 3);
  assert.equal(core.advance(9.99), 0);
  assert.equal(core.advance(9.999), 1);
  assert.deepEqual(drain(core), [3]);
  assert.equal(core.advance(10.2), 1);
  assert.deepEqual(drain(core), [2]);
  assert.equal(core.advance(10.249999), 0);
  assert.equal(core.advance(10.25), 1);
  assert.deepEqual(drain(core), [1]);
});

bothCores("past and negative deadlines fire on the next advance", (core) => {
  core.advance(1000);
  core.addTimer(500, 1);
  core.addTimer(-3, 2);
  core.addTimer(999.5, 3);
  core.addTimer(1000, 4);
  core.addTimer(1000.5, 5);
  assert.equal(core.nextDeadline(), -3);
  assert.equal(core.advance(1000), 4);
  assert.deepEqual(drain(core), [2, 1, 3, 4]);
  assert.equal(core.timerCount(), 1);
});

bothCores("cancel: live, twice, fired, stale and garbage tokens", (core) => {
  const a = core.addTimer(10, 1);
  const b = core.addTimer(20, 2);
  const far = core.addTimer(3 * DAY, 3);
  for (const t of [a, b, far]) {
    assert.ok(Number.isInteger(t) && t >= 0 && t < 2 ** 30, `token ${t}`);
  }
  assert.equal(core.cancelTimer(a), true);
  assert.equal(core.cancelTimer(a), false);
  assert.equal(core.cancelTimer(far), true);
  assert.equal(core.timerCount(), 1);
  assert.equal(core.advance(30), 1);
  assert.deepEqual(drain(core), [2]);
  assert.equal(core.cancelTimer(b), false);
  // Reuse the recycled entries: the old tokens must stay dead.
  core.advance(30);
  const fresh: number[] = [];
  for (let i = 0; i < 64; i++) fresh.push(core.addTimer(100 + i, 10 + i));
  for (const t of [a, b, far]) assert.equal(core.cancelTimer(t), false);
  for (const t of [-1, -(2 ** 31), 2 ** 30, 2 ** 31 - 1]) {
    assert.equal(core.cancelTimer(t), false);
  }
  assert.equal(core.timerCount(), 64);
  for (const t of fresh) assert.equal(core.cancelTimer(t), true);
  assert.equal(core.timerCount(), 0);
  assert.equal(core.nextDeadline(), Infinity);
  assert.equal(core.advance(10_000), 0);
});

bothCores("a fired entry is not reused before the next advance", (core) => {
  const a = core.addTimer(5, 1);
  assert.equal(core.advance(5), 1);
  // A callback of that batch adds a timer and cancels the fired one.
  const b = core.addTimer(6, 2);
  assert.notEqual(b, a);
  assert.equal(core.cancelTimer(a), false);
  assert.equal(core.timerCount(), 1);
  assert.equal(core.advance(6), 1);
  assert.deepEqual(drain(core), [1, 2]);
});

bothCores("cancelling within the current millisecond", (core) => {
  const a = core.addTimer(5.2, 1);
  core.addTimer(5.4, 2);
  const c = core.addTimer(5.6, 3);
  assert.equal(core.nextDeadline(), 5.2);
  assert.equal(core.cancelTimer(a), true);
  assert.equal(core.nextDeadline(), 5.4);
  assert.equal(core.advance(5.5), 1);
  const d = core.addTimer(5.5, 4);
  assert.equal(core.cancelTimer(d), true);
  assert.equal(core.cancelTimer(c), true);
  assert.deepEqual(drain(core), [2]);
  assert.equal(core.advance(100), 0);
});

bothCores("far deadlines: days, years and beyond", (core) => {
  const ds = [2 * DAY, 1.5, 365 * DAY, 900 * DAY, 5000 * DAY, 1e300, Number.MAX_VALUE, 900 * DAY];
  ds.forEach((d, i) => core.addTimer(d, i));
  assert.equal(core.advance(DAY), 1);
  assert.deepEqual(drain(core), [1]);
  const fired: number[] = [];
  while (core.timerCount() > 0) {
    const { t, ids } = stepToNext(core);
    for (const id of ids) assert.equal(ds[id], t, "fires exactly at its deadline");
    fired.push(...ids);
  }
  assert.deepEqual(fired, [0, 2, 3, 7, 4, 5, 6]);
});

bothCores("deadlines past the wheel's horizon interleave with nearer ones", (core) => {
  // 2^36 ms is where a 6-level, 64-slot wheel ends; the WASM core keeps
  // later timers in an overflow list.
  const block = 2 ** 36;
  core.addTimer(block + 10.25, 1);
  core.addTimer(block + 40, 4);
  assert.equal(core.advance(block + 1), 0);
  core.addTimer(block + 10.5, 2);
  core.addTimer(block + 5, 3);
  assert.equal(core.advance(block + 10.3), 2);
  assert.deepEqual(drain(core), [3, 1]);
  assert.equal(core.advance(block + 10.5), 1);
  assert.deepEqual(drain(core), [2]);
  assert.deepEqual(stepToNext(core), { t: block + 40, ids: [4] });
});

bothCores("nextDeadline is a lower bound that converges", (core) => {
  const next = rng(7);
  const want: [number, number][] = [];
  for (let i = 0; i < 3000; i++) {
    const d = next() * 1e9;
    core.addTimer(d, i);
    want.push([d, i]);
  }
  want.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let k = 0;
  while (core.timerCount() > 0) {
    assert.ok(core.nextDeadline() <= want[k][0]);
    const { t, ids } = stepToNext(core);
    for (const id of ids) {
      assert.deepEqual([t, id], want[k]);
      k++;
    }
  }
  assert.equal(k, want.length);
  assert.equal(core.nextDeadline(), Infinity);
});

bothCores("virtual clock: each timer fires alone at its exact deadline", (core) => {
  const next = rng(42);
  const n = 50_000;
  for (let i = 0; i < n; i++) core.addTimer(next() * 100, i);
  let last = -Infinity;
  let fired = 0;
  const start = performance.now();
  while (core.timerCount() > 0) {
    const t = core.nextDeadline();
    assert.ok(t >= last);
    last = t;
    fired += core.advance(t);
    drain(core);
  }
  assert.equal(fired, n);
  assert.ok(performance.now() - start < 2000, "drain is not quadratic");
});

bothCores("reserve, then a steady state", (core) => {
  core.reserve(4096, 20_000);
  const next = rng(3);
  const tokens = new Int32Array(10_000);
  let now = 0;
  for (let i = 0; i < tokens.length; i++) tokens[i] = core.addTimer(now + next() * 1000, i);
  let fired = 0;
  for (let op = 0; op < 50_000; op++) {
    const k = (next() * tokens.length) | 0;
    core.cancelTimer(tokens[k]);
    tokens[k] = core.addTimer(now + next() * 1000, k);
    if (op % 64 === 0) {
      now += 1;
      fired += core.advance(now);
      for (const id of drain(core)) tokens[id] = core.addTimer(now + next() * 1000, id);
    }
  }
  assert.ok(fired > 0);
  assert.equal(core.timerCount(), tokens.length);
});

Deno.test("scheduler [wasm]: cores are independent and survive memory growth", () => {
  const a = createCore("wasm");
  const b = createCore("wasm");
  a.pushReady(1);
  a.pushReady(2);
  b.pushReady(9);
  // Enough timers to grow a's memory several times while ids sit in its ring.
  for (let i = 0; i < 300_000; i++) a.addTimer(1000 + (i % 5000), i);
  a.pushReady(3);
  assert.deepEqual(drain(a), [1, 2, 3]);
  assert.deepEqual(drain(b), [9]);
  assert.equal(a.timerCount(), 300_000);
  assert.equal(b.timerCount(), 0);
  assert.equal(a.advance(1000), 60);
  assert.equal(a.readyCount(), 60);
  assert.equal(b.advance(1e9), 0);
});

// ---- differential test -------------------------------------------------

interface Timer {
  ts: number;
  wasm: number;
  deadline: number;
  /** Index in `live`, or -1 once fired or cancelled. */
  at: number;
}

/** Timers by deadline, to retire the fired ones; cancelled ones are skipped. */
class DeadlineHeap {
  #a: Timer[] = [];
  push(t: Timer): void {
    const a = this.#a;
    let i = a.push(t) - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (a[p].deadline <= t.deadline) break;
      a[i] = a[p];
      i = p;
    }
    a[i] = t;
  }
  popDue(now: number): Timer | undefined {
    const a = this.#a;
    if (a.length === 0 || a[0].deadline > now) return undefined;
    const top = a[0];
    const last = a.pop()!;
    if (a.length > 0) {
      let i = 0;
      for (;;) {
        let c = 2 * i + 1;
        if (c >= a.length) break;
        if (c + 1 < a.length && a[c + 1].deadline < a[c].deadline) c++;
        if (a[c].deadline >= last.deadline) break;
        a[i] = a[c];
        i = c;
      }
      a[i] = last;
    }
    return top;
  }
}

/**
 * Drives both cores with the same seeded random operations and asserts that
 * every output agrees. `horizon` packs timers and small clock steps around
 * the 2^36 ms edge where the WASM wheel hands over to its overflow list.
 */
function differential(seed: number, totalOps: number, horizon: boolean): void {
  const ts = createCore("ts");
  const wasm = createCore("wasm");
  const next = rng(seed);
  const live: Timer[] = [];
  const byDeadline = new DeadlineHeap();
  const dead: Timer[] = []; // fired or cancelled, most recent last
  let edge = 2 ** 36;
  let now = horizon ? edge - 40 : 0;
  let id = 0;
  let ops = 0;

  const same = (what: string, x: unknown, y: unknown) => {
    if (!Object.is(x, y)) assert.fail(`op ${ops}: ${what}: ts ${x} vs wasm ${y}`);
  };
  const retire = (t: Timer) => {
    const last = live.pop()!;
    if (last !== t) {
      live[t.at] = last;
      last.at = t.at;
    }
    t.at = -1;
    dead.push(t);
    // Generations are finite: a token stays provably stale only while its
    // entry has been reused a few dozen times at most.
    if (dead.length > 64) dead.splice(0, 32);
  };
  const add = (deadline: number) => {
    const t: Timer = {
      ts: ts.addTimer(deadline, id),
      wasm: wasm.addTimer(deadline, id),
      deadline,
      at: live.length,
    };
    id = (id + 1) & 0x3fffffff;
    live.push(t);
    byDeadline.push(t);
  };
  const cancel = (what: string, t: Timer) => {
    same(what, ts.cancelTimer(t.ts), wasm.cancelTimer(t.wasm));
    if (t.at >= 0) retire(t);
  };
  const advance = (to: number) => {
    now = Math.max(now, to);
    same("advance", ts.advance(now), wasm.advance(now));
    for (let t = byDeadline.popDue(now); t; t = byDeadline.popDue(now)) {
      if (t.at >= 0) retire(t);
    }
  };
  const compareAndDrainReady = (max: number) => {
    same("readyCount", ts.readyCount(), wasm.readyCount());
    for (let n = Math.min(max, ts.readyCount()); n > 0; n--) {
      same("popReady", ts.popReady(), wasm.popReady());
    }
  };
  const randomDeadline = (): number => {
    const r = next();
    if (horizon) {
      // A gap after the edge lets the clock enter the new block while the
      // later timers still sit in the overflow list.
      const d = r < 0.4 ? edge - 40 + next() * 39 : edge + 20 + next() * 60;
      return next() < 0.3 ? Math.floor(d) : d;
    }
    if (r < 0.25) return now + Math.floor(next() * 8); // integer ties
    if (r < 0.5) return now + next() * 100; // fractional, near
    if (r < 0.6) return now - next() * 50; // already past
    if (r < 0.7) return now + next() * 70_000; // seconds
    if (r < 0.78) return now + next() * 5 * 3_600_000; // hours
    if (r < 0.84) return now + next() * 30 * DAY; // days
    if (r < 0.86) return now + next() * 2000 * DAY; // beyond the wheel
    if (live.length > 0) return live[(next() * live.length) | 0].deadline; // exact tie
    return now;
  };

  // Phases shift the mix: 0 steady churn, 1 a bulk add mostly cancelled
  // (drives the WASM core's tombstone sweep), 2 virtual-clock stepping,
  // 3 a growing population that spreads over every wheel level.
  let phase = 0;
  for (ops = 0; ops < totalOps; ops++) {
    if (horizon && ops % 1000 === 999) {
      // On to the next edge (the overflow list then holds everything).
      edge += 2 ** 36;
      advance(edge - 40);
    }
    if (ops % 5000 === 0) {
      phase = (next() * 4) | 0;
      if (phase === 1) {
        for (let i = 0; i < 6000; i++) add(randomDeadline());
        for (let i = 0; i < 5800; i++) {
          cancel("cancel bulk", live[live.length - 1 - ((next() * 200) | 0)]);
        }
      }
    }
    const r = next();
    const addP = phase === 3 ? 0.5 : 0.3;
    if (r < addP) {
      add(randomDeadline());
    } else if (r < addP + 0.12) {
      if (live.length > 0) cancel("cancel live", live[(next() * live.length) | 0]);
    } else if (r < addP + 0.17) {
      if (dead.length > 0) cancel("cancel dead", dead[(next() * dead.length) | 0]);
      else same("cancel garbage", ts.cancelTimer(-1), wasm.cancelTimer(-1));
    } else if (r < addP + 0.25) {
      const rid = (next() * 2 ** 30) | 0;
      ts.pushReady(rid);
      wasm.pushReady(rid);
    } else if (r < addP + 0.33) {
      compareAndDrainReady((next() * 8) | 0);
    } else if ((phase !== 3 && r < addP + 0.45) || phase === 2) {
      // The virtual-clock pattern. The WASM bound may be below the exact
      // minimum the heap reports, never above; both cores advance to the
      // same instant so their outputs stay comparable.
      const tw = wasm.nextDeadline();
      const tt = ts.nextDeadline();
      if (!(tw <= tt)) assert.fail(`op ${ops}: wasm bound ${tw} above exact ${tt}`);
      same("nextDeadline is Infinity", tt === Infinity, tw === Infinity);
      if (tw !== Infinity) advance(tw);
    } else {
      const s = next();
      const step = horizon
        ? next() * 3
        : s < 0.6
        ? next()
        : s < 0.95 || phase === 3
        ? next() * 100
        : s < 0.995
        ? next() * 70_000
        : next() * 10 * DAY;
      advance(now + step);
    }
    same("timerCount", ts.timerCount(), wasm.timerCount());
    if (ts.timerCount() !== live.length) {
      assert.fail(`op ${ops}: timerCount ${ts.timerCount()}, ${live.length} tracked live`);
    }
    if (ops % 97 === 0) compareAndDrainReady(Infinity);
  }
  // Drain what is left through the virtual-clock pattern.
  for (let guard = 0; ts.timerCount() > 0; guard++) {
    if (guard > 1_000_000) assert.fail("drain did not converge");
    const tw = wasm.nextDeadline();
    assert.ok(tw <= ts.nextDeadline());
    advance(tw);
    compareAndDrainReady(Infinity);
  }
  compareAndDrainReady(Infinity);
  assert.equal(live.length, 0);
  assert.equal(wasm.timerCount(), 0);
  assert.equal(wasm.nextDeadline(), Infinity);
}

Deno.test("scheduler: differential, 150k random operations, both cores agree", () => {
  differential(0xa10c0de, 150_000, false);
});

Deno.test("scheduler: differential around the wheel's 2^36 ms horizon", () => {
  differential(0x2e36, 40_000, true);
});
