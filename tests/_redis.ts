// A redis-server of its own for each test (127.0.0.1, a free port, its own
// temporary directory), and worker processes that stand in for machines.
// Everything started here is stopped by the returned handle's close().

// deno-lint-ignore no-import-prefix
import type { Redis } from "npm:ioredis@^5.4";
import { closeConnection, openConnection } from "../src/redis/redis_connection.ts";

export interface RedisServer {
  port: number;
  url: string;
  dir: string;
  /** Stops the server (SIGTERM, so a persistent one saves) and waits for it. */
  stop(): Promise<void>;
  /** Starts it again on the same port and directory. */
  start(): Promise<void>;
  /** SIGKILLs the server. */
  kill(): Promise<void>;
  /** A plain connection for assertions; closed by close(). */
  client(): Promise<Redis>;
  close(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Starts a redis-server; `persistent` turns on the append-only file (fsync always). */
export async function startRedis(options: { persistent?: boolean } = {}): Promise<RedisServer> {
  const port = freePort();
  const dir = await Deno.makeTempDir({ prefix: "aio-redis-" });
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    options.persistent ? "yes" : "no",
    "--appendfsync",
    "always",
    "--loglevel",
    "warning",
  ];
  let proc: Deno.ChildProcess | null = null;
  const clients: Redis[] = [];
  const start = async () => {
    proc = new Deno.Command("redis-server", { args, stdout: "null", stderr: "null" }).spawn();
    // Ready when it answers PING.
    for (let i = 0;; i++) {
      try {
        const c = await Deno.connect({ hostname: "127.0.0.1", port });
        await c.write(new TextEncoder().encode("PING\r\n"));
        const buf = new Uint8Array(64);
        const n = await c.read(buf);
        c.close();
        if (n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG")) return;
      } catch {
        // Not listening yet.
      }
      if (i > 500) throw new Error("redis-server did not start");
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const halt = async (sig: Deno.Signal) => {
    const p = proc;
    proc = null;
    if (p === null) return;
    p.kill(sig);
    await p.status;
  };
  await start();
  const url = `redis://127.0.0.1:${port}`;
  return {
    port,
    url,
    dir,
    stop: () => halt("SIGTERM"),
    start,
    kill: () => halt("SIGKILL"),
    async client() {
      const c = await openConnection(url, "test") as unknown as Redis;
      clients.push(c);
      return c;
    },
    async close() {
      for (const c of clients) await closeConnection(c as unknown as { status: string }, true);
      await halt("SIGKILL");
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

const WORKER = new URL("../worker.ts", import.meta.url).pathname;

export interface WorkerProcess {
  proc: Deno.ChildProcess;
  /** Waits for its exit; returns its exit code. */
  exited(): Promise<number>;
  /** SIGTERM (graceful) or SIGKILL (dies mid-job), then waits. */
  stop(sig?: Deno.Signal): Promise<number>;
}

/** Starts `worker.ts` as a separate process (a machine of its own). */
export function startWorker(
  url: string,
  queue: string,
  concurrency = 1,
  extra: string[] = [],
): WorkerProcess {
  const proc = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--no-lock",
      WORKER,
      "--url",
      url,
      "--queue",
      queue,
      "--concurrency",
      String(concurrency),
      ...extra,
    ],
    stdout: "null",
    stderr: "inherit",
  }).spawn();
  let code: Promise<number> | null = null;
  const exited = () => code ??= proc.status.then((s) => s.code);
  return {
    proc,
    exited,
    async stop(sig: Deno.Signal = "SIGTERM") {
      try {
        proc.kill(sig);
      } catch {
        // Gone already.
      }
      return await exited();
    },
  };
}

/** Keys of the server, for the nothing-accumulates checks. */
export async function keys(r: Redis): Promise<string[]> {
  return (await r.keys("*")).sort();
}
