// Recursion (a function calling itself) and mutual recursion between a static pair, the
// smallest reference cycles an object can hold. A function's calls to itself are resolved by the
// assembler inside its own section and leave no relocation (even exported fib, under -fPIC), so
// the cycle the loader sees is the static pair's: PC32 from .text.is_even to .text.is_odd and
// back (with -ffunction-sections; in one .text there is none). noinline keeps gcc from folding
// the pair into one loop at -O2.
__attribute__((noinline)) long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static long is_odd(long n);
__attribute__((noinline)) static long is_even(long n) { return n == 0 ? 1 : is_odd(n - 1); }
__attribute__((noinline)) static long is_odd(long n) { return n == 0 ? 0 : is_even(n - 1); }

// Collatz steps: recursion with a data-dependent depth.
__attribute__((noinline)) static long steps(long n) { return n == 1 ? 0 : 1 + steps(n % 2 ? 3 * n + 1 : n / 2); }

long test_fib(void) { return fib(24); }
long test_mutual(void) { return is_even(1000) * 100 + is_odd(777) * 10 + is_even(3); }
long test_collatz(void) { long s = 0; for (long n = 1; n < 200; n++) s += steps(n); return s; }
