// String literals (merged .rodata.str1.1), static data mutated across calls, a 64-byte-aligned
// global, COMMON (with -fcommon) and a weak definition and a weak undefined reference.
#include <stdint.h>
#include <string.h>
static int counter = 5;
_Alignas(64) long aligned[4] = { 1, 2, 3, 4 };
int common_value;
__attribute__((weak)) long weak_default(void) { return 17; }
extern long never_defined(void) __attribute__((weak));
long test_strings(void) { const char* a = "hello, heap"; const char* b = "hello, heap"; return (long)strlen(a) * 100 + (a == b); }
long test_counter(void) { counter += 3; return counter; }
long test_aligned(void) { return ((uintptr_t)aligned % 64 == 0) * 100 + aligned[3]; }
long test_common(void) { common_value += 2; return common_value; }
long test_weak(void) { return weak_default() * 10 + (never_defined == 0); }
