// Canonical indirection stubs, external-call stubs and reentry trampolines.
//
// The protocol follows LLVM ORC's IndirectStubsManager (createStub, findPointer, updatePointer)
// with one departure: a stub's pointer slot is an ordinary relocation site (R_X86_64_64, stub ->
// function body), so "updatePointer" is never called by hand. Backpatching a function's body
// rewrites its call sites and its slot in the same walk, and the stub's count edge to the
// function is that site: rc(f) includes 1 while stub(f) exists, with no special case.
//
// Creation is two-phase so define() can stay all-or-nothing: reserve the blocks (OUT_OF_MEMORY
// when they do not fit, holding nothing then), then create the node once every check has passed.

import { hex } from '../errors.js';
import type { HeapGraph } from '../rc/heap-graph.js';
import * as base from '../base.js';
import type { Architecture } from '../reloc/architecture.js';
import * as x86 from '../reloc/x86-64.js';
import { decodeStub, decodeTrampoline, writeStub, writeTrampoline } from './x86-64-layout.js';
import * as layout from './x86-64-layout.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { NONE } = base;
const { R_X86_64_64 } = x86;
const {
  SLOT_ALIGN, SLOT_SIZE, STUB_ALIGN, STUB_SIZE, TRAMPOLINE_ALIGN, TRAMPOLINE_RETURN_OFFSET,
  TRAMPOLINE_SIZE,
} = layout;

export interface StubReservation {
  readonly code: number;
  readonly slot: number;
}

export class StubManager {
  /** Data block of the heap's one resolver slot, which every trampoline calls through. */
  readonly resolverSlot: number;

  constructor(private readonly graph: HeapGraph, private readonly arch: Architecture) {
    const slot = graph.arenas.data.allocate(SLOT_SIZE, SLOT_ALIGN);
    if (slot === NONE) throw graph.arenas.noRoom('the resolver slot');
    this.resolverSlot = slot;
    this.arch.write(graph.arenas.view, graph.arenas.data.loc(slot), arch.kinds[R_X86_64_64]!, this.resolverAddress);
    graph.arenas.touched(graph.arenas.data.loc(slot), SLOT_SIZE);
  }

  /** What the resolver slot holds: the region's machine-code resolver, or 0 where nothing runs. */
  get resolverAddress(): number {
    return this.graph.arenas.region.resolverAddress ?? 0;
  }

  get resolverSlotAddress(): number {
    return this.graph.arenas.data.addressOf(this.resolverSlot);
  }

  /** Blocks for one stub; OUT_OF_MEMORY when either arena is full (then nothing is held). */
  reserveStub(what: () => string): StubReservation {
    const { arenas } = this.graph;
    const codeBlock = arenas.code.allocate(STUB_SIZE, STUB_ALIGN);
    if (codeBlock === NONE) throw arenas.noRoom(what());
    const slot = arenas.data.allocate(SLOT_SIZE, SLOT_ALIGN);
    if (slot === NONE) {
      arenas.code.free(codeBlock);
      throw arenas.noRoom(what());
    }
    return { code: codeBlock, slot };
  }

  unreserveStub(reservation: StubReservation): void {
    this.graph.arenas.code.free(reservation.code);
    this.graph.arenas.data.free(reservation.slot);
  }

  stubAddress(reservation: StubReservation): number {
    return this.graph.arenas.code.addressOf(reservation.code);
  }

  /** stub(f): its slot is a site targeting f's current body (or trampoline). Post: rc(f) + 1. */
  createFunctionStub(fn: number, reservation: StubReservation): number {
    const { graph } = this;
    const stub = this.createStub(graph.nodes.names[fn]!, reservation, graph.addressOf(fn), false);
    graph.setStub(fn, stub);
    const kind = this.arch.kinds[R_X86_64_64]!;
    graph.addSite(stub, fn, kind.id, graph.arenas.data.loc(reservation.slot), 0, kind.usualAddend);
    return stub;
  }

  /** The stub of an external symbol out of rel32 reach; its slot holds the external's address. */
  createExternalStub(name: string, address: number, reservation: StubReservation): number {
    return this.createStub(name, reservation, address, true);
  }

  private createStub(name: string, reservation: StubReservation, target: number, external: boolean): number {
    const { arenas } = this.graph;
    const stub = this.graph.createStub(name, reservation.code, reservation.slot, external);
    writeStub(arenas.view, arenas.code.loc(reservation.code), arenas.code.addressOf(reservation.code),
      arenas.data.addressOf(reservation.slot));
    this.arch.write(arenas.view, arenas.data.loc(reservation.slot), this.arch.kinds[R_X86_64_64]!, target);
    arenas.touched(arenas.code.loc(reservation.code), arenas.code.sizeOf(reservation.code));
    arenas.touched(arenas.data.loc(reservation.slot), SLOT_SIZE);
    return stub;
  }

  /** A trampoline block; OUT_OF_MEMORY when the code arena is full. */
  reserveTrampoline(what: () => string): number {
    const { arenas } = this.graph;
    const block = arenas.code.allocate(TRAMPOLINE_SIZE, TRAMPOLINE_ALIGN);
    if (block === NONE) throw arenas.noRoom(what());
    return block;
  }

  /**
   * Writes a trampoline into `block`, a code block of at least TRAMPOLINE_SIZE bytes (rc registers
   * it for the resolver when the function becomes lazy on it).
   */
  writeTrampoline(block: number): void {
    const { arenas } = this.graph;
    writeTrampoline(arenas.view, arenas.code.loc(block), arenas.code.addressOf(block), this.resolverSlotAddress);
    arenas.touched(arenas.code.loc(block), TRAMPOLINE_SIZE);
  }

  /** The lazy function a trampoline return address belongs to, or -1. */
  functionEnteredAt(returnAddress: number): number {
    return this.graph.nodes.byTrampoline.get(returnAddress - TRAMPOLINE_RETURN_OFFSET) ?? NONE;
  }

  /** Problems with a stub's code and slot bytes (the slot's site is checked with all sites). */
  checkStub(stub: number): string[] {
    const { arenas, nodes } = this.graph;
    const code = nodes.block[stub]!;
    const slot = nodes.slotOf(stub);
    const address = arenas.code.addressOf(code);
    const through = decodeStub(arenas.view, arenas.code.loc(code), address);
    const problems: string[] = [];
    if (through !== arenas.data.addressOf(slot)) {
      problems.push(`${nodes.nameOf(stub)} at ${hex(address)} does not jump through its slot ${hex(arenas.data.addressOf(slot))}`);
    }
    // An external's slot holds the address it was resolved to, which verify cannot know; 0 is a
    // weak undefined symbol's (a call guarded by `if (f)`, as in a shared library).
    return problems;
  }

  /** Problems with the resolver slot, which every trampoline calls through. */
  checkResolverSlot(): string[] {
    const { arenas } = this.graph;
    const value = this.arch.read(arenas.view, arenas.data.loc(this.resolverSlot), this.arch.kinds[R_X86_64_64]!);
    return value === this.resolverAddress ? []
      : [`the resolver slot at ${hex(this.resolverSlotAddress)} holds ${hex(value)}, not the resolver ${hex(this.resolverAddress)}`];
  }

  checkTrampoline(fn: number): string[] {
    const { arenas, nodes } = this.graph;
    const block = nodes.block[fn]!;
    const address = arenas.code.addressOf(block);
    const through = decodeTrampoline(arenas.view, arenas.code.loc(block), address);
    const problems: string[] = [];
    if (through !== this.resolverSlotAddress) {
      problems.push(`the trampoline of ${nodes.names[fn]} at ${hex(address)} does not call through the resolver slot`);
    }
    if (nodes.byTrampoline.get(address) !== fn) {
      problems.push(`the trampoline of ${nodes.names[fn]} at ${hex(address)} is not registered for the resolver`);
    }
    return problems;
  }
}
