"""W10, CPython asyncio: spawn `true` with its stdout piped and communicate(), one at a time.

As bench/compare/asyncio_bench.py: a warm-up at n/10, then one timed run of n
operations in one asyncio.run(); prints {"system","workload","n","ms","ns_per_op"}.
`--uvloop` runs the same on uvloop. bench/echo/subprocess.ts is the Deno side.
Run: python3 bench/echo/subprocess_asyncio.py [--quick] [--n 1000] [--uvloop]
"""
import asyncio
import json
import sys
import time

QUICK = "--quick" in sys.argv
FULL = 1000


def arg(name):
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else None


async def spawn_all(n):
    for _ in range(n):
        p = await asyncio.create_subprocess_exec("true", stdout=asyncio.subprocess.PIPE)
        out, _ = await p.communicate()
        if p.returncode != 0 or out != b"":
            raise SystemExit(f"`true` exited {p.returncode} with output {out!r}")


def timed_ms(n):
    t0 = time.perf_counter()
    asyncio.run(spawn_all(n))
    return (time.perf_counter() - t0) * 1000


if __name__ == "__main__":
    system = "asyncio"
    if "--uvloop" in sys.argv:
        import uvloop

        uvloop.install()
        system = "uvloop"
    n = int(arg("--n") or (FULL // 50 if QUICK else FULL))
    timed_ms(max(1, n // 10))
    ms = timed_ms(n)
    print(json.dumps({"system": system, "workload": "W10", "n": n, "ms": ms,
                      "ns_per_op": ms * 1e6 / n}), flush=True)
