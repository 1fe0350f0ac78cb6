// A constructor and a destructor (.init_array and .fini_array): the constructor sets a global
// the test reads; the destructor writes through a pointer the test gives it (dtor_out).
static long state;
long* dtor_out;
__attribute__((constructor)) static void setup(void) { state = 1234; }
__attribute__((destructor)) static void teardown(void) { if (dtor_out) *dtor_out = state + 1; }
long test_ctor(void) { return state; }
