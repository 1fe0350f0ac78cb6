// A small object of our own that calls SQLite's exported API, loaded after sqlite3.o, so a typed
// FFI of integers, doubles and byte buffers can drive SQLite: it copies what SQLite hands back
// by pointer (column text, error messages) into a caller's buffer, and binds text with
// SQLITE_TRANSIENT (a destructor argument of -1, awkward to pass as a pointer). The prototypes
// are declared here, as in sqlite3.h, so nothing outside this file is needed to compile it.
// gcc 12: PLT32 sqlite3_column_text, sqlite3_column_bytes, sqlite3_errmsg, sqlite3_bind_text,
// memcpy, strlen (GOTPCRELX with -fno-plt): all undefined here, from sqlite3.o or libc.
#include <string.h>

typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
const unsigned char* sqlite3_column_text(sqlite3_stmt* stmt, int column);
int sqlite3_column_bytes(sqlite3_stmt* stmt, int column);
const char* sqlite3_errmsg(sqlite3* db);
int sqlite3_bind_text(sqlite3_stmt* stmt, int index, const char* text, int bytes, void (*destructor)(void*));

#define SQLITE_TRANSIENT ((void (*)(void*))-1)

// Copies up to cap - 1 bytes and a NUL; returns the full length (so a caller sees truncation
// when the result is >= cap), or -1 for a NULL text.
static int copy_out(const char* text, int length, char* out, int cap) {
  if (text == NULL) return -1;
  if (cap > 0) {
    int n = length < cap - 1 ? length : cap - 1;
    memcpy(out, text, (size_t)n);
    out[n] = 0;
  }
  return length;
}

int shim_column_text(sqlite3_stmt* stmt, int column, char* out, int cap) {
  const char* text = (const char*)sqlite3_column_text(stmt, column);
  return copy_out(text, sqlite3_column_bytes(stmt, column), out, cap);
}

int shim_errmsg(sqlite3* db, char* out, int cap) {
  const char* message = sqlite3_errmsg(db);
  return copy_out(message, message == NULL ? 0 : (int)strlen(message), out, cap);
}

// text is `bytes` bytes of UTF-8 (no NUL needed); SQLite copies it before this returns.
int shim_bind_text(sqlite3_stmt* stmt, int index, const char* text, int bytes) {
  return sqlite3_bind_text(stmt, index, text, bytes, SQLITE_TRANSIENT);
}
