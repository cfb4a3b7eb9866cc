// A request id that follows the work: a ContextVar set once per request is
// seen by every task that request starts, and by their tasks in turn, while
// requests handled concurrently never see each other's id. No parameter is
// threaded through the call chain.
//
//   deno run examples/request_id.ts
import { ContextVar, type Coroutine, createTask, gather, run, sleep } from "../mod.ts";

const requestId = new ContextVar<string>("requestId", { default: "-" });

/** Writes a log line tagged with the current request id. */
let sink: (line: string) => void = console.log;
function log(message: string): void {
  sink(`[${requestId.get()}] ${message}`);
}

function* queryDatabase(table: string, ms: number): Coroutine<number> {
  log(`SELECT * FROM ${table}`);
  yield* sleep(ms);
  log(`${table}: done`);
  return ms;
}

function* handle(id: string, path: string, ms: number): Coroutine<string> {
  using _scope = requestId.set(id); // restored when the handler returns
  log(`GET ${path}`);
  // The two queries are separate tasks: each starts in a copy of this
  // task's context, so both log this request's id.
  const users = createTask(queryDatabase("users", ms));
  const orders = createTask(queryDatabase("orders", 2 * ms));
  const total = (yield* users) + (yield* orders);
  log(`200 OK after ${total} ms of queries`);
  return `${id} ${path}`;
}

/** Serves three overlapping requests; returns what each handler returned. */
export function* main(out: (line: string) => void = console.log): Coroutine<string[]> {
  sink = out;
  log("server started");
  const served = yield* gather([
    handle("req-1", "/users/1", 30),
    handle("req-2", "/orders?user=2", 10),
    handle("req-3", "/health", 20),
  ]);
  log("all requests served"); // back at the server's own (default) id
  return served;
}

if (import.meta.main) await run(() => main());
