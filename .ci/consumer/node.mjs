// Plain Node ESM, as a user of the installed package writes it: every entry point, a definition,
// and one call where the CPU can run the code (and one in an executor process).
//
// On native memory, inc and the README's abs (a tail call into the C library's labs) are called.
// On simulated memory inc is only defined and read back with node(), and heap.call is refused.
// CODEHEAP_EXPECT_NATIVE=1 (set by check.sh when the repository's own addon was built) makes
// native memory required: the tarball's install script must have built it here too.

import assert from 'node:assert/strict';
import { CodeHeap, CodeHeapError } from 'codeheap';
import { isNativeAvailable, nativeMemory } from 'codeheap/native';
import { loadObject } from 'codeheap/elf';
import { spawnExecutor } from 'codeheap/executor';

const native = isNativeAvailable();
if (process.env.CODEHEAP_EXPECT_NATIVE === '1') {
  assert.ok(native.available, `native memory was built for the repository but not here: ${native.reason}`);
}
const heap = new CodeHeap({
  arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 16, ...(native.available ? { memory: nativeMemory() } : {}),
});

// inc(x) = x + 1: 8D 47 01 lea eax, [rdi+1]; C3 ret
const unit = heap.define({ functions: [{ name: 'inc', code: Uint8Array.from([0x8d, 0x47, 0x01, 0xc3]) }] });
const inc = unit.get('inc');
assert.equal(heap.node('inc')?.state, 'live');
assert.deepEqual([...heap.read(inc.address, 4)], [0x8d, 0x47, 0x01, 0xc3]);

if (native.available) {
  assert.equal(heap.call(inc, 41), 42n);
  // abs(x) = labs(x): E9 rel32 jmp labs, the process's labs found by dlsym
  const abs = heap.define({ functions: [{ name: 'abs', code: Uint8Array.from([0xe9, 0, 0, 0, 0]),
    relocations: [{ offset: 1, type: 'R_X86_64_PLT32', symbol: 'labs', addend: -4 }] }] }).get('abs');
  assert.equal(heap.call(abs, -42), 42n);
  abs.free();
  // codeheap/executor: the same inc, run in an executor process (its program shipped and built too).
  const executor = spawnExecutor();
  const remote = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 16, memory: executor });
  assert.equal(remote.call(remote.define({ functions: [{ name: 'inc', code: Uint8Array.from([0x8d, 0x47, 0x01, 0xc3]) }] }).get('inc'), 41), 42n);
  remote.close();
  assert.equal(executor.alive, false);
} else {
  assert.throws(() => heap.call(inc, 41), (error) => error instanceof CodeHeapError && error.code === 'NOT_EXECUTABLE');
}
// codeheap/elf is there: bytes that are no object are refused with its code, the heap unchanged.
assert.throws(() => loadObject(heap, new Uint8Array(16)), (error) => error instanceof CodeHeapError && error.code === 'INVALID_OBJECT');
unit.free();
assert.equal(heap.stats().nodes.total, 0);
heap.verify();
console.log(`consumer (plain ESM): codeheap, codeheap/native, codeheap/elf and codeheap/executor imported; ${native.available
  ? 'inc(41) = 42 and abs(-42) = 42 ran on native memory, and inc(41) = 42 in an executor'
  : `inc defined on simulated memory (${native.reason})`}`);
