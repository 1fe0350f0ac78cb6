// codeheap's executor: a small process that runs a heap's code while the heap, its compiler and
// its counts stay in the host (codeheap/executor, src/executor/). Built with the addon.
//
// It maps the heap's arenas from the memfd the host shares (the code read-execute, the data
// read-write, at the heap's target addresses: the host writes through its own read-write view, so
// no page is ever writable and executable here), then serves the host's requests over its
// socket (native/executor-protocol.h): calls, symbol look-ups (its own dlsym: external symbols
// are this process's), protections. A lazy function's trampoline enters the resolver here, which
// asks the host for the body and waits, serving what the host asks meanwhile (a nested call).
//
// A fault in the heap's code (or anywhere here) is reported to the host with the registers, and
// the executor then dies of the signal. The executor runs with address-space randomization off
// (it re-executes itself so at start): a replacement started by respawn() finds the C library,
// and every symbol the heap resolved in it, where the one before had them.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "executor-protocol.h"
#include "resolver-entry.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static const int sock = EXECUTOR_SOCKET;
// How long the executor spins for the next request before it blocks (wire_read_spin).
#define SPIN_US 50

// The arenas mapped, for UNMAP.
static void* code_view = NULL;
static void* data_view = NULL;
static size_t code_size = 0, data_size = 0;
// Over TCP: the read-write view the host's WRITEs go to (the arenas back to back), or NULL.
static char* copy_view = NULL;

// The calls running, innermost first: a compile that threw abandons the innermost one.
typedef struct running_call {
  jmp_buf abandon;
  struct running_call* outer;
} running_call;
static running_call* current = NULL;

static void fail(const char* what) {
  fprintf(stderr, "codeheap executor: %s: %s\n", what, strerror(errno));
  _exit(70);
}

static void reply_error(int error, const char* what) {
  char text[256];
  int length = snprintf(text, sizeof text, "%s: %s", what, strerror(error));
  int32_t code = error;
  if (wire_send(sock, MSG_ERROR, &code, sizeof code, text, (size_t)length) != 0) fail("replying");
}

static void reply_ok(void) {
  if (wire_send(sock, MSG_OK, NULL, 0, NULL, 0) != 0) fail("replying");
}

static void reply_address(uint64_t address) {
  if (wire_send(sock, MSG_ADDRESS, &address, sizeof address, NULL, 0) != 0) fail("replying");
}

// ---- faults ----

static const int SIGNALS[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
static const int REGISTER_INDEX[WIRE_REGISTERS] = {
    REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_R8,
    REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP, REG_EFL,
};

// Tells the host, then dies of the signal (the default action, re-raised on return).
static void on_fault(int signal, siginfo_t* info, void* context) {
  const ucontext_t* uc = (const ucontext_t*)context;
  fault_message fault = {signal, info->si_code, (uint64_t)(uintptr_t)info->si_addr, {0}};
  for (int i = 0; i < WIRE_REGISTERS; i++) fault.registers[i] = (uint64_t)uc->uc_mcontext.gregs[REGISTER_INDEX[i]];
  wire_send(sock, MSG_FAULT, &fault, sizeof fault, NULL, 0);
  struct sigaction fallback;
  memset(&fallback, 0, sizeof fallback);
  fallback.sa_handler = SIG_DFL;
  sigaction(signal, &fallback, NULL);
  // A SIGTRAP from int3 would go on after the instruction: raise it again, to die of it now.
  if (signal == SIGTRAP) raise(SIGTRAP);
}

static void install_fault_handlers(void) {
  stack_t stack = {.ss_sp = malloc(64 * 1024), .ss_size = 64 * 1024, .ss_flags = 0};
  if (stack.ss_sp == NULL || sigaltstack(&stack, NULL) != 0) fail("sigaltstack");
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < sizeof SIGNALS / sizeof SIGNALS[0]; i++) sigaction(SIGNALS[i], &action, NULL);
}

// ---- requests ----

static void serve(void);
static int serve_one(uint64_t* resolved);

// Reads a whole message's payload (a malloc'd copy, NUL-terminated); dies when the host is gone.
static char* read_payload(uint32_t length) {
  if (length > MESSAGE_LIMIT) {
    errno = EPROTO;
    fail("a message past the limit");
  }
  char* payload = malloc((size_t)length + 1);
  if (payload == NULL) fail("malloc");
  if (length > 0 && wire_read(sock, payload, length, -1) != 0) _exit(0);
  payload[length] = 0;
  return payload;
}

// A payload that is one u64 (0 when it is not 8 bytes).
static uint64_t read_u64(uint32_t length) {
  char* payload = read_payload(length);
  uint64_t value = 0;
  if (length == sizeof value) memcpy(&value, payload, sizeof value);
  free(payload);
  return value;
}

// MAP: the memfd comes with the message, as SCM_RIGHTS.
static void map_arenas(void) {
  map_request request;
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec part = {&request, sizeof request};
  struct msghdr message = {0};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  ssize_t n;
  do n = recvmsg(sock, &message, MSG_CMSG_CLOEXEC | MSG_WAITALL);
  while (n < 0 && errno == EINTR);
  struct cmsghdr* header = CMSG_FIRSTHDR(&message);
  int copy = n == (ssize_t)sizeof request && (request.flags & MAP_COPY) != 0;
  if (n != (ssize_t)sizeof request || (!copy && (header == NULL || header->cmsg_type != SCM_RIGHTS))) {
    reply_error(EPROTO, "MAP: the arenas' memfd did not come with the request");
    return;
  }
  int fd = -1;
  if (copy) {
    // Arenas of its own, mapped twice: a read-write view for the host's WRITEs, the code r-x.
    fd = memfd_create("codeheap-executor-copy", MFD_CLOEXEC);
    if (fd < 0 || ftruncate(fd, (off_t)(request.code_size + request.data_size)) != 0) {
      int error = errno;
      if (fd >= 0) close(fd);
      reply_error(error, "MAP: the arenas' memfd");
      return;
    }
  } else {
    memcpy(&fd, CMSG_DATA(header), sizeof fd);
  }
  void* code = mmap((void*)(uintptr_t)request.code_address, request.code_size, PROT_READ | PROT_EXEC,
                    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, 0);
  if (code == MAP_FAILED || code != (void*)(uintptr_t)request.code_address) {
    int error = code == MAP_FAILED ? errno : EEXIST;
    if (code != MAP_FAILED) munmap(code, request.code_size);
    close(fd);
    reply_error(error, "MAP: the code arena at its target address");
    return;
  }
  void* data = mmap((void*)(uintptr_t)request.data_address, request.data_size, PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_FIXED_NOREPLACE, fd, (off_t)request.code_size);
  int error = errno;
  if (data == MAP_FAILED || data != (void*)(uintptr_t)request.data_address) {
    close(fd);
    if (data != MAP_FAILED) munmap(data, request.data_size);
    munmap(code, request.code_size);
    reply_error(data == MAP_FAILED ? error : EEXIST, "MAP: the data arena at its target address");
    return;
  }
  // Copied: the view the host's WRITEs go to, mapped after the arenas (where the kernel would
  // have put it first is where SPAN found the arenas' room).
  if (copy) {
    void* view = mmap(NULL, request.code_size + request.data_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (view == MAP_FAILED) {
      error = errno;
      close(fd);
      munmap(code, request.code_size);
      munmap(data, request.data_size);
      reply_error(error, "MAP: the view for the host's writes");
      return;
    }
    copy_view = view;
  }
  close(fd);
  code_view = code;
  data_view = data;
  code_size = request.code_size;
  data_size = request.data_size;
  reply_ok();
}

typedef uint64_t (*integer_function)(uint64_t, ...);
typedef double (*double_function)(uint64_t, ...);
typedef float (*float_function)(uint64_t, ...);
enum { RESULT_F32 = 10, RESULT_F64 = 11 };

// CALL: runs the code with the registers given; RETURN with rax and xmm0, and the buffers back.
static void call(uint32_t length) {
  char* payload = read_payload(length);
  call_request request;
  if (length < sizeof request) {
    free(payload);
    reply_error(EPROTO, "CALL: the request is cut short");
    return;
  }
  memcpy(&request, payload, sizeof request);
  // Each buffer's bytes stay in the payload, where the callee reads and writes them.
  size_t at = sizeof request;
  char* places[CALL_INTEGERS];
  call_buffer buffers[CALL_INTEGERS];
  uint32_t count = request.buffers;
  for (uint32_t i = 0; i < count; i++) {
    int fits = i < CALL_INTEGERS && at + sizeof(call_buffer) <= length;
    if (fits) {
      memcpy(&buffers[i], payload + at, sizeof(call_buffer));
      at += sizeof(call_buffer);
      fits = buffers[i].argument < CALL_INTEGERS && buffers[i].length <= length - at;
    }
    if (!fits) {
      free(payload);
      reply_error(EPROTO, "CALL: a buffer is past the request");
      return;
    }
    places[i] = payload + at;
    request.ints[buffers[i].argument] = (uint64_t)(uintptr_t)places[i];
    at += buffers[i].length;
  }
  running_call frame;
  frame.outer = current;
  current = &frame;
  if (setjmp(frame.abandon) != 0) {
    current = frame.outer;
    free(payload);
    if (wire_send(sock, MSG_ABANDONED, NULL, 0, NULL, 0) != 0) fail("replying");
    return;
  }
  const uint64_t* a = request.ints;
  double f[CALL_FLOATS];
  memcpy(f, request.floats, sizeof f);
  void* code = (void*)(uintptr_t)request.address;
  call_reply reply = {0, 0};
  if (request.result_kind == RESULT_F64) {
    double real = ((double_function)code)(a[0], a[1], a[2], a[3], a[4], a[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
    memcpy(&reply.xmm0, &real, sizeof real);
  } else if (request.result_kind == RESULT_F32) {
    double real = ((float_function)code)(a[0], a[1], a[2], a[3], a[4], a[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
    memcpy(&reply.xmm0, &real, sizeof real);
  } else {
    reply.rax = ((integer_function)code)(a[0], a[1], a[2], a[3], a[4], a[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
  }
  current = frame.outer;
  // The buffers go back as they are now, in the order they came.
  size_t back = 0;
  for (uint32_t i = 0; i < count; i++) back += buffers[i].length;
  char* bytes = back == 0 ? NULL : malloc(back);
  if (back > 0 && bytes == NULL) fail("malloc");
  size_t to = 0;
  for (uint32_t i = 0; i < count; i++) {
    memcpy(bytes + to, places[i], buffers[i].length);
    to += buffers[i].length;
  }
  if (wire_send(sock, MSG_RETURN, &reply, sizeof reply, bytes, back) != 0) fail("replying");
  free(bytes);
  free(payload);
}

static void protect(uint32_t length) {
  char* payload = read_payload(length);
  protect_request request;
  if (length != sizeof request) {
    free(payload);
    reply_error(EPROTO, "PROTECT: the request is cut short");
    return;
  }
  memcpy(&request, payload, sizeof request);
  free(payload);
  char* data = (char*)data_view;
  uint64_t start = (uint64_t)(uintptr_t)data;
  if (data == NULL || request.address < start || request.address + request.length > start + data_size) {
    reply_error(EINVAL, "PROTECT: the range is not in the data arena");
    return;
  }
  if (mprotect((void*)(uintptr_t)request.address, request.length, request.writable ? PROT_READ | PROT_WRITE : PROT_READ) != 0) {
    reply_error(errno, "PROTECT: mprotect");
    return;
  }
  reply_ok();
}

// WRITE: ranges of the arenas as the host's heap wrote them, each (loc u64, length u32, bytes).
// No answer; a range outside the arenas is a broken host, and the executor ends.
static void write_copies(uint32_t length) {
  char* payload = read_payload(length);
  size_t total = code_size + data_size;
  for (size_t at = 0; at < length;) {
    uint64_t loc = 0;
    uint32_t bytes = 0;
    if (copy_view == NULL || length - at < 12) _exit(71);
    memcpy(&loc, payload + at, 8);
    memcpy(&bytes, payload + at + 8, 4);
    at += 12;
    if (bytes > length - at || loc > total || bytes > total - loc) _exit(71);
    memcpy(copy_view + loc, payload + at, bytes);
    at += bytes;
  }
  free(payload);
}

// WATCH and WATCHED: a thread spinning on 8 bytes of the arenas until they change, and the
// CLOCK_MONOTONIC time it saw the change (the host's clock too: one machine), for
// bench/executor.bench.ts to time a backpatch's arrival here.
static pthread_t watcher;
static volatile const uint64_t* watched = NULL;
static uint64_t seen_ns = 0;

// The bytes as they were when WATCH came (read before the thread starts: the host may change
// them as soon as WATCH is answered).
static uint64_t watched_before = 0;

// Set by the thread once it spins: WATCH is answered only then (a thread's start takes longer
// than a redefine).
static volatile int watching = 0;

static void* watch(void* unused) {
  (void)unused;
  watching = 1;
  while (*watched == watched_before) __asm__ volatile("pause");
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  seen_ns = (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
  return NULL;
}

static void watch_request(uint32_t length, int start) {
  uint64_t address = read_u64(length);
  uint64_t code = (uint64_t)(uintptr_t)code_view;
  if (start) {
    if (watched != NULL || code_view == NULL || address < code || address + 8 > code + code_size) {
      reply_error(EINVAL, "WATCH: 8 bytes of the code arena, one watch at a time");
      return;
    }
    watched = (volatile const uint64_t*)(uintptr_t)address;
    watched_before = *watched;
    watching = 0;
    if (pthread_create(&watcher, NULL, watch, NULL) != 0) {
      watched = NULL;
      reply_error(errno, "WATCH: the thread");
      return;
    }
    while (!watching) __asm__ volatile("pause");
    reply_ok();
    return;
  }
  if (watched == NULL) {
    reply_address(0);
    return;
  }
  pthread_join(watcher, NULL);
  watched = NULL;
  reply_address(seen_ns);
}

// Serves one request. Returns 1 after a RESOLVED (its address in *resolved), else 0.
static int serve_one(uint64_t* resolved) {
  message_header header;
  // The host gone (its end closed): nothing is left to do.
  // A host making calls in a row sends the next soon: spin a little before sleeping on it (not
  // while a WATCH thread spins: on two cores the two would take the host's).
  if (wire_read_spin(sock, &header, sizeof header, -1, watched == NULL ? SPIN_US : 0) != 0) _exit(0);
  switch (header.type) {
    case MSG_MAP:
      map_arenas();
      return 0;
    case MSG_CALL:
      call(header.length);
      return 0;
    case MSG_RESOLVED: {
      uint64_t address = read_u64(header.length);
      if (resolved == NULL) {
        reply_error(EPROTO, "RESOLVED: no lazy function was being resolved");
        return 0;
      }
      *resolved = address;
      return 1;
    }
    case MSG_SPAN: {
      uint64_t span = read_u64(header.length);
      void* free_span = span == 0 ? MAP_FAILED : mmap(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (free_span == MAP_FAILED) {
        reply_address(0);
      } else {
        munmap(free_span, span);
        reply_address((uint64_t)(uintptr_t)free_span);
      }
      return 0;
    }
    case MSG_DLSYM: {
      char* name = read_payload(header.length);
      void* address = strlen(name) == header.length ? dlsym(RTLD_DEFAULT, name) : NULL;
      free(name);
      reply_address((uint64_t)(uintptr_t)address);
      return 0;
    }
    case MSG_DLOPEN: {
      char* path = read_payload(header.length);
      void* library = dlopen(path, RTLD_NOW | RTLD_GLOBAL);
      free(path);
      if (library == NULL) {
        const char* why = dlerror();
        int32_t code = ENOENT;
        if (wire_send(sock, MSG_ERROR, &code, sizeof code, why, why == NULL ? 0 : strlen(why)) != 0) fail("replying");
      } else {
        reply_ok();
      }
      return 0;
    }
    case MSG_PROTECT:
      protect(header.length);
      return 0;
    case MSG_WRITE:
      write_copies(header.length);
      return 0;
    case MSG_WATCH:
    case MSG_WATCHED:
      watch_request(header.length, header.type == MSG_WATCH);
      return 0;
    case MSG_READ: {
      char* payload = read_payload(header.length);
      uint64_t range[2] = {0, 0};
      if (header.length == sizeof range) memcpy(range, payload, sizeof range);
      free(payload);
      size_t total = code_size + data_size;
      if (copy_view == NULL || range[0] > total || range[1] > total - range[0] || range[1] > MESSAGE_LIMIT) {
        reply_error(EINVAL, "READ: the range is not in the arenas");
      } else if (wire_send(sock, MSG_OK, copy_view + range[0], range[1], NULL, 0) != 0) {
        fail("replying");
      }
      return 0;
    }
    case MSG_UNMAP:
      free(read_payload(header.length));
      if (code_view != NULL) munmap(code_view, code_size);
      if (data_view != NULL) munmap(data_view, data_size);
      if (copy_view != NULL) munmap(copy_view, code_size + data_size);
      code_view = data_view = NULL;
      copy_view = NULL;
      reply_ok();
      return 0;
    default:
      free(read_payload(header.length));
      reply_error(EPROTO, "an unknown request");
      return 0;
  }
}

static void serve(void) {
  for (;;) serve_one(NULL);
}

// The lazy function's body, from the host: RESOLVE, then serve until RESOLVED. 0 from the host
// (its compile threw): the innermost call is abandoned, as a throwing resolver abandons one in
// the addon.
uint64_t codeheap_resolve(uint64_t return_address) {
  if (current == NULL) {
    fprintf(stderr, "codeheap executor: a lazy function's trampoline was entered outside a call (return address 0x%llx)\n",
            (unsigned long long)return_address);
    abort();
  }
  if (wire_send(sock, MSG_RESOLVE, &return_address, sizeof return_address, NULL, 0) != 0) _exit(0);
  uint64_t address = 0;
  while (!serve_one(&address)) {
  }
  if (address == 0) longjmp(current->abandon, 1);
  return address;
}

// The host gone, the executor goes, even when it is stuck in the heap's code (a host that timed
// out a call closes its end): a thread that waits for nothing but the peer's hang-up.
static void* watch_host(void* unused) {
  (void)unused;
  for (;;) {
    struct pollfd p = {sock, POLLRDHUP, 0};
    if (poll(&p, 1, -1) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0) _exit(0);
  }
  return NULL;
}

// --listen HOST:PORT: accepts connections there, forever, each served by an executor of its own
// (a fork); prints the port it listens on (the one the system chose, for port 0) first.
static void listen_on(const char* where) {
  char host[256];
  const char* colon = strrchr(where, ':');
  if (colon == NULL || (size_t)(colon - where) >= sizeof host) {
    fprintf(stderr, "codeheap executor: --listen HOST:PORT, got %s\n", where);
    _exit(64);
  }
  memcpy(host, where, (size_t)(colon - where));
  host[colon - where] = 0;
  struct addrinfo hints = {0}, *found = NULL;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  if (getaddrinfo(host, colon + 1, &hints, &found) != 0 || found == NULL) fail("--listen: the address");
  int listener = socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, found->ai_protocol);
  int on = 1;
  setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
  if (listener < 0 || bind(listener, found->ai_addr, found->ai_addrlen) != 0 || listen(listener, 16) != 0) fail("--listen");
  freeaddrinfo(found);
  struct sockaddr_storage bound;
  socklen_t length = sizeof bound;
  getsockname(listener, (struct sockaddr*)&bound, &length);
  int port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6*)&bound)->sin6_port : ((struct sockaddr_in*)&bound)->sin_port);
  printf("%d\n", port);
  fflush(stdout);
  signal(SIGCHLD, SIG_IGN);  // children are reaped by the system
  for (;;) {
    int connection = accept4(listener, NULL, NULL, 0);
    if (connection < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      fail("accept");
    }
    pid_t child = fork();
    if (child == 0) {
      close(listener);
      if (connection != sock && (dup2(connection, sock) < 0 || close(connection) != 0)) fail("dup2");
      setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
      return;
    }
    close(connection);
  }
}

int main(int argc, char** argv) {
  // Once, with randomization off for the address space of the program it runs (see the header).
  if (argc < 2 || strcmp(argv[1], "--fixed") != 0) {
    if (personality(0xffffffff) != -1 && (personality(0xffffffff) & ADDR_NO_RANDOMIZE) == 0) {
      personality(personality(0xffffffff) | ADDR_NO_RANDOMIZE);
    }
    char* again[] = {argv[0], "--fixed", argc >= 3 ? argv[1] : NULL, argc >= 3 ? argv[2] : NULL, NULL};
    execv("/proc/self/exe", again);
    // Where it cannot re-execute, it runs as it is: respawn() checks every symbol again anyway.
  }
  int first = strcmp(argv[1], "--fixed") == 0 ? 2 : 1;
  if (argc >= first + 2 && strcmp(argv[first], "--listen") == 0) listen_on(argv[first + 1]);
  pthread_t watchdog;
  if (pthread_create(&watchdog, NULL, watch_host, NULL) != 0) fail("the watchdog thread");
  install_fault_handlers();
  // The host tells the resolver's address from this first message.
  uint64_t hello[2] = {(uint64_t)(uintptr_t)&codeheap_resolver_entry, (uint64_t)getpid()};
  if (wire_send(sock, MSG_ADDRESS, hello, sizeof hello, NULL, 0) != 0) fail("greeting the host");
  serve();
  return 0;
}
