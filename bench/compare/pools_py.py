"""W7 in CPython: 10,000 tiny jobs (x + 1) on ProcessPoolExecutor(2) or
ThreadPoolExecutor(2) through submit, one future per job. The pool is started
and warmed before the clock starts, as in pools.ts.
Run: python3 bench/compare/pools_py.py --pool process|thread [--quick]
"""
import sys
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

from asyncio_bench import run_workloads

WORKERS = 2


def inc(x):  # module level, so ProcessPoolExecutor can pickle it
    return x + 1


def submit_all(ex, n):
    for f in [ex.submit(inc, i) for i in range(n)]:
        f.result()


if __name__ == "__main__":
    kind = sys.argv[sys.argv.index("--pool") + 1] if "--pool" in sys.argv else "process"
    Pool = ProcessPoolExecutor if kind == "process" else ThreadPoolExecutor
    with Pool(WORKERS) as ex:
        run_workloads(f"py-{kind}", {"W7": lambda n: lambda: submit_all(ex, n)})
