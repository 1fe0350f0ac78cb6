// The GDB JIT interface for one heap's code (native/codeheap.c holds the descriptor gdb reads and
// makes the objects): each piece of code placed is handed to gdb as an ELF object naming it, and
// taken back when its block is freed, or when the heap's memory is unmapped. A piece is one
// function body, stub, trampoline or retired body, so registering costs the same however many
// are registered (gdb's own work on each is its business: it reads the one object it is handed).

import type { NativeAddon } from './addon.js';
import { Registrations } from './registrations.js';
import { debugSections } from './debug-lines.js';
import type { CheckedLines } from '../heap/region.js';

export class DebuggerRegistry {
  readonly #objects: Registrations;

  constructor(private readonly addon: NativeAddon, codeAddress: number) {
    this.#objects = new Registrations(codeAddress, (id) => addon.debuggerUnregister(id));
  }

  /**
   * `ehFrame`: the body's unwind table, absolute (FunctionBody.unwind), for gdb to step through
   * its frames; `lines`: its line table (FunctionBody.lines), for gdb to name `file:line`. Placed
   * again with no free between (a body that goes on as retired, renamed), the old object goes
   * first.
   */
  placed(name: string, address: number, size: number, ehFrame: Uint8Array | undefined, lines: CheckedLines | undefined): void {
    const { addon } = this;
    this.#objects.replace(address, () => {
      if (lines === undefined) return ehFrame === undefined ? addon.debuggerRegister(name, address, size) : addon.debuggerRegister(name, address, size, ehFrame);
      const dwarf = debugSections(name, address, size, lines.files, lines.rows);
      return addon.debuggerRegister(name, address, size, ehFrame, dwarf.bytes, dwarf.abbrevLength, dwarf.infoLength);
    });
  }

  freed(address: number): void {
    this.#objects.take(address);
  }

  /** Every object goes; used when the heap's memory is unmapped. */
  closed(): void {
    this.#objects.clear();
  }
}
