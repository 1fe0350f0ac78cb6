// One of two objects with the same private names (private_b.c is the other): a static `count`
// and a static `bump`. Loaded into one heap together they must stay two variables and two
// functions; only the test_* entries are exported and they differ.
// gcc 12: PC32 .bss.count (.data.count in private_b.c) and PC32 .text.bump, all section symbols:
// the names never reach the symbol table as globals.
static int count;
__attribute__((noinline)) static int bump(int by) { count += by; return count; }

long test_private_a(void) { bump(1); return bump(10) * 1000 + count; }
