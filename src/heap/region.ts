// Regions: target address ranges backed by local bytes.
//
// The heap lays code out for the address where it will run (`loadAddress`), which need not be
// where the bytes live locally: the default memory is a plain ArrayBuffer, and a later native
// memory maps the same bytes twice (read-write for the heap, read-execute for the CPU).
//
// Local layout of the one backing store, whatever the target addresses are:
//
//   local offset 0            codeSize                 codeSize + dataSize
//   +-------------------------+------------------------+
//   | code arena              | data arena             |
//   +-------------------------+------------------------+
//   target: codeAddress ...    target: dataAddress ...
//
// Heap positions ("locs") index this store; arenas.ts maps them to target addresses.

import { arrayBufferLength } from '../base.js';

/** Where the heap wants its two arenas, in target addresses. */
export interface ArenaLayout {
  readonly codeAddress: number;
  readonly codeSize: number;
  readonly dataAddress: number;
  readonly dataSize: number;
}

/**
 * What an executable region's call asks of the heap when running code enters a lazy function's
 * reentry trampoline: given the return address the trampoline pushed, compile the function and
 * return the address of its body, where the call continues. It may throw; the call then throws.
 */
export type ResolveLazy = (returnAddress: number) => number;

/**
 * An integer-class argument of a typed call as it goes to the region: register bits as a number
 * (a safe integer) or a BigInt, a Uint8Array (the address of its bytes) or null (0).
 */
export type RegisterValue = number | bigint | Uint8Array | null;

/** The local bytes behind both arenas: code at [0, codeSize), data right after it. */
export interface Region {
  /** Writable local view of codeSize + dataSize bytes. */
  readonly bytes: Uint8Array;
  /** Whether the CPU can execute the code arena at its target address (heap.call needs it). */
  readonly executable: boolean;
  /** A short description for messages and stats, e.g. 'ArrayBuffer'. */
  readonly description: string;
  /** Where every reentry trampoline calls (through the heap's resolver slot); 0 when nothing runs. */
  readonly resolverAddress?: number;
  /**
   * Executable regions only: runs the code at a target address with up to six integer arguments
   * (System V) and returns rax, signed. Pre: each argument fits in 64 bits.
   */
  call?(address: number, resolve: ResolveLazy, args: readonly (number | bigint)[]): bigint;
  /**
   * Executable regions only, for heap.bind: runs the code at a target address with up to six
   * integer-class arguments `ints` in rdi .. r9 and the eight `floats` (raw bits, an f32 in the low
   * half; undefined: all 0) in xmm0 .. xmm7, and returns rax or xmm0 converted as `result` says
   * (RESULT_KINDS in native-signature.ts). Pre: each argument was checked against its type.
   */
  callTyped?(
    address: number, resolve: ResolveLazy, result: number, floats: Float64Array | undefined, ints: readonly RegisterValue[],
  ): number | bigint | undefined;
  /** The address of a symbol of the process the code runs in (the default resolveExternal). */
  resolveSymbol?(name: string): number | undefined;
  /**
   * Releases the region's memory now (native memory unmaps both of its views and detaches
   * `bytes`); nothing of it may be used after. Without it, the memory goes with its last reference.
   */
  close?(): void;
  /**
   * Makes whole pages at a target address of the data arena read-only for the code that runs
   * (`writable` false), or read-write again; `bytes` stays writable. Regions whose code does not
   * run need not have it (nothing can write through the CPU's view then).
   */
  protect?(address: number, length: number, writable: boolean): void;
  /**
   * Told of each piece of code the heap places in the code arena, when it is placed and before any
   * of it can run: a function's body, a stub, a lazy function's trampoline, and a body that goes
   * on at its address as retired. For the tools of the process the code runs in (profilers,
   * debuggers: codeheap/native's perf map and jitdump). `name` is what a tool shows: `f`,
   * `f [stub]`, `f [lazy]`, `f [retired]` (an extern symbol's stub: `f [extern stub]`). The code
   * as placed is the region's own `bytes` from `address` less the code arena's address (the code
   * arena is first in `bytes`): no view is made for it, as a view cost more than a perf map line.
   * It must not call into the heap; what it throws is thrown again from a microtask (an uncaught
   * exception, as an observer's error with no `error` method), and the heap's call stands.
   */
  codePlaced?(name: string, address: number, size: number): void;
  /**
   * Told when the code codePlaced named at `address` is gone (its block freed), before the call
   * that freed it returns and before anything else is placed there. Code placed again at an
   * address without a free in between (a body that goes on as retired) is told of with
   * codePlaced alone. As codePlaced: no call into the heap; what it throws goes to a microtask.
   */
  codeFreed?(address: number): void;
  /**
   * A function body placed at `address` came with an unwind table (FunctionBody.unwind): `table`
   * is it made for that address (8-byte absolute pointers, no terminator), for the process's
   * unwinder. Told before any of the body can run; unwindFreed when its block is freed.
   * As codePlaced: no call into the heap; what it throws goes to a microtask.
   */
  unwindPlaced?(address: number, table: Uint8Array): void;
  unwindFreed?(address: number): void;
  /**
   * A function body placed at `address` came with a line table (FunctionBody.lines, checked), for
   * a debugger: told before the body's codePlaced, which goes with it. Nothing is told when its
   * block is freed: codeFreed covers both. As codePlaced: no call into the heap; what it throws
   * goes to a microtask.
   */
  linesPlaced?(address: number, lines: CheckedLines): void;
  /**
   * Told of every range of `bytes` the heap writes, [loc, loc + length), once it is written: a
   * body or a global placed (its sites included), a stub, a trampoline, a backpatched site, a
   * heap.write. For a region whose code runs from a copy of the bytes (codeheap/executor over
   * TCP), which must send the ranges before any code runs. No call into the heap; it is told in
   * the middle of a commit, which cannot fail, so what it throws is thrown again from a microtask.
   */
  written?(loc: number, length: number): void;
  /**
   * heap.read is about to read bytes [loc, loc + length): a region whose code runs from a copy
   * (codeheap/executor over TCP) fetches them first, so that what the code wrote there (a global
   * it changed) is what heap.read returns.
   */
  read?(loc: number, length: number): void;
}

/** A body's line table as the heap checked and copied it (FunctionBody.lines: (offset, file, line) triples). */
export interface CheckedLines {
  readonly files: readonly string[];
  readonly rows: Uint32Array;
}

/** A provider of regions: the `memory` option of CodeHeap. */
export interface Memory {
  reserve(layout: ArenaLayout): Region;
  /**
   * Where to put the arenas when the heap's options fix no address: a target address with `span`
   * bytes free, or undefined for the default. Real memory must not be mapped over what the
   * process already uses.
   */
  chooseAddress?(span: number): number | undefined;
}

/** The default memory: a fresh ArrayBuffer, or the one given, as plain (non-executable) bytes. */
export function arrayBufferMemory(buffer?: ArrayBuffer): Memory {
  return {
    reserve(layout: ArenaLayout): Region {
      const size = layout.codeSize + layout.dataSize;
      if (buffer !== undefined && arrayBufferLength(buffer) < size) {
        throw new RangeError(
          `the ArrayBuffer holds ${arrayBufferLength(buffer)} bytes, the arenas need ${size}`,
        );
      }
      const bytes = new Uint8Array(buffer ?? new ArrayBuffer(size), 0, size);
      return { bytes, executable: false, description: 'ArrayBuffer' };
    },
  };
}
