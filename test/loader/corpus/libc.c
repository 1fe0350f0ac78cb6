// Calls into the C library: malloc, free, memcpy, snprintf, strlen, errno after a failing strtol,
// and fputs to stderr (an external data symbol, through the GOT).
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
long test_malloc(void) {
  char* p = malloc(64); if (p == NULL) return -1;
  memcpy(p, "abcdef", 7); long n = (long)strlen(p) + p[2]; free(p); return n;
}
long test_snprintf(void) { char buf[64]; int n = snprintf(buf, sizeof buf, "%d-%s-%.2f", 42, "x", 2.5); return n * 1000 + buf[0]; }
long test_errno(void) { errno = 0; strtol("99999999999999999999999", NULL, 10); return errno == ERANGE; }
long test_stderr(void) { return fputs("", stderr) >= 0; }
