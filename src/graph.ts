/**
 * Introspection (CPython 3.14's `asyncio.graph` and `python -m asyncio ps` /
 * `pstree`): which task waits on which, where each one is suspended, and a
 * table and tree of every pending task of a loop.
 *
 * Nothing here is paid for while nobody asks. The graph is computed at
 * capture time from what the loop already holds:
 *
 * - a pending task waits on at most one future, its `_futWaiter` (task.ts);
 * - a combinator's outer future leads to what it follows: gather's outer
 *   future keeps its children, shield, wait and a task group's completion
 *   future are recorded once per call in `_graph_links.ts`;
 * - a task group's child leads to the group's parent through the group's
 *   done callback (tagged once per group), so the parent awaits its children
 *   for the group's whole life, as in CPython;
 * - `timeout` and `waitFor` run their body inline in the waiting task, which
 *   then waits on the body's futures directly.
 *
 * "Awaited by" is the reverse of those edges, found by scanning the loop's
 * pending tasks. The call stack of a task is its coroutine function's name
 * where it is known (`createTask(fn)`); in debug mode it is the stack
 * recorded when the task suspended (future.ts, `traceSuspension`), with
 * aio's own frames left out.
 *
 * @module
 */
import { suspensions } from "./_graph_links.ts";
import { followedBy, groupParentOf } from "./_graph_links.ts";
import { Future, PENDING } from "./future.ts";
import { gatheringChildren } from "./gather.ts";
import type { EventLoop } from "./loop.ts";
import { getRunningLoop, peekRunningLoop } from "./running.ts";
import { Task } from "./task.ts";

/**
 * One entry of a task's call stack: a function, and where it is suspended
 * when that is known (debug mode, or the current task). CPython's
 * `FrameCallGraphEntry`.
 *
 * @category Tasks and futures
 */
export interface FrameCallGraphEntry {
  /** The function's name (a `function*` coroutine's name), `"<anonymous>"` if it has none. */
  name: string;
  /** Its source file (a URL), or `null` when only the name is known. */
  file: string | null;
  /** The line in `file`, or `null`. */
  line: number | null;
  /** The column in `file`, or `null`. */
  column: number | null;
}

/**
 * A future or task, where it is suspended, and who awaits it, recursively:
 * CPython's `FutureCallGraph`.
 *
 * @category Tasks and futures
 */
export interface FutureCallGraph {
  /** The future or task. */
  future: Future<unknown>;
  /** Innermost first; empty for a plain future, or a task whose coroutine is not known. */
  callStack: FrameCallGraphEntry[];
  /** A graph for each task awaiting `future` (through `yield*` or a combinator). */
  awaitedBy: FutureCallGraph[];
}

/**
 * One pending task as {@linkcode EventLoop.dumpTasks} reports it.
 *
 * @category Tasks and futures
 */
export interface TaskDump {
  /** The task. */
  task: Task<unknown>;
  /** A number that stays the task's own while it lives (the `id=` of the formats). */
  id: number;
  /** `task.getName()`. */
  name: string;
  /**
   * `"running"` (its step runs now), `"ready"` (its next step is scheduled),
   * `"waiting"` (on a future), `"cancelling"` (a cancellation is requested).
   */
  state: "running" | "ready" | "waiting" | "cancelling";
  /** The coroutine function's name, where it is known. */
  coroutine: string | null;
  /** What it waits on (`Task(name='db')`, `gather(2)`, `Future(id=7)`...), or `null`. */
  awaits: string | null;
  /** The ids of the tasks it waits on, directly or through a combinator or task group. */
  awaitsTasks: number[];
  /** How long it has waited on that future, in ms of loop time: debug mode only, else `null`. */
  waitedMs: number | null;
  /** The ids of the pending tasks that await it. */
  awaitedBy: number[];
  /** As in {@linkcode FutureCallGraph}. */
  callStack: FrameCallGraphEntry[];
}

// ---------------------------------------------------------------------------
// Identity and the edges

let nextId = 0;
const ids = new WeakMap<object, number>();

/** A small number for `f`, given at its first capture and kept while it lives. */
function idOf(f: object): number {
  let id = ids.get(f);
  if (id === undefined) ids.set(f, id = ++nextId);
  return id;
}

/** Who awaits whom on one loop, at one moment. */
interface Edges {
  /** future → the tasks waiting on it (directly or through combinators). */
  awaitedBy: Map<Future<unknown>, Set<Task<unknown>>>;
  /** task → the pending tasks it waits on (directly or through combinators). */
  awaits: Map<Task<unknown>, Set<Task<unknown>>>;
  tasks: Task<unknown>[];
}

/** What `f` follows, if it is a combinator's outer future. */
function followed(f: Future<unknown>): Iterable<Future<unknown>> | null {
  return gatheringChildren(f) ?? followedBy.get(f)?.futures ?? null;
}

function addTo<K, V>(m: Map<K, Set<V>>, k: K, v: V): void {
  let s = m.get(k);
  if (s === undefined) m.set(k, s = new Set());
  s.add(v);
}

function edgesOf(loop: EventLoop): Edges {
  const tasks = [...loop._pendingTasks()];
  tasks.sort((a, b) => idOf(a) - idOf(b));
  const e: Edges = { awaitedBy: new Map(), awaits: new Map(), tasks };
  const link = (waiter: Task<unknown>, f: Future<unknown>, seen: Set<Future<unknown>>) => {
    if (seen.has(f)) return;
    seen.add(f);
    addTo(e.awaitedBy, f, waiter);
    if (f instanceof Task) {
      if (f._state === PENDING) addTo(e.awaits, waiter, f);
      return;
    }
    const next = followed(f);
    if (next === null) return;
    for (const c of next) if (c._state === PENDING) link(waiter, c, seen);
  };
  for (const t of tasks) {
    if (t._futWaiter !== null) link(t, t._futWaiter, new Set());
    // A task group's child: the group's parent awaits it.
    const cbs = t._callbacks ?? (t._first !== null ? [t._first] : []);
    for (let i = 0; i < cbs.length; i += t._callbacks !== null ? 2 : 1) {
      const cb = cbs[i];
      const parent = typeof cb === "function" ? groupParentOf.get(cb) : undefined;
      if (parent !== undefined && parent !== t && parent._state === PENDING) {
        addTo(e.awaitedBy, t, parent);
        addTo(e.awaits, parent, t);
      }
    }
  }
  return e;
}

// ---------------------------------------------------------------------------
// Call stacks

/**
 * aio's own source directory: its frames are left out of call stacks. A
 * classic-script bundle has no module URL: there no frame is recognised
 * (a sentinel no file name starts with), and importing still works.
 */
const HERE: string | undefined = import.meta.url;
const AIO_SRC = HERE ? new URL(".", HERE).href : "\0";
const TASK_TS = HERE ? new URL("./task.ts", HERE).href : "\0";
/** JavaScriptCore (Bun) names a file by its path in stacks, V8 by its URL. */
const asUrl = (file: string): string => file.startsWith("/") ? `file://${encodeURI(file)}` : file;
const FRAME = /^\s*at (?:(.*?) \()?(.*?):(\d+):(\d+)\)?$/;

/**
 * The user's frames of a V8 stack taken inside a task's step, innermost
 * first: up to the step itself (task.ts), without aio's own frames.
 */
function parseStack(stack: string | undefined): FrameCallGraphEntry[] {
  const out: FrameCallGraphEntry[] = [];
  if (stack === undefined) return out;
  for (const line of stack.split("\n")) {
    const m = FRAME.exec(line);
    if (m === null) continue;
    const file = asUrl(m[2]);
    // The task's step: below it is the loop, not the coroutine.
    if (file === TASK_TS) break;
    if (file.startsWith(AIO_SRC) || file.startsWith("ext:") || file.startsWith("node:")) continue;
    let name = m[1] ?? "<anonymous>";
    if (name.startsWith("async ")) name = name.slice(6);
    out.push({ name, file, line: Number(m[3]), column: Number(m[4]) });
  }
  return out;
}

/** A stack with room for a deep `yield*` chain (V8 keeps 10 frames by default). */
function deepStack(): string | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 100;
  const stack = new Error().stack;
  Error.stackTraceLimit = limit;
  return stack;
}

function coroutineName(task: Task<unknown>): string | null {
  return (task._coro as { _aioName?: string })._aioName ?? null;
}

function callStackOf(task: Task<unknown>): FrameCallGraphEntry[] {
  const loop = task._loop;
  let frames: FrameCallGraphEntry[] = [];
  if (loop._currentTask === task) {
    frames = parseStack(deepStack());
  } else {
    const rec = suspensions.get(task);
    if (rec !== undefined && rec.fut === task._futWaiter) frames = parseStack(rec.stack);
  }
  if (frames.length > 0) return frames;
  const name = coroutineName(task);
  return name === null ? [] : [{ name, file: null, line: null, column: null }];
}

// ---------------------------------------------------------------------------
// The call graph

function graphOf(
  f: Future<unknown>,
  e: Edges,
  path: Set<Future<unknown>>,
): FutureCallGraph {
  const awaitedBy: FutureCallGraph[] = [];
  path.add(f);
  const waiters = e.awaitedBy.get(f);
  if (waiters !== undefined) {
    for (const t of waiters) if (!path.has(t)) awaitedBy.push(graphOf(t, e, path));
  }
  path.delete(f);
  return { future: f, callStack: f instanceof Task ? callStackOf(f) : [], awaitedBy };
}

/**
 * The call graph of `future` (default: the current task): where it is
 * suspended, and the graph of each task that awaits it, outward (CPython
 * 3.14's `asyncio.capture_call_graph`). Awaiting is known through
 * `yield* task`, `gather`, `wait`, `waitFor`, `shield`, `taskGroup` and
 * `timeout`. A call stack holds the coroutine function's name where it is
 * known; in debug mode (`run(main, { debug: true })`), and for the current
 * task, the frames with their source lines. `null` when no future is given
 * and no task is running.
 *
 * @example
 * ```ts
 * import { captureCallGraph, createTask, run, sleep } from "@aio/aio";
 * await run(function* () {
 *   const child = createTask(function* nap() { yield* sleep(10); });
 *   yield;
 *   createTask(function* watch() {
 *     const g = captureCallGraph(child)!;
 *     console.log(g.callStack[0].name); // "nap"
 *     console.log(g.awaitedBy.length); // 1: the main task
 *   });
 *   yield* child;
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function captureCallGraph(future?: Future<unknown>): FutureCallGraph | null {
  let f: Future<unknown> | null | undefined = future;
  if (f === undefined) {
    f = peekRunningLoop()?._currentTask ?? null;
    if (f === null) return null;
  }
  if (!(f instanceof Future)) {
    throw new TypeError("captureCallGraph() expects a Future or Task");
  }
  const loop = f._loop ?? peekRunningLoop();
  if (loop === null) return { future: f, callStack: [], awaitedBy: [] };
  return graphOf(f, edgesOf(loop), new Set());
}

function label(f: Future<unknown>): string {
  return f instanceof Task
    ? `Task(name=${JSON.stringify(f.getName())}, id=${idOf(f)})`
    : `Future(id=${idOf(f)})`;
}

function entryLine(e: FrameCallGraphEntry): string {
  return e.file === null
    ? `  |   in ${e.name}()`
    : `  |   File ${JSON.stringify(e.file)}, line ${e.line}, in ${e.name}()`;
}

function render(g: FutureCallGraph, buf: string[], level: number): void {
  const pad = "    ".repeat(level);
  buf.push(`${pad}* ${label(g.future)}`);
  if (g.callStack.length > 0) {
    buf.push(`${pad}  + Call stack:`);
    for (const e of g.callStack) buf.push(pad + entryLine(e));
  }
  if (g.awaitedBy.length > 0) {
    buf.push(`${pad}  + Awaited by:`);
    for (const w of g.awaitedBy) render(w, buf, level + 1);
  }
}

/**
 * {@linkcode captureCallGraph} as text, in CPython 3.14's format
 * (`asyncio.format_call_graph`); `""` when there is nothing to show.
 *
 * ```text
 * * Task(name="worker", id=2)
 *   + Call stack:
 *   |   File "file:///app/main.ts", line 12, in worker()
 *   + Awaited by:
 *       * Task(name="Task-1", id=1)
 * ```
 *
 * @example
 * ```ts
 * import { formatCallGraph, run } from "@aio/aio";
 * await run(function* () {
 *   console.log(formatCallGraph().split("\n")[0]); // * Task(name="Task-1", id=…)
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function formatCallGraph(future?: Future<unknown>): string {
  const g = captureCallGraph(future);
  if (g === null) return "";
  const buf: string[] = [];
  render(g, buf, 0);
  return buf.join("\n");
}

/**
 * Prints {@linkcode formatCallGraph} (CPython's `asyncio.print_call_graph`);
 * nothing when there is nothing to show.
 *
 * @example
 * ```ts
 * import { printCallGraph, run } from "@aio/aio";
 * await run(function* () {
 *   printCallGraph(); // * Task(name="Task-1", id=…)
 * });
 * ```
 *
 * @category Tasks and futures
 */
export function printCallGraph(future?: Future<unknown>): void {
  const text = formatCallGraph(future);
  if (text !== "") console.log(text);
}

// ---------------------------------------------------------------------------
// Every task of a loop: `ps` and `pstree`

function describeAwaited(f: Future<unknown>): string {
  if (f instanceof Task) return `Task(name=${JSON.stringify(f.getName())})`;
  const children = gatheringChildren(f);
  if (children !== null) return `gather(${children.length})`;
  const link = followedBy.get(f);
  if (link !== undefined) {
    let n = 0;
    for (const c of link.futures) if (c._state === PENDING) n++;
    return `${link.kind}(${n})`;
  }
  return `Future(id=${idOf(f)})`;
}

/**
 * @internal What `EventLoop.dumpTasks()` returns: each pending task of
 * `loop`, in the order of their ids.
 */
export function dumpTasks(loop: EventLoop): TaskDump[] {
  const e = edgesOf(loop);
  return e.tasks.map((t): TaskDump => {
    const w = t._futWaiter;
    const rec = w === null ? undefined : suspensions.get(t);
    return {
      task: t,
      id: idOf(t),
      name: t.getName(),
      state: t._numCancelsRequested > 0
        ? "cancelling"
        : loop._currentTask === t
        ? "running"
        : w === null
        ? "ready"
        : "waiting",
      coroutine: coroutineName(t),
      awaits: w === null ? null : describeAwaited(w),
      awaitsTasks: [...e.awaits.get(t) ?? []].map(idOf).sort((a, b) => a - b),
      waitedMs: rec !== undefined && rec.fut === w ? loop.time() - rec.at : null,
      awaitedBy: [...e.awaitedBy.get(t) ?? []].map(idOf).sort((a, b) => a - b),
      callStack: callStackOf(t),
    };
  });
}

function table(rows: string[][]): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows.map((r) => r.map((cell, c) => cell.padEnd(widths[c])).join("  ").trimEnd());
}

/**
 * Every pending task of `loop` (default: the running loop) as text, like
 * CPython 3.14's `python -m asyncio ps` and `pstree`: a table (id, name,
 * state, coroutine, what it awaits, how long, who awaits it; the time is
 * known in debug mode only, `-` otherwise), then the tree of who awaits
 * whom from the tasks nobody awaits. A task awaited by several appears
 * under each; a cycle is marked `(cycle)`.
 *
 * @example
 * ```ts
 * import { createTask, formatTasks, gather, run, sleep } from "@aio/aio";
 * await run(function* main() {
 *   const a = createTask(function* fetchA() { yield* sleep(100); }, { name: "a" });
 *   const b = createTask(function* fetchB() { yield* sleep(200); }, { name: "b" });
 *   createTask(function* report() { console.log(formatTasks()); });
 *   yield* gather([a, b]);
 * });
 * // id  name    state    coroutine  awaits         waited ms  awaited by
 * // 1   a       waiting  fetchA     Future(id=5)   -          Task-1
 * // 2   Task-1  waiting  main       gather(2)      -          -
 * // 3   b       waiting  fetchB     Future(id=6)   -          Task-1
 * // 4   Task-2  running  report     -              -          -
 * //
 * // ├── Task-1 (main)
 * // │   ├── a (fetchA)
 * // │   └── b (fetchB)
 * // └── Task-2 (report)
 * ```
 *
 * @category Tasks and futures
 */
export function formatTasks(loop?: EventLoop): string {
  const lp = loop ?? getRunningLoop();
  const dump = dumpTasks(lp);
  if (dump.length === 0) return "no pending tasks";
  const byId = new Map(dump.map((d) => [d.id, d]));
  const rows = [["id", "name", "state", "coroutine", "awaits", "waited ms", "awaited by"]];
  for (const d of dump) {
    rows.push([
      String(d.id),
      d.name,
      d.state,
      d.coroutine ?? "-",
      d.awaits ?? "-",
      d.waitedMs === null ? "-" : d.waitedMs.toFixed(1),
      d.awaitedBy.length === 0 ? "-" : d.awaitedBy.map((i) => byId.get(i)!.name).join(", "),
    ]);
  }
  const out = table(rows);
  out.push("");
  const shown = new Set<number>();
  const node = (d: TaskDump) => `${d.name}${d.coroutine !== null ? ` (${d.coroutine})` : ""}`;
  const walk = (d: TaskDump, prefix: string, last: boolean, path: Set<number>) => {
    const cycle = path.has(d.id);
    out.push(`${prefix}${last ? "└── " : "├── "}${node(d)}${cycle ? " (cycle)" : ""}`);
    shown.add(d.id);
    if (cycle) return;
    path.add(d.id);
    const kids = d.awaitsTasks.map((i) => byId.get(i)!).filter((k) => k !== undefined);
    const inner = prefix + (last ? "    " : "│   ");
    kids.forEach((k, i) => walk(k, inner, i === kids.length - 1, path));
    path.delete(d.id);
  };
  const roots = dump.filter((d) => d.awaitedBy.length === 0);
  roots.forEach((d, i) => walk(d, "", i === roots.length - 1, new Set()));
  // Tasks that only await each other in a ring have no root: start from each.
  for (const d of dump) if (!shown.has(d.id)) walk(d, "", true, new Set());
  return out.join("\n");
}
