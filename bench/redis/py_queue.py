# A Python asyncio job queue on redis-py (asyncio client, hiredis parser) for
# the tiny-job comparison: the producer pushes one JSON message per job, the
# worker (a separate process, 10 jobs in flight like arq's default max_jobs)
# runs `x + 1` and pushes one result per job; the producer waits for all.
# arq itself cannot be installed on these machines (PyPI is out of reach and
# Debian does not package it), so this stands in for it: it does fewer Redis
# round trips per job than arq, so it is the stricter baseline.
#
#   python3 bench/redis/py_queue.py PORT N   -> prints the elapsed ms
import asyncio, json, subprocess, sys, time
import redis.asyncio as aredis

async def worker(port):
    r = aredis.Redis(port=port)
    async def job(x):
        return x + 1
    while True:
        got = await r.blmpop(1, 1, "pyq:jobs", direction="LEFT", count=10)
        if got is None:
            continue
        msgs = [json.loads(m) for m in got[1]]
        if msgs and msgs[0]["id"] < 0:
            break
        results = await asyncio.gather(*(job(m["x"]) for m in msgs))
        p = r.pipeline(transaction=False)
        for m, v in zip(msgs, results):
            p.rpush("pyq:results", json.dumps({"id": m["id"], "r": v}))
        await p.execute()
    await r.aclose()

async def producer(port, n):
    r = aredis.Redis(port=port)
    await r.delete("pyq:jobs", "pyq:results")
    w = subprocess.Popen([sys.executable, __file__, "worker", str(port)])
    await asyncio.sleep(1)
    t0 = time.perf_counter()
    p = r.pipeline(transaction=False)
    for i in range(n):
        p.rpush("pyq:jobs", json.dumps({"id": i, "x": i}))
    await p.execute()
    got = 0
    while got < n:
        res = await r.blmpop(1, 1, "pyq:results", direction="LEFT", count=512)
        if res is not None:
            got += len(res[1])
    ms = (time.perf_counter() - t0) * 1000
    await r.rpush("pyq:jobs", json.dumps({"id": -1, "x": 0}))
    w.wait()
    await r.aclose()
    print(f"{ms:.1f}")

if __name__ == "__main__":
    if sys.argv[1] == "worker":
        asyncio.run(worker(int(sys.argv[2])))
    else:
        asyncio.run(producer(int(sys.argv[1]), int(sys.argv[2])))
