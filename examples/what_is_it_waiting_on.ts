// What is my program waiting on? A small service whose tasks wait on each
// other in several ways (yield* a task, gather, shield, waitFor, a task
// group); after 50 ms a watchdog prints every pending task as a table and a
// tree of who awaits whom (formatTasks, like `python -m asyncio ps` and
// `pstree`), then the call graph of the task everyone waits for. In debug
// mode each task also shows the line where it is suspended and for how long.
//
//   deno run examples/what_is_it_waiting_on.ts
import {
  type Coroutine,
  createTask,
  formatCallGraph,
  formatTasks,
  gather,
  run,
  shield,
  sleep,
  type Task,
  taskGroup,
  waitFor,
} from "../mod.ts";

/** Starts the tasks, prints what they wait on, and lets them finish. */
export function* main(log: (line: string) => void = console.log): Coroutine<void> {
  const db = createTask(function* query() {
    yield* sleep(200);
    return 42;
  }, { name: "db" });
  function* handler(): Coroutine<number> {
    return (yield* db) as number;
  }
  function* cached(): Coroutine<number> {
    return (yield* waitFor(shield(db), 1_000)) as number;
  }
  const web = createTask(function* server() {
    return yield* gather([
      createTask(handler, { name: "req-1" }),
      createTask(cached, { name: "req-2" }),
    ]);
  }, { name: "web" });
  const jobs = createTask(function* cron() {
    yield* taskGroup(function* (tg) {
      tg.createTask(function* cleanup() {
        yield* sleep(100);
      }, { name: "cleanup" });
      tg.createTask(function* report() {
        yield* db;
      }, { name: "report" });
    });
  }, { name: "jobs" });
  const watchdog = createTask(function* watchdog() {
    yield* sleep(50);
    log(formatTasks());
    log("");
    log(formatCallGraph(db as Task<unknown>));
  }, { name: "watchdog" });
  yield* gather([web, jobs, watchdog]);
}

if (import.meta.main) await run(main, { debug: true });
