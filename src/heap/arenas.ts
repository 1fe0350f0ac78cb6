// The code and data arenas: one backing store, two block allocators, and the map between local
// positions ("locs") and target addresses.
//
// Placement keeps code and data in one contiguous target range by default (data right after
// code), so every PC-relative reference inside the heap is in rel32 reach: the arenas together
// may not span more than 2 GiB. A data arena placed elsewhere must still lie within that reach of
// the code, which the constructor checks, since stubs reach their pointer slots with rel32.

import * as base from '../base.js';
import { CodeHeapError, hex, show } from '../errors.js';
import { IntTable } from '../int-table.js';
import { BlockAllocator } from './tlsf.js';
import type { ArenaLayout, Region } from './region.js';

// Imported functions, bound to module constants (README, Architecture).
const { inDataArena, MAX_ALIGN: PAGE } = base;

/** The end of x86-64 user space (47-bit addresses): no arena may reach past it. */
export const USER_SPACE_END = 2 ** 47;

/** Largest span of code + data: the reach of a rel32 displacement. */
export const MAX_SPAN = 0x8000_0000;


export class Arena {
  readonly allocator: BlockAllocator;
  /**
   * Blocks allocated, freed or shrunk so far: it changes whenever which bytes are used does, so a
   * table derived from the blocks (heap.write's index of owners) knows when it is out of date.
   */
  changes = 0;

  constructor(
    readonly name: 'code' | 'data',
    /** Target address of the arena's first byte. */
    readonly address: number,
    readonly size: number,
    /** Local position of the arena's first byte in the backing store. */
    readonly locBase: number,
    private readonly region: Region,
  ) {
    this.allocator = new BlockAllocator(size);
  }

  /** Blocks the CPU sees read-only (GlobalDefinition.readOnly), made writable again when freed. */
  /** By block, 1 (a table on typed arrays: every free asks it, and its size is a field, not a getter). */
  readonly #readOnly = new IntTable();

  /**
   * Makes a block read-only where the code runs: the whole pages it covers (a read-only global's
   * block starts a page and is whole pages, so no other block shares them).
   */
  protect(block: number): void {
    if (this.region.protect === undefined) return;
    try {
      this.region.protect(this.addressOf(block), this.#pagesOf(block), false);
    } catch (error) {
      // Called where a link commits, which cannot fail: protection is hardening, and when the
      // system refuses it (no mappings left to split) the block stays writable, as it was.
      if (error instanceof CodeHeapError) return;
      throw error;
    }
    this.#readOnly.set(block, 1);
  }

  #pagesOf(block: number): number {
    return this.sizeOf(block) - (this.sizeOf(block) % PAGE);
  }

  /** Before a block goes back to the allocator: writable again, if it was made read-only. */
  #unprotect(block: number): void {
    if (this.#readOnly.size === 0 || !this.#readOnly.delete(block)) return;
    try {
      this.region.protect!(this.addressOf(block), this.#pagesOf(block), true);
    } catch (error) {
      // A free cannot fail; the pages stay as they are (native memory does not refuse this).
      if (!(error instanceof CodeHeapError)) throw error;
    }
  }

  /** A block of at least size bytes (rounded up to 8) at align, or -1 when nothing can hold it. */
  allocate(size: number, align: number): number {
    this.changes++;
    return this.allocator.allocate(size, align);
  }

  free(block: number): void {
    this.changes++;
    this.#unprotect(block);
    this.allocator.free(block);
  }

  /** Keeps the first `size` bytes of a used block and frees the rest: see BlockAllocator.shrink. */
  shrink(block: number, size: number): void {
    this.changes++;
    this.allocator.shrink(block, size);
  }

  /** Frees a block as one of a batch: see BlockAllocator.freeInBatch. */
  freeInBatch(block: number): void {
    this.changes++;
    this.#unprotect(block);
    this.allocator.freeInBatch(block);
  }

  /** Ends a batch of frees; returns the bytes it freed. */
  finishBatch(): number {
    return this.allocator.finishBatch();
  }

  loc(block: number): number {
    return this.locBase + this.allocator.offsetOf(block);
  }
  addressOf(block: number): number {
    return this.address + this.allocator.offsetOf(block);
  }
  sizeOf(block: number): number {
    return this.allocator.sizeOf(block);
  }
  contains(address: number, length: number): boolean {
    return address >= this.address && address + length <= this.address + this.size;
  }
}

export class Arenas {
  readonly code: Arena;
  readonly data: Arena;
  readonly region: Region;
  readonly bytes: Uint8Array;
  readonly view: DataView;

  /** Region.written, when the region keeps a copy of the bytes elsewhere (touched tells it). */
  readonly #written: Region['written'];

  constructor(readonly layout: ArenaLayout, region: Region) {
    this.#written = region.written;
    this.code = new Arena('code', layout.codeAddress, layout.codeSize, 0, region);
    this.data = new Arena('data', layout.dataAddress, layout.dataSize, layout.codeSize, region);
    this.region = region;
    this.bytes = this.region.bytes;
    this.view = new DataView(this.bytes.buffer, this.bytes.byteOffset, this.bytes.byteLength);
  }

  /** The heap wrote bytes [loc, loc + length): the region hears of it when it asked to. */
  touched(loc: number, length: number): void {
    if (this.#written !== undefined) this.#written(loc, length);
  }

  /** The arena a node of this kind keeps its block in (see base.ts, node kinds). */
  of(kind: number): Arena {
    return inDataArena(kind) ? this.data : this.code;
  }

  /**
   * The one error every reservation above the allocator throws when `what` does not fit:
   * OUT_OF_MEMORY with both arenas' free bytes and largest free blocks.
   */
  noRoom(what: string): CodeHeapError {
    const describe = (arena: Arena): string =>
      `${arena.name} arena ${arena.allocator.freeBytes} bytes free (largest block ${arena.allocator.largestFree()})`;
    return new CodeHeapError('OUT_OF_MEMORY', `${what} does not fit: ${describe(this.code)}, ${describe(this.data)}`);
  }

  /** Target address of a local position. */
  addressOfLoc(loc: number): number {
    const { codeSize } = this.layout;
    return loc < codeSize ? this.layout.codeAddress + loc : this.layout.dataAddress + (loc - codeSize);
  }

  /** Local position of [address, address + length) when it lies wholly in one arena; -1 otherwise. */
  locOfRange(address: number, length: number): number {
    if (this.code.contains(address, length)) return address - this.code.address;
    if (this.data.contains(address, length)) return this.data.locBase + (address - this.data.address);
    return -1;
  }
}

/**
 * Checks a layout before anything is reserved; returns what is wrong, or undefined when sound.
 * Pre: sizes and addresses are safe integers (the facade checks types).
 */
export function layoutProblem(layout: ArenaLayout): string | undefined {
  const { codeAddress, codeSize, dataAddress, dataSize } = layout;
  for (const [name, value] of [['codeSize', codeSize], ['dataSize', dataSize]] as const) {
    if (!Number.isSafeInteger(value) || value <= 0 || value % 4096 !== 0) {
      return `${name} must be a positive multiple of 4096 bytes, got ${show(value)}`;
    }
  }
  for (const [name, value] of [['codeAddress', codeAddress], ['dataAddress', dataAddress]] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value % 4096 !== 0) {
      return `${name} must be a non-negative multiple of 4096, got ${show(value)}`;
    }
  }
  if (codeAddress + codeSize > USER_SPACE_END || dataAddress + dataSize > USER_SPACE_END) {
    return `the arenas must end at or below ${hex(USER_SPACE_END)}, the end of x86-64 user space`;
  }
  if (codeAddress < dataAddress + dataSize && dataAddress < codeAddress + codeSize) {
    return `the code arena [0x${codeAddress.toString(16)}, +${codeSize}) overlaps the data arena [0x${dataAddress.toString(16)}, +${dataSize})`;
  }
  const span = Math.max(codeAddress + codeSize, dataAddress + dataSize) - Math.min(codeAddress, dataAddress);
  if (span > MAX_SPAN) {
    return `code and data span ${span} bytes; they must lie within 2 GiB of each other so rel32 references between them always reach`;
  }
  return undefined;
}
