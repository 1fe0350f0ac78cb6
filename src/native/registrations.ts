// What native memory has registered with a tool of the process for each piece of code (an object
// handed to gdb, a table handed to the unwinder), by the code's address, so it is taken back when
// that code goes or the memory is unmapped.
//
// Kept by the code's 8-byte slot in the code arena (blocks start 8-aligned), in an IntTable: a Map
// keyed by the addresses themselves, numbers above 2^31, slowed down with its size under churn
// (4 µs a set and delete at 80,000 keys).

import { IntTable } from '../int-table.js';

/** No registration (the addon's ids are addresses, never 0). */
const NONE = 0;

export class Registrations {
  #ids = new IntTable();

  constructor(private readonly codeAddress: number, private readonly unregister: (id: number) => void) {}

  /** What `address` had is taken back, then `register()`'s id is kept for it. */
  replace(address: number, register: () => number): void {
    this.take(address);
    this.#ids.set(this.#slot(address), register());
  }

  /** What `address` had, if anything, is taken back. */
  take(address: number): void {
    const slot = this.#slot(address);
    const id = this.#ids.get(slot, NONE);
    if (id === NONE) return;
    this.#ids.delete(slot);
    this.unregister(id);
  }

  /** Everything is taken back. */
  clear(): void {
    this.#ids.forEach((id) => this.unregister(id));
    this.#ids = new IntTable();
  }

  #slot(address: number): number {
    return (address - this.codeAddress) / 8;
  }
}
