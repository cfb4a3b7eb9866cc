// A short tour of aio on the real clock (about 3 s): `deno task demo`.
// Each step is a tutorial program from this folder, scaled down to
// fractions of a second; run those files for the full versions.
import {
  asCompleted,
  CancelledError,
  type Coroutine,
  createTask,
  ExceptionGroup,
  FIRST_COMPLETED,
  gather,
  getRunningLoop,
  run,
  shield,
  sleep,
  taskGroup,
  timeout,
  TimeoutError,
  wait,
  waitFor,
} from "../mod.ts";

const t0 = performance.now();
function say(what: string): void {
  console.log(`${(performance.now() - t0).toFixed(0).padStart(5)} ms  ${what}`);
}
function title(what: string): void {
  console.log(`\n== ${what}`);
}

function* work(ms: number, result: string): Coroutine<string> {
  yield* sleep(ms);
  return result;
}

function* tour(): Coroutine<void> {
  title("coroutines are function*; yield* is await; tasks run concurrently");
  const a = createTask(work(300, "hello"), { name: "hello" });
  const b = createTask(work(600, "world"), { name: "world" });
  say(`created ${a} and ${b.getName()}`);
  say(`${yield* a} ${yield* b}: both done after ~600 ms, not 900`);

  title("a bare yield gives every other task one turn");
  const order: string[] = [];
  function* counter(name: string): Coroutine<void> {
    for (let i = 0; i < 3; i++) {
      order.push(`${name}${i}`);
      yield;
    }
  }
  yield* gather([counter("A"), counter("B"), counter("C")]);
  say(order.join(" "));

  title("gather: results in argument order, typed as a tuple");
  const [x, y, z] = yield* gather([work(200, "x"), work(100, "y"), sleep(150, 42)]);
  say(`[${x}, ${y}, ${z}] after ~200 ms`);

  title("wait(FIRST_COMPLETED) returns as soon as one is done; nothing is cancelled");
  const fast = createTask(work(100, "fast"), { name: "fast" });
  const slow = createTask(work(400, "slow"), { name: "slow" });
  const [done, pending] = yield* wait([fast, slow], { returnWhen: FIRST_COMPLETED });
  say(
    `done: ${[...done].map((t) => t.getName())}, pending: ${[...pending].map((t) => t.getName())}`,
  );
  slow.cancel();

  title("waitFor cancels what it waited for when the time is up");
  const eternity = createTask(sleep(60_000));
  try {
    yield* waitFor(eternity, 200);
  } catch (e) {
    if (!(e instanceof TimeoutError)) throw e;
    say(`${e.name}; the task was cancelled: ${eternity.cancelled()}`);
  }

  title("shield: time out the wait, not the work");
  const important = createTask(work(400, "saved"));
  try {
    yield* waitFor(shield(important), 200);
  } catch (e) {
    say(`${(e as Error).name}, but cancelled: ${important.cancelled()}`);
  }
  say(`and later it delivers: ${yield* important}`);

  title("asCompleted: results as they arrive");
  for (const next of asCompleted([work(300, "third"), work(100, "first"), work(200, "second")])) {
    say(yield* next);
  }

  title("timeout scopes: the body is cancelled, the scope throws TimeoutError");
  try {
    yield* timeout(150, function* (cm) {
      say(`inside ${cm}`);
      try {
        yield* sleep(10_000);
      } finally {
        say("the body's finally block runs");
      }
    });
  } catch (e) {
    say(`${(e as Error).name}, caused by ${((e as Error).cause as Error).name}`);
  }

  title("TaskGroup: the first failure cancels the rest; errors come out together");
  try {
    yield* taskGroup(function* (tg) {
      tg.createTask(function* () {
        yield* sleep(100);
        throw new RangeError("disk full");
      });
      tg.createTask(function* () {
        try {
          yield* sleep(10_000);
        } catch (e) {
          if (e instanceof CancelledError) say("the sibling was cancelled");
          throw e;
        }
      });
    });
  } catch (e) {
    if (!(e instanceof ExceptionGroup)) throw e;
    say(`${e.name}: ${e.exceptions.map((x) => String(x))}`);
  }

  title("tasks print usefully");
  function* count(): Coroutine<number> {
    yield* sleep(50);
    return 3;
  }
  const t = createTask(count);
  console.log(t);
  yield;
  console.log(t);
  yield* t;
  console.log(t);

  const loop = getRunningLoop();
  say(`tour over; ${loop.core} core, nothing left running: ${loop.stats().timers === 0}`);
}

await run(tour);

title("futures are PromiseLike: plain async code can await them");
const answer = await run(function* () {
  return yield* work(100, "awaited from outside the loop");
});
say(answer);
