// Core-level benchmarks: the WASM timing wheel against the TypeScript 4-ary
// heap on the workloads an event loop produces. The TS core is each group's
// baseline, so `deno bench` prints the WASM core's speed-up directly.
//
//   deno bench -A bench/scheduler.bench.ts
//
// Each (workload, core) pair gets its own core, created once and left in
// the same state after every iteration, so iterations measure steady state,
// not allocation. Random numbers are precomputed: both cores see the same
// sequence and the generator stays out of the measurement.
//
// Each core also runs its own copy of the workload functions: this module
// imports itself once per core kind (`?core=...`), and each import is a
// separate module instance. A loop uses one core kind, so its call sites
// only ever see one class; workloads shared by both cores would measure
// polymorphic dispatch instead. (Copies made with `new Function` are no
// substitute: in V8 whichever copy is optimized second ran up to 1.6x
// slower, for either core.)

import { createCore } from "../src/scheduler/mod.ts";
import type { CoreKind, SchedulerCore } from "../src/scheduler/mod.ts";

/** What a workload reads and carries from one iteration to the next. */
export interface State {
  core: SchedulerCore;
  /** Uniform floats in [0, 1), a power of two of them. */
  rand: Float64Array;
  r: number;
  now: number;
  tokens: Int32Array;
}

/**
 * 200k timers spread over 10 s, then drained by a clock ticking 1 ms at a
 * time: 20 timers fire per tick.
 */
export function bulkFillDrain(s: State): void {
  const { core, rand } = s;
  const mask = rand.length - 1;
  let r = s.r, now = s.now;
  for (let i = 0; i < 200_000; i++) core.addTimer(now + rand[r++ & mask] * 10_000, i);
  const end = now + 10_000;
  while (now < end) {
    now += 1;
    core.advance(now);
    for (let n = core.readyCount(); n > 0; n--) core.popReady();
  }
  if (core.timerCount() !== 0) throw new Error("not drained");
  s.r = r;
  s.now = now;
}

/** Arms 100k timers due within 10 s. */
export function churnSetup(s: State): void {
  s.core.reserve(1024, 200_000);
  s.tokens = new Int32Array(100_000);
  for (let i = 0; i < 100_000; i++) s.tokens[i] = s.core.addTimer(s.rand[s.r++] * 10_000, i);
}

/**
 * 100k live timers; each operation cancels a random one and adds another
 * due within 10 s; every 16 operations the clock moves 0.16 ms and whatever
 * fired is re-armed, so the live count stays at 100k.
 */
export function churn(s: State): void {
  const { core, rand, tokens } = s;
  const mask = rand.length - 1;
  let r = s.r, now = s.now;
  for (let op = 0; op < 100_000; op++) {
    const k = (rand[r++ & mask] * 100_000) | 0;
    core.cancelTimer(tokens[k]);
    tokens[k] = core.addTimer(now + rand[r++ & mask] * 10_000, k);
    if ((op & 15) === 15) {
      now += 0.16;
      if (core.advance(now) > 0) {
        for (let n = core.readyCount(); n > 0; n--) {
          const id = core.popReady();
          tokens[id] = core.addTimer(now + rand[r++ & mask] * 10_000, id);
        }
      }
    }
  }
  if (core.timerCount() !== 100_000) throw new Error("live count drifted");
  s.r = r;
  s.now = now;
}

/**
 * Timeouts that rarely fire: 200k timers over 5 s, 90% cancelled, the rest
 * drained in 1 ms steps.
 */
export function mostlyCancelled(s: State): void {
  const { core, rand, tokens } = s;
  const mask = rand.length - 1;
  let r = s.r, now = s.now;
  for (let i = 0; i < 200_000; i++) tokens[i] = core.addTimer(now + rand[r++ & mask] * 5_000, i);
  for (let i = 0; i < 200_000; i++) if (i % 10 !== 0) core.cancelTimer(tokens[i]);
  const end = now + 5_000;
  while (now < end) {
    now += 1;
    core.advance(now);
    for (let n = core.readyCount(); n > 0; n--) core.popReady();
  }
  if (core.timerCount() !== 0) throw new Error("not drained");
  s.r = r;
  s.now = now;
}

/**
 * The virtual clock: 200k timers in 100 ms, then `advance(nextDeadline())`
 * until empty. Nearly every timer fires alone, at its exact deadline.
 */
export function virtualClock(s: State): void {
  const { core, rand } = s;
  const mask = rand.length - 1;
  let r = s.r;
  for (let i = 0; i < 200_000; i++) core.addTimer(s.now + rand[r++ & mask] * 100, i);
  let fired = 0;
  for (;;) {
    const t = core.nextDeadline();
    if (t === Infinity) break;
    fired += core.advance(t);
    for (let n = core.readyCount(); n > 0; n--) core.popReady();
  }
  if (fired !== 200_000) throw new Error("lost timers");
  s.r = r;
  s.now += 100;
}

/**
 * 1M ids through the ready ring, 1000 at a time (one loop iteration's
 * worth). XOR keeps the checksum a small integer.
 */
export function ringBatches(s: State): void {
  const core = s.core;
  let x = 0;
  for (let b = 0; b < 1_000_000; b += 1000) {
    for (let i = 0; i < 1000; i++) core.pushReady(b + i);
    for (let i = 0; i < 1000; i++) x ^= core.popReady();
  }
  if (x !== 0) throw new Error("ring lost ids");
}

/** 1M ids pushed, then popped. */
export function ringDeep(s: State): void {
  const core = s.core;
  for (let i = 0; i < 1_000_000; i++) core.pushReady(i);
  let x = 0;
  for (let i = 0; i < 1_000_000; i++) x ^= core.popReady();
  if (x !== 0) throw new Error("ring lost ids");
}

type Workloads = typeof import("./scheduler.bench.ts");

if (new URL(import.meta.url).searchParams.get("core") === null) {
  const kinds: CoreKind[] = ["ts", "wasm"];
  const copies = new Map<CoreKind, Workloads>();
  for (const kind of kinds) {
    copies.set(kind, await import(`${import.meta.url}?core=${kind}`) as Workloads);
  }

  // 2^20 uniform floats in [0, 1) from a fixed-seed xorshift.
  const rand = new Float64Array(1 << 20);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < rand.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    rand[i] = (x >>> 0) / 4294967296;
  }

  const bench = (
    group: string,
    name: string,
    setup: (s: State, w: Workloads) => void,
    pick: (w: Workloads) => (s: State) => void,
  ) => {
    for (const kind of kinds) {
      const w = copies.get(kind)!;
      const s: State = { core: createCore(kind), rand, r: 0, now: 0, tokens: new Int32Array(0) };
      setup(s, w);
      const fn = pick(w);
      Deno.bench({ name: `${kind}: ${name}`, group, baseline: kind === "ts", fn: () => fn(s) });
    }
  };

  bench("bulk fill + drain", "add 200k timers, drain them in 1 ms steps", (s) => {
    s.core.reserve(200_000, 200_000);
  }, (w) => w.bulkFillDrain);
  bench(
    "steady churn",
    "100k live timers: cancel one + add one, clock advancing",
    (s, w) => w.churnSetup(s),
    (w) => w.churn,
  );
  bench("90% cancelled", "add 200k timers, cancel 90%, drain the rest", (s) => {
    s.core.reserve(200_000, 200_000);
    s.tokens = new Int32Array(200_000);
  }, (w) => w.mostlyCancelled);
  bench("virtual clock", "200k timers in 100 ms, advance(nextDeadline()) until empty", (s) => {
    s.core.reserve(200_000, 200_000);
  }, (w) => w.virtualClock);
  bench("ready ring", "push/pop 1M ids, 1000 per batch", (s) => {
    s.core.reserve(1024, 0);
  }, (w) => w.ringBatches);
  bench("ready ring, 1M deep", "push 1M ids, then pop 1M", (s) => {
    s.core.reserve(1 << 20, 0);
  }, (w) => w.ringDeep);
}
