// Static and exported functions calling each other. A static callee is reached with a direct
// call; an exported one is preemptible under -fPIC, so gcc calls it through the PLT even from
// its own file, and with -fno-plt through a GOT slot.
// gcc 12: PC32 .text.twice (a call: the loader must treat it as one) and PLT32 exported_square /
// exported_chain; -fno-plt: GOTPCRELX instead of PLT32; one .text: no relocation for twice at
// all (the assembler resolves it); -fPIE: exported_square binds locally and is inlined.
__attribute__((noinline)) static long twice(long x) { return 2 * x + 1; }

long exported_square(long x) { return x * x; }

__attribute__((noinline)) long exported_chain(long x) { return twice(exported_square(x)) - twice(x); }

long test_static_call(void) { return twice(20) * twice(21); }
long test_exported_call(void) { return exported_square(12345); }
long test_chain(void) { return exported_chain(77) + exported_chain(-5); }
