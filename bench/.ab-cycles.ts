// Scratch A/B harness (not committed): the collector bench's method on one shape, many samples.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { functionNames, graphUnits, makeGraph, type Shape } from './shapes.js';
const [dist, shape, nArg, samplesArg] = process.argv.slice(2) as [string, Shape, string, string];
const { CodeHeap } = (await import(`${dist}/index.js`)) as typeof import('../src/index.js');
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const nodes = Number(nArg);
const heapFor = (n: number) => new CodeHeap({ arch: 'x86_64', codeSize: Math.max(1 << 20, 2 ** Math.ceil(Math.log2(2 * n * 32))), dataSize: 65536, cycleThreshold: Infinity });
const warm = graphUnits(makeGraph(shape, 1000), functionNames(1000, 'warm'), 10000);
for (let r = 0; r < 30; r++) { const h = heapFor(1000); for (const u of warm) h.define(u).free(); h.collectCycles(); }
const units = graphUnits(makeGraph(shape, nodes), functionNames(nodes, 'f'), 10000);
const ms: number[] = [];
for (let s = 0; s < Number(samplesArg); s++) {
  gc();
  const heap = heapFor(nodes);
  for (const u of units) heap.define(u).free();
  const t = performance.now();
  heap.collectCycles();
  ms.push(performance.now() - t);
}
ms.sort((a, b) => a - b);
console.log(`${dist.split('/')[2]} ${shape} ${nodes}: median ${(ms[ms.length >> 1]! * 1e6 / nodes).toFixed(1)} ns/node, min ${(ms[0]! * 1e6 / nodes).toFixed(1)}`);
