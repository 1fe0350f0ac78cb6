// For typed calls: a C int -1, doubles in and out, and a string written into a caller's buffer.
#include <stdio.h>
int minus_one(void) { return -1; }
double scale(double x, int k) { return x * k + 0.5; }
int fill(char* out, int cap) { return snprintf(out, (size_t)cap, "filled %d", cap); }
