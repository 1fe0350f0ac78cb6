// Over-aligned globals: _Alignas(64) makes the section's sh_addralign 64, initialised (.data) and
// zeroed (.bss) alike; the loader must place each on a 64-byte boundary. The check goes through
// a noipa function because gcc otherwise folds `address % 64` to 0 from the declared alignment.
// gcc 12: REX_GOTPCRELX aligned_data / after_zero (PC32 with -fPIE), PC32 .bss.aligned_zero
// (.bss in one section), PC32 .text.misalignment.
#include <stdint.h>

_Alignas(64) long aligned_data[8] = { 3, 1, 4, 1, 5, 9, 2, 6 };
_Alignas(64) static char aligned_zero[64];
char after_zero = 1;

__attribute__((noipa)) static long misalignment(const void* p, uintptr_t alignment) { return (long)((uintptr_t)p % alignment); }

long test_aligned(void) {
  return misalignment(aligned_data, 64) * 100 + misalignment(aligned_zero, 64) * 10 + after_zero;
}
long test_aligned_values(void) {
  long s = 0;
  for (int i = 0; i < 8; i++) { aligned_zero[i] = (char)aligned_data[i]; s = s * 10 + aligned_zero[i]; }
  return s + misalignment(&aligned_zero[8], 8);
}
