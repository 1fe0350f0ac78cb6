// Function pointers: a const table of them (in .data.rel.ro under -fPIC: R_X86_64_64 against
// each function, resolved when loaded), and the same function's address taken in two different
// functions (lea with PC32, or a GOT load for the exported one) which must compare equal.
// gcc 12: R_X86_64_64 .text.add/.text.sub/.text.mul and exported_max in .data.rel.ro.table (in
// .data.rel.ro.local.table with -fPIE), PC32 .text.add from address_of_add, REX_GOTPCRELX
// exported_max (PC32 with -fPIE), PC32 .data.rel.ro.table from pick; PLT32 (or GOTPCRELX) calls.
// The loader must give a data slot and a lea of one function the same value: its stub.
typedef long (*op)(long, long);

static long add(long a, long b) { return a + b; }
static long sub(long a, long b) { return a - b; }
static long mul(long a, long b) { return a * b; }
long exported_max(long a, long b) { return a > b ? a : b; }

static const op table[] = { add, sub, mul, exported_max };

__attribute__((noinline)) op pick(long i) { return table[i & 3]; }
__attribute__((noinline)) op address_of_add(void) { return add; }
__attribute__((noinline)) op address_of_max(void) { return exported_max; }

long test_table(void) { long s = 1; for (long i = 0; i < 8; i++) s = pick(i)(s, i + 3); return s; }
long test_equal_static(void) { return (pick(0) == address_of_add()) * 10 + (pick(1) == address_of_add()); }
long test_equal_exported(void) { return (pick(3) == address_of_max()) * 10 + (pick(3) == &exported_max); }
