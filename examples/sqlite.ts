// Loads SQLite into a CodeHeap and runs SQL out of it: the amalgamation from better-sqlite3's
// package, compiled by gcc into a relocatable object, loaded with codeheap/elf, its C API bound
// with heap.bind, then unloaded with every byte given back. `npx tsx examples/sqlite.ts`
// (Linux x86-64 with gcc; the first run compiles SQLite, about 15-25 s, then it is cached).

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { CodeHeap } from '../src/index.js';
import { loadObject } from '../src/elf/index.js';
import { isNativeAvailable, nativeMemory } from '../src/native/index.js';

const native = isNativeAvailable();
if (!native.available) {
  console.log(`native memory is not available here (${native.reason}): SQLite needs a CPU to run on`);
  process.exit(0);
}
const source = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'deps', 'sqlite3', 'sqlite3.c');
const object = join('node_modules', '.cache', 'codeheap-example', 'sqlite3.o');
if (!existsSync(object)) {
  mkdirSync(dirname(object), { recursive: true });
  console.log('compiling SQLite with gcc (once)...');
  execFileSync('gcc', ['-c', '-O1', '-fPIC', '-ffunction-sections', '-fdata-sections', '-DSQLITE_THREADSAFE=0', '-DSQLITE_OMIT_LOAD_EXTENSION', source, '-o', object]);
}

const heap = new CodeHeap({ arch: 'x86_64', codeSize: 8 << 20, dataSize: 4 << 20, memory: nativeMemory() });
const started = performance.now();
const sqlite = loadObject(heap, readFileSync(object), { name: 'sqlite3' });
const { nodes, sites } = heap.stats();
console.log(`loaded in ${(performance.now() - started).toFixed(0)} ms: ${nodes.functions} functions, ${nodes.globals} globals, ${nodes.stubs} stubs, ${sites} relocation sites`);

const text = (s: string): Uint8Array => new TextEncoder().encode(`${s}\0`);
const out = new Uint8Array(8);
const pointerOut = (): bigint => new DataView(out.buffer).getBigUint64(0, true);
const open = heap.bind(sqlite.get('sqlite3_open'), { parameters: ['buffer', 'buffer'], result: 'i32' });
const exec = heap.bind(sqlite.get('sqlite3_exec'), { parameters: ['pointer', 'buffer', 'pointer', 'pointer', 'pointer'], result: 'i32' });
const prepare = heap.bind(sqlite.get('sqlite3_prepare_v2'), { parameters: ['pointer', 'buffer', 'i32', 'buffer', 'pointer'], result: 'i32' });
const step = heap.bind(sqlite.get('sqlite3_step'), { parameters: ['pointer'], result: 'i32' });
const int64 = heap.bind(sqlite.get('sqlite3_column_int64'), { parameters: ['pointer', 'i32'], result: 'i64' });
const double = heap.bind(sqlite.get('sqlite3_column_double'), { parameters: ['pointer', 'i32'], result: 'f64' });
const finalize = heap.bind(sqlite.get('sqlite3_finalize'), { parameters: ['pointer'], result: 'i32' });
const close = heap.bind(sqlite.get('sqlite3_close'), { parameters: ['pointer'], result: 'i32' });

open(text(':memory:'), out);
const db = pointerOut();
if (exec(db, text(`CREATE TABLE squares (n INTEGER, half REAL);
  WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 1000) INSERT INTO squares SELECT n * n, n * 0.5 FROM c;`), 0n, 0n, 0n) !== 0) throw new Error('sqlite3_exec failed');
prepare(db, text('SELECT count(*), sum(n), avg(half) FROM squares'), -1, out, 0n);
const stmt = pointerOut();
step(stmt);
console.log(`SELECT count(*), sum(n), avg(half): ${int64(stmt, 0)}, ${int64(stmt, 1)}, ${double(stmt, 2)}`);
finalize(stmt);
close(db);

sqlite.free();
heap.verify();
console.log(`unloaded: ${heap.stats().nodes.total} nodes, ${heap.stats().sites} sites left`);
heap.close();
