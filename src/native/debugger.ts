// The GDB JIT interface for one heap's code (native/codeheap.c holds the descriptor gdb reads and
// makes the objects): each piece of code placed is handed to gdb as an ELF object naming it, and
// taken back when its block is freed, or when the heap's memory is unmapped. A piece is one
// function body, stub, trampoline or retired body, so registering costs the same however many
// are registered (gdb's own work on each is its business: it reads the one object it is handed).

import { IntTable } from '../int-table.js';
import type { NativeAddon } from './addon.js';

/** No object registered (ids are the addon's addresses, never 0). */
const NONE = 0;

export class DebuggerRegistry {
  /**
   * The registered object of the code at each address, by its 8-byte slot in the code arena
   * (blocks start 8-aligned). A Map keyed by the addresses themselves, numbers above 2^31, slowed
   * down with the units registered under churn (4 µs a set and delete at 80,000 keys).
   */
  #byAddress = new IntTable();

  constructor(private readonly addon: NativeAddon, private readonly codeAddress: number) {}

  /** `ehFrame`: the body's unwind table, absolute (FunctionBody.unwind), for gdb to step through its frames. */
  placed(name: string, address: number, size: number, ehFrame: Uint8Array | undefined): void {
    // Placed again with no free between: a body that goes on as retired, renamed.
    this.freed(address);
    const id = ehFrame === undefined ? this.addon.debuggerRegister(name, address, size) : this.addon.debuggerRegister(name, address, size, ehFrame);
    this.#byAddress.set(this.#slot(address), id);
  }

  freed(address: number): void {
    const slot = this.#slot(address);
    const id = this.#byAddress.get(slot, NONE);
    if (id === NONE) return;
    this.#byAddress.delete(slot);
    this.addon.debuggerUnregister(id);
  }

  /** Every object goes; used when the heap's memory is unmapped. */
  closed(): void {
    this.#byAddress.forEach((id) => this.addon.debuggerUnregister(id));
    this.#byAddress = new IntTable();
  }

  #slot(address: number): number {
    return (address - this.codeAddress) / 8;
  }
}
