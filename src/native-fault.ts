// A fault in the code a call ran, as the CodeHeapError its caller gets: MACHINE_FAULT, naming the
// signal, the function and offset the instruction was at (f+0x17), the address that faulted and
// what is there, and the registers.
//
// Native memory's region throws an Error with code 'MACHINE_FAULT' and the fault's fields
// (RegionFault) when the code faults; the call's frames are gone by then, as when a compile
// callback throws, and the heap was not changed by the code (it changes only through its calls).
// Names are found by a pass over the nodes: a fault is rare, and no index is kept for it.

import { CodeHeapError, hex } from './errors.js';
import type { HeapGraph } from './rc/heap-graph.js';
import * as base from './base.js';

// Imported constants, bound to module constants that V8 folds into the code (README, Architecture).
const { STUB, inDataArena } = base;

/** What a region reports of a fault (native/faults.c). */
export interface RegionFault {
  readonly signal: string;
  /** si_code: how the signal came (for SIGSEGV, 1 no mapping, 2 no permission). */
  readonly signalCode: number;
  /** The instruction's address. */
  readonly pc: number;
  /** The address that faulted (SIGSEGV, SIGBUS), or the instruction's (SIGILL, SIGFPE). */
  readonly faultAddress: number;
  /** The general registers, rax .. r15, rip and eflags, as 64-bit values. */
  readonly registers: Readonly<Record<string, bigint>>;
}

function isRegionFault(error: unknown): error is Error & RegionFault & { code: 'MACHINE_FAULT' | 'EXECUTOR_LOST'; ended?: string } {
  const code = error instanceof Error ? (error as { code?: unknown }).code : undefined;
  return (code === 'MACHINE_FAULT' || code === 'EXECUTOR_LOST') && !(error instanceof CodeHeapError)
    && typeof (error as { pc?: unknown }).pc === 'number';
}

/**
 * The error a call's caller gets for what its region threw: a fault becomes MACHINE_FAULT (or
 * EXECUTOR_LOST, a fault that ended the executor the code ran in: codeheap/executor), anything
 * else is itself.
 */
export function callError(graph: HeapGraph, error: unknown, operation: string, name: string): unknown {
  if (!isRegionFault(error)) return error;
  const { signal, signalCode, pc, faultAddress, registers } = error;
  const at = whereIn(graph, pc) ?? 'code outside the heap (C code the heap\'s code called?)';
  const address = signal === 'SIGSEGV' || signal === 'SIGBUS'
    ? `; it touched ${hex(faultAddress)}${describe(graph, faultAddress, signal, signalCode)}` : '';
  const values = Object.entries(registers).map(([register, value]) => `${register}=0x${value.toString(16)}`).join(' ');
  const fault: RegionFault = { signal, signalCode, pc, faultAddress, registers };
  const outcome = error.code === 'EXECUTOR_LOST'
    ? `; ${error.ended ?? 'the executor died of it'}; respawn() gives the heap a new one` : '; the call was abandoned';
  return new CodeHeapError(
    error.code,
    `${operation}(${name}): ${signal} at ${at} (pc ${hex(pc)})${address}${outcome}. Registers: ${values}`,
    { cause: fault },
  );
}

function describe(graph: HeapGraph, address: number, signal: string, code: number): string {
  // BUS_ADRALN: the kernel reports no address for an alignment-check fault.
  if (signal === 'SIGBUS' && code === 1) return ' (a misaligned access, with alignment checking on)';
  const inHeap = whereIn(graph, address);
  if (inHeap !== undefined) return ` (${inHeap}${signal === 'SIGSEGV' && code === 2 ? ': not writable, or not readable, there' : ''})`;
  if (address < 0x10000) return ' (a null pointer, or one near it)';
  return signal === 'SIGSEGV' && code === 1 ? ' (nothing is mapped there)' : '';
}

/** `f+0x17` for the node whose block holds `address`, with its kind when it is not a function's body. */
function whereIn(graph: HeapGraph, address: number): string | undefined {
  const { nodes, arenas } = graph;
  for (let id = 0; id < nodes.idLimit; id++) {
    if (!nodes.isAlive(id)) continue;
    const kind = nodes.kindOf(id);
    const arena = inDataArena(kind) ? arenas.data : arenas.code;
    const start = arena.addressOf(nodes.block[id]!);
    if (address < start || address >= start + arena.sizeOf(nodes.block[id]!)) continue;
    const name = nodes.nameOf(id);
    const what = kind === STUB ? '' : nodes.isLazy(id) ? ' (its lazy trampoline)' : '';
    return `${name}+0x${(address - start).toString(16)}${what}`;
  }
  return undefined;
}
