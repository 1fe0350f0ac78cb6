// Function-pointer tables in .data.rel.ro (R_X86_64_64 to each function), and function pointers
// taken in two places that must compare equal (both are the function's canonical stub).
typedef long (*op)(long, long);
static long add(long a, long b) { return a + b; }
static long sub(long a, long b) { return a - b; }
static long mul(long a, long b) { return a * b; }
static const op ops[] = { add, sub, mul };
__attribute__((noinline)) op pick(int i) { return ops[i]; }
__attribute__((noinline)) op direct(void) { return sub; }
long test_table(void) { long v = 7; for (int i = 0; i < 3; i++) v = pick(i)(v, 3); return v; }
long test_equal(void) { return (pick(1) == direct()) + 2 * (pick(0) != direct()); }
