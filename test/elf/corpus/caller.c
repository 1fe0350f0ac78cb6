// A call into another object: exported_square and exported_chain are defined in calls.c, which
// must be loaded first (the manifest says so). Undefined here, they are R_X86_64_PLT32 (or
// GOTPCRELX with -fno-plt) against a symbol of the other object, in every variant.
long exported_square(long x);
long exported_chain(long x);

long test_cross_object(void) { return exported_square(99) + exported_chain(3); }
