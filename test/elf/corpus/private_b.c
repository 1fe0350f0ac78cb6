// The twin of private_a.c: the same private names, other values.
static int count = 500;
__attribute__((noinline)) static int bump(int by) { count -= by; return count; }

long test_private_b(void) { bump(2); return bump(20) * 1000 + count; }
