// codeheap: a reference-counted code heap for JIT compilers. The public entry points.

export { CodeHeap, type Phase } from './code-heap.js';
export { Handle, Pin } from './handle.js';
export { Unit } from './unit.js';
export { CodeHeapError, ErrorCodes, type ErrorCode } from './errors.js';
export { arrayBufferMemory, type ArenaLayout, type Memory, type Region } from './heap/region.js';
export { DEFAULT_CODE_ADDRESS } from './options.js';
export type {
  ArenaStats, CodeHeapOptions, CollectionResult, CompileCallback, FunctionBody, FunctionDefinition,
  GlobalDefinition, HandleApi, HeapStats, NodeInfo, NodeKind, NodeState, Observer, Relocation,
  RelocationType, UnitDefinition,
} from './types.js';
