// The host's side of an executor (native/executor.c), in the addon: starting one, sharing the
// arenas' memfd with it, and the blocking exchanges that make heap.call synchronous across the
// two processes (native/executor-protocol.h). JavaScript (src/executor/) holds the descriptors
// and decides what to ask; this file only moves bytes and turns the executor's answers, its
// silence and its death into values and errors.
//
//   executorSpawn(path, timeoutMs)            -> [pid, fd, resolverAddress]
//   executorShare(size)                       -> [ArrayBuffer (the host's read-write view), memfd]
//   executorUnshare(buffer)                   unmaps the view now, closes the memfd, detaches the buffer
//   executorRequest(fd, pid, timeoutMs, type, payload?, passFd?) -> [replyType, Uint8Array]
//   executorCall(fd, pid, timeoutMs, resolve, address, kind, floats, ...ints) -> the result
//   executorReap(pid)                         -> [exitStatus, signal] (waits for the process)
//   executorKill(pid), executorClose(fd)
//
// What fails is an Error with code EXECUTOR_LOST and `reason`: 'closed' (the executor's end
// went away), 'timeout' (nothing came for timeoutMs: the executor is killed), 'protocol' (it said
// what it must not) or 'fault' (it reported a fault, with the signal, pc and registers as
// native/faults.c gives a MACHINE_FAULT's).

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "addon.h"
#include "calls.h"
#include "executor-protocol.h"

extern char** environ;

// How long the host spins for a call's answer before it blocks (wire_read_spin): a short call
// comes back within it.
#define CALL_SPIN_US 50

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) return throw_last(env, #call);            \
  } while (0)

static napi_value lost(napi_env env, const char* reason, const char* message) {
  napi_value code, text, error, why;
  // An exception already pending (a compile that threw, then the executor died): this one wins.
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) {
    napi_value ignored;
    napi_get_and_clear_last_exception(env, &ignored);
  }
  if (napi_create_string_utf8(env, "EXECUTOR_LOST", NAPI_AUTO_LENGTH, &code) == napi_ok &&
      napi_create_string_utf8(env, message, NAPI_AUTO_LENGTH, &text) == napi_ok &&
      napi_create_error(env, code, text, &error) == napi_ok &&
      napi_create_string_utf8(env, reason, NAPI_AUTO_LENGTH, &why) == napi_ok) {
    napi_set_named_property(env, error, "reason", why);
    napi_throw(env, error);
  }
  return NULL;
}

// A failed read or write: the executor closed its end, or said nothing for the timeout (then it
// is killed, so that it cannot come back half way through).
// Kills a local executor; a remote one (pid 0: over TCP) is left to notice its closed connection.
static void kill_executor(pid_t pid) {
  if (pid > 0) kill(pid, SIGKILL);
}

static napi_value lost_reading(napi_env env, int result, pid_t pid, int timeout_ms) {
  if (result == -2) {
    kill_executor(pid);
    char message[128];
    snprintf(message, sizeof message, pid > 0 ? "the executor (pid %d) did not answer within %d ms, and was killed"
                                              : "the executor (remote%.0d) did not answer within %d ms, and was let go", (int)pid, timeout_ms);
    return lost(env, "timeout", message);
  }
  return lost(env, "closed", "the executor closed its end of the socket");
}

// An array of `count` numbers, as the functions here answer.
static napi_value numbers(napi_env env, const double* values, uint32_t count) {
  napi_value result, value;
  CHECK(napi_create_array_with_length(env, count, &result));
  for (uint32_t i = 0; i < count; i++) {
    CHECK(napi_create_double(env, values[i], &value));
    CHECK(napi_set_element(env, result, i, value));
  }
  return result;
}

static int get_int(napi_env env, napi_value value, int32_t* out) {
  return napi_get_value_int32(env, value, out) == napi_ok;
}

// Reads the greeting every executor starts with: its resolver's address and its pid.
static int read_greeting(int fd, int timeout_ms, uint64_t hello[2]) {
  message_header header;
  int read = wire_read(fd, &header, sizeof header, timeout_ms);
  if (read == 0 && (header.type != MSG_ADDRESS || header.length != 2 * sizeof(uint64_t))) return -3;
  return read == 0 ? wire_read(fd, hello, 2 * sizeof(uint64_t), timeout_ms) : read;
}

// executorSpawn(path, timeoutMs): the executor started with its end of a socket pair as fd 3,
// and its greeting read (its resolver's address and pid).
static napi_value ExecutorSpawn(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char path[4096];
  size_t length = 0;
  int32_t timeout_ms = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[0], path, sizeof path, &length) != napi_ok || length == 0 ||
      length >= sizeof path - 1 || !get_int(env, argv[1], &timeout_ms)) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorSpawn(path, timeoutMs): a path and a number of milliseconds");
    return NULL;
  }
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) return throw_errno(env, "EXECUTOR_LOST", "socketpair", errno);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 leaves the new descriptor without close-on-exec: the executor keeps fd 3 alone.
  posix_spawn_file_actions_adddup2(&actions, pair[1], EXECUTOR_SOCKET);
  char* args[] = {path, NULL};
  pid_t pid = 0;
  int spawned = posix_spawn(&pid, path, &actions, NULL, args, environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pair[1]);
  if (spawned != 0) {
    close(pair[0]);
    return throw_errno(env, "EXECUTOR_LOST", "posix_spawn of the executor", spawned);
  }
  uint64_t hello[2] = {0, 0};
  int read = read_greeting(pair[0], timeout_ms, hello);
  if (read != 0) {
    close(pair[0]);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return lost(env, read == -2 ? "timeout" : "closed", "the executor did not start (its greeting never came)");
  }
  double values[3] = {(double)pid, (double)pair[0], (double)hello[0]};
  return numbers(env, values, 3);
}

// executorConnect(host, port, timeoutMs) -> [fd, resolverAddress, remotePid]: a TCP connection to
// an executor listening there (codeheap_executor --listen), with Nagle's delay off: every
// message is a whole request that waits for its answer.
static napi_value ExecutorConnect(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char host[256];
  size_t length = 0;
  int32_t port = 0, timeout_ms = 0;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], host, sizeof host, &length) != napi_ok || length == 0 ||
      !get_int(env, argv[1], &port) || port <= 0 || port > 65535 || !get_int(env, argv[2], &timeout_ms)) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorConnect(host, port, timeoutMs)");
    return NULL;
  }
  char service[16];
  snprintf(service, sizeof service, "%d", port);
  struct addrinfo hints = {0}, *found = NULL;
  hints.ai_socktype = SOCK_STREAM;
  int resolved = getaddrinfo(host, service, &hints, &found);
  if (resolved != 0) {
    char message[512];
    snprintf(message, sizeof message, "executorConnect: %s: %s", host, gai_strerror(resolved));
    return lost(env, "closed", message);
  }
  int fd = -1, error = 0;
  for (struct addrinfo* a = found; a != NULL && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) return throw_errno(env, "EXECUTOR_LOST", "executorConnect: connect", error != 0 ? error : ECONNREFUSED);
  int on = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
  uint64_t hello[2] = {0, 0};
  if (read_greeting(fd, timeout_ms, hello) != 0) {
    close(fd);
    return lost(env, "closed", "the executor did not greet the connection");
  }
  double values[3] = {(double)fd, (double)hello[0], (double)hello[1]};
  return numbers(env, values, 3);
}

// executorSend(fd, type, payload): a message that has no answer (WRITE).
static napi_value ExecutorSend(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1, type = 0;
  void* payload = NULL;
  size_t length = 0;
  if (argc < 3 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &type) ||
      napi_get_typedarray_info(env, argv[2], NULL, &length, &payload, NULL, NULL) != napi_ok) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorSend(fd, type, payload)");
    return NULL;
  }
  if (wire_send(fd, (uint32_t)type, payload, length, NULL, 0) != 0) return lost(env, "closed", "the executor closed its end of the connection");
  return undefined_value(env);
}

// A shared view: the memfd and the host's read-write mapping of it.
typedef struct {
  void* view;
  size_t size;
  int fd;
} shared_t;

static void release_shared(shared_t* shared) {
  if (shared->view != NULL) munmap(shared->view, shared->size);
  if (shared->fd >= 0) close(shared->fd);
  shared->view = NULL;
  shared->fd = -1;
}

static void finalize_shared(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  shared_t* shared = (shared_t*)hint;
  release_shared(shared);
  free(shared);
}

// executorShare(size) -> [buffer, memfd]: the arenas' bytes, shared with the executor by the fd.
static napi_value ExecutorShare(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t size = 0;
  if (argc < 1 || !get_address(env, argv[0], &size) || size == 0) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorShare(size): a positive size");
    return NULL;
  }
  shared_t* shared = malloc(sizeof *shared);
  if (shared == NULL) return throw_errno(env, "OUT_OF_MEMORY", "executorShare", ENOMEM);
  shared->fd = memfd_create("codeheap-executor", MFD_CLOEXEC);
  shared->view = NULL;
  shared->size = (size_t)size;
  if (shared->fd < 0 || ftruncate(shared->fd, (off_t)size) != 0) {
    int error = errno;
    release_shared(shared);
    free(shared);
    return throw_errno(env, "OUT_OF_MEMORY", "executorShare: the memfd", error);
  }
  void* view = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, shared->fd, 0);
  if (view == MAP_FAILED) {
    int error = errno;
    release_shared(shared);
    free(shared);
    return throw_errno(env, "OUT_OF_MEMORY", "executorShare: mapping the view", error);
  }
  shared->view = view;
  napi_value buffer, result, value;
  if (napi_create_external_arraybuffer(env, view, (size_t)size, finalize_shared, shared, &buffer) != napi_ok) {
    release_shared(shared);
    free(shared);
    return throw_last(env, "napi_create_external_arraybuffer");
  }
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_set_element(env, result, 0, buffer));
  CHECK(napi_create_int32(env, shared->fd, &value));
  CHECK(napi_set_element(env, result, 1, value));
  // Found again by executorUnshare: the pair carries its record (freed with the buffer).
  CHECK(napi_wrap(env, result, shared, NULL, NULL, NULL));
  return result;
}

// executorUnshare(shared): the [buffer, fd] executorShare gave; the view goes now.
static napi_value ExecutorUnshare(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* found = NULL;
  if (argc < 1 || napi_unwrap(env, argv[0], &found) != napi_ok || found == NULL) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorUnshare(shared): what executorShare returned");
    return NULL;
  }
  napi_value buffer;
  CHECK(napi_get_element(env, argv[0], 0, &buffer));
  bool detached = false;
  CHECK(napi_is_detached_arraybuffer(env, buffer, &detached));
  if (!detached) CHECK(napi_detach_arraybuffer(env, buffer));
  release_shared((shared_t*)found);
  return undefined_value(env);
}

// Sends `type` with `payload`; with passFd >= 0 the descriptor goes with the payload (SCM_RIGHTS),
// after the header alone (a stream delivers a descriptor with the bytes it came with).
static int send_request(int fd, uint32_t type, const void* payload, size_t length, int pass_fd) {
  if (pass_fd < 0) return wire_send(fd, type, payload, length, NULL, 0);
  message_header header = {type, (uint32_t)length};
  if (wire_write(fd, &header, sizeof header) != 0) return -1;
  char control[CMSG_SPACE(sizeof(int))];
  memset(control, 0, sizeof control);
  struct iovec part = {(void*)payload, length};
  struct msghdr message = {0};
  message.msg_iov = &part;
  message.msg_iovlen = 1;
  message.msg_control = control;
  message.msg_controllen = sizeof control;
  struct cmsghdr* cmsg = CMSG_FIRSTHDR(&message);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cmsg), &pass_fd, sizeof pass_fd);
  ssize_t sent;
  do sent = sendmsg(fd, &message, MSG_NOSIGNAL);
  while (sent < 0 && errno == EINTR);
  if (sent < 0) return -1;
  if ((size_t)sent < length) return wire_write(fd, (const char*)payload + sent, length - (size_t)sent);
  return 0;
}

// Reads a reply's payload into a fresh Uint8Array.
static int read_payload(napi_env env, int fd, uint32_t length, int timeout_ms, napi_value* out, char** bytes) {
  void* data = NULL;
  napi_value buffer;
  if (napi_create_arraybuffer(env, length, &data, &buffer) != napi_ok) return -3;
  int result = length == 0 ? 0 : wire_read(fd, data, length, timeout_ms);
  if (result != 0) return result;
  if (napi_create_typedarray(env, napi_uint8_array, length, buffer, 0, out) != napi_ok) return -3;
  if (bytes != NULL) *bytes = (char*)data;
  return 0;
}

// executorRequest(fd, pid, timeoutMs, type, payload?, passFd?) -> [type, Uint8Array]: one
// request and its reply (MAP, SPAN, DLSYM, DLOPEN, PROTECT, UNMAP).
static napi_value ExecutorRequest(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1, pid = 0, timeout_ms = 0, type = 0, pass_fd = -1;
  if (argc < 4 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &pid) || !get_int(env, argv[2], &timeout_ms) ||
      !get_int(env, argv[3], &type)) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorRequest(fd, pid, timeoutMs, type, payload?, passFd?)");
    return NULL;
  }
  void* payload = NULL;
  size_t length = 0;
  if (argc >= 5) {
    napi_valuetype kind;
    CHECK(napi_typeof(env, argv[4], &kind));
    if (kind != napi_undefined) CHECK(napi_get_typedarray_info(env, argv[4], NULL, &length, &payload, NULL, NULL));
  }
  if (argc >= 6) get_int(env, argv[5], &pass_fd);
  if (send_request(fd, (uint32_t)type, payload, length, pass_fd) != 0) return lost_reading(env, -1, pid, timeout_ms);
  message_header header;
  int read = wire_read(fd, &header, sizeof header, timeout_ms);
  if (read == 0 && header.length > MESSAGE_LIMIT) return lost(env, "protocol", "the executor's reply is past the message limit");
  napi_value reply = NULL;
  if (read == 0) read = read_payload(env, fd, header.length, timeout_ms, &reply, NULL);
  if (read == -3) return throw_last(env, "reading the reply");
  if (read != 0) return lost_reading(env, read, pid, timeout_ms);
  napi_value result, value;
  CHECK(napi_create_array_with_length(env, 2, &result));
  CHECK(napi_create_uint32(env, header.type, &value));
  CHECK(napi_set_element(env, result, 0, value));
  CHECK(napi_set_element(env, result, 1, reply));
  return result;
}

// executorCall(fd, pid, timeoutMs, resolve, address, kind, floats, ...ints): the call, served to
// its end. A RESOLVE on the way runs `resolve` (which may call again: a nested executorCall);
// its throw is answered RESOLVED 0, the executor abandons the call, and the exception stands.
static napi_value ExecutorCall(napi_env env, napi_callback_info info) {
  size_t argc = 7 + CALL_INTEGERS;
  napi_value argv[7 + CALL_INTEGERS];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1, pid = 0, timeout_ms = 0, kind = 0;
  uint64_t address = 0;
  if (argc < 7 || !get_int(env, argv[0], &fd) || !get_int(env, argv[1], &pid) || !get_int(env, argv[2], &timeout_ms) ||
      !get_address(env, argv[4], &address) || !get_int(env, argv[5], &kind)) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorCall(fd, pid, timeoutMs, resolve, address, kind, floats, ...ints)");
    return NULL;
  }
  call_request request;
  memset(&request, 0, sizeof request);
  request.address = address;
  request.result_kind = (uint32_t)kind;
  napi_valuetype floats_type;
  CHECK(napi_typeof(env, argv[6], &floats_type));
  if (floats_type != napi_undefined) {
    void* floats = NULL;
    size_t count = 0;
    napi_typedarray_type float_kind;
    if (napi_get_typedarray_info(env, argv[6], &float_kind, &count, &floats, NULL, NULL) != napi_ok ||
        float_kind != napi_float64_array || count < CALL_FLOATS) {
      napi_throw_type_error(env, "INVALID_ARGUMENT", "executorCall: floats must be a Float64Array of 8, or undefined");
      return NULL;
    }
    memcpy(request.floats, floats, sizeof request.floats);
  }
  void* data[CALL_INTEGERS];
  size_t lengths[CALL_INTEGERS];
  call_buffer buffers[CALL_INTEGERS];
  size_t extra = 0;
  for (size_t i = 7; i < argc; i++) {
    size_t index = i - 7;
    lengths[index] = 0;
    // A buffer's bytes go with the call; the executor puts its copy's address in the register.
    if (!get_register(env, argv[i], &request.ints[index], &data[index], &lengths[index])) {
      napi_throw_type_error(env, "INVALID_ARGUMENT", "executorCall: arguments are numbers, BigInts, Uint8Arrays or null");
      return NULL;
    }
    if (data[index] != NULL) {
      buffers[request.buffers].argument = (uint32_t)index;
      buffers[request.buffers].length = (uint32_t)lengths[index];
      request.buffers++;
      extra += sizeof(call_buffer) + lengths[index];
    }
  }
  if (extra > MESSAGE_LIMIT) {
    napi_throw_range_error(env, "INVALID_ARGUMENT", "executorCall: the buffers are past the message limit");
    return NULL;
  }
  // The request, its buffers after it: one message.
  char* message = malloc(sizeof request + extra);
  if (message == NULL) return throw_errno(env, "OUT_OF_MEMORY", "executorCall", ENOMEM);
  memcpy(message, &request, sizeof request);
  size_t at = sizeof request;
  for (uint32_t b = 0; b < request.buffers; b++) {
    memcpy(message + at, &buffers[b], sizeof buffers[b]);
    at += sizeof buffers[b];
    memcpy(message + at, data[buffers[b].argument], buffers[b].length);
    at += buffers[b].length;
  }
  int sent = wire_send(fd, MSG_CALL, message, at, NULL, 0);
  free(message);
  if (sent != 0) return lost_reading(env, -1, pid, timeout_ms);
  for (;;) {
    message_header header;
    int read = wire_read_spin(fd, &header, sizeof header, timeout_ms, CALL_SPIN_US);
    if (read != 0) return lost_reading(env, read, pid, timeout_ms);
    if (header.length > MESSAGE_LIMIT) {
      kill_executor(pid);
      return lost(env, "protocol", "the executor's message is past the message limit");
    }
    if (header.type == MSG_RESOLVE && header.length == sizeof(uint64_t)) {
      uint64_t return_address = 0;
      read = wire_read(fd, &return_address, sizeof return_address, timeout_ms);
      if (read != 0) return lost_reading(env, read, pid, timeout_ms);
      uint64_t target = 0;
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) {
        napi_handle_scope scope;
        CHECK(napi_open_handle_scope(env, &scope));
        napi_value argument, global, result;
        if (napi_create_double(env, (double)return_address, &argument) == napi_ok && napi_get_global(env, &global) == napi_ok &&
            napi_call_function(env, global, argv[3], 1, &argument, &result) == napi_ok && !get_address(env, result, &target)) {
          target = 0;
          napi_throw_error(env, "CORRUPT", "codeheap executor: the resolver returned no address to run");
        }
        napi_close_handle_scope(env, scope);
      }
      if (wire_send(fd, MSG_RESOLVED, &target, sizeof target, NULL, 0) != 0) return lost_reading(env, -1, pid, timeout_ms);
      continue;
    }
    if (header.type == MSG_ABANDONED && header.length == 0) {
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (!pending) napi_throw_error(env, "CORRUPT", "codeheap executor: the executor abandoned a call no compile failed");
      return NULL;
    }
    if (header.type == MSG_FAULT && header.length == sizeof(fault_message)) {
      fault_message wire;
      read = wire_read(fd, &wire, sizeof wire, timeout_ms);
      if (read != 0) return lost_reading(env, read, pid, timeout_ms);
      fault_record fault = {wire.signal, wire.code, wire.address, {0}};
      memcpy(fault.registers, wire.registers, sizeof fault.registers);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) {
        napi_value ignored;
        napi_get_and_clear_last_exception(env, &ignored);
      }
      napi_value error = faults_error(env, &fault, "EXECUTOR_LOST");
      if (error == NULL) return throw_last(env, "the executor's fault");
      napi_value why;
      CHECK(napi_create_string_utf8(env, "fault", NAPI_AUTO_LENGTH, &why));
      CHECK(napi_set_named_property(env, error, "reason", why));
      napi_throw(env, error);
      return NULL;
    }
    if (header.type == MSG_RETURN && header.length >= sizeof(call_reply)) {
      call_reply reply;
      read = wire_read(fd, &reply, sizeof reply, timeout_ms);
      // The buffers come back in order: each into its array, as much as still fits there.
      for (uint32_t b = 0; read == 0 && b < request.buffers; b++) {
        void* now = NULL;
        size_t room = 0;
        napi_get_typedarray_info(env, argv[7 + buffers[b].argument], NULL, &room, &now, NULL, NULL);
        size_t length = buffers[b].length;
        if (length == 0) continue;
        // Straight into the array while it still has the room (it has, unless the compile a
        // resolve ran shrank or detached it); else through a copy, of which what fits is kept.
        if (now != NULL && room >= length) {
          read = wire_read(fd, now, length, timeout_ms);
          continue;
        }
        char* back = malloc(length);
        if (back == NULL) return throw_errno(env, "OUT_OF_MEMORY", "executorCall", ENOMEM);
        read = wire_read(fd, back, length, timeout_ms);
        if (read == 0 && now != NULL) memcpy(now, back, room);
        free(back);
      }
      if (read != 0) return lost_reading(env, read, pid, timeout_ms);
      bool pending = false;
      napi_is_exception_pending(env, &pending);
      if (pending) return NULL;
      double real = 0;
      memcpy(&real, &reply.xmm0, sizeof real);
      return typed_result(env, kind, reply.rax, real);
    }
    kill_executor(pid);
    return lost(env, "protocol", "the executor sent a message a call cannot take");
  }
}

// executorReap(pid) -> [status, signal]: waits for the executor to end (it has been killed, or
// its socket closed); status is its exit status or -1, signal the signal that ended it or 0.
static napi_value ExecutorReap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t pid = 0;
  if (argc < 1 || !get_int(env, argv[0], &pid) || pid <= 0) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "executorReap(pid)");
    return NULL;
  }
  int status = 0;
  pid_t done;
  do done = waitpid(pid, &status, 0);
  while (done < 0 && errno == EINTR);
  int32_t exit_status = done == pid && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  int32_t signal = done == pid && WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  double values[2] = {(double)exit_status, (double)signal};
  return numbers(env, values, 2);
}

static napi_value ExecutorKill(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t pid = 0;
  if (argc >= 1 && get_int(env, argv[0], &pid)) kill_executor(pid);
  return undefined_value(env);
}

static napi_value ExecutorClose(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc >= 1 && get_int(env, argv[0], &fd) && fd >= 0) close(fd);
  return undefined_value(env);
}

napi_status executor_host_register(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"executorSpawn", NULL, ExecutorSpawn, NULL, NULL, NULL, napi_default, NULL},
      {"executorShare", NULL, ExecutorShare, NULL, NULL, NULL, napi_default, NULL},
      {"executorUnshare", NULL, ExecutorUnshare, NULL, NULL, NULL, napi_default, NULL},
      {"executorRequest", NULL, ExecutorRequest, NULL, NULL, NULL, napi_default, NULL},
      {"executorCall", NULL, ExecutorCall, NULL, NULL, NULL, napi_default, NULL},
      {"executorReap", NULL, ExecutorReap, NULL, NULL, NULL, napi_default, NULL},
      {"executorConnect", NULL, ExecutorConnect, NULL, NULL, NULL, napi_default, NULL},
      {"executorSend", NULL, ExecutorSend, NULL, NULL, NULL, napi_default, NULL},
      {"executorKill", NULL, ExecutorKill, NULL, NULL, NULL, napi_default, NULL},
      {"executorClose", NULL, ExecutorClose, NULL, NULL, NULL, napi_default, NULL},
  };
  return napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties);
}
