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

// Rows and parameters in one call each, for a driver whose every FFI call costs more than the C
// it runs: a packed buffer, little-endian, no alignment.
//   row:        u32 columns, then per column u8 type (1 integer, 2 float, 3 text, 5 null) and
//               i64 | f64 | u32 length + bytes | nothing
//   parameters: u32 count, then per parameter the same u8 type and payload
int sqlite3_step(sqlite3_stmt* stmt);
int sqlite3_reset(sqlite3_stmt* stmt);
int sqlite3_clear_bindings(sqlite3_stmt* stmt);
int sqlite3_column_count(sqlite3_stmt* stmt);
int sqlite3_column_type(sqlite3_stmt* stmt, int column);
long long sqlite3_column_int64(sqlite3_stmt* stmt, int column);
double sqlite3_column_double(sqlite3_stmt* stmt, int column);
int sqlite3_bind_int64(sqlite3_stmt* stmt, int index, long long value);
int sqlite3_bind_double(sqlite3_stmt* stmt, int index, double value);
int sqlite3_bind_null(sqlite3_stmt* stmt, int index);

#define SHIM_ROW 100
#define SHIM_TOO_SMALL -2

// Steps once; on a row, writes it to out and returns SQLITE_ROW (or SHIM_TOO_SMALL when it does
// not fit in cap bytes); otherwise returns what sqlite3_step returned.
int shim_step_row(sqlite3_stmt* stmt, unsigned char* out, int cap) {
  int status = sqlite3_step(stmt);
  if (status != SHIM_ROW) return status;
  int columns = sqlite3_column_count(stmt);
  long at = 4;
  memcpy(out, &columns, 4);
  for (int c = 0; c < columns; c++) {
    int type = sqlite3_column_type(stmt, c);
    if (at + 1 + 8 > cap) return SHIM_TOO_SMALL;
    out[at++] = (unsigned char)type;
    if (type == 1) {
      long long v = sqlite3_column_int64(stmt, c);
      memcpy(out + at, &v, 8);
      at += 8;
    } else if (type == 2) {
      double v = sqlite3_column_double(stmt, c);
      memcpy(out + at, &v, 8);
      at += 8;
    } else if (type == 3) {
      const unsigned char* text = sqlite3_column_text(stmt, c);
      int length = sqlite3_column_bytes(stmt, c);
      if (at + 4 + length > cap) return SHIM_TOO_SMALL;
      memcpy(out + at, &length, 4);
      memcpy(out + at + 4, text, (size_t)length);
      at += 4 + length;
    }
  }
  return SHIM_ROW;
}

// Resets the statement and binds the packed parameters; returns SQLITE_OK or the first error.
int shim_bind_packed(sqlite3_stmt* stmt, const unsigned char* in) {
  sqlite3_reset(stmt);
  sqlite3_clear_bindings(stmt);
  int count;
  memcpy(&count, in, 4);
  long at = 4;
  for (int i = 1; i <= count; i++) {
    int type = in[at++];
    int status = 0;
    if (type == 1) {
      long long v;
      memcpy(&v, in + at, 8);
      at += 8;
      status = sqlite3_bind_int64(stmt, i, v);
    } else if (type == 2) {
      double v;
      memcpy(&v, in + at, 8);
      at += 8;
      status = sqlite3_bind_double(stmt, i, v);
    } else if (type == 3) {
      int length;
      memcpy(&length, in + at, 4);
      status = sqlite3_bind_text(stmt, i, (const char*)in + at + 4, length, SQLITE_TRANSIENT);
      at += 4 + length;
    } else {
      status = sqlite3_bind_null(stmt, i);
    }
    if (status != 0) return status;
  }
  return 0;
}

// Binds the packed parameters and steps to the end, for a statement run once per parameter row
// (a bulk insert): returns what the last sqlite3_step returned.
int shim_run_packed(sqlite3_stmt* stmt, const unsigned char* in) {
  int status = shim_bind_packed(stmt, in);
  if (status != 0) return status;
  do status = sqlite3_step(stmt); while (status == SHIM_ROW);
  return status;
}
