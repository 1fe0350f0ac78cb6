// Functions with arguments, for the typed call API (heap.bind) rather than `long f(void)`
// entries: an int result that is negative, doubles in and out (xmm0), and a caller's buffer
// filled through a pointer. The manifest lists their signatures and sample arguments.
// gcc 12: no relocations at all; what it tests is the calling convention.
int minus_one(void) { return -1; }

double scale(double x, int k) { return k >= 0 ? x * (double)(1L << (k & 31)) : x / (double)(1L << (-k & 31)); }

// Fills a caller's buffer with letters a..z repeating, cap - 1 of them and a NUL, and returns
// how many letters it wrote (-1 when cap < 1), so a caller sees both the bytes and the count.
int fill(char* out, int cap) {
  if (cap < 1) return -1;
  int n = 0;
  for (char c = 'a'; n < cap - 1; n++, c = c == 'z' ? 'a' : (char)(c + 1)) out[n] = c;
  out[n] = 0;
  return n;
}
