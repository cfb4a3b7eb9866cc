// serve(): HTTP on Deno.serve, one handler task per request. Real fetches
// from the same process to 127.0.0.1, port 0.
import { assert } from "../deps.ts";
import {
  CancelledError,
  ContextVar,
  type Coroutine,
  createTask,
  currentTask,
  Event,
  type ExceptionContext,
  fromPromise,
  Future,
  getRunningLoop,
  run,
  RuntimeError,
  sleep,
  type Task,
} from "../mod.ts";
import { type HttpHandler, type HttpServer, serve } from "../src/http.ts";
import { main as httpHello } from "../examples/http_hello.ts";
import { caught, CORE, turn, vrun } from "./_util.ts";

const LOCAL = { hostname: "127.0.0.1", port: 0 } as const;

function url(server: HttpServer, path = "/"): string {
  return `http://127.0.0.1:${server.addr.port}${path}`;
}

/** A fetch from inside the loop, body read: status and text. */
function* get(
  server: HttpServer,
  path = "/",
  init?: RequestInit,
): Coroutine<{ status: number; body: string; res: Response }> {
  const res = yield* fromPromise(fetch(url(server, path), init));
  const body = yield* fromPromise(res.text());
  return { status: res.status, body, res };
}

/** Collects what reaches the loop's exception handler. */
function collectErrors(): ExceptionContext[] {
  const seen: ExceptionContext[] = [];
  getRunningLoop().setExceptionHandler((_loop, ctx) => seen.push(ctx));
  return seen;
}

Deno.test("serve: a request gets the handler's Response (status, headers, body; info.remoteAddr)", async () => {
  await vrun(function* () {
    const server = yield* serve(function* (req, info) {
      const text = yield* fromPromise(req.text());
      return new Response(`${req.method} ${new URL(req.url).pathname} ${text}`, {
        status: 201,
        headers: { "x-peer": info.remoteAddr.hostname },
      });
    }, LOCAL);
    assert.equal(server.addr.transport, "tcp");
    assert.equal(server.addr.hostname, "127.0.0.1");
    assert.ok(server.addr.port > 0);
    const { status, body, res } = yield* get(server, "/hello", { method: "POST", body: "ping" });
    assert.equal(status, 201);
    assert.equal(body, "POST /hello ping");
    assert.equal(res.headers.get("x-peer"), "127.0.0.1");
    yield* server.shutdown();
    assert.ok(server.finished.done());
  });
});

Deno.test("serve: concurrent requests run at once, each in its own task", async () => {
  const N = 12;
  await vrun(function* () {
    const main = currentTask();
    const tasks = new Set<Task<unknown> | null>();
    const allIn = new Event();
    const server = yield* serve(function* () {
      tasks.add(currentTask());
      if (tasks.size === N) allIn.set();
      // Nobody answers before all N are in: serial handling would never finish.
      yield* allIn.wait();
      return new Response("ok");
    }, LOCAL);
    const responses = [];
    for (let i = 0; i < N; i++) responses.push(createTask(get(server, `/${i}`)));
    for (const r of responses) assert.equal((yield* r).body, "ok");
    assert.equal(tasks.size, N);
    assert.ok(!tasks.has(null));
    assert.ok(!tasks.has(main));
    yield* server.shutdown();
  });
});

Deno.test("serve: a handler sleeps with aio's sleep (real clock)", async () => {
  await run(function* () {
    const loop = getRunningLoop();
    const server = yield* serve(function* () {
      const t0 = loop.time();
      yield* sleep(30);
      return new Response(`${loop.time() - t0 >= 30}`);
    }, LOCAL);
    const t0 = loop.time();
    assert.equal((yield* get(server)).body, "true");
    assert.ok(loop.time() - t0 >= 30);
    yield* server.shutdown();
  }, { core: CORE, clock: "real" });
});

Deno.test("serve: the client going away cancels the handler task; its finally runs", async () => {
  await vrun(function* () {
    const started = new Event();
    const cleaned = getRunningLoop().createFuture<unknown>();
    const server = yield* serve(function* () {
      started.set();
      try {
        yield* sleep(Infinity);
      } catch (e) {
        cleaned.setResult(e);
        throw e;
      }
      return new Response("never");
    }, LOCAL);
    const ac = new AbortController();
    const client = fromPromise(fetch(url(server), { signal: ac.signal }));
    yield* started.wait();
    ac.abort();
    const clientError = yield* caught(client);
    assert.equal((clientError as Error).name, "AbortError");
    const handlerError = yield* cleaned;
    assert.ok(handlerError instanceof CancelledError);
    assert.equal((handlerError as Error).message, "the HTTP client went away");
    yield* server.shutdown();
  });
});

Deno.test("serve: an exception answers 500 in plain text and goes to the exception handler", async () => {
  await vrun(function* () {
    const errors = collectErrors();
    let handlerTask: Task<unknown> | null = null;
    const boom = new Error("secret detail");
    const server = yield* serve(function* () {
      handlerTask = currentTask();
      yield;
      throw boom;
    }, LOCAL);
    const { status, body, res } = yield* get(server, "/fail");
    assert.equal(status, 500);
    assert.equal(body, "Internal Server Error");
    assert.match(res.headers.get("content-type") ?? "", /^text\/plain/);
    assert.equal(errors.length, 1);
    assert.equal(errors[0].exception, boom);
    assert.equal(errors[0].task, handlerTask);
    assert.match(errors[0].message, /HTTP handler failed: GET http:\/\/127\.0\.0\.1:\d+\/fail/);
    // The server goes on.
    assert.equal((yield* get(server)).status, 500);
    yield* server.shutdown();
  });
});

Deno.test("serve: a handler evaluating to no Response answers 500; a TypeError names what it returned", async () => {
  await vrun(function* () {
    const errors = collectErrors();
    const server = yield* serve(function* (req) {
      if (req.url.endsWith("/number")) return 42 as unknown as Response;
      return undefined as unknown as Response;
    }, LOCAL);
    assert.equal((yield* get(server, "/number")).status, 500);
    assert.equal((yield* get(server, "/nothing")).status, 500);
    assert.equal(errors.length, 2);
    for (const e of errors) {
      assert.ok(e.exception instanceof TypeError);
      assert.ok(e.task !== undefined);
    }
    assert.match((errors[0].exception as Error).message, /must evaluate to a Response, got 42/);
    assert.match((errors[1].exception as Error).message, /got undefined/);
    yield* server.shutdown();
  });
});

Deno.test("serve: a plain function handler returning a Response (no coroutine) answers 500 and says so", async () => {
  await vrun(function* () {
    const errors = collectErrors();
    const plain = (() => new Response("x")) as unknown as HttpHandler;
    const server = yield* serve(plain, LOCAL);
    assert.equal((yield* get(server)).status, 500);
    assert.equal(errors.length, 1);
    assert.match(
      (errors[0].exception as Error).message,
      /must be a coroutine function \(function\*\).*returned a Response object/,
    );
    yield* server.shutdown();
  });
});

Deno.test("serve: a Response Deno refuses (Response.error()) answers 500 and is reported", async () => {
  await vrun(function* () {
    const errors = collectErrors();
    const server = yield* serve(function* () {
      return Response.error();
    }, LOCAL);
    assert.equal((yield* get(server)).status, 500);
    assert.equal(errors.length, 1);
    assert.ok(errors[0].exception instanceof TypeError);
    assert.match(errors[0].message, /could not send/);
    yield* server.shutdown();
  });
});

Deno.test("serve: shutdown() waits for the handler in flight, then the server stops accepting", async () => {
  await vrun(function* () {
    const started = new Event();
    const release = new Event();
    const server = yield* serve(function* () {
      started.set();
      yield* release.wait();
      return new Response("late but answered");
    }, LOCAL);
    const client = fromPromise(fetch(url(server)));
    yield* started.wait();
    const shutdown = createTask(server.shutdown());
    for (let i = 0; i < 5; i++) yield* turn();
    assert.ok(!shutdown.done(), "shutdown() returned with a handler in flight");
    assert.ok(!server.finished.done());
    assert.match(String(server), /closing requests=1>$/);
    release.set();
    yield* shutdown;
    assert.ok(server.finished.done());
    const res = yield* client;
    assert.equal(yield* fromPromise(res.text()), "late but answered");
    // Nobody listens any more.
    assert.ok((yield* caught(fromPromise(fetch(url(server))))) instanceof TypeError);
    // Again: returns at once.
    yield* server.shutdown();
  });
});

Deno.test("serve: the open server does not hold the virtual clock", async () => {
  await vrun(function* () {
    const loop = getRunningLoop();
    const server = yield* serve(function* () {
      return new Response("ok");
    }, LOCAL);
    yield* sleep(3_600_000);
    assert.equal(loop.time(), 3_600_000);
    yield* server.shutdown();
  });
});

Deno.test("serve: a handler's hour of virtual sleep answers at once to a client outside the loop", async () => {
  const t0 = performance.now();
  const body = await vrun(function* () {
    const loop = getRunningLoop();
    const server = yield* serve(function* () {
      yield* sleep(3_600_000);
      return new Response(`slept until ${loop.time()}`);
    }, LOCAL);
    // Plain async code, not fromPromise (that would hold the clock for the
    // reply, which waits for the clock: a client on the loop needs real time).
    const answered = loop.createFuture<string>();
    fetch(url(server)).then((r) => r.text()).then(
      (t) => answered.setResult(t),
      (e) => answered.setException(e),
    );
    const text = yield* answered;
    yield* server.shutdown();
    return text;
  });
  assert.equal(body, "slept until 3600000");
  assert.ok(performance.now() - t0 < 10_000);
});

Deno.test("serve: handlers run in a copy of the context serve() was called in", async () => {
  const user = new ContextVar<string>("user", { default: "nobody" });
  await vrun(function* () {
    user.set("ada");
    const server = yield* serve(function* () {
      const seen = user.get();
      user.set("changed by a handler");
      yield;
      return new Response(seen);
    }, LOCAL);
    user.set("after serve()");
    assert.equal((yield* get(server)).body, "ada");
    assert.equal((yield* get(server)).body, "ada");
    assert.equal(user.get(), "after serve()");
    yield* server.shutdown();
  });
});

Deno.test("serve: shutdown() from its own handler is a RuntimeError; as a task it works", async () => {
  await vrun(function* () {
    let refused: unknown = null;
    const server: HttpServer = yield* serve(function* () {
      refused = yield* caught(server.shutdown());
      createTask(server.shutdown());
      return new Response("bye");
    }, LOCAL);
    assert.equal((yield* get(server)).body, "bye");
    yield* server.finished;
    assert.ok(refused instanceof RuntimeError);
  });
});

Deno.test("run(): ending with the server open shuts it down", async () => {
  const server = await vrun(function* () {
    const server = yield* serve(function* () {
      return new Response("ok");
    }, LOCAL);
    assert.equal((yield* get(server)).body, "ok");
    return server;
  });
  assert.ok(server.finished.done());
  await assert.rejects(fetch(url(server)), TypeError);
});

Deno.test("run(): ending with a handler in flight cancels it (finally runs); the client gets 503", async () => {
  let finallyRan = false;
  let client: Promise<Response> | null = null;
  const server = await vrun(function* () {
    const started = new Event();
    const server = yield* serve(function* () {
      started.set();
      try {
        yield* sleep(Infinity);
      } finally {
        finallyRan = true;
      }
      return new Response("never");
    }, LOCAL);
    // Outside the loop: the request outlives run().
    client = fetch(url(server));
    yield* started.wait();
    return server;
  });
  assert.ok(finallyRan);
  assert.ok(server.finished.done());
  const res = await client!;
  assert.equal(res.status, 503);
  assert.equal(await res.text(), "Service Unavailable");
});

Deno.test("serve: await using shuts the server down from async code", async () => {
  const { EventLoop } = await import("../src/loop.ts");
  const loop = new EventLoop({ core: CORE });
  let server: HttpServer | null = null;
  {
    await using s = await loop.runUntilComplete(serve(function* () {
      return new Response("hi");
    }, LOCAL));
    server = s;
    assert.equal(await loop.runUntilComplete(get(s)).then((r) => r.body), "hi");
  }
  assert.ok(server.finished.done());
  loop.close();
});

Deno.test("serve: over a Unix socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/http.sock`;
  try {
    await vrun(function* () {
      const server = yield* serve(function* (req) {
        return new Response(`unix ${new URL(req.url).pathname}`);
      }, { path });
      assert.equal(server.addr.transport, "unix");
      assert.equal(server.addr.path, path);
      const client = Deno.createHttpClient({ proxy: { transport: "unix", path } });
      try {
        const res = yield* fromPromise(fetch("http://localhost/sock", { client }));
        assert.equal(yield* fromPromise(res.text()), "unix /sock");
      } finally {
        client.close();
      }
      yield* server.shutdown();
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The self-signed certificate for 127.0.0.1 that the stream tests use.
const TLS_DIR = new URL("./fixtures/tls/", import.meta.url);
function readFixture(name: string): string | null {
  try {
    return Deno.readTextFileSync(new URL(name, TLS_DIR));
  } catch {
    return null;
  }
}
const CERT = readFixture("cert.pem");
const KEY = readFixture("key.pem");

Deno.test({
  name: "serve: HTTPS with cert and key",
  ignore: CERT === null || KEY === null,
  fn: async () => {
    await vrun(function* () {
      const server = yield* serve(function* (req) {
        return new Response(`secure ${new URL(req.url).protocol}`);
      }, { ...LOCAL, cert: CERT!, key: KEY! });
      const client = Deno.createHttpClient({ caCerts: [CERT!] });
      try {
        const res = yield* fromPromise(
          fetch(`https://127.0.0.1:${server.addr.port}/`, { client }),
        );
        assert.equal(yield* fromPromise(res.text()), "secure https:");
      } finally {
        client.close();
      }
      yield* server.shutdown();
    });
  },
});

Deno.test("serve: bad handlers and options are TypeErrors", async () => {
  await vrun(function* () {
    const notAFunction = yield* caught(serve(42 as unknown as HttpHandler, LOCAL));
    assert.ok(notAFunction instanceof TypeError);
    assert.match(notAFunction.message, /expects a handler function, got 42/);
    const asyncFn = (async () => {
      await null;
      return new Response("x");
    }) as unknown as HttpHandler;
    const asyncErr = yield* caught(serve(asyncFn, LOCAL));
    assert.ok(asyncErr instanceof TypeError);
    assert.match(asyncErr.message, /async function.*fromPromise/);
    const onError = yield* caught(
      serve(function* () {
        return new Response("x");
      }, { ...LOCAL, onError: () => new Response("x") } as never),
    );
    assert.ok(onError instanceof TypeError);
    assert.match(onError.message, /no onError option/);
  });
});

Deno.test({
  name: "serve: without --allow-net, Deno's NotCapable is raised in the calling task",
  permissions: { net: false },
  fn: async () => {
    await vrun(function* () {
      const e = yield* caught(serve(function* () {
        return new Response("x");
      }, LOCAL));
      assert.ok(e instanceof Deno.errors.NotCapable, `got ${e}`);
      assert.equal(getRunningLoop()._resources.size, 0);
    });
  },
});

Deno.test("serve: a handler returning a future or a promise is told to yield* it", async () => {
  await vrun(function* () {
    const errors = collectErrors();
    const server = yield* serve(function* (req) {
      if (req.url.endsWith("/future")) return new Future() as unknown as Response;
      return Promise.resolve(new Response("x")) as unknown as Response;
    }, LOCAL);
    assert.equal((yield* get(server, "/future")).status, 500);
    assert.equal((yield* get(server, "/promise")).status, 500);
    assert.match((errors[0].exception as Error).message, /got <Future pending>: return yield\* it/);
    assert.match(
      (errors[1].exception as Error).message,
      /got a Promise: return yield\* fromPromise/,
    );
    yield* server.shutdown();
  });
});

Deno.test("serve: options.signal aborting stops the server; finished resolves", async () => {
  await vrun(function* () {
    const ac = new AbortController();
    const server = yield* serve(function* () {
      return new Response("ok");
    }, { ...LOCAL, signal: ac.signal });
    assert.equal((yield* get(server)).body, "ok");
    ac.abort();
    yield* server.finished;
    assert.equal(getRunningLoop()._resources.has(server), false);
    assert.ok((yield* caught(fromPromise(fetch(url(server))))) instanceof TypeError);
  });
});

Deno.test("serve: the caller's onListen gets the address once serve() listens", async () => {
  await vrun(function* () {
    const seen: Deno.NetAddr[] = [];
    const server = yield* serve(function* () {
      return new Response("ok");
    }, { ...LOCAL, onListen: (addr) => seen.push(addr) });
    assert.deepEqual(seen, [server.addr]);
    yield* server.shutdown();
  });
});

// ---- examples/http_hello.ts ----------------------------------------------------------

/** Runs the example, with three clients from outside the loop once it listens. */
Deno.test("examples/http_hello.ts: greets three clients, then shuts down (real clock)", async () => {
  const lines: string[] = [];
  const listening = Promise.withResolvers<string>();
  const log = (line: string) => {
    lines.push(line);
    const m = /^listening on (\S+)$/.exec(line);
    if (m) listening.resolve(m[1]);
  };
  const done = run(() => httpHello(log, { port: 0, requests: 3, timeoutMs: 10_000 }), {
    core: CORE,
    clock: "real",
  });
  const base = await listening.promise;
  const bodies = await Promise.all(
    ["Ada", "Grace", "Edsger"].map((n) => fetch(`${base}?name=${n}`).then((r) => r.text())),
  );
  await done;
  assert.deepEqual(bodies, ["Hello, Ada!\n", "Hello, Grace!\n", "Hello, Edsger!\n"]);
  assert.deepEqual(lines.slice(1), ["served 3 requests, shutting down", "bye"]);
});

Deno.test("examples/http_hello.ts: with no client, shuts down at the timeout (virtual clock: at once)", async () => {
  const lines: string[] = [];
  await vrun(() => httpHello((l) => lines.push(l), { port: 0, requests: 3, timeoutMs: 5_000 }));
  assert.match(lines[0], /^listening on http:\/\/127\.0\.0\.1:\d+\/$/);
  assert.deepEqual(lines.slice(1), [
    "no more requests after 5.0 s (served 0), shutting down",
    "bye",
  ]);
});
