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
// Each pair also gets its own copy of the workload function. A loop uses one
// core kind, so its call sites only ever see one class; a workload shared by
// both cores would see two and measure polymorphic dispatch instead.

import { createCore } from "../src/scheduler/mod.ts";
import type { CoreKind, SchedulerCore } from "../src/scheduler/mod.ts";

const KINDS: CoreKind[] = ["ts", "wasm"];

/** Workload state: everything a workload reads, since copies cannot close over module variables. */
interface State {
  core: SchedulerCore;
  /** 2^20 uniform floats in [0, 1). */
  rand: Float64Array;
  r: number;
  now: number;
  tokens: Int32Array;
}

/** 2^20 uniform floats in [0, 1) from a fixed-seed xorshift. */
const RAND = (() => {
  const r = new Float64Array(1 << 20);
  let x = 0x9e3779b9 | 0;
  for (let i = 0; i < r.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    r[i] = (x >>> 0) / 4294967296;
  }
  return r;
})();

/** A fresh copy of `fn` (own type feedback); `fn` must not close over anything. */
function isolated(fn: (s: State) => void): (s: State) => void {
  return new Function(`return (${fn.toString()});`)();
}

function bench(
  group: string,
  name: string,
  setup: (s: State) => void,
  fn: (s: State) => void,
): void {
  for (const kind of KINDS) {
    const s: State = {
      core: createCore(kind),
      rand: RAND,
      r: 0,
      now: 0,
      tokens: new Int32Array(0),
    };
    setup(s);
    const run = isolated(fn);
    Deno.bench({ name: `${kind}: ${name}`, group, baseline: kind === "ts", fn: () => run(s) });
  }
}

// 200k timers spread over 10 s, then drained by a clock ticking 1 ms at a
// time: 20 timers fire per tick.
bench("bulk fill + drain", "add 200k timers, drain them in 1 ms steps", (s) => {
  s.core.reserve(200_000, 200_000);
}, (s) => {
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
});

// 100k live timers due within 10 s; each operation cancels a random one and
// adds another; every 16 operations the clock moves 0.16 ms and whatever
// fired is re-armed, so the live count stays at 100k.
bench("steady churn", "100k live timers: cancel one + add one, clock advancing", (s) => {
  s.core.reserve(1024, 200_000);
  s.tokens = new Int32Array(100_000);
  for (let i = 0; i < 100_000; i++) s.tokens[i] = s.core.addTimer(s.rand[s.r++] * 10_000, i);
}, (s) => {
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
});

// Timeouts that rarely fire: 200k timers over 5 s, 90% cancelled, the rest
// drained in 1 ms steps.
bench("90% cancelled", "add 200k timers, cancel 90%, drain the rest", (s) => {
  s.core.reserve(200_000, 200_000);
  s.tokens = new Int32Array(200_000);
}, (s) => {
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
});

// The virtual clock: 200k timers in 100 ms, then `advance(nextDeadline())`
// until empty. Nearly every timer fires alone, at its exact deadline.
bench("virtual clock", "200k timers in 100 ms, advance(nextDeadline()) until empty", (s) => {
  s.core.reserve(200_000, 200_000);
}, (s) => {
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
});

// The ready ring: 1M ids through it, 1000 at a time (one loop iteration's
// worth), and 1M deep. XOR keeps the checksum a small integer.
bench("ready ring", "push/pop 1M ids, 1000 per batch", (s) => {
  s.core.reserve(1024, 0);
}, (s) => {
  const core = s.core;
  let x = 0;
  for (let b = 0; b < 1_000_000; b += 1000) {
    for (let i = 0; i < 1000; i++) core.pushReady(b + i);
    for (let i = 0; i < 1000; i++) x ^= core.popReady();
  }
  if (x !== 0) throw new Error("ring lost ids");
});

bench("ready ring, 1M deep", "push 1M ids, then pop 1M", (s) => {
  s.core.reserve(1 << 20, 0);
}, (s) => {
  const core = s.core;
  for (let i = 0; i < 1_000_000; i++) core.pushReady(i);
  let x = 0;
  for (let i = 0; i < 1_000_000; i++) x ^= core.popReady();
  if (x !== 0) throw new Error("ring lost ids");
});
