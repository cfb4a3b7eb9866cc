// The executor examples run and compute what they claim.
import { assert } from "../deps.ts";
import { DENO_ONLY } from "./_util.ts";
import { blockingIo, main as blockingMain } from "../examples/blocking_io.ts";
import { cpuBound, main as cpuMain } from "../examples/cpu_bound.ts";
import { main as piMain, piPart } from "../examples/pi.ts";

// blocking_io.ts reads /dev/urandom with Deno.openSync.
Deno.test(
  "examples/blocking_io.ts: a blocking read on the default pool and on a custom one",
  DENO_ONLY,
  async () => {
    assert.equal(blockingIo().length, 100);
    const r = await blockingMain();
    assert.equal(r.defaultPool, 100);
    assert.equal(r.ownPool, 100);
  },
);

Deno.test("examples/cpu_bound.ts: the exact sum of squares on a pool", async () => {
  const n = 200_000;
  const exact = (BigInt(n - 1) * BigInt(n) * BigInt(2 * n - 1)) / 6n;
  assert.equal(cpuBound(n), exact);
  assert.equal(await cpuMain(n), exact);
  assert.equal(cpuBound(10 ** 7), 333333283333335000000n);
});

Deno.test("examples/pi.ts: π from parts computed on the pool", async () => {
  assert.ok(Math.abs(piPart(0, 1000, 1000) - Math.PI) < 1e-6);
  const r = await piMain(2_000_000, 4, 2);
  assert.ok(Math.abs(r.pi - Math.PI) < 1e-9, `π ≈ ${r.pi}`);
  assert.equal(r.workers, 2);
  assert.ok(r.speedup > 0 && Number.isFinite(r.speedup));
});
