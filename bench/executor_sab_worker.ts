// Echo worker for the transport measurement in bench/executor.bench.ts: the
// first message is a SharedArrayBuffer; after it the worker answers through
// the buffer (Atomics.wait / notify) instead of postMessage, until it reads -1.
// Words: [0] request counter, [1] value in, [2] reply counter, [3] value out.
const scope = self as unknown as {
  onmessage: (e: MessageEvent) => void;
  postMessage(m: unknown): void;
};
scope.onmessage = (e) => {
  if (!(e.data instanceof SharedArrayBuffer)) {
    scope.postMessage(e.data + 1);
    return;
  }
  const a = new Int32Array(e.data);
  let seen = 0;
  scope.postMessage("ready");
  for (;;) {
    Atomics.wait(a, 0, seen);
    seen = Atomics.load(a, 0);
    if (seen < 0) return;
    a[3] = a[1] + 1;
    Atomics.store(a, 2, seen);
    Atomics.notify(a, 2);
  }
};
