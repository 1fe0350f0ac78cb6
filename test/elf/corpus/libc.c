// Calls into the C library, which the loader resolves outside the object: functions (PLT32, or
// GOTPCRELX with -fno-plt), a variadic one (snprintf: the caller sets al), the data symbol
// `stderr` (a GOT load under -fPIC), and errno, which glibc reaches through __errno_location().
// gcc 12: PLT32 malloc, free, memcpy, snprintf, strlen, strtol, fputs, fileno, __errno_location
// (GOTPCRELX each with -fno-plt); REX_GOTPCRELX stderr; PC32 .LC* format strings. With -fPIE
// stderr is PC32 (the manifest leaves that variant out: see there).
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// A length gcc cannot see, so that memcpy stays a call at -O1 and -O2 instead of inline moves.
__attribute__((noipa)) static size_t count(void) { return 64; }

long test_malloc(void) {
  size_t n = count();
  long* p = malloc(n * sizeof(long));
  if (p == NULL) return -1;
  for (size_t i = 0; i < n; i++) p[i] = (long)(i * i);
  long* q = malloc(n * sizeof(long));
  if (q == NULL) { free(p); return -1; }
  memcpy(q, p, n * sizeof(long));
  long s = 0;
  for (size_t i = 0; i < n; i++) s += q[i] - (long)i;
  free(p);
  free(q);
  return s;
}

long test_snprintf(void) {
  char buffer[64];
  int n = snprintf(buffer, sizeof buffer, "%s-%d-%.3f", "heap", 42, 2.5);
  return n * 1000 + (long)strlen(buffer) * 10 + (buffer[5] - '0');
}

long test_errno(void) {
  char* end;
  errno = 0;
  long v = strtol("999999999999999999999999", &end, 10);
  return errno * 10 + (v == LONG_MAX) + (*end == 0) * 100;
}

// Writes nothing visible: an empty string, then fileno() reads the FILE the `stderr` symbol
// points at, so a wrong address for it shows as a wrong result or a fault.
long test_stderr(void) { return (fputs("", stderr) >= 0) * 10 + fileno(stderr); }
