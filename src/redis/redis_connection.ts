// Connections to Redis through ioredis, loaded on first use so that importing
// aio loads no Redis client and needs no permission. Every connection
// reconnects forever (a Redis restart is an outage, not an error) and
// queues commands meanwhile; `closeConnection` waits for the socket to be
// gone, so Deno's resource sanitizer sees nothing left behind.

/**
 * An ioredis client, typed loosely: its own types need Node's typings,
 * which would make every program that type-checks aio warn.
 */
export interface Redis {
  status: string;
  // deno-lint-ignore no-explicit-any
  [method: string]: any;
}

// deno-lint-ignore no-explicit-any
let ioredis: Promise<any> | null = null;

/** A connection to `url`, reconnecting forever. `name` shows in CLIENT LIST. */
export async function openConnection(url: string, name: string): Promise<Redis> {
  // The full specifier, not an import-map name: aio imported from a checkout
  // by a program with its own configuration must still find the client.
  // deno-lint-ignore no-import-prefix
  const mod = await (ioredis ??= import("npm:ioredis@^5.4"));
  const options = {
    connectionName: name,
    // Wait through outages instead of failing commands after 20 retries.
    maxRetriesPerRequest: null,
    retryStrategy: (times: number) => Math.min(50 * times, 500),
    // A server that restarted answers LOADING while it reads its data back:
    // reconnect and send the command again. (ioredis's ready check would wait
    // in a timer that closing the connection does not clear.)
    enableReadyCheck: false,
    reconnectOnError: (e: Error) => /LOADING|READONLY/.test(e.message) ? 2 : false,
    lazyConnect: false,
  };
  const r: Redis = new mod.Redis(url, options);
  // Connection errors are retried; without a listener ioredis would print each one.
  r.on("error", () => {});
  return r;
}

/** Closes `r` after the commands sent so far, and waits until its socket is closed. */
export async function closeConnection(r: Redis, now = false): Promise<void> {
  if (r.status === "end") return;
  if (r.status === "reconnecting" || r.status === "close") {
    // No socket, only a reconnect timer. disconnect() would clear it but
    // emit no "end", leave queued commands waiting forever, and start a
    // 2 s timer to end a socket that is already closed: end it here instead.
    forceEnd(r);
    return;
  }
  const ended = new Promise<void>((resolve) => r.once("end", () => resolve()));
  if (now || r.status !== "ready") r.disconnect();
  else r.quit().catch(() => r.disconnect());
  // A connection closed once while connecting can reach "ready" and then
  // ignore the next disconnect(): after a while, end it by force.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(resolve, 2000, "late"));
  const how = await Promise.race([ended, late]);
  clearTimeout(timer);
  if (how === "late") forceEnd(r);
}

function forceEnd(r: Redis): void {
  // deno-lint-ignore no-explicit-any
  const c = r as any;
  c.manuallyClosing = true;
  if (c.reconnectTimeout) clearTimeout(c.reconnectTimeout);
  c.reconnectTimeout = null;
  c.stream?.destroy?.();
  c.flushQueue?.(new Error("Connection is closed."));
  if (c.status !== "end") c.setStatus?.("end");
}

/** Parses and checks a `redis://` or `rediss://` URL, naming the problem. */
export function checkUrl(url: unknown, what: string): string {
  if (typeof url !== "string" || url === "") {
    throw new TypeError(`${what}: url must be a redis:// URL string, got ${String(url)}`);
  }
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new TypeError(`${what}: url ${JSON.stringify(url)} is not a URL (redis://host:port)`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new TypeError(
      `${what}: url must start with redis:// or rediss://, got ${JSON.stringify(url)}`,
    );
  }
  return url;
}

/** Checks a queue name: non-empty, no whitespace (it becomes part of key names). */
export function checkQueue(queue: unknown, what: string): string {
  if (typeof queue !== "string" || !/^[^\s]{1,200}$/.test(queue)) {
    throw new TypeError(
      `${what}: queue must be a non-empty name without whitespace, got ${
        typeof queue === "string" ? JSON.stringify(queue) : String(queue)
      }`,
    );
  }
  return queue;
}
