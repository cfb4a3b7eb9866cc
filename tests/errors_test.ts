// The error classes: names, inheritance, ExceptionGroup's shape.
import { assert } from "../deps.ts";
import * as aio from "../mod.ts";
import {
  BrokenBarrierError,
  BrokenWorkerError,
  CancelledError,
  ExceptionGroup,
  InvalidStateError,
  LookupError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  RuntimeError,
  TimeoutError,
  ValueError,
} from "../mod.ts";
import { IncompleteReadError, LimitOverrunError } from "../src/errors.ts";

const SIMPLE = {
  CancelledError,
  TimeoutError,
  InvalidStateError,
  LookupError,
  RuntimeError,
  ValueError,
  QueueEmpty,
  QueueFull,
  QueueShutDown,
  BrokenBarrierError,
  BrokenWorkerError,
} as const;

Deno.test("every error class: name equals the class name, instanceof Error", () => {
  for (const [name, Cls] of Object.entries(SIMPLE)) {
    const e = new Cls("what went wrong");
    assert.equal(Cls.name, name);
    assert.equal(e.name, name, `${name}.name`);
    assert.ok(e instanceof Error, `${name} instanceof Error`);
    assert.ok(e instanceof Cls);
    assert.equal(e.message, "what went wrong");
    assert.equal(String(e), `${name}: what went wrong`);
    assert.ok(typeof e.stack === "string" && e.stack.includes(name), `${name} stack`);
  }
  const g = new ExceptionGroup("grouped", [new Error("x")]);
  assert.equal(ExceptionGroup.name, "ExceptionGroup");
  assert.equal(g.name, "ExceptionGroup");
  assert.ok(g instanceof Error);
});

Deno.test("error classes are distinct: instanceof does not cross between them", () => {
  const classes = Object.values(SIMPLE);
  for (const A of classes) {
    for (const B of classes) {
      assert.equal(new A() instanceof B, A === B, `${A.name} instanceof ${B.name}`);
    }
  }
  // TimeoutError is aio's own, not the DOMException kind.
  assert.ok(!(new TimeoutError() instanceof DOMException));
});

Deno.test("error classes are exported from mod.ts", () => {
  for (const [name, Cls] of Object.entries(SIMPLE)) {
    assert.equal((aio as Record<string, unknown>)[name], Cls, name);
  }
  assert.equal(aio.ExceptionGroup, ExceptionGroup);
});

Deno.test("error options: cause is kept", () => {
  const root = new RangeError("root");
  for (const Cls of Object.values(SIMPLE)) {
    assert.equal(new Cls("m", { cause: root }).cause, root, Cls.name);
  }
  assert.equal(new ExceptionGroup("g", [root], { cause: root }).cause, root);
});

Deno.test("default messages", () => {
  assert.equal(new CancelledError().message, "");
  assert.equal(new TimeoutError().message, "");
  assert.equal(new QueueEmpty().message, "queue is empty");
  assert.equal(new QueueFull().message, "queue is full");
  assert.equal(new QueueShutDown().message, "queue is shut down");
  assert.equal(new BrokenBarrierError().message, "barrier is broken");
});

Deno.test("ExceptionGroup extends AggregateError with .exceptions", () => {
  const a = new Error("a");
  const b = new TypeError("b");
  const input = [a, b];
  const g = new ExceptionGroup("two failures", input);
  assert.ok(g instanceof AggregateError);
  assert.ok(g instanceof ExceptionGroup);
  assert.equal(g.message, "two failures");
  assert.deepEqual([...g.exceptions], [a, b]);
  assert.equal(g.exceptions[0], a);
  assert.equal(g.exceptions[1], b);
  assert.deepEqual(g.errors, [a, b]);
  // A copy: changing the input array later does not change the group.
  input.push(new Error("c"));
  assert.equal(g.exceptions.length, 2);
  // Non-Error values may be grouped too.
  assert.deepEqual([...new ExceptionGroup("odd", ["x", 1]).exceptions], ["x", 1]);
});

Deno.test("ExceptionGroup: empty or missing exceptions → ValueError", () => {
  assert.throws(() => new ExceptionGroup("none", []), ValueError);
  assert.throws(
    () => new ExceptionGroup("none", undefined as unknown as unknown[]),
    ValueError,
  );
  assert.throws(
    () => new ExceptionGroup("none", "ab" as unknown as unknown[]),
    ValueError,
  );
});

Deno.test("IncompleteReadError: name, partial, expected, asyncio's message", () => {
  const partial = new Uint8Array([1, 2, 3]);
  const e = new IncompleteReadError(partial, 10);
  assert.equal(IncompleteReadError.name, "IncompleteReadError");
  assert.equal(e.name, "IncompleteReadError");
  assert.ok(e instanceof Error);
  assert.equal(e.partial, partial);
  assert.equal(e.expected, 10);
  assert.equal(e.message, "3 bytes read on a total of 10 expected bytes");
  assert.equal(String(e), "IncompleteReadError: 3 bytes read on a total of 10 expected bytes");
  const unknown = new IncompleteReadError(new Uint8Array(0), null, { cause: e });
  assert.equal(unknown.expected, null);
  assert.equal(unknown.message, "0 bytes read on a total of undefined expected bytes");
  assert.equal(unknown.cause, e);
});

Deno.test("LimitOverrunError: name, message, consumed", () => {
  const e = new LimitOverrunError("separator not found", 65_537, { cause: "root" });
  assert.equal(LimitOverrunError.name, "LimitOverrunError");
  assert.equal(e.name, "LimitOverrunError");
  assert.ok(e instanceof Error);
  assert.ok(!(e instanceof IncompleteReadError) && !(e instanceof ValueError));
  assert.equal(e.message, "separator not found");
  assert.equal(e.consumed, 65_537);
  assert.equal(e.cause, "root");
  assert.ok(typeof e.stack === "string" && e.stack.includes("LimitOverrunError"));
});
