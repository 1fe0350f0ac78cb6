// Writing the 64-bit fields of the files native memory makes for tools (jitdump records, ELF
// objects for gdb) from numbers, without a BigInt each.

/** Writes a non-negative safe integer as a little-endian u64 at `at`. */
export function setU64(view: DataView, at: number, value: number): void {
  view.setUint32(at, value >>> 0, true);
  view.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}
