// The lifecycle of a code heap, as a JIT lives it: define, call through pointers, recompile,
// evict and recompile on demand, keep a running body alive with a pin, and let go.
//
// Run: npm start
//
// On Linux x86-64 with the native addon built, the heap lives in native memory and the CPU runs
// the code below: every result printed as `=> ...` was computed by the machine code itself, and
// the lazy recompile in step 4 happens because the code called a trampoline. Elsewhere the same
// heap runs on simulated memory, and the code is placed and patched but not run.
//
// The machine code is real x86-64; each relocation sits on the rel32 or imm64 field it patches.
// A rel32 at the end of an instruction takes addend -4 (S + A - P, P being the field itself).

import { CodeHeap, type Handle, type Relocation } from '../src/index.js';
import { isNativeAvailable, nativeMemory } from '../src/native/index.js';

const hex = (n: number): string => `0x${n.toString(16)}`;
const log = (line = ''): void => console.log(line);
const section = (title: string): void => log(`\n== ${title}`);

/** A direct call or tail jump: the rel32 field at `offset` targets the callee's current body. */
const call = (offset: number, symbol: string): Relocation =>
  ({ offset, type: 'R_X86_64_PLT32', symbol, addend: -4 });

// fib(n) = n < 2 ? n : fib(n - 1) + fib(n - 2)          35 bytes, two call sites to itself
const fibCode = Uint8Array.from([
  0x83, 0xff, 0x02, //              +0   cmp  edi, 2
  0x7c, 0x1b, //                    +3   jl   +0x20 (return n)
  0x53, 0x55, //                    +5   push rbx; push rbp
  0x89, 0xfb, //                    +7   mov  ebx, edi
  0x8d, 0x7f, 0xff, //              +9   lea  edi, [rdi - 1]
  0xe8, 0x00, 0x00, 0x00, 0x00, //  +c   call fib        R_X86_64_PLT32 fib at +0xd, addend -4
  0x89, 0xc5, //                    +11  mov  ebp, eax
  0x8d, 0x7b, 0xfe, //              +13  lea  edi, [rbx - 2]
  0xe8, 0x00, 0x00, 0x00, 0x00, //  +16  call fib        R_X86_64_PLT32 fib at +0x17, addend -4
  0x01, 0xe8, //                    +1b  add  eax, ebp
  0x5d, 0x5b, 0xc3, //              +1d  pop rbp; pop rbx; ret
  0x89, 0xf8, 0xc3, //              +20  mov eax, edi; ret
]);
const fibBody = { code: fibCode, relocations: [call(0x0d, 'fib'), call(0x17, 'fib')] };

// even(n) = n == 0 ? 1 : odd(n - 1);  odd(n) = n == 0 ? 0 : even(n - 1)      17 bytes each
const parity = (result: number, other: string) => ({
  code: Uint8Array.from([
    0x85, 0xff, //                    +0   test edi, edi
    0x74, 0x07, //                    +2   je   +0xb
    0xff, 0xcf, //                    +4   dec  edi
    0xe9, 0x00, 0x00, 0x00, 0x00, //  +6   jmp  other      R_X86_64_PLT32 at +7 (a tail call)
    0xb8, result, 0, 0, 0, //         +b   mov  eax, result
    0xc3, //                          +10  ret
  ]),
  relocations: [call(0x07, other)],
});

// main: mov edi, 10; jmp fib                                                 10 bytes
const mainCode = Uint8Array.from([0xbf, 0x0a, 0x00, 0x00, 0x00, 0xe9, 0x00, 0x00, 0x00, 0x00]);

// The observer hears every allocation, backpatch and reclamation, after the call is done.
const pad = (name: string): string => name.padEnd(14);
const native = isNativeAvailable();
const heap = new CodeHeap({
  arch: 'x86_64',
  codeSize: 64 * 1024,
  dataSize: 16 * 1024,
  ...(native.available ? { memory: nativeMemory() } : {}),
  observer: {
    alloc: (e) => log(`   + alloc  ${e.kind.padEnd(10)} ${pad(e.name)} ${hex(e.address)}  ${e.size} bytes`),
    patch: (e) => log(`   ~ patch  ${e.sites} site(s) of ${e.symbol}: ${hex(e.from)} -> ${hex(e.to)}`),
    free: (e) => log(`   - free   ${e.kind.padEnd(10)} ${pad(e.name)} ${hex(e.address)}  ${e.size} bytes, by ${e.by}`),
  },
});

const read = (address: number, length: number): string =>
  [...heap.read(address, length)].map((b) => b.toString(16).padStart(2, '0')).join(' ');
const u64 = (address: number): number => Number(new DataView(heap.read(address, 8).buffer).getBigUint64(0, true));
/** The destination of the E8/E9 rel32 instruction at `address`. */
const branchTarget = (address: number): number =>
  address + 5 + new DataView(heap.read(address + 1, 4).buffer).getInt32(0, true);
/** The pointer slot a stub `FF 25 disp32` jumps through. */
const stubSlot = (address: number): number =>
  address + 6 + new DataView(heap.read(address + 2, 4).buffer).getInt32(0, true);
const describe = (h: Handle): string => {
  const info = heap.node(h)!;
  return `${pad(info.name)} ${info.state} at ${hex(info.address)}, rc ${info.rc}` +
    (info.referrers.length > 0 ? ` (referrers: ${info.referrers.join(', ')})` : '');
};

/** Runs h(args) on the CPU when the memory is executable; says so when it is not. */
const run = (h: Handle, ...args: number[]): string =>
  native.available ? `=> ${h.name}(${args.join(', ')}) = ${heap.call(h, ...args)}` : `(${h.name}(${args.join(', ')}) not run: simulated memory)`;

log(native.available
  ? `codeheap demo: x86-64 on native memory: the CPU runs this code (${heap.region.description})`
  : `codeheap demo: x86-64 on simulated memory, code placed but not run (native memory: ${native.reason})`);
log(`  code arena ${hex(heap.stats().code.address)} (64 KiB), data arena ${hex(heap.stats().data.address)} (16 KiB)`);

section('1. define one unit: fib (self-recursive), even/odd (mutual), main, vtable = { &fib, &even }');
let compiles = 0;
const unit = heap.define({
  functions: [
    { name: 'fib', ...fibBody },
    { name: 'even', ...parity(1, 'odd') },
    { name: 'odd', ...parity(0, 'even'), compile: () => { compiles++; return parity(0, 'even'); } },
    { name: 'main', code: mainCode, relocations: [call(6, 'fib')] },
  ],
  // Function pointers in data are R_X86_64_64 sites: they hold the function's stub, not its body.
  globals: [{ name: 'vtable', size: 16, relocations: [
    { offset: 0, type: 'R_X86_64_64', symbol: 'fib' },
    { offset: 8, type: 'R_X86_64_64', symbol: 'even' },
  ] }],
});
const [fib, even, odd, main, vtable] = ['fib', 'even', 'odd', 'main', 'vtable'].map((n) => unit.get(n)) as
  [Handle, Handle, Handle, Handle, Handle];
for (const h of [fib, even, odd, main]) log(`  ${describe(h)}`);
log(`  main+5: ${read(main.address + 5, 5)}  jmp ${hex(branchTarget(main.address + 5))} (fib)`);
log(`  ${run(fib, 20)}   ${run(main)}   ${run(even, 7)}`);

section('2. take a function pointer: heap.pointer(fib)');
const fibPointer = heap.pointer(fib);
const stub = heap.node(fib)!.stub!;
log(`  &fib = ${hex(fibPointer.address)} = ${stub.name}: ${read(stub.address, 8)}  jmp [rip+disp32] -> fib`);
log(`  vtable[0] = ${hex(u64(vtable.address))}, vtable[1] = ${hex(u64(vtable.address + 8))} (stub(even))`);

section('3. recompile fib: heap.redefine(fib, newBody)');
const before = fib.address;
heap.redefine(fib, fibBody);
log(`  fib body ${hex(before)} -> ${hex(fib.address)}; main+5 now jmp ${hex(branchTarget(main.address + 5))}`);
log(`  &fib still ${hex(fibPointer.address)}, vtable[0] still ${hex(u64(vtable.address))}; stub slot -> ${hex(u64(stubSlot(fibPointer.address)))}`);
log('  (the 2 sites: main\'s jmp and the stub\'s slot; the old body\'s calls to itself go with it)');
log(`  ${run(main)}   ${run(fib, 25)}`);

section(native.available
  ? '4. evict odd, then call even(7): its jump to odd enters the trampoline, which compiles odd'
  : '4. evict odd, then materialize it (what the first call through its trampoline does)');
heap.evict(odd);
log(`  ${describe(odd)}`);
log(`  even+6: jmp ${hex(branchTarget(even.address + 6))} = odd's reentry trampoline: ${read(odd.address, 8)}`);
if (native.available) log(`  ${run(even, 7)}   (trampoline -> resolver -> compile -> backpatch -> odd runs)`);
else heap.materialize(odd); // what the trampoline's resolver does on the first call
log(`  the compile callback ran ${compiles} time; odd is live again at ${hex(odd.address)}, even+6 jmp ${hex(branchTarget(even.address + 6))}`);

section('5. pin fib (code may be running in it), then recompile it again');
const pin = heap.pin(fib);
heap.redefine(fib, fibBody);
log(`  retired bodies: ${heap.stats().nodes.retired} (the pinned old body stays, and stays patched)`);
pin.release();
log(`  retired bodies after pin.release(): ${heap.stats().nodes.retired}`);

section('6. stats()');
const s = heap.stats();
log(`  nodes       ${s.nodes.functions} functions, ${s.nodes.globals} global, ${s.nodes.stubs} stubs (${s.nodes.live} live, ${s.nodes.lazy} lazy), ${s.sites} sites`);
log(`  bytes       ${s.usedBytes} used, ${s.freeBytes} free, largest free block ${s.largestFreeBlock}`);
log(`  patches     ${s.patches} sites rewritten by backpatching`);
log(`  metadata    ${s.metadata.bytes} bytes: ${s.metadata.perNode.toFixed(1)} per node, ${s.metadata.perSite.toFixed(1)} per site`);
log('              (in a heap this small free-block records weigh on few nodes; npm run bench measures 100,000 functions)');

section('7. unload: the last handle of a unit reclaims what only the unit held, cycles included');
// A handle of its own on fib (not the unit's): fib outlives the unit, held by it.
const fibHeld = heap.lookup('fib');
for (const h of [main, vtable, fibPointer, fib, even]) h.free();
log(`  ${heap.stats().nodes.total} nodes left while odd's handle keeps the unit open`);
odd.free(); // the unit's last handle: even <-> odd go now, in this call, with no collection
log(`  after the unit's last handle: ${heap.stats().nodes.total} nodes; ${heap.stats().collections} collections ran`);
for (const name of ['even', 'odd']) log(`    ${pad(name)} ${heap.node(name) === undefined ? 'reclaimed' : 'alive'}`);

section('8. an unannounced drop: a cycle the collector finds');
fibHeld.free(); // fib calls itself: its count stays above zero, and it becomes a candidate
const info = heap.node('fib')!;
log(`  fib: rc ${info.rc}, referenced by ${info.referrers.join(', ')} (its own calls): a garbage cycle`);
log('  heap.collectCycles(): trial deletion from the candidates');
const collected = heap.collectCycles();
log(`  freed ${collected.freed} nodes (${collected.bytes} bytes), visited ${collected.visited}, from ${collected.candidates} candidates`);
const end = heap.stats();
log(`  now ${end.nodes.total} nodes, ${end.usedBytes} bytes used (the resolver slot);` +
  ` reclaimed ${end.freedByRc.nodes} nodes by rc, ${end.freedByCycles.nodes} by cycles`);

heap.verify();
log('\nheap.verify(): passed (every site encodes its target, every count matches its edges)');
