// The packed flags of a node: 16 bits per node in the node table (node-table.ts), read by every
// layer that looks at node state and written only by rc/ (and by the collector's phases, for the
// color bits, which are its own).
//
// Packed flags, 16 bits per node:
//
//   15   14      13     12        11     10     9        8       7        6   5   4       3          2      1   0
//  +----+-------+------+---------+------+------+--------+-------+--------+-------+-------+----------+------+-------+
//  | 0  | FRESH | KEPT | SCANNED | SEEN | HELD | IN_SET | GREEN | EXTERN | color | ALIVE | BUFFERED | LAZY | kind  |
//  +----+-------+------+---------+------+------+--------+-------+--------+-------+-------+----------+------+-------+
//
//  kind     FUNCTION | GLOBAL | STUB | RETIRED (an old body kept by pins, nameless)
//  LAZY     a function with no body: `block` is its reentry trampoline
//  BUFFERED the id is in the candidate buffer (at most once)
//  ALIVE    the node holds memory; 0 with BUFFERED set means DEAD: reclaimed, id reserved
//  color    the cycle collector's color (black, gray, white, purple)
//  EXTERN   a stub of an external symbol (its slot holds an address outside the heap)
//  GREEN    a live node with no outgoing sites (the paper's acyclic node): it cannot be on a
//           cycle, so it is never buffered and the collector never walks into it. Kept by
//           setFirstOut, so that the collector learns it from the flags it reads anyway.
//  IN_SET, HELD  an unload's own marks (cycles/unload.ts): the node is in the set it examines,
//           and is held from outside it. Set and cleared within that one call, so no other
//           code ever sees them.
//  SEEN, SCANNED, KEPT  a sliced collection's marks (cycles/sliced.ts), which live across public
//           calls: the node is in the collection's set, its edges are counted down, and it is
//           known live (held from outside the set, reached from such a node, or changed by the
//           mutator since it was seen). Cleared when that collection ends.
//  FRESH    BUFFERED into the candidate buffer while a sliced collection is still taking the
//           roots it took from the buffer (its ROOTS phase): a node BUFFERED but not FRESH is
//           one of those roots then, and a free leaves its id to the collection to release.
//

export const KIND_MASK = 0b11;
export const LAZY = 1 << 2;
export const BUFFERED = 1 << 3;
export const ALIVE = 1 << 4;
export const COLOR_SHIFT = 5;
export const COLOR_MASK = 0b11 << COLOR_SHIFT;
export const EXTERN = 1 << 7;
export const GREEN = 1 << 8;
export const IN_SET = 1 << 9;
export const HELD = 1 << 10;
export const SEEN = 1 << 11;
export const SCANNED = 1 << 12;
export const KEPT = 1 << 13;
export const FRESH = 1 << 14;
/** A node a sliced collection has found to be garbage, once it frees (flags & DOOMED_MASK) === SEEN. */
export const DOOMED_MASK = SEEN | KEPT;
/** The bits that class a live node for the counts: kind and LAZY. */
export const CLASS_MASK = KIND_MASK | LAZY;

export const BLACK = 0;
export const GRAY = 1;
export const WHITE = 2;
export const PURPLE = 3;
/** Each color as it sits in the flags byte, to compare with `flags & COLOR_MASK`. */
export const BLACK_BITS = BLACK << COLOR_SHIFT;
export const GRAY_BITS = GRAY << COLOR_SHIFT;
export const WHITE_BITS = WHITE << COLOR_SHIFT;
export const PURPLE_BITS = PURPLE << COLOR_SHIFT;

