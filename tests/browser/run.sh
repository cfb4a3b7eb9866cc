#!/usr/bin/env bash
# The browser smoke test: bundles tests/browser/smoke.ts with esbuild, as an
# ES module and as a classic (IIFE) script, inlines both into one page (a
# file: URL, no server) and loads it in headless Chromium; passes when both
# report ok. esbuild and Chromium come from PATH, or from ESBUILD and
# CHROMIUM: `ESBUILD=node_modules/.bin/esbuild tests/browser/run.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."
esbuild=${ESBUILD:-esbuild}
chromium=${CHROMIUM:-chromium}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# mod.ts's graph includes the Redis executor (src/redis/), which imports
# node:buffer and node:v8 at module level and ioredis when it connects. A
# browser bundle needs what a user's bundler config would say: ioredis left
# out, the two Node modules replaced by empty stand-ins (the Redis executor
# does not work in a browser; everything else does).
printf 'export const Buffer = undefined;\n' >"$dir/node_buffer.js"
printf 'export const serialize = undefined, deserialize = undefined;\n' >"$dir/node_v8.js"
for format in esm iife; do
  "$esbuild" tests/browser/smoke.ts --bundle --log-level=error --platform=browser \
    --target=es2022 --format="$format" --define:SMOKE_FORMAT="\"$format\"" \
    --external:ioredis --alias:node:buffer="$dir/node_buffer.js" --alias:node:v8="$dir/node_v8.js" \
    --outfile="$dir/$format.js"
done
if grep -qi '</script' "$dir"/*.js; then
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

# Virtual time: Chromium runs the page's timers without waiting for them and
# dumps the DOM once nothing is left to do (or 60 virtual seconds passed).
timeout 120 "$chromium" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$dir/profile" --virtual-time-budget=60000 --enable-logging=stderr --dump-dom \
  "file://$dir/smoke.html" 2>"$dir/chromium.log" >"$dir/dom.html" || {
  echo "chromium failed:" >&2
  tail -n 20 "$dir/chromium.log" >&2
  exit 1
}
# The page's own lines (the script text in the DOM does not match these).
lines=$(grep -E -A8 '^AIO-SMOKE (esm|iife) ' "$dir/dom.html" | grep -v '^</\?\(script\|body\)' || true)
printf '%s\n' "${lines:-no AIO-SMOKE line in the page}"
ok=$(grep -c -E '^AIO-SMOKE (esm|iife) ok ' <<<"$lines" || true)
echo "browser smoke test: ${ok} of 2 bundles ok"
# A bundle that failed to load reports nothing: the page's console says why.
[ "$ok" = 2 ] || grep -E 'Uncaught|CONSOLE' "$dir/chromium.log" | head -n 10 >&2 || true
[ "$ok" = 2 ]
