// The executor's protocol: what the host (native/executor-host.c, in the addon) and the executor
// (native/executor.c, a process of its own) say to each other over their socket.
//
// Every message is a header (its type, then the length of what follows) and that many bytes,
// all little-endian. Either side may be waiting for an answer when the other asks something of
// its own: the executor running a call asks the host to compile a lazy function (RESOLVE), and
// the host, compiling it, may call into the executor again (a nested CALL) or look a symbol up
// (DLSYM) before it answers (RESOLVED). So each side, while it waits, serves what it is asked.
//
//   host to executor                          executor to host
//   MAP      code, sizes, data (+ the memfd)  OK | ERROR
//   SPAN     bytes                            ADDRESS (free in the executor, not reserved)
//   CALL     call_request [+ buffers]         RETURN call_reply [+ buffers] | ABANDONED | FAULT | RESOLVE...
//   RESOLVED address (0: the compile threw)   (the call goes on, or is abandoned)
//   DLSYM    name                             ADDRESS (0: none)
//   DLOPEN   path                             OK | ERROR
//   PROTECT  address, length, writable        OK | ERROR
//   UNMAP                                     OK
//   WRITE    (loc u64, length u32, bytes)...  (no answer: copies of the heap's writes, over TCP)
//   READ     loc, length                      OK with the bytes (over TCP: what the code wrote)
//   WATCH    address                          OK: a thread there spins on the 8 bytes at address
//   WATCHED                                   ADDRESS: the CLOCK_MONOTONIC ns it saw them change
//                                             (a benchmark's: how soon a backpatch is seen there)
//
// Over TCP (codeheap_executor --listen) nothing is shared: MAP says COPY, the executor makes its
// own arenas (a memfd of its own, mapped twice as the addon maps one), and the host sends what
// the heap writes as WRITE messages before any code runs.
//
// A FAULT is the executor's last message: it then dies of the signal, so that the host's
// waitpid sees what it was.

#ifndef CODEHEAP_EXECUTOR_PROTOCOL_H
#define CODEHEAP_EXECUTOR_PROTOCOL_H

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

enum {
  MSG_MAP = 1, MSG_SPAN, MSG_CALL, MSG_RESOLVED, MSG_DLSYM, MSG_DLOPEN, MSG_PROTECT, MSG_UNMAP, MSG_WRITE, MSG_READ, MSG_WATCH, MSG_WATCHED,
  MSG_OK = 101, MSG_ERROR, MSG_ADDRESS, MSG_RETURN, MSG_RESOLVE, MSG_FAULT, MSG_ABANDONED,
};

// The executor's end of the socket: the descriptor it is started with.
#define EXECUTOR_SOCKET 3

// The most a message may carry (a call's buffers included): past it the other side is lying.
#define MESSAGE_LIMIT (256u << 20)

typedef struct {
  uint32_t type;
  uint32_t length;
} message_header;

// MAP_COPY: no memfd comes; the executor makes its own and takes WRITEs.
#define MAP_COPY 1u
typedef struct {
  uint64_t code_address, code_size, data_address, data_size;
  uint64_t flags;
} map_request;

// A call: rdi .. r9 and xmm0 .. xmm7 as raw bits, the result's kind (RESULT_KINDS of
// src/native-signature.ts; 7, i64, for a plain call), and `buffers` buffers after it, each a
// call_buffer and its bytes: the executor passes the address of its copy in ints[argument] and
// sends the bytes back after the call (the callee may have written them).
#define CALL_INTEGERS 6
#define CALL_FLOATS 8
typedef struct {
  uint64_t address;
  uint64_t ints[CALL_INTEGERS];
  uint64_t floats[CALL_FLOATS];
  uint32_t result_kind;
  uint32_t buffers;
} call_request;

typedef struct {
  uint32_t argument;
  uint32_t length;
} call_buffer;

typedef struct {
  uint64_t rax;
  uint64_t xmm0;
} call_reply;

typedef struct {
  uint64_t address, length;
  uint32_t writable, pad;
} protect_request;

// A fault: as native/calls.h's fault_record (the registers rax .. r15, rip, eflags).
#define WIRE_REGISTERS 18
typedef struct {
  int32_t signal, code;
  uint64_t address;
  uint64_t registers[WIRE_REGISTERS];
} fault_message;

// Writes all of `length` bytes (MSG_NOSIGNAL: a closed peer is an error, not a SIGPIPE). 0 or -1.
static inline int wire_write(int fd, const void* data, size_t length) {
  const char* at = (const char*)data;
  while (length > 0) {
    ssize_t n = send(fd, at, length, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    at += n;
    length -= (size_t)n;
  }
  return 0;
}

// Sends a message: its header, then `length` bytes of `payload`, then `extra` bytes of `more`,
// in one sendmsg where the socket takes it all (over TCP, one segment rather than three: a
// round trip on loopback cost twice as much sent in parts).
static inline int wire_send(int fd, uint32_t type, const void* payload, size_t length, const void* more, size_t extra) {
  message_header header = {type, (uint32_t)(length + extra)};
  struct iovec parts[3] = {{&header, sizeof header}, {(void*)payload, length}, {(void*)more, extra}};
  struct msghdr message = {0};
  message.msg_iov = parts;
  message.msg_iovlen = 3;
  ssize_t sent;
  do sent = sendmsg(fd, &message, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) return -1;
  // What the socket did not take at once goes part by part.
  size_t done = (size_t)sent;
  for (int i = 0; i < 3; i++) {
    if (done >= parts[i].iov_len) {
      done -= parts[i].iov_len;
      continue;
    }
    if (wire_write(fd, (const char*)parts[i].iov_base + done, parts[i].iov_len - done) != 0) return -1;
    done = 0;
  }
  return 0;
}

// Reads exactly `length` bytes, waiting at most `timeout_ms` for each part (-1: forever).
// 0; -1 when the peer closed or failed (errno), -2 when it said nothing for timeout_ms.
static inline int wire_read(int fd, void* data, size_t length, int timeout_ms) {
  char* at = (char*)data;
  while (length > 0) {
    if (timeout_ms >= 0) {
      struct pollfd p = {fd, POLLIN, 0};
      int ready = poll(&p, 1, timeout_ms);
      if (ready < 0 && errno == EINTR) continue;
      if (ready == 0) return -2;
      if (ready < 0) return -1;
    }
    ssize_t n = recv(fd, at, length, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) errno = ECONNRESET;
    if (n <= 0) return -1;
    at += n;
    length -= (size_t)n;
  }
  return 0;
}

// wire_read, after spinning for up to `spin_us` microseconds on what may already be on its way:
// a short call's answer comes back sooner than the scheduler would wake a blocked reader (on
// this machine a wake-up is 10 to 15 us, a whole round trip's budget), so each side first asks
// without blocking, then blocks.
static inline int wire_read_spin(int fd, void* data, size_t length, int timeout_ms, int spin_us) {
  struct timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  for (;;) {
    ssize_t n = recv(fd, data, length, MSG_DONTWAIT);
    if (n > 0) return (size_t)n == length ? 0 : wire_read(fd, (char*)data + n, length - (size_t)n, timeout_ms);
    if (n == 0) {
      errno = ECONNRESET;
      return -1;
    }
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long elapsed_us = (now.tv_sec - start.tv_sec) * 1000000L + (now.tv_nsec - start.tv_nsec) / 1000L;
    if (elapsed_us >= spin_us) return wire_read(fd, data, length, timeout_ms);
  }
}

#endif
