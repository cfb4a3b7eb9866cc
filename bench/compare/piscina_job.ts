// piscina's job for W7 (pools.ts): piscina loads its task from a module file.
export default (x: number): number => x + 1;
