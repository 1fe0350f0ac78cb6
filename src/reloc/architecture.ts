// What an architecture tells the rest of the heap about relocations: their fields and ranges.
//
// The heap never interprets relocation types itself. It asks the architecture how wide a field
// is, whether it is PC-relative, what range of values fits, and how to read and write it. Adding
// AArch64 means adding one table beside x86-64.ts; no other layer changes.

export interface RelocationKind {
  /** The ELF name, e.g. 'R_X86_64_PC32'. */
  readonly name: string;
  /** Small integer stored in a relocation site (the site table keeps 3 bits for it). */
  readonly id: number;
  /** Bytes of the field. */
  readonly width: 4 | 8;
  /** S + A - P when true, S + A otherwise. */
  readonly pcRelative: boolean;
  /** Inclusive range of the computed value that the field can hold. */
  readonly min: number;
  readonly max: number;
  /** Whether a reference to a function through this type is a body (call) reference by default. */
  readonly bodyByDefault: boolean;
  /**
   * The addend compilers usually emit for this type (-4 for a rel32 at the end of an
   * instruction). The site table stores only addends that differ from it.
   */
  readonly usualAddend: number;
}

export interface Architecture {
  readonly name: string;
  /** Indexed by RelocationKind.id. */
  readonly kinds: readonly RelocationKind[];
  kind(name: string): RelocationKind | undefined;
  /** Writes value (which must fit) little-endian at byte position pos. */
  write(view: DataView, pos: number, kind: RelocationKind, value: number): void;
  /** Reads the field back as the value it encodes (sign- or zero-extended as the type says). */
  read(view: DataView, pos: number, kind: RelocationKind): number;
}

/** S + A, or S + A - P: the psABI's computation for the kinds codeheap supports. */
export function relocationValue(kind: RelocationKind, S: number, A: number, P: number): number {
  return kind.pcRelative ? S + A - P : S + A;
}

/**
 * The addend of a reference to a target's start (its entry, or a stub, which carries no offset):
 * the type's usual addend for a PC-relative field in code (its instruction ends with the field:
 * `call`, `lea`), 0 for an absolute field or a PC-relative one in data (`.long f - .`). A body
 * reference with any other addend points inside the body: an interior reference.
 */
export function entryAddend(kind: RelocationKind, inCode: boolean): number {
  return kind.pcRelative && inCode ? kind.usualAddend : 0;
}

export function fits(kind: RelocationKind, value: number): boolean {
  return value >= kind.min && value <= kind.max;
}
