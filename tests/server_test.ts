// Servers over real sockets (issue 11, part 2): startServer and
// startUnixServer, Server's lifecycle (serveForever, close, closeClients,
// abortClients, waitClosed, async dispose), handler tasks and their
// failures, and what run() closes when it ends. CPython 3.13's test_server.py
// and the server tests of test_streams.py are ported where they apply.
//
// Real clock throughout, 127.0.0.1 port 0, Unix sockets in a fresh temporary
// directory. Tests wait on futures, events and what the peer sees, never on a
// guess of time.
import { assert } from "../deps.ts";
import {
  CancelledError,
  type Coroutine,
  createTask,
  currentTask,
  Event,
  EventLoop,
  getRunningLoop,
  IncompleteReadError,
  openConnection,
  openUnixConnection,
  RuntimeError,
  type Server,
  startServer,
  startUnixServer,
  type StreamReader,
  type StreamWriter,
  type Task,
  ValueError,
} from "../mod.ts";
import { caught, CORE, expectError, turn } from "./_util.ts";
import {
  BIG,
  CERT,
  closeAll,
  collectErrors,
  echoLines,
  HOST,
  KEY,
  portOf,
  rrun,
  text,
  withSocketPath,
} from "./_io.ts";

/** Sends `line` and returns the echoed line. */
function* roundTrip(reader: StreamReader, writer: StreamWriter, line: string): Coroutine<string> {
  writer.write(line);
  return text(yield* reader.readline());
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

// ---- test_server.py ---------------------------------------------------------------------

type Handler = (reader: StreamReader, writer: StreamWriter) => Coroutine<void>;

/**
 * test_start_server_1, for TCP and Unix: serve_forever() in a task that a
 * handler cancels. CPython's handler cancels the main task and then writes;
 * aio's serveForever() aborts the clients when cancelled (so that Ctrl-C
 * ends a server whose handlers wait forever), so this handler finishes its
 * answer first.
 */
function* basetestStartServer1(
  start: (handler: Handler) => Coroutine<Server>,
  open: (server: Server) => Coroutine<[StreamReader, StreamWriter]>,
): Coroutine<void> {
  const messages = collectErrors();
  const hello = "1".repeat(1024 * 5) + "\n";
  const main: { task: Task<void> | null } = { task: null };
  const server = yield* start(function* (reader, writer) {
    assert.equal(text(yield* reader.readline()), hello);
    writer.write("1");
    writer.close();
    yield* writer.waitClosed();
    main.task!.cancel();
  });
  assert.equal(server.isServing(), true);
  const mainTask = createTask(function* () {
    try {
      yield* server.serveForever();
    } finally {
      // `async with srv`
      server.close();
      yield* server.waitClosed();
    }
  }());
  main.task = mainTask;
  const [reader, writer] = yield* open(server);
  writer.write(hello);
  assert.equal(text(yield* reader.readexactly(1)), "1");
  writer.close();
  yield* expectError(CancelledError, () => mainTask);
  assert.equal(server.isServing(), false);
  const e = yield* expectError(RuntimeError, () => server.serveForever());
  assert.match(String(e), /is closed/);
  assert.deepEqual(messages, []);
}

Deno.test(
  "test_server::test_start_server_1 — serveForever() until its task is cancelled; then the server is closed",
  () =>
    rrun(() =>
      basetestStartServer1(
        (h) => startServer(h, HOST, 0),
        (server) => openConnection(HOST, portOf(server)),
      )
    ),
);

Deno.test(
  "test_server::test_start_unix_server_1 — the same over a Unix socket; the socket file is removed",
  () =>
    withSocketPath(async (path) => {
      await rrun(() =>
        basetestStartServer1((h) => startUnixServer(h, path), () => openUnixConnection(path))
      );
      assert.equal(await exists(path), false);
    }),
);

/** The handler of test_wait_closed_*: reads to EOF, then closes. */
function* readThenClose(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
  try {
    yield* reader.read();
  } finally {
    writer.close();
    yield* writer.waitClosed();
  }
}

Deno.test(
  "test_server::test_wait_closed_basic — waitClosed() waits for close() and for every connection",
  () =>
    rrun(function* () {
      const server = yield* startServer(readThenClose, HOST, 0);
      // active count = 0, not closed: blocks.
      const task1 = createTask(server.waitClosed());
      yield* turn();
      assert.equal(task1.done(), false);
      // active count != 0, not closed: blocks.
      const [, writer] = yield* openConnection(HOST, portOf(server));
      const task2 = createTask(server.waitClosed());
      yield* turn();
      assert.equal(task1.done(), false);
      assert.equal(task2.done(), false);
      server.close();
      yield* turn();
      // active count != 0, closed: blocks.
      const task3 = createTask(server.waitClosed());
      yield* turn();
      assert.equal(task1.done(), false);
      assert.equal(task2.done(), false);
      assert.equal(task3.done(), false);
      writer.close();
      yield* writer.waitClosed();
      // active count == 0, closed: unblocks.
      yield* task1;
      yield* task2;
      yield* task3;
      yield* server.waitClosed(); // returns at once
      assert.equal(server.waitClosed().next().done, true);
    }),
);

Deno.test(
  "test_server::test_wait_closed_race — close() and the client's close in the same iteration",
  () =>
    rrun(function* () {
      const server = yield* startServer(readThenClose, HOST, 0);
      const task = createTask(server.waitClosed());
      yield* turn();
      assert.equal(task.done(), false);
      const [, writer] = yield* openConnection(HOST, portOf(server));
      const loop = getRunningLoop();
      loop.callSoon(() => server.close());
      loop.callSoon(() => writer.close());
      yield* server.waitClosed();
      yield* task;
    }),
);

Deno.test(
  "test_server::test_close_clients — closeClients() closes the connections; the handlers see EOF",
  () =>
    rrun(function* () {
      const server = yield* startServer(readThenClose, HOST, 0);
      const [reader, writer] = yield* openConnection(HOST, portOf(server));
      const task = createTask(server.waitClosed());
      yield* turn();
      assert.equal(task.done(), false);
      server.close();
      server.closeClients();
      yield* task;
      assert.equal(text(yield* reader.read()), ""); // the client sees EOF too
      yield* closeAll(writer);
    }),
);

Deno.test(
  "test_server::test_abort_clients — abortClients() closes connections with unsent data at once",
  () =>
    rrun(function* () {
      const handed = getRunningLoop().createFuture<[StreamReader, StreamWriter]>();
      let finished = false;
      const server = yield* startServer(
        function* (reader, writer) {
          handed.setResult([reader, writer]);
          try {
            yield* writer.waitClosed();
          } finally {
            finished = true;
          }
        },
        HOST,
        0,
      );
      const [cReader, cWriter] = yield* openConnection(HOST, portOf(server), { limit: 4096 });
      const [, sWriter] = yield* handed;
      // More than the kernel buffers hold, to a client that does not read:
      // the server's writer keeps bytes it cannot send.
      sWriter.write(new Uint8Array(BIG));
      const task = createTask(server.waitClosed());
      yield* turn();
      assert.equal(task.done(), false);
      assert.ok(sWriter._buffered > 0);
      server.close();
      server.abortClients();
      yield* task;
      assert.equal(finished, true);
      assert.equal(sWriter.isClosing(), true);
      // The client gets part of the data, then EOF.
      let n = 0;
      for (;;) {
        const chunk = yield* cReader.read(1 << 20);
        if (chunk.length === 0) break;
        n += chunk.length;
      }
      assert.ok(n < BIG, `received ${n}`);
      yield* closeAll(cWriter);
    }),
);

Deno.test(
  "test_server::test_unix_server_addr_cleanup — close() removes the socket file",
  () =>
    withSocketPath(async (path) => {
      await rrun(function* () {
        const server = yield* startUnixServer(function* () {}, path);
        assert.equal(existsNow(path), true);
        server.close();
        yield* server.waitClosed();
        assert.equal(existsNow(path), false);
        // The path is free: a new server can listen there at once.
        const again = yield* startUnixServer(function* () {}, path);
        again.close();
        yield* again.waitClosed();
      });
    }),
);

function existsNow(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

Deno.test("aio: after waitClosed() the TCP port is free for a new server at once", () =>
  rrun(function* () {
    const server = yield* startServer(echoLines, HOST, 0);
    const port = portOf(server);
    server.close();
    yield* server.waitClosed();
    const again = yield* startServer(echoLines, HOST, port);
    const [reader, writer] = yield* openConnection(HOST, port);
    assert.equal(yield* roundTrip(reader, writer, "again\n"), "again\n");
    yield* closeAll(writer, again);
  }));

// ---- test_streams.py: handler failures ---------------------------------------------------

Deno.test(
  "test_streams::test_unhandled_exceptions — a handler's exception goes to the loop's exception handler",
  () =>
    rrun(function* () {
      const messages = collectErrors();
      const boom = new Error("test");
      const server = yield* startServer(
        function* () {
          throw boom;
        },
        HOST,
        0,
      );
      const [reader, writer] = yield* openConnection(HOST, portOf(server));
      writer.write("test msg");
      yield* writer.drain();
      assert.equal(text(yield* reader.read()), ""); // that connection is closed
      yield* closeAll(writer, server);
      assert.equal(messages.length, 1);
      assert.match(messages[0].message, /handler failed/);
      assert.equal(messages[0].exception, boom);
      assert.ok(messages[0].task !== undefined);
    }),
);

Deno.test(
  "aio: a handler that fails gets its connection closed after what it wrote is sent",
  () =>
    rrun(function* () {
      const messages = collectErrors();
      const server = yield* startServer(
        function* (reader, writer) {
          yield* reader.readline();
          writer.write(new Uint8Array(BIG)); // more than the OS takes at once
          writer.write("ERR bad request\n");
          throw new ValueError("bad request");
        },
        HOST,
        0,
      );
      const [reader, writer] = yield* openConnection(HOST, portOf(server));
      writer.write("nonsense\n");
      const all = yield* reader.read(); // to EOF
      assert.equal(all.length, BIG + 16);
      assert.equal(text(all.subarray(BIG)), "ERR bad request\n");
      yield* closeAll(writer, server);
      assert.equal(messages.length, 1);
      assert.ok(messages[0].exception instanceof ValueError);
    }),
);

Deno.test(
  "test_streams::test_unhandled_cancel — a handler that is cancelled is not reported; what it wrote is sent",
  () =>
    rrun(function* () {
      const messages = collectErrors();
      const server = yield* startServer(
        function* (_reader, writer) {
          writer.write("test");
          currentTask()!.cancel();
          yield* turn();
        },
        HOST,
        0,
      );
      const [reader, writer] = yield* openConnection(HOST, portOf(server));
      assert.equal(text(yield* reader.read()), "test");
      yield* closeAll(writer, server);
      assert.deepEqual(messages, []);
    }),
);

Deno.test(
  "aio: a handler's exception closes that connection only; the others and the server go on",
  () =>
    rrun(function* () {
      const messages = collectErrors();
      const server = yield* startServer(
        function* (reader, writer) {
          for (const next of reader.lines()) {
            const line = yield* next;
            if (line === null) break;
            if (text(line) === "boom\n") throw new ValueError("boom");
            writer.write(line);
            yield* writer.drain();
          }
        },
        HOST,
        0,
      );
      const [ra, wa] = yield* openConnection(HOST, portOf(server));
      const [rb, wb] = yield* openConnection(HOST, portOf(server));
      assert.equal(yield* roundTrip(ra, wa, "a1\n"), "a1\n");
      assert.equal(yield* roundTrip(rb, wb, "b1\n"), "b1\n");
      wa.write("boom\n");
      assert.equal(text(yield* ra.read()), ""); // A's connection is closed
      assert.equal(yield* roundTrip(rb, wb, "b2\n"), "b2\n"); // B's goes on
      assert.equal(server.isServing(), true);
      const [rc, wc] = yield* openConnection(HOST, portOf(server)); // new clients too
      assert.equal(yield* roundTrip(rc, wc, "c1\n"), "c1\n");
      for (const w of [wa, wb, wc]) yield* closeAll(w);
      server.close();
      yield* server.waitClosed();
      assert.equal(messages.length, 1);
      assert.ok(messages[0].exception instanceof ValueError);
    }),
);

Deno.test(
  "aio: a handler that does not return a coroutine is reported; its connection is closed, the server goes on",
  () =>
    rrun(function* () {
      const messages = collectErrors();
      let calls = 0;
      function handler(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
        if (calls++ === 0) return 42 as unknown as Coroutine<void>;
        return echoLines(reader, writer);
      }
      const server = yield* startServer(handler, HOST, 0);
      const [ra, wa] = yield* openConnection(HOST, portOf(server));
      assert.equal(text(yield* ra.read()), "");
      assert.equal(messages.length, 1);
      assert.ok(messages[0].exception instanceof TypeError, String(messages[0].exception));
      yield* closeAll(wa);
      const [rb, wb] = yield* openConnection(HOST, portOf(server));
      assert.equal(yield* roundTrip(rb, wb, "ok\n"), "ok\n");
      yield* closeAll(wb, server);
    }),
);

// ---- handlers: tasks, return, vanishing clients ---------------------------------------------

Deno.test("aio: each connection's handler runs as its own Task, concurrently", () =>
  rrun(function* () {
    const main = currentTask();
    const tasks: Task<unknown>[] = [];
    const first = new Event();
    const server = yield* startServer(
      function* (reader, writer) {
        tasks.push(currentTask()!);
        const who = text(yield* reader.readline());
        // The first waits for the second: only separate tasks can do that.
        if (who === "first\n") yield* first.wait();
        else first.set();
        writer.write(who);
      },
      HOST,
      0,
    );
    const [r1, w1] = yield* openConnection(HOST, portOf(server));
    w1.write("first\n");
    const [r2, w2] = yield* openConnection(HOST, portOf(server));
    w2.write("second\n");
    assert.equal(text(yield* r2.read()), "second\n");
    assert.equal(text(yield* r1.read()), "first\n");
    assert.equal(tasks.length, 2);
    assert.notEqual(tasks[0], tasks[1]);
    assert.ok(!tasks.includes(main!));
    assert.ok(tasks.every((t) => t.done()));
    yield* closeAll(w1);
    yield* closeAll(w2, server);
  }));

Deno.test(
  "aio: a handler that returns without closing gets its connection closed once what it wrote is sent",
  () =>
    rrun(function* () {
      const server = yield* startServer(
        function* (_reader, writer) {
          writer.write(new Uint8Array(1 << 20).fill(1));
          writer.write("end");
        },
        HOST,
        0,
      );
      const [reader, writer] = yield* openConnection(HOST, portOf(server));
      const all = yield* reader.read(); // to EOF
      assert.equal(all.length, (1 << 20) + 3);
      assert.equal(text(all.subarray(1 << 20)), "end");
      yield* closeAll(writer, server);
    }),
);

Deno.test(
  "aio: a client that vanishes mid-message: the handler's read fails, the server goes on",
  () =>
    rrun(function* () {
      const messages = collectErrors();
      const failures: unknown[] = [];
      const server = yield* startServer(
        function* (reader, writer) {
          try {
            const header = yield* reader.readexactly(10);
            writer.write(header);
          } catch (e) {
            failures.push(e);
            throw e;
          }
        },
        HOST,
        0,
      );
      const [, w1] = yield* openConnection(HOST, portOf(server));
      w1.write("12345"); // half a message, then gone
      yield* closeAll(w1);
      const [r2, w2] = yield* openConnection(HOST, portOf(server));
      w2.write("0123456789");
      assert.equal(text(yield* r2.read()), "0123456789");
      yield* closeAll(w2);
      server.close();
      yield* server.waitClosed();
      assert.equal(failures.length, 1);
      assert.ok(failures[0] instanceof IncompleteReadError);
      assert.equal(text((failures[0] as IncompleteReadError).partial), "12345");
      assert.equal(messages.length, 1); // reported, as any handler exception
    }),
);

// The client closes with the server's data unread: Deno sends a FIN, then
// Linux an RST. The handler writing to it gets BrokenPipe (or
// ConnectionReset) from drain(); the server serves the next client.
Deno.test(
  "aio: a client that resets while the handler writes: drain() raises in the handler, the server goes on",
  () =>
    rrun(function* () {
      const messages = collectErrors();
      const failures: unknown[] = [];
      const server = yield* startServer(
        function* (reader, writer) {
          const first = yield* reader.readline();
          if (text(first) !== "flood\n") {
            writer.write(first);
            return yield* echoLines(reader, writer);
          }
          try {
            for (;;) {
              writer.write(new Uint8Array(1 << 20));
              yield* writer.drain();
            }
          } catch (e) {
            failures.push(e);
          }
        },
        HOST,
        0,
      );
      const [r1, w1] = yield* openConnection(HOST, portOf(server), { limit: 1024 });
      w1.write("flood\n");
      yield* r1.readexactly(4096); // data is coming, and most is left unread
      yield* closeAll(w1);
      const [r2, w2] = yield* openConnection(HOST, portOf(server));
      assert.equal(yield* roundTrip(r2, w2, "still here\n"), "still here\n");
      yield* closeAll(w2);
      server.close();
      yield* server.waitClosed();
      assert.equal(failures.length, 1);
      assert.ok(
        failures[0] instanceof Deno.errors.BrokenPipe ||
          failures[0] instanceof Deno.errors.ConnectionReset,
        String(failures[0]),
      );
      assert.deepEqual(messages, []);
    }),
);

Deno.test("aio: fifty clients at once, each echoed on its own connection", () =>
  rrun(function* () {
    const server = yield* startServer(echoLines, HOST, 0);
    const clients = Array.from({ length: 50 }, (_, i) =>
      createTask(function* () {
        const [reader, writer] = yield* openConnection(HOST, portOf(server));
        for (let j = 0; j < 10; j++) {
          assert.equal(yield* roundTrip(reader, writer, `${i}:${j}\n`), `${i}:${j}\n`);
        }
        yield* closeAll(writer);
      }()));
    for (const c of clients) yield* c;
    server.close();
    yield* server.waitClosed();
  }));

// ---- Server: state, close, serveForever, waitClosed, dispose ----------------------------------

Deno.test("aio: addrs, isServing(), toString(); close() stops accepting (new connects refused)", () =>
  rrun(function* () {
    let handled = 0;
    const server = yield* startServer(
      function* (reader, writer) {
        handled++;
        yield* echoLines(reader, writer);
      },
      HOST,
      0,
    );
    const addr = server.addrs[0] as Deno.NetAddr;
    assert.equal(server.addrs.length, 1);
    assert.equal(addr.transport, "tcp");
    assert.equal(addr.hostname, HOST);
    assert.ok(addr.port > 0);
    assert.equal(server.isServing(), true);
    assert.equal(String(server), `<Server tcp ${HOST}:${addr.port} serving clients=0>`);
    const [reader, writer] = yield* openConnection(HOST, addr.port);
    assert.equal(yield* roundTrip(reader, writer, "x\n"), "x\n");
    assert.equal(String(server), `<Server tcp ${HOST}:${addr.port} serving clients=1>`);
    server.close();
    server.close(); // idempotent
    assert.equal(server.isServing(), false);
    assert.equal(String(server), `<Server tcp ${HOST}:${addr.port} clients=1>`);
    // Deno releases the listening socket only when its pending accept has
    // settled, a moment after close(): a connect in between is reset (or
    // accepted and closed at once), not refused. It reaches no handler.
    const early = yield* caught(function* () {
      const [r, w] = yield* openConnection(HOST, addr.port);
      try {
        assert.equal((yield* r.read()).length, 0);
      } finally {
        w.close();
      }
    }());
    assert.ok(
      early === undefined || early instanceof Deno.errors.ConnectionRefused ||
        early instanceof Deno.errors.ConnectionReset,
      `got ${early}`,
    );
    assert.equal(handled, 1);
    // The connection already accepted goes on.
    assert.equal(yield* roundTrip(reader, writer, "still\n"), "still\n");
    yield* closeAll(writer);
    yield* server.waitClosed();
    assert.equal(String(server), `<Server tcp ${HOST}:${addr.port} clients=0>`);
    // Once waitClosed() has returned, connects are refused.
    yield* expectError(Deno.errors.ConnectionRefused, () => openConnection(HOST, addr.port));
  }));

Deno.test("aio: a Unix server's addrs and toString()", () =>
  withSocketPath((path) =>
    rrun(function* () {
      const server = yield* startUnixServer(echoLines, path);
      assert.deepEqual(server.addrs, [{ transport: "unix", path }]);
      assert.equal(String(server), `<Server unix ${path} serving clients=0>`);
      server.close();
      yield* server.waitClosed();
    })
  ));

Deno.test(
  "aio: cancelling serveForever() closes the server and aborts its clients",
  () =>
    rrun(function* () {
      let cancelledHandler = false;
      const started = getRunningLoop().createFuture<void>();
      const server = yield* startServer(
        function* (reader) {
          started.setResult(undefined);
          try {
            yield* reader.read(); // forever: the client sends nothing
          } catch (e) {
            cancelledHandler = e instanceof CancelledError;
            throw e;
          }
        },
        HOST,
        0,
      );
      const serving = createTask(server.serveForever());
      const [reader, writer] = yield* openConnection(HOST, portOf(server));
      yield* started;
      serving.cancel();
      yield* expectError(CancelledError, () => serving);
      assert.equal(server.isServing(), false);
      assert.equal(cancelledHandler, true);
      assert.equal(text(yield* reader.read()), ""); // its connection was closed
      yield* server.waitClosed(); // already closed: returns at once
      yield* closeAll(writer);
    }),
);

Deno.test(
  "aio: close() from elsewhere ends serveForever() with CancelledError; serveForever() on a closed server: RuntimeError",
  () =>
    rrun(function* () {
      const server = yield* startServer(echoLines, HOST, 0);
      const serving = createTask(server.serveForever());
      yield* turn();
      getRunningLoop().callSoon(() => server.close());
      yield* expectError(CancelledError, () => serving);
      const e = yield* expectError(RuntimeError, () => server.serveForever());
      assert.match(String(e), /closed/);
      yield* server.waitClosed();
    }),
);

Deno.test("aio: waitClosed() waits for the handler tasks to finish", () =>
  rrun(function* () {
    const release = new Event();
    let handlerDone = false;
    const server = yield* startServer(
      function* (reader) {
        yield* reader.read();
        yield* release.wait(); // still working after the client left
        handlerDone = true;
      },
      HOST,
      0,
    );
    const [, writer] = yield* openConnection(HOST, portOf(server));
    yield* closeAll(writer);
    server.close();
    const closed = createTask(server.waitClosed());
    yield* turn();
    yield* turn();
    assert.equal(closed.done(), false);
    release.set();
    yield* closed;
    assert.equal(handlerDone, true);
  }));

Deno.test("aio: `await using` a server closes it and aborts its clients", async () => {
  const loop = new EventLoop({ core: CORE, clock: "real" });
  try {
    let server: Server;
    let client: [StreamReader, StreamWriter];
    {
      await using s = await loop.runUntilComplete(startServer(
        function* (reader) {
          yield* reader.read();
        },
        HOST,
        0,
      ));
      server = s;
      client = await loop.runUntilComplete(openConnection(HOST, portOf(s)));
      assert.equal(s.isServing(), true);
    }
    assert.equal(server.isServing(), false);
    const [reader, writer] = client;
    assert.equal(text(await loop.runUntilComplete(reader.read())), "");
    await loop.runUntilComplete(closeAll(writer));
    await loop.runUntilComplete(server.waitClosed());
  } finally {
    loop.close();
  }
});

// ---- nothing outlives run() --------------------------------------------------------------------

Deno.test("aio: run() stops its servers accepting before it cancels the tasks", async () => {
  const seen: boolean[] = [];
  await rrun(function* () {
    const server = yield* startServer(
      function* (reader: StreamReader) {
        yield* reader.read();
      },
      HOST,
      0,
    );
    createTask((function* () {
      try {
        yield* new Event().wait(); // forever
      } finally {
        // Cancelled by run()'s end: by then no connection can start a new handler.
        seen.push(server.isServing());
      }
    })());
    yield* turn();
  });
  assert.deepEqual(seen, [false]);
});

Deno.test(
  "aio: run() ending closes servers (TCP, TLS, Unix), their connections and client connections, and cancels handlers",
  () =>
    withSocketPath(async (path) => {
      const finallies: string[] = [];
      const left: { servers: Server[]; readers: StreamReader[] } = { servers: [], readers: [] };
      await rrun(function* () {
        function* handler(reader: StreamReader, writer: StreamWriter): Coroutine<void> {
          try {
            writer.write("hi\n");
            yield* reader.read(); // forever
          } finally {
            finallies.push("handler");
          }
        }
        const tcp = yield* startServer(handler, HOST, 0);
        const tls = yield* startServer(handler, HOST, 0, { tls: { cert: CERT, key: KEY } });
        const unix = yield* startUnixServer(handler, path);
        left.servers.push(tcp, tls, unix);
        const conns = [
          yield* openConnection(HOST, portOf(tcp)),
          yield* openConnection(HOST, portOf(tls), { tls: { caCerts: [CERT] } }),
          yield* openUnixConnection(path),
        ];
        for (const [reader] of conns) {
          assert.equal(text(yield* reader.readline()), "hi\n");
          left.readers.push(reader);
        }
        // A writer with a flush in flight to a peer that does not read, and
        // a drain() waiting on it in a task of its own.
        const [, writer] = conns[0];
        writer.write(new Uint8Array(BIG));
        createTask(writer.drain());
        yield* turn();
        // main returns with all of it open
      });
      assert.deepEqual(finallies, ["handler", "handler", "handler"]);
      for (const s of left.servers) assert.equal(s.isServing(), false);
      for (const r of left.readers) assert.equal(r.atEof(), true);
      assert.equal(await exists(path), false);
      // The sanitizers check that no listener, connection or op is left.
    }),
);

Deno.test("aio: EventLoop.close() closes a server and connections still open", async () => {
  const loop = new EventLoop({ core: CORE, clock: "real" });
  let server: Server;
  let reader: StreamReader;
  try {
    server = await loop.runUntilComplete(startServer(echoLines, HOST, 0));
    [reader] = await loop.runUntilComplete(openConnection(HOST, portOf(server)));
  } finally {
    loop.close();
  }
  assert.equal(server.isServing(), false);
  assert.equal(reader.atEof(), true);
});

// ---- bad arguments, permissions, OS errors ---------------------------------------------------------

Deno.test("aio: bad arguments to startServer() and startUnixServer() name what is wrong", () =>
  rrun(function* () {
    const h = echoLines;
    const cases: [() => Coroutine<unknown>, new (...a: never[]) => Error, RegExp][] = [
      [() => startServer(null as unknown as typeof h, HOST, 0), TypeError, /handler/],
      [() => startServer("echo" as unknown as typeof h, HOST, 0), TypeError, /handler/],
      [() => startServer(h, HOST, 65_536), TypeError, /port/],
      [() => startServer(h, HOST, -1), TypeError, /port/],
      [() => startServer(h, HOST, NaN), TypeError, /port/],
      [() => startServer(h, null as unknown as string, 0), TypeError, /host/],
      [() => startServer(h, HOST, 0, { limit: 0 }), ValueError, /limit/],
      [() => startServer(h, HOST, 0, { limit: -1 }), ValueError, /limit/],
      [
        () => startUnixServer(undefined as unknown as typeof h, "/tmp/x.sock"),
        TypeError,
        /handler/,
      ],
      [() => startUnixServer(h, ""), TypeError, /path/],
      [() => startUnixServer(h, "/tmp/x.sock", { limit: 0 }), ValueError, /limit/],
    ];
    for (const [call, cls, re] of cases) {
      const e = yield* expectError(cls, call);
      assert.match(String(e), re);
    }
  }));

Deno.test("aio: a port already in use: Deno.errors.AddrInUse from startServer()", () =>
  rrun(function* () {
    const server = yield* startServer(echoLines, HOST, 0);
    yield* expectError(Deno.errors.AddrInUse, () => startServer(echoLines, HOST, portOf(server)));
    server.close();
    yield* server.waitClosed();
  }));

Deno.test({
  name: "aio: without net permission startServer() raises NotCapable in the calling task",
  permissions: { net: false },
  fn: () =>
    rrun(function* () {
      const e = yield* caught(startServer(echoLines, HOST, 0));
      assert.ok(e instanceof Deno.errors.NotCapable, `got ${e}`);
      const t = createTask(function* () {
        yield* turn();
        return "still running";
      }());
      assert.equal(yield* t, "still running");
    }),
});

Deno.test({
  name: "aio: without read/write permission startUnixServer() raises NotCapable",
  permissions: { read: false, write: false },
  fn: () =>
    rrun(function* () {
      const e = yield* caught(startUnixServer(echoLines, "/tmp/aio-no-permission.sock"));
      assert.ok(e instanceof Deno.errors.NotCapable, `got ${e}`);
      yield* turn();
    }),
});
