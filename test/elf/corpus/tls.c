// Thread-local storage: a __thread variable lives in .tbss (.tbss.t with -fdata-sections) and is
// reached with TLS relocations: R_X86_64_TLSGD t and PLT32 __tls_get_addr under -fPIC
// (GOTPCRELX with -fno-plt), R_X86_64_TPOFF32 t with -fPIE. The heap has no TLS block to give
// it, so the loader must refuse the object with an error naming the section, not load it wrong.
// Natively it runs, so the manifest can still check it compiles in every variant.
__thread int t;

long test_tls(void) { t = 5; t += 2; return t; }
