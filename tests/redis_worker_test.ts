// runWorker in this process (its pools, connections and timers pass the
// sanitizers) and the graceful stop of a worker process that holds jobs it
// has not started.
import { assert } from "../deps.ts";
import { needsRedis } from "./_util.ts";
import { RedisExecutor, runWorker, ValueError, workerFunction } from "../mod.ts";
import { startRedis, startWorker } from "./_redis.ts";

const JOBS = new URL("./fixtures/redis_jobs.ts", import.meta.url);
const record = workerFunction<(path: string, line: string, ms?: number) => Promise<string>>(
  JOBS,
  "record",
);

async function lines(path: string): Promise<string[]> {
  try {
    return (await Deno.readTextFile(path)).split("\n").filter((l) => l !== "");
  } catch {
    return [];
  }
}

Deno.test(
  "runWorker: runs jobs in this process until its signal aborts, then resolves with nothing left open",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const stop = new AbortController();
    const done = runWorker({
      url: redis.url,
      queue: "inproc",
      concurrency: 1,
      signal: stop.signal,
      handleSignals: false,
    });
    const ex = new RedisExecutor({ url: redis.url, queue: "inproc" });
    try {
      assert.equal(await ex.submit((s: string) => s.toUpperCase(), "here"), "HERE");
    } finally {
      await ex.shutdown();
      stop.abort();
      await done;
      await redis.close();
    }
  },
);

Deno.test("runWorker: bad options name the problem", () => {
  assert.throws(() => runWorker({ url: "redis://x:1", queue: "" }), /queue/);
  assert.throws(() => runWorker({ url: "mysql://x", queue: "q" }), /redis:\/\//);
  assert.throws(() => runWorker({ url: "redis://x:1", queue: "q", concurrency: 0 }), ValueError);
});

Deno.test(
  "SIGTERM hands the jobs a worker process took but did not start back to the queue; another runs each once",
  needsRedis(),
  async () => {
    const redis = await startRedis();
    const dir = await Deno.makeTempDir();
    const a = startWorker(redis.url, "handback", 1);
    const ex = new RedisExecutor({ url: redis.url, queue: "handback" });
    let b: ReturnType<typeof startWorker> | null = null;
    try {
      // Short jobs: the worker takes several per thread ahead of time.
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => ex.submit(record, `${dir}/warm`, `w${i}`, 2)),
      );
      const futs = Array.from({ length: 40 }, (_, i) => ex.submit(record, `${dir}/e`, `j${i}`, 2));
      while ((await lines(`${dir}/e`)).length === 0) await new Promise((r) => setTimeout(r, 2));
      assert.equal(await a.stop("SIGTERM"), 0);
      b = startWorker(redis.url, "handback", 1);
      const results = await Promise.all(futs);
      assert.deepEqual(results, futs.map((_, i) => `j${i}`));
      const effects = await lines(`${dir}/e`);
      for (let i = 0; i < futs.length; i++) {
        assert.equal(effects.filter((l) => l === `j${i}`).length, 1, `j${i} ran once`);
      }
    } finally {
      await ex.shutdown();
      await b?.stop();
      await redis.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
);

Deno.test("worker.ts: a missing or unknown argument prints the usage and exits with 2", async () => {
  const worker = new URL("../worker.ts", import.meta.url).pathname;
  for (
    const args of [[], ["--queue", "q"], [
      "--url",
      "redis://127.0.0.1:1",
      "--queue",
      "q",
      "--bogus",
      "1",
    ]]
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-lock", worker, ...args],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), /usage: deno run -A worker\.ts --url/);
  }
});
