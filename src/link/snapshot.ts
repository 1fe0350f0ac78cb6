// Where the snapshot of a unit's input lives: its bytes in one buffer, its relocations in columns.
//
// A unit of a million functions used to be read into a million byte copies, a million relocation
// objects and the arrays holding them. All of them live until define returns, so every young
// collection in between copied them and then promoted them: most of define's time went to V8's
// collector. Here a unit's bytes are appended to one growing buffer and each relocation field to
// one array per field, so that reading a unit makes no object per function or per relocation.
// The fields are kept raw (unknown): the planner checks them, in order, after the heap has looked
// for live duplicate names (definitions.ts).

/** Bytes up to this many are copied byte by byte: cheaper than a subarray and a set. */
const SHORT_COPY = 64;

/** The bytes of every definition of one unit, back to back. */
export class ByteSnapshot {
  bytes: Uint8Array;
  length = 0;

  /** `expected`: how many bytes the unit will likely have. */
  constructor(expected: number) {
    this.bytes = new Uint8Array(Math.max(expected, 64));
  }

  /** Copies `length` bytes of `view` (a Uint8Array) to the end; returns where they start. */
  append(view: Uint8Array, length: number): number {
    const at = this.length;
    if (at + length > this.bytes.length) {
      let size = this.bytes.length * 2;
      while (size < at + length) size *= 2;
      const bigger = new Uint8Array(size);
      bigger.set(this.bytes.subarray(0, at));
      this.bytes = bigger;
    }
    // Through the view's internal slots, like every read of caller bytes (see definitions.ts).
    if (length > 0) this.bytes.set(view, at);
    this.length = at + length;
    return at;
  }

  /** Writes bytes [at, at + length) into `to` at `loc`. */
  copyTo(to: Uint8Array, loc: number, at: number, length: number): void {
    const { bytes } = this;
    if (length <= SHORT_COPY) {
      for (let i = 0; i < length; i++) to[loc + i] = bytes[at + i]!;
    } else {
      to.set(bytes.subarray(at, at + length), loc);
    }
  }
}

/**
 * The relocations of one unit as read, field by field: relocation r is entry r of every column.
 * `element` is the relocation itself (for messages when it is not an object); an element that is
 * not an object has undefined fields.
 */
export class RelocationColumns {
  // Sized up front and doubled when full, rather than pushed to: a unit of a million relocations
  // would otherwise regrow each column some thirty times, all of it garbage while define runs.
  element: unknown[];
  offset: unknown[];
  type: unknown[];
  symbol: unknown[];
  addend: unknown[];
  via: unknown[];
  address: unknown[];
  /** Relocations whose fields are read. */
  count = 0;
  /** Elements taken (the element column runs ahead of the others while a list is read). */
  private elements = 0;

  /** `expected`: how many relocations the unit will likely have. */
  constructor(expected: number) {
    const capacity = Math.max(expected, 4);
    this.element = new Array<unknown>(capacity);
    this.offset = new Array<unknown>(capacity);
    this.type = new Array<unknown>(capacity);
    this.symbol = new Array<unknown>(capacity);
    this.addend = new Array<unknown>(capacity);
    this.via = new Array<unknown>(capacity);
    this.address = new Array<unknown>(capacity);
  }

  /** Takes the next relocation's element (its fields are read by readFields). */
  takeElement(element: unknown): void {
    if (this.elements === this.element.length) this.grow();
    this.element[this.elements++] = element;
  }

  /**
   * Reads each field of relocation r (its element taken already) once, in the order the fields
   * were always read.
   */
  readFields(r: number): void {
    const element = this.element[r];
    const fields = typeof element === 'object' && element !== null ? element as Record<string, unknown> : NOT_AN_OBJECT;
    const { offset, type, symbol, addend, via, address } = fields;
    this.offset[r] = offset;
    this.type[r] = type;
    this.symbol[r] = symbol;
    this.addend[r] = addend;
    this.via[r] = via;
    this.address[r] = address;
    this.count = r + 1;
  }

  isObject(r: number): boolean {
    const element = this.element[r];
    return typeof element === 'object' && element !== null;
  }

  private grow(): void {
    const size = this.element.length * 2;
    this.element = doubled(this.element, size);
    this.offset = doubled(this.offset, size);
    this.type = doubled(this.type, size);
    this.symbol = doubled(this.symbol, size);
    this.addend = doubled(this.addend, size);
    this.via = doubled(this.via, size);
    this.address = doubled(this.address, size);
  }
}

function doubled(column: unknown[], size: number): unknown[] {
  const copy = new Array<unknown>(size);
  for (let i = 0; i < column.length; i++) copy[i] = column[i];
  return copy;
}

/** The fields of an element that is not an object: none. */
const NOT_AN_OBJECT: Readonly<Record<string, unknown>> = Object.freeze({});

/** The columns of a body without relocations (shared: nothing is ever pushed to it). */
export const NO_RELOCATIONS = new RelocationColumns(0);
