// codeheap: a reference-counted code heap for JIT compilers. The public entry points.

import './disposable.js';
import type { CodeHeapOptions } from './types.js';

export { CodeHeap, type Phase } from './code-heap.js';
export { Handle, Pin } from './handle.js';
export { Unit } from './unit.js';
export { CodeHeapError, ErrorCodes, type ErrorCode } from './errors.js';
export { arrayBufferMemory, type ArenaLayout, type Memory, type Region, type ResolveLazy } from './heap/region.js';
export { DEFAULT_CODE_ADDRESS } from './options.js';
export type {
  ArenaStats, CodeHeapApi, CodeHeapOptions, CollectionResult, CompileCallback, FunctionBody, FunctionDefinition,
  GlobalDefinition, HandleApi, HeapStats, NodeInfo, NodeKind, NodeState, Observer, Relocation,
  RelocationType, UnitDefinition,
} from './types.js';

/** The architectures a heap can be made for (CodeHeapOptions.arch). */
export type Arch = CodeHeapOptions['arch'];
