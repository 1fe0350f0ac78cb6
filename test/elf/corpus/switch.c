// A switch dense enough for a jump table at every level: each case does different work (a
// switch returning constants would become a lookup table of values instead). With
// -ffunction-sections, .rodata.dispatch holds one 4-byte PC32 entry per case pointing into the
// middle of .text.dispatch (an interior reference); without it the table is in .rodata and
// points into .text.
// gcc 12, every variant: nine PC32 .text.dispatch+N in the table, PC32 .rodata.dispatch from the
// code (the table's address, a lea), PC32 .bss.acc, and PLT32 dispatch (GOTPCRELX: -fno-plt).
static long acc;

__attribute__((noinline)) long dispatch(long op, long x) {
  switch (op) {
    case 0: return x + 3;
    case 1: return x * 7;
    case 2: return x - 11;
    case 3: return x ^ 0x55;
    case 4: return x << 2;
    case 5: return x / 3;
    case 6: acc += x; return acc;
    case 7: return -x;
    case 8: return x % 13;
    default: return 1000 + op;
  }
}

long test_switch(void) {
  long s = 0;
  for (long i = -2; i < 12; i++) s = (s * 5 + dispatch(i, s + i)) % 1000000007;
  return s;
}
