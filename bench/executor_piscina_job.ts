// piscina's jobs for bench/executor.bench.ts: piscina loads its task functions
// from a module file, by export name.
export function inc(x: number): number {
  return x + 1;
}

export function piPart([from, to, steps]: [number, number, number]): number {
  const h = 1 / steps;
  let s = 0;
  for (let i = from; i < to; i++) {
    const x = (i + 0.5) * h;
    s += 4 / (1 + x * x);
  }
  return s * h;
}
