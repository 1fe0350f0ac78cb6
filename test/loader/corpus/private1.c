// Two objects each with a static `count` and a static `bump`: private to their object.
static int count = 100;
static int bump(void) { return ++count; }
long test_private1(void) { bump(); return bump(); }
