// String literals: gcc puts them in the mergeable section .rodata.str1.1 and refers to them as
// that section's symbol plus an addend, so every literal but the first is an offset into it.
// The same literal used in two functions is one copy (merged at -O0 too).
// gcc 12, -O1 and up: PC32 .LC0/.LC1 (local symbols in .rodata.str1.1) from code, R_X86_64_64
// .rodata.str1.1+N in the words table (.data.rel.ro.local.words.0); -O0 puts the literals in
// plain .rodata instead, still as section + addend.
#include <stddef.h>

__attribute__((noinline)) const char* greeting(void) { return "hello, heap"; }
__attribute__((noinline)) const char* again(void) { return "hello, heap"; }
__attribute__((noinline)) const char* word(long i) {
  static const char* const words[] = { "alpha", "beta", "gamma", "delta" };
  return words[i & 3];
}

static long checksum(const char* s) { long h = 7; for (; *s; s++) h = h * 31 + *s; return h; }

long test_strings(void) { return checksum(greeting()) ^ checksum(word(2)) ^ checksum("last one"); }
long test_same_literal(void) { return greeting() == again(); }
long test_words(void) { long s = 0; for (long i = 0; i < 4; i++) s = s * 131 + checksum(word(i)); return s; }
