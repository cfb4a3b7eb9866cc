# Python's arq (asyncio job queue on Redis) on the tiny-job workload: one
# worker process, the producer
# enqueues N jobs `x + 1` (32 at a time) and waits until every result is stored.
# The worker polls every 5 ms and runs up to 100 jobs at once (arq's defaults,
# 0.5 s and 10, would make it far slower here). arq is not
# on PyPI's mirror here: point AIO_ARQ_PATH at a source checkout of arq (its
# `arq/` package; it needs redis-py and click), or install it.
#
#   python3 bench/redis/arq_queue.py PORT N   -> prints the elapsed ms
import asyncio, os, subprocess, sys, time

if os.environ.get("AIO_ARQ_PATH"):
    sys.path.insert(0, os.environ["AIO_ARQ_PATH"])

from arq import create_pool
from arq.connections import RedisSettings
from arq.worker import Worker


async def add_one(ctx, x):
    return x + 1


def settings(port):
    return RedisSettings(host="127.0.0.1", port=port)


def run_worker(port):
    # A burst a tenth of a second long is idle, not the end: the producer stops the worker.
    w = Worker(functions=[add_one], redis_settings=settings(port), poll_delay=0.005, max_jobs=100,
               handle_signals=True)
    w.run()


async def producer(port, n):
    r = await create_pool(settings(port))
    # The Redis is shared with the other set-ups: remove only arq's keys.
    old = [k async for k in r.scan_iter(match="arq:*")]
    if old:
        await r.delete(*old)
    w = subprocess.Popen([sys.executable, __file__, "worker", str(port)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    await asyncio.sleep(1.5)
    try:
        ms, last = await measure(r, n)
    finally:
        w.send_signal(2)
        try:
            w.wait(timeout=5)
        except subprocess.TimeoutExpired:  # arq's graceful stop hung once here
            w.kill()
            w.wait()
        await r.aclose()
    if last != n:
        raise SystemExit(f"wrong result {last}")
    print(f"{ms:.1f}")


async def measure(r, n):
    t0 = time.perf_counter()
    # Enqueued 32 at a time (arq's enqueue_job is a WATCH/MULTI transaction of
    # a few round trips: awaiting each in turn is several times slower; all at
    # once exhausts redis-py's connection pool).
    gate = asyncio.Semaphore(32)

    async def enqueue(i):
        async with gate:
            return await r.enqueue_job("add_one", i)

    jobs = await asyncio.gather(*(enqueue(i) for i in range(n)))
    # Done when the queue is empty: arq removes a job from its queue (a sorted
    # set) in the same transaction that stores its result.
    while await r.zcard("arq:queue") > 0:
        if time.perf_counter() - t0 > 300:
            raise SystemExit(f"arq: {await r.zcard('arq:queue')} jobs still queued after 300 s")
        await asyncio.sleep(0.002)
    ms = (time.perf_counter() - t0) * 1000
    return ms, await jobs[-1].result(timeout=5)


if __name__ == "__main__":
    if sys.argv[1] == "worker":
        run_worker(int(sys.argv[2]))
    else:
        asyncio.run(producer(int(sys.argv[1]), int(sys.argv[2])))
