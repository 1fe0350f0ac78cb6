// A small object of our own that calls into SQLite (loaded before it): it copies what SQLite
// returns by pointer (column text, error messages) into a caller's buffer, so a typed FFI with
// integers, doubles and byte buffers can drive SQLite.
#include <string.h>
typedef struct sqlite3 sqlite3;
typedef struct sqlite3_stmt sqlite3_stmt;
const unsigned char* sqlite3_column_text(sqlite3_stmt*, int);
int sqlite3_column_bytes(sqlite3_stmt*, int);
const char* sqlite3_errmsg(sqlite3*);

static int copy_out(const char* text, int length, char* out, int cap) {
  if (text == 0) return -1;
  int n = length < cap - 1 ? length : cap - 1;
  memcpy(out, text, (size_t)n);
  out[n] = 0;
  return length;
}

int shim_column_text(sqlite3_stmt* stmt, int column, char* out, int cap) {
  const unsigned char* text = sqlite3_column_text(stmt, column);
  return copy_out((const char*)text, sqlite3_column_bytes(stmt, column), out, cap);
}

int shim_errmsg(sqlite3* db, char* out, int cap) {
  const char* message = sqlite3_errmsg(db);
  return copy_out(message, (int)strlen(message), out, cap);
}
