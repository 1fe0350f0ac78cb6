// COMMON symbols: with -fcommon, an uninitialised file-scope definition is a tentative one
// (SHN_COMMON, st_value = its alignment) that the loader must allocate; without -fcommon (gcc's
// default since 10) the same line is an ordinary .bss definition. The alignment check goes
// through a noipa function so that gcc cannot fold it from the type's alignment.
// gcc 12: -fcommon gives `counter` SHN_COMMON with alignment 4 and `common_table` alignment 32;
// references are REX_GOTPCRELX counter / common_table (PC32 with -fPIE); -O2 adds PC32 .LC0/.LC1
// (vector constants in .rodata.cst16).
#include <stdint.h>

int counter;
long common_table[16];

long test_common(void) {
  counter += 3;
  for (int i = 0; i < 16; i++) common_table[i] += i * counter;
  long s = 0;
  for (int i = 0; i < 16; i++) s += common_table[i];
  return s * 100 + counter;
}
__attribute__((noipa)) static long misalignment(const void* p, uintptr_t alignment) { return (long)((uintptr_t)p % alignment); }

long test_common_aligned(void) { return misalignment(common_table, 16) * 10 + misalignment(&counter, 4); }
