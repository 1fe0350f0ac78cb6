// Pins' holds on function bodies: the "is it still executing?" state, kept by rc.
//
// A pin is a count on its function and also a hold on the body that was current when it was
// taken. The holds on a function's current body share one BodyHold; when that body is replaced
// it becomes a RETIRED node, the hold moves to it (owner = the retired node), and each pin still
// holding it owns one count on the retired node, released when the pin goes. A pin taken on a
// lazy function holds no body (there is none to run in).
//
// Invariant: `current` maps a function to the hold of its current body exactly while some pin
// holds that body (pins > 0 and owner = the function); a hold whose owner is a retired node is
// held by its pins only.

import { LargeMap } from '../large-map.js';

/** One body held by pins. */
export class BodyHold {
  pins = 0;
  /** The node that owns the held body: the function while current, its retired node after. */
  constructor(public owner: number) {}
}

export class BodyHolds {
  /** Holds on current bodies, by function id. */
  private readonly current = new LargeMap<number, BodyHold>();

  /** One more pin on fn's current body. Pre: fn has a body (is not lazy). */
  hold(fn: number): BodyHold {
    let hold = this.current.get(fn);
    if (hold === undefined) {
      hold = new BodyHold(fn);
      this.current.set(fn, hold);
    }
    hold.pins++;
    return hold;
  }

  /**
   * One pin lets go of its hold. Returns the retired node that lost a count (the caller releases
   * that count), or -1 when the hold was on fn's current body.
   */
  release(fn: number, hold: BodyHold): number {
    hold.pins--;
    if (hold.owner !== fn) return hold.owner;
    if (hold.pins === 0) this.current.delete(fn);
    return -1;
  }

  /** Pins holding fn's current body. */
  pinsOnCurrent(fn: number): number {
    return this.current.get(fn)?.pins ?? 0;
  }

  /** fn's current body became the retired node `retired`: its pins hold that node now. */
  retire(fn: number, retired: number): void {
    const hold = this.current.get(fn);
    if (hold === undefined) return;
    hold.owner = retired;
    this.current.delete(fn);
  }
}
