// Scratch: build N pairs, optionally collect; for callgrind instruction counts.
const [dist, nArg, collect] = process.argv.slice(2);
const { CodeHeap } = await import(`${dist}/index.js`);
const N = Number(nArg);
const call = (t) => ({ offset: 1, type: 'R_X86_64_PLT32', symbol: t, addend: -4 });
for (let warm = 0; warm < 20; warm++) {
  const h = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 20, dataSize: 65536, cycleThreshold: Infinity });
  const fns = []; for (let i = 0; i < 2000; i++) fns.push({ name: `w${i}`, code: Uint8Array.from([0xe8, 0, 0, 0, 0, 0xc3]), relocations: [call(`w${i ^ 1}`)] });
  h.define({ functions: fns }).free(); h.collectCycles();
}
const heap = new CodeHeap({ arch: 'x86_64', codeSize: 64 << 20, dataSize: 65536, cycleThreshold: Infinity });
for (let b = 0; b < N; b += 10000) {
  const fns = []; for (let i = b; i < b + 10000; i++) fns.push({ name: `f${i}`, code: Uint8Array.from([0xe8, 0, 0, 0, 0, 0xc3]), relocations: [call(`f${i ^ 1}`)] });
  heap.define({ functions: fns }).free();
}
if (collect === '1') heap.collectCycles();
