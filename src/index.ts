// codeheap: a reference-counted code heap for JIT compilers. The public entry points.

// The globals the declarations of [Symbol.dispose] need, for projects without ESNext.Disposable.
import './disposable.js';

export { CodeHeap } from './code-heap.js';
export type { Phase } from './phases.js';
export { Handle, Pin } from './handle.js';
export { Unit } from './unit.js';
export { CodeHeapError, ErrorCodes, type ErrorCode } from './errors.js';
export { arrayBufferMemory, type ArenaLayout, type Memory, type Region, type RegisterValue, type ResolveLazy } from './heap/region.js';
export { DEFAULT_CODE_ADDRESS } from './options.js';
export type {
  AllocEvent, Arch, ArenaStats, CodeHeapApi, CodeHeapOptions, CollectionBudget, CollectionResult, CollectOptions, CompileCallback, FreeEvent,
  FunctionBody, FunctionDefinition, GlobalDefinition, HandleApi, HeapStats, LineTable, NodeInfo, NodeKind, NodeState, Observer, RetainerPath, UnwindDefinition,
  ObserverEvent, PatchEvent, Relocation, RelocationType, UnitDefinition,
} from './types.js';
export type {
  BoundFunction, NativeIntegerType, NativeParameterType, NativeParameterValue, NativeResultType, NativeResultValue, NativeSignature,
} from './types.js';
