// A child process for test/native/debugger.test.ts, run under gdb: jit_outer calls jit_inner,
// both with frame pointers, on native memory that tells gdb of its code (profile 'gdb').

import { CodeHeap } from '../../src/index.js';
import { nativeMemory } from '../../src/native/index.js';

const heap = new CodeHeap({ arch: 'x86_64', codeSize: 1 << 16, dataSize: 1 << 12, memory: nativeMemory({ profile: 'gdb' }) });
const unit = heap.define({
  functions: [
    // push rbp; mov rbp, rsp; lea rax, [rdi+1]; pop rbp; ret
    { name: 'jit_inner', code: Uint8Array.from([0x55, 0x48, 0x89, 0xe5, 0x48, 0x8d, 0x47, 0x01, 0x5d, 0xc3]) },
    {
      // push rbp; mov rbp, rsp; call jit_inner; add rax, rax; pop rbp; ret
      name: 'jit_outer',
      code: Uint8Array.from([0x55, 0x48, 0x89, 0xe5, 0xe8, 0, 0, 0, 0, 0x48, 0x01, 0xc0, 0x5d, 0xc3]),
      relocations: [{ offset: 5, type: 'R_X86_64_PLT32', symbol: 'jit_inner', addend: -4 }],
    },
  ],
});
const result = heap.call(unit.get('jit_outer'), 20);
process.stdout.write(`result ${result}\n`);
// Unloaded: gdb must forget both. Then a function of its own, where the test stops again to ask.
unit.free();
const after = heap.define({ functions: [{ name: 'jit_after', code: Uint8Array.from([0x55, 0x48, 0x89, 0xe5, 0x31, 0xc0, 0x5d, 0xc3]) }] });
heap.call(after.get('jit_after'));
heap.close();
