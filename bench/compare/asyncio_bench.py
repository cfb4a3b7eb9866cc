"""CPython asyncio on W1-W6 and W8 (W7 is in pools_py.py), the model aio copies.

Mirrors workloads.ts: the same sizes, the same seeded delays (mulberry32), the
same probe / warm-up / timed run, one JSON line per workload. Each workload is
one asyncio.run(), as each aio workload is one run().
Run: python3 bench/compare/asyncio_bench.py [--quick] [--workload W3]
"""
import asyncio
import json
import sys
import time

QUICK = "--quick" in sys.argv
FULL = {"W1": 1_000_000, "W2": 1_000_000, "W3": 100_000, "W4": 200_000,
        "W5": 200_000, "W6": 1_000_000, "W7": 10_000, "W8": 100_000}
SIZES = {w: n // 100 if QUICK else n for w, n in FULL.items()}
W2_TASKS, W6_CAPACITY, W8_DEPTH = 1000, 100, 10
W4_SEED, W5_SEED = 42, 7
BUDGET_MS = 8000
M = 0xFFFFFFFF


def rng(seed):
    """mulberry32, as bench/_util.ts, so both languages draw the same delays."""
    a = seed & M

    def random():
        nonlocal a
        a = (a + 0x6D2B79F5) & M
        t = ((a ^ (a >> 15)) * (a | 1)) & M
        t ^= (t + ((t ^ (t >> 7)) * (t | 61))) & M
        return ((t ^ (t >> 14)) & M) / 4294967296

    return random


def delays(n, seed, lo, hi):
    random = rng(seed)
    return [lo + random() * (hi - lo) for _ in range(n)]


async def spin(k):
    for _ in range(k):
        await asyncio.sleep(0)


async def one():
    return 1


async def spawn_gather(n):
    await asyncio.gather(*[asyncio.create_task(one()) for _ in range(n)])


async def fire_all(ds):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    left = len(ds)

    def fire():
        nonlocal left
        left -= 1
        if left == 0:
            done.set_result(None)

    for d in ds:
        loop.call_later(d / 1000, fire)
    await done


async def cancel_all(ds):
    loop = asyncio.get_running_loop()
    noop = lambda: None  # noqa: E731
    hs = [loop.call_later(d / 1000, noop) for d in ds]
    for h in hs:
        h.cancel()


async def pipe(n):
    q = asyncio.Queue(W6_CAPACITY)

    async def produce():
        for i in range(n):
            await q.put(i)

    producer = asyncio.create_task(produce())
    for _ in range(n):
        await q.get()
    await producer


async def deep(d):
    if d == 0:
        await asyncio.get_running_loop().create_future()  # never set
    else:
        await deep(d - 1)


async def cancel_deep(n):
    for _ in range(n):
        t = asyncio.create_task(deep(W8_DEPTH))
        await asyncio.sleep(0)  # t runs until it blocks at the bottom
        t.cancel()
        try:
            await t
        except asyncio.CancelledError:
            pass


async def many_spinners(n):
    await asyncio.gather(*[spin(n // W2_TASKS) for _ in range(W2_TASKS)])


def w4(n):
    ds = delays(n, W4_SEED, 0, 100)
    return lambda: asyncio.run(fire_all(ds))


def w5(n):
    ds = delays(n, W5_SEED, 1000, 2000)
    return lambda: asyncio.run(cancel_all(ds))


# Each entry prepares a run of size n (untimed) and returns the timed part.
WORKLOADS = {
    "W1": lambda n: lambda: asyncio.run(spin(n)),
    "W2": lambda n: lambda: asyncio.run(many_spinners(n)),
    "W3": lambda n: lambda: asyncio.run(spawn_gather(n)),
    "W4": w4,
    "W5": w5,
    "W6": lambda n: lambda: asyncio.run(pipe(n)),
    "W8": lambda n: lambda: asyncio.run(cancel_deep(n)),
}


def timed_ms(wid, fn, n):
    run = fn(n)
    t0 = time.perf_counter()
    run()
    # W4's timers are due up to 100 ms out: only the time beyond is overhead.
    return (time.perf_counter() - t0) * 1000 - (100 if wid == "W4" else 0)


def run_workloads(system, workloads):
    """--n or a probe shrinking n past BUDGET_MS, warm-up at n/10, timed run: as workloads.ts."""
    def arg(name):
        return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None

    for wid, fn in workloads.items():
        if arg("--workload") not in (None, wid):
            continue
        n = int(arg("--n") or SIZES[wid])
        if not QUICK and arg("--n") is None:
            timed_ms(wid, fn, n // 100)
            per_op = timed_ms(wid, fn, n // 100) / (n // 100)
            for _ in range(2):
                if per_op * n > BUDGET_MS:
                    n //= 10
        timed_ms(wid, fn, max(1, n // 10))
        ms = timed_ms(wid, fn, n)
        print(json.dumps({"system": system, "workload": wid, "n": n, "ms": ms,
                          "ns_per_op": ms * 1e6 / n}), flush=True)


if __name__ == "__main__":
    run_workloads("asyncio", WORKLOADS)
