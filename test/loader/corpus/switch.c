// A switch dense enough for a jump table: .rodata.<fn> holds PC32 entries into the middle of
// .text.<fn> (interior references), laid inside the function's node by the loader.
__attribute__((noinline)) int classify(int x) {
  switch (x) {
    case 0: return 11; case 1: return 23; case 2: return 37; case 3: return 41;
    case 4: return 59; case 5: return 61; case 6: return 73; case 7: return 89;
    case 8: return 97; case 9: return 101; default: return -1;
  }
}
long test_switch(void) { long s = 0; for (int i = -2; i < 12; i++) s = s * 3 + classify(i); return s; }
