// Constructors and a destructor. Two constructors, one with priority 101 (.init_array.00101) and
// one without (.init_array), record the order they ran in `trace`; the destructor (.fini_array)
// writes through `dtor_out`.
// gcc 12: R_X86_64_64 .text.first in .init_array.00101, .text.second in .init_array and
// .text.finish in .fini_array (at -O2 .text.startup.* and .text.exit.*: one .text without
// -ffunction-sections); PC32 .bss.trace; REX_GOTPCRELX dtor_out (PC32 with -fPIE).
//
// What the loader test should check:
// - after loading, test_ctor_trace returns what it returns natively: both constructors ran, each
//   once, the prioritised one first;
// - for the destructor: make an 8-byte global of its own, write that global's address into
//   dtor_out (an exported `long *`), unload the object, then read the global: it must hold
//   test_dtor_value's native result. Natively the destructor runs after main and dtor_out is 0.
static long trace;
long* dtor_out;

__attribute__((constructor(101))) static void first(void) { trace = trace * 10 + 1; }
__attribute__((constructor)) static void second(void) { trace = trace * 10 + 2; }

static long dtor_value(void) { return trace * 1000 + 7; }
__attribute__((destructor)) static void finish(void) { if (dtor_out) *dtor_out = dtor_value(); }

long test_ctor_trace(void) { return trace; }
long test_dtor_value(void) { return dtor_value(); }
