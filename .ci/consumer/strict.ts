// Strict TypeScript against the declarations the package ships, naming the types a user must name.
//
// check.sh compiles it twice: with lib ES2022 alone and no @types at all (tsconfig.json: no
// ESNext.Disposable, no @types/node, so nothing of Node's may leak into the shipped .d.ts), and
// with ESNext.Disposable (tsconfig.disposable.json), where the package's own declaration of
// Symbol.dispose must merge with TypeScript's. The first build is also run: `using` must free.

import { CodeHeap, CodeHeapError, type Arch, type CodeHeapApi, type CodeHeapOptions, type FunctionBody, type Handle, type HandleApi, type NodeInfo } from 'codeheap';
import { isNativeAvailable, nativeMemory, type NativeAvailability } from 'codeheap/native';
import { loadObject, type LoadedObject, type LoadOptions } from 'codeheap/elf';

function check(condition: boolean, what: string): asserts condition {
  if (!condition) throw new Error(`consumer (strict TypeScript): ${what}`);
}

const arch: Arch = 'x86_64';
// inc(x) = x + 1: 8D 47 01 lea eax, [rdi+1]; C3 ret
const inc: FunctionBody = { code: Uint8Array.from([0x8d, 0x47, 0x01, 0xc3]) };

const compiled: string[] = [];
/** The heap's compile callback: it sees the heap as CodeHeapApi, and may read it. */
function compile(name: string, heap: CodeHeapApi): FunctionBody {
  const info: NodeInfo | undefined = heap.node(name);
  check(info?.state === 'lazy', `${name} is lazy while it compiles`);
  compiled.push(name);
  return inc;
}

const native: NativeAvailability = isNativeAvailable();
const options: CodeHeapOptions = { arch, codeSize: 1 << 16, dataSize: 1 << 16, compile };
if (native.available) options.memory = nativeMemory();
const heap = new CodeHeap(options);

{
  using lazy = heap.declare('inc');
  const handle: HandleApi = lazy;
  if (native.available) {
    const result: bigint = heap.call(lazy, 41); // the trampoline compiles inc, then it runs
    check(result === 42n, `inc(41) returned ${result}`);
  } else {
    heap.materialize(lazy);
  }
  check(compiled.length === 1 && compiled[0] === 'inc', `compiled ${compiled.join(', ')}`);
  check(handle.name === 'inc' && !handle.freed && heap.node(lazy)?.state === 'live', 'inc is live once compiled');
}
check(heap.stats().nodes.total === 0, 'the `using` block freed the only handle, and inc with it');

const freed: Handle = heap.define({ functions: [{ name: 'inc', ...inc }] }).get('inc');
freed.free();
try {
  void freed.address;
  check(false, 'a freed handle has no address');
} catch (error) {
  check(error instanceof CodeHeapError && error.code === 'USE_AFTER_FREE', `a freed handle throws USE_AFTER_FREE, not ${String(error)}`);
}
heap.verify();

// codeheap/elf: the loader's types, and its refusal of bytes that are no object.
const loadOptions: LoadOptions = { name: 'none', lazy: false, constructors: 'defer' };
try {
  const lib: LoadedObject = loadObject(heap, new Uint8Array(16), loadOptions);
  check(false, `16 zero bytes loaded as ${lib.name}`);
} catch (error) {
  check(error instanceof CodeHeapError && error.code === 'INVALID_OBJECT', `16 zero bytes are INVALID_OBJECT, not ${String(error)}`);
}
