// Deno's test API on runtimes without Deno (Node, Bun), so that one set of
// test files runs everywhere. Importing this module defines a minimal
// `globalThis.Deno` — `test` (every overload, `ignore`, `only`) and
// `env.get` — unless Deno itself is here; `Deno.test` only records the
// definition, and `runTests` (called by scripts/test_portable.ts once every
// test file is imported) runs them one at a time, in file order, like `deno
// test`, with the same summary line. The shim has no `Deno.version`, so
// src/_runtime.ts still sees a runtime that is not Deno and aio's I/O
// entry points still refuse to run.
//
// What Deno's runner adds and this one does not: the op and resource
// sanitizers (the Deno run of the suite checks those) and permissions.

import process from "node:process";
import { inspect } from "node:util";

/** A test as `Deno.test` receives it (the options this suite uses). */
export interface TestDefinition {
  name: string;
  fn: (t: unknown) => void | Promise<void>;
  ignore?: boolean;
  only?: boolean;
}

const definitions: TestDefinition[] = [];

/** The runtime's name and version: "Node.js 22.6.0", "Bun 1.1.0". */
export function runtimeLabel(): string {
  const bun = (globalThis as { Bun?: { version: string } }).Bun;
  return bun !== undefined ? `Bun ${bun.version}` : `Node.js ${process.versions.node}`;
}

type Fn = TestDefinition["fn"];
type Options = Omit<TestDefinition, "fn" | "name"> & { name?: string; fn?: Fn };

function test(a: string | Options | Fn, b?: Options | Fn, c?: Fn): void {
  let def: Partial<TestDefinition>;
  if (typeof a === "string") {
    def = typeof b === "function" ? { name: a, fn: b } : { ...b, name: a, fn: c };
  } else if (typeof a === "function") {
    def = { name: a.name, fn: a };
  } else {
    def = typeof b === "function" ? { name: b.name, ...a, fn: b } : { ...a };
  }
  if (typeof def.fn !== "function" || !def.name) {
    throw new TypeError(`Deno.test shim: a test needs a name and a function (${def.name})`);
  }
  definitions.push(def as TestDefinition);
}

if (typeof (globalThis as { Deno?: unknown }).Deno === "undefined") {
  (globalThis as Record<string, unknown>).Deno = {
    test,
    env: { get: (name: string): string | undefined => process.env[name] },
  };
}

/** Counts of a run. */
export interface TestCounts {
  passed: number;
  failed: number;
  ignored: number;
}

/** A test that neither settles nor fails within this many ms fails. */
const TEST_TIMEOUT_MS = 60_000;

/**
 * Runs the tests recorded so far, in order, printing a line per test and
 * Deno's summary line (`ok | 3 passed | 0 failed | 1 ignored (2s)`). An
 * error reported as unhandled while a test runs fails that test, as in Deno.
 */
export async function runTests(): Promise<TestCounts> {
  const counts: TestCounts = { passed: 0, failed: 0, ignored: 0 };
  const only = definitions.some((d) => d.only);
  const failures: [string, unknown][] = [];
  let stray: unknown[] = [];
  const onStray = (e: unknown) => stray.push(e);
  process.on("unhandledRejection", onStray);
  process.on("uncaughtException", onStray);
  const t0 = performance.now();
  for (const def of definitions) {
    if (def.ignore || (only && !def.only)) {
      counts.ignored++;
      console.log(`${def.name} ... ignored`);
      continue;
    }
    const start = performance.now();
    let error: unknown = undefined;
    let failed = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        Promise.resolve().then(() => def.fn({ name: def.name })),
        new Promise((_, reject) => {
          timer = setTimeout(
            () => reject(new Error(`did not finish within ${TEST_TIMEOUT_MS} ms`)),
            TEST_TIMEOUT_MS,
          );
        }),
      ]);
    } catch (e) {
      error = e;
      failed = true;
    } finally {
      clearTimeout(timer);
    }
    // Let an unhandled rejection from this test's last turn surface here.
    await new Promise((r) => setTimeout(r, 0));
    if (!failed && stray.length > 0) {
      error = stray[0];
      failed = true;
    }
    stray = [];
    const ms = Math.round(performance.now() - start);
    if (failed) {
      counts.failed++;
      failures.push([def.name, error]);
      console.log(`${def.name} ... FAILED (${ms}ms)`);
    } else {
      counts.passed++;
      console.log(`${def.name} ... ok (${ms}ms)`);
    }
  }
  process.off("unhandledRejection", onStray);
  process.off("uncaughtException", onStray);
  for (const [name, e] of failures) {
    console.log(`\n=== ${name}\n${e instanceof Error ? e.stack ?? e.message : inspect(e)}`);
  }
  const secs = Math.round((performance.now() - t0) / 1000);
  const verdict = counts.failed === 0 ? "ok" : "FAILED";
  console.log(
    `\n${verdict} | ${counts.passed} passed | ${counts.failed} failed | ${counts.ignored} ignored (${secs}s)`,
  );
  return counts;
}
