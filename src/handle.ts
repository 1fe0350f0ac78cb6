// Handles and pins: the external owners of counts, and so the roots of the heap.
//
// A Handle owns exactly one count on its node until freed; freeing twice does nothing. A Pin
// owns one count too, and also holds the body that was current when it was taken (see pins.ts).
// Both carry the heap they belong to, so a handle of another heap is refused, and the node id,
// which cannot be recycled while the handle's count keeps the node alive.

import { CodeHeapError } from './errors.js';
import type { HandleApi, NodeKind } from './types.js';

/** What a handle asks of its heap. */
export interface HandleOwner {
  handleAddress(handle: Handle): number;
  freeHandle(handle: Handle): void;
  releasePin(pin: Pin): void;
}

export class Handle implements HandleApi {
  private isFreed = false;

  constructor(
    /** @internal */ readonly owner: HandleOwner,
    /** @internal */ readonly id: number,
    readonly name: string,
    readonly kind: NodeKind,
  ) {}

  /** Current body or block address (a lazy function's trampoline; a stub's code). */
  get address(): number {
    return this.owner.handleAddress(this);
  }

  get freed(): boolean {
    return this.isFreed;
  }

  /** @internal Marks the handle freed; true the first time only. */
  markFreed(): boolean {
    if (this.isFreed) return false;
    this.isFreed = true;
    return true;
  }

  /** @internal */
  assertLive(operation: string): void {
    if (this.isFreed) throw new CodeHeapError('USE_AFTER_FREE', `${operation}: the handle on ${this.name} was freed`);
  }

  free(): void {
    this.owner.freeHandle(this);
  }

  [Symbol.dispose](): void {
    this.free();
  }

  toString(): string {
    return `Handle(${this.kind} ${this.name})`;
  }
}

/** One "still executing" claim on a function: a count, plus a hold on the body current when taken. */
export class BodyHold {
  pins = 0;
  /** The node that owns the held body: the function while current, its retired node after. */
  constructor(public owner: number) {}
}

export class Pin {
  private isReleased = false;

  constructor(
    /** @internal */ readonly heap: HandleOwner,
    /** @internal */ readonly id: number,
    readonly name: string,
    /** @internal The body this pin keeps, or undefined when it was taken on a lazy function. */
    readonly hold: BodyHold | undefined,
  ) {}

  get released(): boolean {
    return this.isReleased;
  }

  /** @internal True the first time only. */
  markReleased(): boolean {
    if (this.isReleased) return false;
    this.isReleased = true;
    return true;
  }

  release(): void {
    this.heap.releasePin(this);
  }

  [Symbol.dispose](): void {
    this.release();
  }
}
