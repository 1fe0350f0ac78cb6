// Thread-local storage: the loader refuses it, naming the symbol and section.
__thread int per_thread = 3;
long test_tls(void) { return ++per_thread; }
