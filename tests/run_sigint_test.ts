// run(main, { handleSigint }): Ctrl-C as asyncio.Runner handles it. Ported
// from CPython's test_runners.py (RunnerTests::test_interrupt_*), which
// interrupts its own main thread; here a child Deno runs
// tests/fixtures/sigint_main.ts and the test sends it real SIGINTs once it
// has printed "ready". The in-process tests watch Deno's listener calls.
import { assert } from "../deps.ts";
import { KeyboardInterrupt } from "../src/errors.ts";
import { run } from "../src/run.ts";
import { fromPromise } from "../src/from_promise.ts";
import { CORE, recordingListeners, vrun } from "./_util.ts";
import { Child } from "./fixtures/_child.ts";

/** Runs the fixture in `mode`, sends one SIGINT after "ready", and waits for it to exit. */
async function interrupted(mode: string) {
  const child = new Child("sigint_main.ts", [mode]);
  await child.waitLine("ready");
  child.process.kill("SIGINT");
  return await child.finish();
}

Deno.test("test_runners::RunnerTests::test_interrupt_wait — SIGINT cancels main and its future, then the other tasks; run() rejects with KeyboardInterrupt", async () => {
  const { status, lines, stderr } = await interrupted("wait");
  assert.equal(status.code, 0, stderr);
  assert.deepEqual(lines, [
    "ready",
    "main finally, future cancelled: true",
    "other finally",
    "rejected KeyboardInterrupt cause CancelledError",
  ]);
});

Deno.test("test_runners::RunnerTests::test_interrupt_call_soon — a main task that only spins on yield is interrupted too", async () => {
  const { status, lines, stderr } = await interrupted("spin");
  assert.equal(status.code, 0, stderr);
  assert.deepEqual(lines, [
    "ready",
    "main caught CancelledError: true",
    "rejected KeyboardInterrupt cause CancelledError",
  ]);
});

Deno.test("test_runners::RunnerTests::test_interrupt_cancelled_task — main also cancelled by another task: run() rejects with CancelledError", async () => {
  // The fixture sends itself the SIGINT, as CPython's interrupt_self().
  const child = new Child("sigint_main.ts", ["cancelled_task"]);
  const { status, lines, stderr } = await child.finish();
  assert.equal(status.code, 0, stderr);
  assert.deepEqual(lines, [
    "main cancelled again, cancelling: 2",
    "rejected CancelledError",
  ]);
});

Deno.test("run(): a second SIGINT while main's cleanup runs exits at once with code 130", async () => {
  const child = new Child("sigint_main.ts", ["twice"]);
  await child.waitLine("ready");
  child.process.kill("SIGINT");
  await child.waitLine("cleanup started");
  child.process.kill("SIGINT");
  const { status, lines } = await child.finish();
  assert.equal(status.code, 130);
  assert.equal(status.signal, null, "Deno.exit(130), not death by the signal");
  assert.deepEqual(lines, ["ready", "cleanup started"]);
});

Deno.test("run(): main catches the cancellation and returns: run() returns its result, as asyncio's Runner", async () => {
  const { status, lines, stderr } = await interrupted("swallow");
  assert.equal(status.code, 0, stderr);
  assert.deepEqual(lines, ["ready", "main swallowed it, cancelling: 1", "resolved swallowed"]);
});

Deno.test("run(): handleSigint false installs nothing: SIGINT ends the process as usual", async () => {
  const { status, lines } = await interrupted("nohandle");
  assert.equal(status.signal, "SIGINT");
  assert.equal(status.success, false);
  assert.deepEqual(lines, ["ready"], "no finally ran: the process died");
});

Deno.test("run(): a SIGINT handler added with loop.addSignalHandler takes SIGINT from run()", async () => {
  const { status, lines, stderr } = await interrupted("handler");
  assert.equal(status.code, 0, stderr);
  assert.deepEqual(lines, ["ready", "handler ran", "resolved handled"]);
});

Deno.test("run(): once run() has returned, nothing listens: SIGINT has Deno's default action again", async () => {
  const child = new Child("sigint_main.ts", ["after"]);
  await child.waitLine("ready");
  child.process.kill("SIGINT");
  const { status, lines } = await child.finish();
  assert.equal(status.signal, "SIGINT");
  assert.deepEqual(lines, ["resolved done", "ready"]);
});

// ---- in process: which listeners run() adds and removes -------------------

Deno.test("run(): the SIGINT listener is added for main and removed when main ends; handleSigint false adds none", () =>
  recordingListeners(async (calls) => {
    let during: string[] = [];
    assert.equal(
      await vrun(function* () {
        yield;
        during = [...calls];
        return 1;
      }),
      1,
    );
    assert.deepEqual(during, ["add SIGINT"]);
    assert.deepEqual(calls, ["add SIGINT", "remove SIGINT"]);
    calls.length = 0;
    await assert.rejects(
      () =>
        run(function* () {
          yield;
          throw new URIError("main failed");
        }, { core: CORE, clock: "virtual", handleSigint: false }),
      URIError,
    );
    assert.deepEqual(calls, []);
  }));

Deno.test("run(): a run() started while another one's main runs leaves SIGINT to the first", () =>
  recordingListeners(async (calls) => {
    let inner: Promise<string> | null = null;
    const outer = vrun(function* () {
      // Started from a host callback, as run() cannot start inside a loop.
      yield* fromPromise(
        new Promise((resolve) =>
          setTimeout(() => {
            inner = vrun(function* () {
              yield;
              return "inner";
            });
            inner.then(resolve);
          }, 0)
        ),
      );
      return "outer";
    });
    assert.equal(await outer, "outer");
    assert.equal(await inner, "inner");
    assert.deepEqual(calls, ["add SIGINT", "remove SIGINT"]);
  }));

Deno.test("test_runners::RunnerTests::test_signal_install_not_supported_ok — run() works when Deno cannot listen", () =>
  recordingListeners(
    async (calls) => {
      assert.equal(
        await vrun(function* () {
          yield;
          return "fine";
        }),
        "fine",
      );
      assert.deepEqual(calls, ["add SIGINT"], "nothing to remove");
    },
    () => {
      throw new Deno.errors.NotSupported("signals are not available here");
    },
  ));

Deno.test("run(): handleSigint must be a boolean", () => {
  assert.throws(
    () => run(function* () {}, { handleSigint: "yes" as unknown as boolean }),
    (e) => e instanceof TypeError && /handleSigint must be a boolean, got "yes"/.test(e.message),
  );
});

Deno.test("KeyboardInterrupt: name and default message", () => {
  const e = new KeyboardInterrupt();
  assert.equal(e.name, "KeyboardInterrupt");
  assert.ok(e instanceof Error);
  assert.equal(e.message, "interrupted by SIGINT");
});
