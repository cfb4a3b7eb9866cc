/**
 * The worker process of a `RedisExecutor` queue, as a command line:
 *
 * ```sh
 * deno run -A jsr:@aio/aio/worker --url redis://127.0.0.1:6379 --queue NAME [--concurrency N]
 * ```
 *
 * Runs the queue's jobs on a local pool of `N` workers (default: the
 * machine's cores) until SIGINT or SIGTERM, then stops gracefully: jobs not
 * started go back to the queue, running ones finish. A second signal exits at
 * once (Redis then hands its jobs to other workers after their
 * `deadWorkerTimeoutMs`).
 *
 * @module
 */
import { runWorker } from "./src/redis/redis_worker.ts";

const USAGE = "usage: deno run -A worker.ts --url redis://host:port --queue NAME [--concurrency N]";

/** Parses `--name value` and `--name=value` pairs; unknown flags are an error. */
function parse(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    let a = args[i];
    let v: string | undefined;
    const eq = a.indexOf("=");
    if (eq > 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    if (!["--url", "--queue", "--concurrency", "--name"].includes(a)) {
      throw new TypeError(`unknown argument ${JSON.stringify(a)}\n${USAGE}`);
    }
    v ??= args[++i];
    if (v === undefined) throw new TypeError(`${a} needs a value\n${USAGE}`);
    out[a.slice(2)] = v;
  }
  return out;
}

if (import.meta.main) {
  try {
    const o = parse(Deno.args);
    if (o.url === undefined || o.queue === undefined) throw new TypeError(USAGE);
    const concurrency = o.concurrency === undefined ? undefined : Number(o.concurrency);
    let signals = 0;
    const hard = () => {
      if (++signals > 1) Deno.exit(130);
    };
    Deno.addSignalListener("SIGINT", hard);
    Deno.addSignalListener("SIGTERM", hard);
    await runWorker({ url: o.url, queue: o.queue, concurrency, name: o.name });
    Deno.removeSignalListener("SIGINT", hard);
    Deno.removeSignalListener("SIGTERM", hard);
  } catch (e) {
    console.error(`aio worker: ${(e as Error).message}`);
    Deno.exit(2);
  }
}
