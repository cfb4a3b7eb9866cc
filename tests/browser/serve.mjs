// The browser smoke test's web server (tests/browser/run.sh): serves one
// directory on 127.0.0.1 at a free port, twice over: under /isolated/ with
// the headers that make a page cross-origin isolated (COOP same-origin, COEP
// require-corp: SharedArrayBuffer exists there), under /plain/ without them.
// A page POSTs its result lines to /report; each is printed on stdout, as is
// "listening <port>" first. Runs on Node (node tests/browser/serve.mjs DIR).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { extname, join, normalize } from "node:path";
import process from "node:process";

const root = process.argv[2];
const TYPES = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8" };
const ISOLATION = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
  "Cross-Origin-Resource-Policy": "same-origin",
};

const server = createServer((req, res) => {
  const path = new URL(req.url, "http://127.0.0.1").pathname;
  if (req.method === "POST" && path === "/report") {
    let body = "";
    req.setEncoding("utf8");
    req.on("data", (chunk) => body += chunk);
    req.on("end", () => {
      console.log(body.replace(/\n/g, " "));
      res.writeHead(204).end();
    });
    return;
  }
  const m = /^\/(isolated|plain)\/([\w.-]+)$/.exec(path);
  if (m === null) return void res.writeHead(404).end("not found");
  const headers = m[1] === "isolated" ? { ...ISOLATION } : {};
  readFile(join(root, normalize(m[2]))).then(
    (data) => {
      res.writeHead(200, {
        ...headers,
        "Content-Type": TYPES[extname(m[2])] ?? "application/octet-stream",
        "Cache-Control": "no-store",
      });
      res.end(data);
    },
    () => res.writeHead(404, headers).end("not found"),
  );
});
server.listen(0, "127.0.0.1", () => console.log(`listening ${server.address().port}`));
