// Writing 64-bit fields (jitdump records, unwind tables) from numbers, without a BigInt each.

/** Writes a non-negative safe integer as a little-endian u64 at `at`. */
export function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}
