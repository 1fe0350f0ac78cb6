// Calls an exported function of another object (calls.c), loaded before it.
long exported_square(long x);
long test_caller(void) { return exported_square(11) + 1; }
