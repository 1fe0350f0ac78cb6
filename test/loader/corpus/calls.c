// Static and exported functions, recursion and mutual recursion: gcc calls the static ones with
// R_X86_64_PC32 (a branch, told from a pointer by its opcode) and the exported ones with PLT32.
static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }
static int is_odd(unsigned n);
static int is_even(unsigned n) { return n == 0 ? 1 : is_odd(n - 1); }
static int is_odd(unsigned n) { return n == 0 ? 0 : is_even(n - 1); }
long exported_square(long x) { return x * x; }
long test_fib(void) { return fib(24); }
long test_mutual(void) { return is_even(1001) * 10 + is_odd(77); }
long test_exported(void) { return exported_square(12345); }
