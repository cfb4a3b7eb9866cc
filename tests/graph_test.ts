// Introspection: call graphs (CPython 3.14's test_graph.py, ported) and the
// task dump behind `python -m asyncio ps` / `pstree`.
import { assert } from "../deps.ts";

const assertEquals = (a: unknown, b: unknown) => assert.deepEqual(a, b);
const assertStringIncludes = (s: string, part: string) =>
  assert.ok(s.includes(part), `${JSON.stringify(part)} not in:\n${s}`);
import {
  captureCallGraph,
  type Coroutine,
  createTask,
  currentTask,
  formatCallGraph,
  formatTasks,
  type Future,
  type FutureCallGraph,
  gather,
  getRunningLoop,
  printCallGraph,
  shield,
  sleep,
  Task,
  taskGroup,
  timeout,
  wait,
  waitFor,
} from "../mod.ts";
import { DENO_ONLY, vrun } from "./_util.ts";
import { main as whatIsItWaitingOn } from "../examples/what_is_it_waiting_on.ts";

type Walked = [string, string[], Walked[]];

/** test_graph.py's `walk`: T<name> (T<anon> for a default name) or F, the stack's names, the awaiters sorted. */
function walk(g: FutureCallGraph): Walked {
  const f = g.future;
  const head = f instanceof Task
    ? (f.getName().includes("-") ? "T<anon>" : `T<${f.getName()}>`)
    : "F";
  const awaited = g.awaitedBy.map(walk).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return [head, g.callStack.map((e) => e.name), awaited];
}

/** test_graph.py's `capture_test_stack`: the walked graph and the printed text. */
function captureTestStack(fut?: Future<unknown>): [Walked, string] {
  return [walk(captureCallGraph(fut)!), formatCallGraph(fut)];
}

const debug = { debug: true };

Deno.test("test_graph::test_stack_tgroup — a task group's parent awaits its tasks", async () => {
  let stackForC5: [Walked, string] | null = null;
  function c5() {
    stackForC5 = captureTestStack();
  }
  function* c4(): Coroutine<void> {
    yield* sleep(0);
    c5();
  }
  function* c3(): Coroutine<void> {
    yield* c4();
  }
  function* c2(): Coroutine<void> {
    yield* c3();
  }
  function* c1(task: Task<unknown>): Coroutine<void> {
    yield* task;
  }
  function* main(): Coroutine<void> {
    yield* taskGroup(function* (tg) {
      const task = tg.createTask(c2(), { name: "c2_root" });
      tg.createTask(c1(task), { name: "sub_main_1" });
      tg.createTask(c1(task), { name: "sub_main_2" });
    });
  }
  await vrun(main, debug);
  const parent: Walked = ["T<anon>", ["main"], []];
  assertEquals(stackForC5![0], [
    "T<c2_root>",
    ["captureTestStack", "c5", "c4", "c3", "c2"],
    [
      parent,
      ["T<sub_main_1>", ["c1"], [parent]],
      ["T<sub_main_2>", ["c1"], [parent]],
    ],
  ]);
  assertStringIncludes(stackForC5![1], "in c4()");
});

Deno.test("test_graph::test_stack_gather — gather's children are awaited by the gathering task", async () => {
  let stackForDeep: [Walked, string] | null = null;
  function* deep(): Coroutine<void> {
    yield* sleep(0);
    stackForDeep = captureTestStack();
  }
  function* c1(): Coroutine<void> {
    yield* sleep(0);
    yield* deep();
  }
  function* c2(): Coroutine<void> {
    yield* sleep(0);
  }
  function* main(): Coroutine<void> {
    yield* gather([c1(), c2()]);
  }
  await vrun(main, debug);
  assertEquals(stackForDeep![0], ["T<anon>", ["captureTestStack", "deep", "c1"], [["T<anon>", [
    "main",
  ], []]]]);
});

Deno.test("test_graph::test_stack_shield — the shielded task is awaited through the shield", async () => {
  let stackForShield: [Walked, string] | null = null;
  function* deep(): Coroutine<void> {
    yield* sleep(0);
    stackForShield = captureTestStack();
  }
  function* c1(): Coroutine<void> {
    yield* sleep(0);
    yield* deep();
  }
  function* main(): Coroutine<void> {
    yield* shield(c1());
  }
  await vrun(main, debug);
  assertEquals(stackForShield![0], ["T<anon>", ["captureTestStack", "deep", "c1"], [["T<anon>", [
    "main",
  ], []]]]);
});

Deno.test("test_graph::test_stack_timeout — a timeout scope runs inline in its task", async () => {
  let stackForInner: [Walked, string] | null = null;
  function* inner(): Coroutine<void> {
    yield* sleep(0);
    stackForInner = captureTestStack();
  }
  function* c1(): Coroutine<void> {
    yield* timeout(1000, function* () {
      yield* sleep(0);
      yield* inner();
    });
  }
  function* main(): Coroutine<void> {
    yield* shield(c1());
  }
  await vrun(main, debug);
  const [head, stack, awaitedBy] = stackForInner![0];
  assertEquals(head, "T<anon>");
  assertEquals(stack.slice(0, 2), ["captureTestStack", "inner"]);
  assertEquals(stack.at(-1), "c1");
  assertEquals(awaitedBy, [["T<anon>", ["main"], []]]);
});

Deno.test("test_graph::test_stack_wait — wait()'s futures are awaited by the waiting task", async () => {
  let stackForInner: [Walked, string] | null = null;
  function* inner(): Coroutine<void> {
    yield* sleep(0);
    stackForInner = captureTestStack();
  }
  function* c1(): Coroutine<void> {
    yield* waitFor(inner(), 1000);
  }
  function* c2(): Coroutine<void> {
    for (let i = 0; i < 3; i++) yield* sleep(0);
  }
  function* main(): Coroutine<void> {
    const t1 = createTask(c1);
    const t2 = createTask(c2);
    while (true) {
      const [, pending] = yield* wait([t1, t2]);
      if (pending.size === 0) break;
    }
  }
  await vrun(main, debug);
  assertEquals(stackForInner![0], ["T<anon>", ["captureTestStack", "inner", "c1"], [["T<anon>", [
    "main",
  ], []]]]);
});

Deno.test("test_graph::test_stack_task — yield* task", async () => {
  let stackForInner: [Walked, string] | null = null;
  function* inner(): Coroutine<void> {
    yield* sleep(0);
    stackForInner = captureTestStack();
  }
  function* c1(): Coroutine<void> {
    yield* inner();
  }
  function* c2(): Coroutine<void> {
    yield* createTask(c1(), { name: "there there" });
  }
  function* main(): Coroutine<void> {
    yield* c2();
  }
  await vrun(main, debug);
  assertEquals(stackForInner![0], [
    "T<there there>",
    ["captureTestStack", "inner", "c1"],
    [["T<anon>", ["c2", "main"], []]],
  ]);
});

Deno.test("test_graph::test_stack_future — a plain future awaited by two tasks", async () => {
  let stackForFut: [Walked, string] | null = null;
  function* a2(fut: Future<void>): Coroutine<void> {
    yield* fut;
  }
  function* a1(fut: Future<void>): Coroutine<void> {
    yield* a2(fut);
  }
  function* b1(fut: Future<void>): Coroutine<void> {
    yield* fut;
  }
  function* main(): Coroutine<void> {
    const fut = getRunningLoop().createFuture<void>();
    yield* taskGroup(function* (g) {
      g.createTask(a1(fut), { name: "task A" });
      g.createTask(b1(fut), { name: "task B" });
      for (let i = 0; i < 5; i++) yield* sleep(0);
      stackForFut = captureTestStack(fut);
      fut.setResult(undefined);
    });
  }
  await vrun(main, debug);
  // The group's parent is the current task: its live stack, from the
  // helper through the group's body to main.
  const parent: Walked = ["T<anon>", ["captureTestStack", "<anonymous>", "main"], []];
  assertEquals(stackForFut![0], [
    "F",
    [],
    [["T<task A>", ["a2", "a1"], [parent]], ["T<task B>", ["b1"], [parent]]],
  ]);
  assert(stackForFut![1].startsWith("* Future(id="));
});

Deno.test("graph — outside debug mode a stack is the coroutine function's name, where known", async () => {
  await vrun(function* main() {
    const known = createTask(function* worker() {
      yield* sleep(10);
    });
    const unknown = createTask(sleep(10));
    yield;
    const g = captureCallGraph(known)!;
    assertEquals(g.callStack, [{ name: "worker", file: null, line: null, column: null }]);
    assertEquals(captureCallGraph(unknown)!.callStack, []);
    // The current task's stack is the live one, with its source lines.
    const mine = captureCallGraph()!;
    assertEquals(mine.future, currentTask());
    assertEquals(mine.callStack[0].name, "main");
    assert(mine.callStack[0].line !== null);
    yield* gather([known, unknown]);
  });
});

Deno.test(
  "graph — in debug mode a suspended task shows the line of its yield*",
  DENO_ONLY,
  async () => {
    await vrun(function* main() {
      const t = createTask(function* sleeper() {
        yield* sleep(10); // the line below reads this one's number
      });
      yield;
      const e = captureCallGraph(t)!.callStack[0];
      assertEquals(e.name, "sleeper");
      assert(e.file!.endsWith("graph_test.ts"));
      const src = Deno.readTextFileSync(new URL(e.file!));
      assertStringIncludes(src.split("\n")[e.line! - 1], "yield* sleep(10); // the line below");
      yield* t;
    }, debug);
  },
);

Deno.test("graph — formatCallGraph in CPython's layout; printCallGraph prints it; none outside a task", async () => {
  await vrun(function* main() {
    const t = createTask(function* child() {
      yield* sleep(10);
    }, { name: "child" });
    const watcher = createTask(function* () {
      const text = formatCallGraph(t);
      const lines = text.split("\n");
      assert(/^\* Task\(name="child", id=\d+\)$/.test(lines[0]), lines[0]);
      assertEquals(lines[1], "  + Call stack:");
      assertEquals(lines[2], "  |   in child()");
      assertEquals(lines[3], "  + Awaited by:");
      assert(/^ {4}\* Task\(name="Task-\d+", id=\d+\)$/.test(lines[4]), lines[4]);
      assertEquals(lines[6], "      |   in main()");
      const logged: unknown[] = [];
      const log = console.log;
      console.log = (...a: unknown[]) => logged.push(...a);
      try {
        printCallGraph(t);
      } finally {
        console.log = log;
      }
      assertEquals(logged, [text]);
    });
    yield* t;
    yield* watcher;
  });
  assertEquals(captureCallGraph(), null);
  assertEquals(formatCallGraph(), "");
});

Deno.test("graph — a cycle of awaits ends instead of recursing", async () => {
  await vrun(function* main() {
    const fut = getRunningLoop().createFuture<void>();
    let b: Task<unknown> | null = null;
    // a's group awaits b, and b awaits a (for 50 ms).
    const a: Task<void> = createTask(function* ta() {
      yield* taskGroup(function* (tg) {
        b = tg.createTask(function* tb() {
          yield* wait([a], { timeout: 50 });
        }, { name: "b" });
        yield* fut;
      });
    }, { name: "a" });
    yield* sleep(1);
    assertEquals(walk(captureCallGraph(a)!), ["T<a>", ["ta"], [["T<b>", ["tb"], []]]]);
    assertStringIncludes(formatTasks(), "(cycle)");
    yield* wait([b!]);
    fut.setResult(undefined);
    yield* a;
  });
});

Deno.test("loop.dumpTasks — name, state, what each awaits, for how long, and who awaits it", async () => {
  await vrun(function* main() {
    const loop = getRunningLoop();
    const db = createTask(function* query() {
      yield* sleep(100);
    }, { name: "db" });
    const a = createTask(function* fetchA() {
      yield* db;
    }, { name: "a" });
    const b = createTask(function* fetchB() {
      yield* waitFor(shield(db), 500);
    }, { name: "b" });
    const c = createTask(function* grp() {
      yield* taskGroup(function* (tg) {
        tg.createTask(function* kid() {
          yield* timeout(300, sleep(50));
        }, { name: "kid" });
        yield* wait([db]);
      });
    }, { name: "c" });
    const watcher = createTask(function* () {
      yield* sleep(10);
      const dump = loop.dumpTasks();
      const by = (n: string) => dump.find((d) => d.name === n || d.coroutine === n)!;
      const names = (ids: number[]) => ids.map((i) => dump.find((d) => d.id === i)!.name);
      assertEquals(by("main").state, "waiting");
      assertEquals(by("main").awaits, "gather(3)");
      assertEquals(names(by("main").awaitsTasks), ["a", "b", "c"]);
      assertEquals(by("a").awaits, 'Task(name="db")');
      assertEquals(by("b").awaits, "shield(1)");
      assertEquals(by("c").awaits, "wait(1)");
      assertEquals(names(by("c").awaitsTasks), ["db", "kid"]);
      assertEquals(names(by("db").awaitedBy), ["a", "b", "c"]);
      assertEquals(names(by("kid").awaitedBy), ["c"]);
      assertEquals(by("kid").coroutine, "kid");
      assertEquals(by("db").waitedMs, 10);
      assertEquals(by(currentTask()!.getName()).state, "running");
      const text = formatTasks();
      const lines = text.split("\n");
      assert(/^id +name +state +coroutine +awaits +waited ms +awaited by$/.test(lines[0]));
      assertStringIncludes(text, " (main)\n│   ├── a (fetchA)\n│   │   └── db (query)");
      assertStringIncludes(text, "│   └── c (grp)\n│       ├── db (query)\n│       └── kid (kid)");
    });
    yield* gather([a, b, c]);
    yield* watcher;
  }, debug);
});

Deno.test("loop.dumpTasks — waitedMs only in debug mode; cancelling and ready states", async () => {
  await vrun(function* main() {
    const loop = getRunningLoop();
    const t = createTask(function* nap() {
      try {
        yield* sleep(100);
      } catch {
        yield* sleep(5);
      }
    }, { name: "nap" });
    yield;
    const r = createTask(function* () {}, { name: "ready" });
    t.cancel();
    const dump = loop.dumpTasks();
    const by = (n: string) => dump.find((d) => d.name === n)!;
    assertEquals(by("nap").waitedMs, null);
    assertEquals(by("nap").state, "cancelling");
    assertEquals(by("ready").state, "ready");
    yield* wait([t, r]);
    assertEquals(formatTasks(loop).split("\n").length, 4); // header, main, blank line, tree
  });
});

Deno.test("examples/what_is_it_waiting_on.ts: the table, the tree and db's call graph", async () => {
  for (const dbg of [false, true]) {
    const lines: string[] = [];
    await vrun(() => whatIsItWaitingOn((l) => lines.push(...l.split("\n"))), { debug: dbg });
    const text = lines.join("\n");
    const row = (name: string) => lines.find((l) => l.split(/ +/)[1] === name)!.split(/  +/);
    assertEquals(row("db").slice(2), [
      "waiting",
      "query",
      row("db")[4],
      dbg ? "50.0" : "-",
      "req-1, req-2, report",
    ]);
    assertEquals(row("req-2").slice(4), ["shield(1)", dbg ? "50.0" : "-", "web"]);
    assertEquals(row("jobs").slice(4), ["TaskGroup(2)", dbg ? "50.0" : "-", row("jobs")[6]]);
    assertStringIncludes(
      text,
      "    ├── web (server)\n    │   ├── req-1 (handler)\n    │   │   └── db (query)\n" +
        "    │   └── req-2 (cached)\n    │       └── db (query)\n    ├── jobs (cron)\n" +
        "    │   ├── cleanup (cleanup)\n    │   └── report (report)\n    │       └── db (query)\n" +
        "    └── watchdog (watchdog)",
    );
    assert(/^\* Task\(name="db", id=\d+\)$/m.test(text));
    assertStringIncludes(
      text,
      dbg ? 'what_is_it_waiting_on.ts", line 26, in query()' : "  |   in query()",
    );
  }
});
