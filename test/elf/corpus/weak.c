// A weak definition (STB_WEAK, defined: used unless a strong one is loaded) and a weak undefined
// reference that nothing defines, whose address is then 0. The absent name is one no process
// exports, so the loader's fallback to the process's own symbols cannot find it. gcc loads the
// weak undefined address through the GOT (R_X86_64_REX_GOTPCRELX, or GOTPCREL at -O0), because
// it may be 0: a loader relaxing that load to a lea must not relax it for an undefined symbol.
// gcc 12: GOTPCREL codeheap_corpus_absent (REX_GOTPCRELX at -O0) and PLT32 for its call (taken
// only when it is not 0), PLT32 weak_value (GOTPCRELX with -fno-plt) in every variant.
extern int codeheap_corpus_absent(void) __attribute__((weak));

__attribute__((weak, noinline)) long weak_value(void) { return 41; }

long test_weak_defined(void) { return weak_value() + 1; }
long test_weak_undefined(void) { return codeheap_corpus_absent ? codeheap_corpus_absent() : -7; }
