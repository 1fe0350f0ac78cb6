// The public shapes of the CodeHeap API: definitions a JIT hands in, and the reports it gets back.
//
// Addresses are plain numbers (safe integers): target addresses of x86-64 user space fit in 47
// bits, and numbers keep every hot path free of BigInt.

import type { Region, Memory } from './heap/region.js';

/** The ELF relocation types codeheap encodes (System V x86-64 psABI, table 4.10). */
export type RelocationType =
  | 'R_X86_64_64'
  | 'R_X86_64_PC32'
  | 'R_X86_64_PLT32'
  | 'R_X86_64_32'
  | 'R_X86_64_32S'
  | 'R_X86_64_PC64';

/** One place in a node's bytes that refers to a symbol: a counted edge of the heap. */
export interface Relocation {
  /** Byte offset of the field inside the node's code or data. */
  offset: number;
  type: RelocationType;
  symbol: string;
  /** A in S + A (- P); defaults to 0. Compilers emit -4 for a rel32 at the end of an instruction. */
  addend?: number;
  /**
   * How a reference to a function is classified. 'body': the current body's address (backpatched
   * when the body moves). 'stub': the function's canonical stub (a value that never changes).
   * Default: 'body' for R_X86_64_PLT32, 'stub' for every other type. Ignored for globals.
   */
  via?: 'body' | 'stub';
  /**
   * The target lies outside the heap at this address, already resolved by the caller (an object
   * loader resolving a symbol its own way): `symbol` then only names it, in messages and for the
   * stub a far call goes through. Default: resolve `symbol` (the unit, the heap, resolveExternal).
   */
  address?: number;
}

/** What a compile callback returns, and what redefine takes. */
export interface FunctionBody {
  code: Uint8Array;
  relocations?: readonly Relocation[];
  /** Power of two up to 4096; default 16. */
  align?: number;
  /**
   * The body's unwind table, for the process's unwinder (backtrace(), C++ exceptions) on native
   * memory: one CIE ("zR", "zPR", "zLR" or "zPLR"; FDE pointers pcrel sdata4 or udata4) and its
   * FDEs, each FDE's pc_begin holding the offset in the body where its range starts; with a
   * personality routine or LSDAs, `{ table, personality, lsda }` names what they point at.
   * Registered when the body is placed, taken back when its block is freed (README, Debugging and
   * profiling).
   */
  unwind?: Uint8Array | UnwindDefinition;
  /**
   * Which source line each stretch of the code comes from, for a debugger: native memory with the
   * 'gdb' profile hands it to gdb with the body, so frames and breakpoints name `file:line`. The
   * object loader gives it for objects compiled with -g.
   */
  lines?: LineTable;
}

/**
 * A body's source positions: `rows` holds (offset in the body, index in `files`, line) triples,
 * offsets strictly ascending and below the code's length; a row holds until the next one (the
 * last to the end of the code). Line 0: no source line (code the compiler made up).
 */
export interface LineTable {
  files: readonly string[];
  rows: Uint32Array | readonly number[];
}

/**
 * An unwind table whose CIE has a personality routine ('P') or LSDAs ('L'): where they are, by a
 * symbol and an offset from it: `personality` the slot holding the routine's address (gcc's
 * DW.ref.__gxx_personality_v0), `lsda[i]` the handler table of the i-th FDE (null: none). The
 * pointer fields in the table are ignored; the names must be there when the body is placed, and
 * stay while it is.
 */
export interface UnwindDefinition {
  table: Uint8Array;
  personality?: { symbol: string; addend?: number };
  lsda?: readonly ({ symbol: string; addend?: number } | null)[];
}

/** Compiles a lazy function on first use; returns its body. `heap` may be called (not for `name`). */
export type CompileCallback = (name: string, heap: CodeHeapApi) => FunctionBody;

export interface FunctionDefinition extends FunctionBody {
  name: string;
  /** Recompiles this function after it is evicted; the heap's `compile` option otherwise. */
  compile?: CompileCallback;
}

export interface GlobalDefinition {
  name: string;
  /** Initial bytes; or give `size` for zero-filled storage. */
  data?: Uint8Array;
  size?: number;
  relocations?: readonly Relocation[];
  /** Power of two up to 4096; default 8. */
  align?: number;
  /**
   * Read-only where the code runs, once linked (an object's .rodata, .data.rel.ro): on native
   * memory its pages are mapped read-only for the CPU, so it is placed on whole pages of its own.
   * The heap still writes it (backpatching, heap.write). Default false.
   */
  readOnly?: boolean;
}

export interface UnitDefinition {
  functions?: readonly FunctionDefinition[];
  globals?: readonly GlobalDefinition[];
}

export type NodeKind = 'function' | 'global' | 'stub';
export type NodeState = 'live' | 'lazy';

/** A snapshot of one live node, for tools and tests. */
export interface NodeInfo {
  name: string;
  kind: NodeKind;
  state: NodeState;
  /** Body or block address; a lazy function's reentry trampoline. */
  address: number;
  /** Bytes of the body or block; 0 for a lazy function (it has no body). */
  size: number;
  rc: number;
  /** Names of the nodes this node's relocation sites target, each once, in site order. */
  references: string[];
  /** Names of the nodes whose sites target this node, each once. */
  referrers: string[];
  /** A function's canonical stub, while it exists. */
  stub?: { name: string; address: number };
}

export interface CollectionResult {
  /** Nodes reclaimed by this call, including nodes only the garbage held. */
  freed: number;
  /** Bytes of code and data returned to the arenas by this call. */
  bytes: number;
  /**
   * Nodes the collector traversed (every node trial deletion grayed), plus the leaves it freed
   * with the garbage. A leaf (a node with no references of its own) is never traversed: an edge
   * into one it does not free only counts it down, as a free by counting would.
   */
  visited: number;
  /** Candidates in the buffer when the collection started. */
  candidates: number;
  ms: number;
  /**
   * False when a budgeted call (collectCycles({ budget })) stopped with the collection still
   * running: the figures are then those of this slice, and a later call goes on with it.
   */
  done?: boolean;
  /** A sliced collection's last slice: the slices it took, and the longest of them, in ms. */
  slices?: number;
  longestSliceMs?: number;
  /**
   * When the longest slice began, on performance.now()'s clock: the event comes after the last
   * slice, so this is how an observer lines the longest one up with its own timeline (V8's
   * collections, a profile, its own frames).
   */
  longestSliceAt?: number;
}

/**
 * How much one collectCycles call may do: milliseconds (a number, or `ms`), or work units (`work`:
 * nodes and sites visited), whichever runs out first. The collection stops there and goes on at
 * the next such call, and the heap may be used in between: a node the program changes meanwhile
 * is kept (cycles/sliced.ts), and garbage found is no longer found by name.
 */
export type CollectionBudget = number | { readonly ms?: number; readonly work?: number };

export interface CollectOptions {
  budget?: CollectionBudget;
}

export interface ArenaStats {
  address: number;
  size: number;
  usedBytes: number;
  freeBytes: number;
  largestFreeBlock: number;
  usedBlocks: number;
  freeBlocks: number;
}

export interface HeapStats {
  nodes: {
    functions: number;
    globals: number;
    stubs: number;
    live: number;
    lazy: number;
    /** Old bodies kept alive by pins after a redefine or evict. */
    retired: number;
    total: number;
  };
  sites: number;
  code: ArenaStats;
  data: ArenaStats;
  usedBytes: number;
  freeBytes: number;
  largestFreeBlock: number;
  candidates: number;
  collections: number;
  freedByRc: { nodes: number; bytes: number };
  freedByCycles: { nodes: number; bytes: number };
  /** Relocation sites rewritten by backpatching (redefine, evict, materialize). */
  patches: number;
  metadata: {
    /** Bytes of bookkeeping tables (node, site and block records, candidate buffer), capacity included. */
    bytes: number;
    /** Per live node: its record plus the block records (used and free blocks) shared among live nodes. */
    perNode: number;
    /** Per live relocation site: its record, plus side-map addends shared among them. */
    perSite: number;
  };
  cycleThreshold: number;
}

/** A block given to a node (a body, trampoline, stub, global). */
export interface AllocEvent {
  name: string;
  kind: NodeKind | 'trampoline' | 'retired';
  address: number;
  size: number;
}

/** A block taken back, and why. */
export interface FreeEvent extends AllocEvent {
  by: 'rc' | 'cycles' | 'evict' | 'redefine' | 'materialize';
}

/** The sites of a function re-pointed when its body moved. */
export interface PatchEvent {
  symbol: string;
  sites: number;
  from: number;
  to: number;
}

/** Any event, tagged with the observer method it is delivered to. */
export type ObserverEvent =
  | ({ type: 'alloc' } & AllocEvent)
  | ({ type: 'free' } & FreeEvent)
  | ({ type: 'patch' } & PatchEvent)
  | ({ type: 'collect' } & CollectionResult);

/**
 * Events delivered after the call that caused them has finished mutating the heap: verify()
 * passes inside each, read-only calls work, mutating calls are REENTRANT_CALL. An observer cannot
 * change the outcome of the call: when one of its methods throws, the call's result stands, the
 * remaining events are still delivered, and the error goes to `error` (if that is missing or throws
 * too, it is thrown again from a microtask, as an uncaught exception).
 */
export interface Observer {
  alloc?(event: AllocEvent): void;
  free?(event: FreeEvent): void;
  patch?(event: PatchEvent): void;
  collect?(event: CollectionResult): void;
  error?(error: unknown, event: ObserverEvent): void;
}

/** The architectures codeheap lays code out for. */
export type Arch = 'x86_64';

export interface CodeHeapOptions {
  arch: Arch;
  codeSize: number;
  dataSize: number;
  /** Target address of the code arena; default 0x40000000 (see README: every 32-bit form reaches it). */
  codeAddress?: number;
  /** Target address of the data arena; default right after the code. */
  dataAddress?: number;
  /** Where the bytes live: an ArrayBuffer by default (a given one, or a new one). */
  memory?: Memory | ArrayBuffer;
  /** Address of a symbol outside the heap (a C library function, a runtime helper), or undefined. */
  resolveExternal?: (name: string) => number | undefined;
  /** Compiles lazy functions that have no callback of their own. */
  compile?: CompileCallback;
  /** 'auto' (adaptive) or a number of candidates; Infinity turns automatic collection off. */
  cycleThreshold?: 'auto' | number;
  /**
   * Milliseconds an automatic collection may pause the program for: when set, a due collection
   * runs in slices of about this long, one at the end of each mutating call until it is done
   * (collectCycles({ budget }) says how the heap stays correct in between). Default: none, each
   * automatic collection runs whole.
   */
  cyclePause?: number;
  observer?: Observer;
  /**
   * Checks what each phase of the cycle collector promises, between its phases, over the whole
   * heap (CORRUPT when broken): O(nodes + sites) per phase, for tests and debugging. Default false.
   */
  validateCollections?: boolean;
}

/** The handle type as users see it. */
export interface HandleApi {
  readonly name: string;
  readonly kind: NodeKind;
  /** Current body or block address; throws USE_AFTER_FREE once freed. */
  readonly address: number;
  readonly freed: boolean;
  free(): void;
  [Symbol.dispose](): void;
}

/**
 * heap.retainers(): why a node is alive. `root` is the nearest node counted from outside the graph
 * (`holds`: its handles, pins and running calls), and `edges` the references from it to the node,
 * in order: each the relocation at `offset` in `from` that points into `to`. No edges: the node is
 * a root itself.
 */
export interface RetainerPath {
  root: { name: string; kind: NodeKind; holds: number };
  edges: { from: string; to: string; offset: number; type: RelocationType }[];
}

/** The heap as a compile callback sees it (the CodeHeap class implements it). */
export interface CodeHeapApi {
  lookup(name: string): HandleApi;
  node(nameOrHandle: string | HandleApi): NodeInfo | undefined;
  stats(): HeapStats;
}

export type { Region, Memory };

/** An integer type of a bound native function's parameter or result (heap.bind). */
export type NativeIntegerType = 'i8' | 'u8' | 'i16' | 'u16' | 'i32' | 'u32' | 'i64' | 'u64';

/**
 * A parameter type of heap.bind, named as Deno's and Bun's FFI name them. 'pointer' is an address
 * (u64); 'buffer' passes the address of a Uint8Array's bytes for the duration of the call.
 */
export type NativeParameterType = NativeIntegerType | 'f32' | 'f64' | 'pointer' | 'buffer';

/** A result type of heap.bind: no 'buffer', and 'void' for none. */
export type NativeResultType = NativeIntegerType | 'f32' | 'f64' | 'pointer' | 'void';

/** What heap.bind takes: the C prototype of the function, as its parameter and result types. */
export interface NativeSignature<
  P extends readonly NativeParameterType[] = readonly NativeParameterType[],
  R extends NativeResultType = NativeResultType,
> {
  readonly parameters: P;
  readonly result: R;
}

/** The JavaScript value a parameter of type T takes: 64-bit ones also a safe-integer number. */
export type NativeParameterValue<T extends NativeParameterType> =
  T extends 'i64' | 'u64' | 'pointer' ? number | bigint : T extends 'buffer' ? Uint8Array | null : number;

/** The JavaScript value a result of type T is: 64-bit ones and pointers as bigint. */
export type NativeResultValue<T extends NativeResultType> =
  T extends 'i64' | 'u64' | 'pointer' ? bigint : T extends 'void' ? undefined : number;

/** The function heap.bind returns: one argument per parameter, its result converted. */
export type BoundFunction<
  P extends readonly NativeParameterType[] = readonly NativeParameterType[],
  R extends NativeResultType = NativeResultType,
> = (...args: { -readonly [K in keyof P]: NativeParameterValue<P[K]> }) => NativeResultValue<R>;
