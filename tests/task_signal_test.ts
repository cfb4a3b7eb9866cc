// taskSignal(): the current task's cancellation as an AbortSignal for
// Deno's own APIs. Real fetches go to a Deno.serve on 127.0.0.1 (port 0)
// that never finishes its answer; real children come from Deno.Command.
import { assert } from "../deps.ts";
import { CancelledError, RuntimeError, TimeoutError } from "../src/errors.ts";
import { fromPromise } from "../src/from_promise.ts";
import { run } from "../src/run.ts";
import { getRunningLoop } from "../src/running.ts";
import { sleep } from "../src/sleep.ts";
import { createTask, currentTask } from "../src/task.ts";
import { taskSignal } from "../src/task_signal.ts";
import { waitFor } from "../src/wait_for.ts";
import { CORE, expectError, vrun } from "./_util.ts";

/**
 * A local server that never finishes its answer: `"headers"` sends no
 * response at all, `"body"` sends the headers and a first chunk, then
 * stalls. It tells when a request arrives and when the client goes away.
 */
function stalledServer(kind: "headers" | "body") {
  const arrived = Promise.withResolvers<void>();
  const clientGone = Promise.withResolvers<string>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    arrived.resolve();
    if (kind === "headers") {
      return new Promise<Response>((resolve) => {
        req.signal.addEventListener("abort", () => {
          clientGone.resolve("request aborted");
          resolve(new Response(null)); // nobody reads it; lets the server shut down
        });
      });
    }
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode("first chunk"));
      },
      cancel() {
        clientGone.resolve("body cancelled");
      },
    });
    return new Response(body);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    arrived: arrived.promise,
    clientGone: clientGone.promise,
    [Symbol.asyncDispose]: () => server.shutdown(),
  };
}

Deno.test("taskSignal: a fetch in flight stops when waitFor cancels its task; the server sees the request aborted", async () => {
  await using srv = stalledServer("headers");
  let request: Promise<Response> | null = null;
  await run(function* () {
    const download = createTask(function* () {
      request = fetch(srv.url, { signal: taskSignal() });
      return (yield* fromPromise(request)).status;
    });
    yield* fromPromise(srv.arrived); // the request is at the server
    yield* expectError(TimeoutError, () => waitFor(download, 20));
    assert.ok(download.cancelled());
    assert.equal(yield* fromPromise(srv.clientGone), "request aborted");
  }, { core: CORE });
  // fetch rejects with the signal's reason: the task's CancelledError.
  const reason = await request!.then(() => null, (e) => e);
  assert.ok(reason instanceof CancelledError, String(reason));
});

Deno.test("taskSignal: reading a response body stops too when the task is cancelled", async () => {
  await using srv = stalledServer("body");
  await run(function* () {
    const loop = getRunningLoop();
    const firstChunk = loop.createFuture<string>();
    const download = createTask(function* () {
      const res = yield* fromPromise(fetch(srv.url, { signal: taskSignal() }));
      const reader = res.body!.getReader();
      const { value } = yield* fromPromise(reader.read());
      firstChunk.setResult(new TextDecoder().decode(value));
      yield* fromPromise(reader.read()); // the rest never comes
    });
    assert.equal(yield* firstChunk, "first chunk");
    yield* expectError(TimeoutError, () => waitFor(download, 20));
    assert.equal(yield* fromPromise(srv.clientGone), "body cancelled");
  }, { core: CORE });
});

Deno.test("taskSignal: Deno.Command given signal: taskSignal() is killed when the task is cancelled", async () => {
  let child: Deno.ChildProcess | null = null;
  await run(function* () {
    const loop = getRunningLoop();
    const started = loop.createFuture<string>();
    const t = createTask(function* () {
      child = new Deno.Command(Deno.execPath(), {
        args: ["eval", "console.log('ready'); setTimeout(() => {}, 60_000)"],
        stdin: "null",
        stdout: "piped",
        stderr: "null",
        signal: taskSignal(),
      }).spawn();
      const reader = child.stdout.getReader();
      const { value } = yield* fromPromise(reader.read());
      reader.releaseLock();
      started.setResult(new TextDecoder().decode(value).trim());
      return yield* fromPromise(child.status);
    });
    assert.equal(yield* started, "ready"); // the child is running
    t.cancel("shutting down");
    yield* expectError(CancelledError, () => t);
  }, { core: CORE });
  const status = await child!.status;
  await child!.stdout.cancel();
  assert.equal(status.success, false);
  assert.equal(status.signal, "SIGTERM");
});

Deno.test("taskSignal: aborts at task.cancel(), before the task runs again, with a CancelledError carrying the message", () =>
  vrun(function* () {
    let signal: AbortSignal | null = null;
    let sawAbortedInTask: boolean | null = null;
    const t = createTask(function* () {
      signal = taskSignal();
      try {
        yield* sleep(1000);
      } finally {
        sawAbortedInTask = signal.aborted;
      }
    });
    yield* sleep(0);
    const events: string[] = [];
    signal!.addEventListener("abort", () => events.push("abort"));
    assert.equal(signal!.aborted, false);
    t.cancel("stop");
    events.push("cancel returned");
    assert.deepEqual(events, ["abort", "cancel returned"]);
    const reason = signal!.reason;
    assert.ok(reason instanceof CancelledError);
    assert.equal(reason.message, "stop");
    yield* expectError(CancelledError, () => t);
    assert.equal(sawAbortedInTask, true);
  }));

Deno.test("taskSignal: one signal per task, another for each other task", () =>
  vrun(function* () {
    const mine = taskSignal();
    assert.equal(taskSignal(), mine);
    yield* sleep(0);
    assert.equal(taskSignal(), mine, "the same after a suspension");
    const other = yield* createTask(function* () {
      yield;
      return taskSignal();
    });
    assert.notEqual(other, mine);
    assert.equal(other.aborted, false, "a task that finished without being cancelled");
  }));

Deno.test("taskSignal: outside a task it is a RuntimeError", async () => {
  assert.throws(() => taskSignal(), RuntimeError);
  await vrun(function* () {
    const inCallback = getRunningLoop().createFuture<unknown>();
    getRunningLoop().callSoon(() => {
      try {
        taskSignal();
        inCallback.setResult(null);
      } catch (e) {
        inCallback.setResult(e);
      }
    });
    const e = yield* inCallback;
    assert.ok(e instanceof RuntimeError);
    assert.match((e as Error).message, /must be called from a task/);
  });
});

Deno.test("taskSignal: uncancel() does not revive it; a later cancel() does not abort it again", () =>
  vrun(function* () {
    let aborts = 0;
    const t = createTask(function* () {
      const me = currentTask()!;
      const signal = taskSignal();
      signal.addEventListener("abort", () => aborts++);
      try {
        yield* sleep(1000);
      } catch (e) {
        if (!(e instanceof CancelledError)) throw e;
      }
      // Cancelled, caught, withdrawn: the task goes on, its signal stays aborted.
      assert.equal(me.uncancel(), 0);
      assert.equal(taskSignal(), signal);
      assert.equal(signal.aborted, true);
      me.cancel("again");
      me.uncancel();
      return signal;
    });
    yield* sleep(0);
    t.cancel("first");
    const signal = yield* t;
    assert.equal(aborts, 1);
    assert.equal((signal.reason as Error).message, "first");
  }));

Deno.test("taskSignal: first asked for after a cancel() request, it is aborted already", () =>
  vrun(function* () {
    const self = createTask(function* () {
      currentTask()!.cancel("early");
      const signal = taskSignal();
      assert.equal(signal.aborted, true);
      assert.ok(signal.reason instanceof CancelledError);
      assert.equal(signal.reason.message, "early");
      yield; // the request lands here
    });
    yield* expectError(CancelledError, () => self);
    const signals: AbortSignal[] = [];
    const cleanup = createTask(function* () {
      try {
        yield* sleep(1000);
      } finally {
        signals.push(taskSignal()); // still cancelling: no use starting a request
      }
    });
    yield* sleep(0);
    cleanup.cancel();
    yield* expectError(CancelledError, () => cleanup);
    assert.equal(signals[0].aborted, true);
  }));

Deno.test("taskSignal: cancel() of a done task aborts nothing", () =>
  vrun(function* () {
    const t = createTask(function* () {
      yield;
      return taskSignal();
    });
    const signal = yield* t;
    assert.equal(t.cancel(), false);
    assert.equal(signal.aborted, false);
  }));
