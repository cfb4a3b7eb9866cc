// A Node module hook for scripts/test_portable.ts on a Node that cannot
// parse `using` declarations (Node 22; Node 24 can), which some test files
// use: a .ts module outside src/ that declares with `using` goes through
// esbuild's transform, which strips its types and lowers `using` to
// try/finally. No keepNames: names survive without it (nothing is minified),
// and its __name() helper inside a job's function would leave the job no
// longer self-contained for the worker. Every other module, aio's own (src/)
// first, is left to Node's type stripping, so it is tested as a Node user
// loads it. esbuild comes from npm; its path is `data.esbuild`.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";

let esbuild;
let src = "";

export function initialize(data) {
  esbuild = createRequire(import.meta.url)(data.esbuild);
  src = data.src;
}

export async function load(url, context, nextLoad) {
  if (!url.endsWith(".ts") || !url.startsWith("file:") || url.startsWith(src)) {
    return nextLoad(url, context);
  }
  const source = await readFile(new URL(url), "utf8");
  if (!/\busing\s+[\w$]+\s*=/.test(source)) return nextLoad(url, context);
  const out = await esbuild.transform(source, {
    loader: "ts",
    format: "esm",
    target: "node22",
    sourcefile: url,
    sourcemap: "inline",
  });
  return { format: "module", source: out.code, shortCircuit: true };
}
