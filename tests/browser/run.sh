#!/usr/bin/env bash
# The browser smoke test: bundles tests/browser/smoke.ts with esbuild, as an
# ES module and as a classic (IIFE) script, inlines both into one page, and
# bundles aio's worker entry (src/executor/worker.ts) as aio-worker.js, the
# way a user points a bundler at it. A local server (serve.mjs, on Node)
# serves them twice: cross-origin isolated (COOP/COEP headers: shared memory)
# and plain (no SharedArrayBuffer: the executor's message path). Headless
# Chromium loads each page; every bundle reports a line to the server. Passes
# when all four (2 bundles x 2 pages) report ok. esbuild, Chromium and Node
# come from PATH, or from ESBUILD, CHROMIUM and NODE:
# `ESBUILD=node_modules/.bin/esbuild tests/browser/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
esbuild=${ESBUILD:-esbuild}
chromium=${CHROMIUM:-chromium}
node=${NODE:-node}
dir=$(mktemp -d)
pids=()
# Each browser runs in a process group of its own (setsid): Debian's
# chromium is a wrapper script, and the browser's processes outlive it.
stop() {
  kill -- "-$1" 2>/dev/null || kill "$1" 2>/dev/null || true
  for _ in $(seq 50); do
    kill -0 -- "-$1" 2>/dev/null || return 0
    sleep 0.1
  done
}
cleanup() {
  for p in "${pids[@]}"; do stop "$p"; done
  if [ -n "${AIO_SMOKE_KEEP:-}" ]; then echo "kept $dir" >&2; else rm -rf "$dir" || true; fi
}
trap cleanup EXIT

# mod.ts's graph includes the Redis executor (src/redis/), which imports
# node:buffer and node:v8 at module level and ioredis when it connects. A
# browser bundle needs what a user's bundler config would say: ioredis left
# out (as `ioredis` or `npm:ioredis`), the two Node modules replaced by empty stand-ins (the Redis executor
# does not work in a browser; everything else does).
printf 'export const Buffer = undefined;\n' >"$dir/node_buffer.js"
printf 'export const serialize = undefined, deserialize = undefined;\n' >"$dir/node_v8.js"
for format in esm iife; do
  "$esbuild" tests/browser/smoke.ts --bundle --log-level=error --platform=browser \
    --target=es2022 --format="$format" --define:SMOKE_FORMAT="\"$format\"" \
    --external:ioredis --external:'npm:*' --alias:node:buffer="$dir/node_buffer.js" --alias:node:v8="$dir/node_v8.js" \
    --outfile="$dir/$format.js"
done
# The worker entry, as its own ES module: what workerUrl points at.
"$esbuild" src/executor/worker.ts --bundle --log-level=error --platform=browser \
  --target=es2022 --format=esm --outfile="$dir/aio-worker.js"
if grep -qi '</script' "$dir"/esm.js "$dir"/iife.js; then
  echo "a bundle contains '</script': it cannot be inlined into the page" >&2
  exit 1
fi
{
  printf '<!doctype html>\n<html><head><meta charset="utf-8"><title>aio smoke</title></head>\n'
  printf '<body><pre>\n<script>\n'
  cat "$dir/iife.js"
  printf '</script>\n<script type="module">\n'
  cat "$dir/esm.js"
  printf '</script>\n</pre></body></html>\n'
} >"$dir/smoke.html"

setsid "$node" tests/browser/serve.mjs "$dir" >"$dir/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  grep -q '^listening ' "$dir/server.log" && break
  sleep 0.1
done
port=$(sed -n 's/^listening //p' "$dir/server.log")
[ -n "$port" ] || { echo "the smoke test's server did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }

# Each page until both of its bundles have reported (or 60 s).
for page in isolated plain; do
  setsid "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$dir/profile-$page" --enable-logging=stderr \
    "http://127.0.0.1:$port/$page/smoke.html" >/dev/null 2>"$dir/chromium-$page.log" &
  chrome=$!
  pids+=("$chrome")
  for _ in $(seq 600); do
    [ "$(grep -c -E "^AIO-SMOKE (esm|iife) $page " "$dir/server.log" || true)" -ge 2 ] && break
    kill -0 "$chrome" 2>/dev/null || break
    sleep 0.1
  done
  stop "$chrome"
  wait "$chrome" 2>/dev/null || true
done

lines=$(grep -E '^AIO-SMOKE ' "$dir/server.log" || true)
printf '%s\n' "${lines:-no AIO-SMOKE line reached the server}"
ok=$(grep -c -E '^AIO-SMOKE (esm|iife) (isolated|plain) ok ' <<<"$lines" || true)
echo "browser smoke test: ${ok} of 4 bundles ok"
# A bundle that failed to load reports nothing: the page's console says why.
[ "$ok" = 4 ] || grep -h -E 'Uncaught|CONSOLE' "$dir"/chromium-*.log | head -n 10 >&2 || true
[ "$ok" = 4 ]
