// Spawning a child and collecting it: `true` with its stdout piped, then
// communicate() (reads stdout to EOF, waits for the exit), one child at a
// time, OPS per bench iteration: divide the average by OPS for the time per
// child. aio on both cores, beside Deno's own `Deno.Command(...).output()`
// (the floor: the same spawn, pipe and wait with no loop in between) as the
// group's baseline. CPython's asyncio on the same workload is
// `p = await asyncio.create_subprocess_exec("true", stdout=PIPE)` then
// `await p.communicate()`, in a loop inside one `asyncio.run()`.
//
//   deno bench -A bench/subprocess.bench.ts
import { type Coroutine, run } from "../mod.ts";
import type { CoreKind } from "../src/scheduler/types.ts";
import { createSubprocessExec, PIPE } from "../src/subprocess.ts";
import { QUICK } from "./_util.ts";

const OPS = QUICK ? 5 : 50;
const ITERATIONS = QUICK ? { n: 1, warmup: 0 } : { n: 20, warmup: 3 };
const group = `spawn + communicate of \`true\` (stdout piped) x ${OPS}`;

function* spawnAll(n: number): Coroutine<void> {
  for (let i = 0; i < n; i++) {
    const proc = yield* createSubprocessExec("true", [], { stdout: PIPE });
    const [out] = yield* proc.communicate();
    if (proc.returncode !== 0 || out === null || out.length !== 0) {
      throw new Error(`\`true\` exited ${proc.returncode} with ${out?.length} bytes`);
    }
  }
}

for (const core of ["wasm", "ts"] as CoreKind[]) {
  Deno.bench({
    name: `aio ${core}`,
    group,
    ...ITERATIONS,
    fn: async () => {
      await run(spawnAll(OPS), { core });
    },
  });
}

Deno.bench({
  name: "Deno.Command output() (floor)",
  group,
  baseline: true,
  ...ITERATIONS,
  fn: async () => {
    for (let i = 0; i < OPS; i++) {
      const out = await new Deno.Command("true", { stdout: "piped", stderr: "inherit" }).output();
      if (out.code !== 0) throw new Error(`\`true\` exited ${out.code}`);
    }
  },
});
