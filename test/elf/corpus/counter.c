// Static data mutated across calls: initialised (.data) and zeroed (.bss) statics that each call
// updates. The entries must be called once each, in the listed order, on one loaded copy of the
// object: the oracle calls them that way in one process.
// gcc 12: PC32 .data.base, PC32 .bss.calls, PC32 .text.bump (plain .data/.bss, no call
// relocation, in one section).
static long calls;
static long base = 100;

__attribute__((noinline)) static long bump(long by) { calls += 1; base += by; return base * 10 + calls; }

long test_counter_first(void) { return bump(5); }
long test_counter_second(void) { return bump(7); }
long test_counter_third(void) { return bump(-200) + calls; }
