// codeheap's native memory: executable arenas for x86-64 Linux, as a Node-API addon.
//
// Write-xor-execute by dual mapping. One memfd holds both arenas; it is mapped twice:
//
//   memfd offset   0                    codeSize               codeSize + dataSize
//                  +--------------------+----------------------+
//                  | code arena         | data arena           |
//                  +--------------------+----------------------+
//   heap view      rw-  anywhere: the ArrayBuffer JavaScript writes through (bounds-checked)
//   CPU view       r-x  at codeAddress  |  rw-  at dataAddress (globals, stub pointer slots)
//
// No address is ever both writable and executable: the CPU executes the code arena only through
// the read-execute mapping, and the heap writes it only through the other one. The data arena
// is read-write in both views and never executable.
//
// Calls. call(address, resolve, ...args) runs the code at `address` with up to six integer
// arguments (System V: rdi, rsi, rdx, rcx, r8, r9) and returns rax as a BigInt. While it runs,
// a lazy function's reentry trampoline enters codeheap_resolver_entry (below), which saves the
// argument registers, asks `resolve` (JavaScript, synchronously) for the function's new body,
// restores them and jumps there, so the original call completes. When `resolve` throws, the
// call is abandoned: a longjmp returns from call() with the exception pending. Only JIT frames
// and the resolver's lie between, and none of them has anything to clean up.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <node_api.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) return throw_last(env, #call);            \
  } while (0)

static napi_value throw_last(napi_env env, const char* what) {
  const napi_extended_error_info* info = NULL;
  napi_get_last_error_info(env, &info);
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) {
    char message[256];
    snprintf(message, sizeof message, "codeheap native: %s failed: %s", what,
             info != NULL && info->error_message != NULL ? info->error_message : "unknown error");
    napi_throw_error(env, NULL, message);
  }
  return NULL;
}

static napi_value throw_errno(napi_env env, const char* code, const char* what, int error) {
  char message[512];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, code, message);
  return NULL;
}

// ---- mapping ----

// Both views of one pair of arenas, kept until the ArrayBuffer of the heap view is collected.
// When the arenas were placed in a range reserveRange() set aside, the whole range is released.
typedef struct {
  void* heap_view;
  size_t size;
  void* code;
  size_t code_size;
  void* data;
  size_t data_size;
  void* range;
  size_t range_size;
} mapping_t;

static void unmap(mapping_t* m) {
  if (m->heap_view != NULL) munmap(m->heap_view, m->size);
  if (m->range != NULL) {
    munmap(m->range, m->range_size);  // code and data lie inside it
  } else {
    if (m->code != NULL) munmap(m->code, m->code_size);
    if (m->data != NULL) munmap(m->data, m->data_size);
  }
  free(m);
}

static void finalize_mapping(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  unmap((mapping_t*)hint);
}

static int get_address(napi_env env, napi_value value, uint64_t* out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return 0;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != (double)(uint64_t)number) return 0;
  *out = (uint64_t)number;
  return 1;
}

// Ranges of address space reserveRange() set aside (PROT_NONE) for heaps not yet mapped. A
// heap's arenas are mapped over its range with MAP_FIXED, which is safe there: we own it.
typedef struct reservation {
  uint64_t address;
  size_t size;
  struct reservation* next;
} reservation_t;

static reservation_t* reservations = NULL;
static pthread_mutex_t reservations_lock = PTHREAD_MUTEX_INITIALIZER;  // worker threads share it

// Takes the reservation that holds [low, high) off the list; returns it (the caller frees it).
static reservation_t* take_reservation(uint64_t low, uint64_t high) {
  reservation_t* found = NULL;
  pthread_mutex_lock(&reservations_lock);
  for (reservation_t** link = &reservations; *link != NULL; link = &(*link)->next) {
    reservation_t* r = *link;
    if (low >= r->address && high <= r->address + r->size) {
      *link = r->next;
      found = r;
      break;
    }
  }
  pthread_mutex_unlock(&reservations_lock);
  return found;
}

// Maps `size` bytes of fd at `offset` exactly at `address`: over our own reservation, or else
// never over an existing mapping.
static void* map_at(uint64_t address, size_t size, int prot, int fd, off_t offset, int reserved) {
  void* want = (void*)(uintptr_t)address;
  void* got = mmap(want, size, prot, MAP_SHARED | (reserved ? MAP_FIXED : MAP_FIXED_NOREPLACE), fd, offset);
  if (got == MAP_FAILED) return NULL;
  if (got != want) {  // a kernel older than 4.17 treats MAP_FIXED_NOREPLACE as a hint
    munmap(got, size);
    errno = EEXIST;
    return NULL;
  }
  return got;
}

// reserveRange(size) -> the address of `size` bytes of address space now set aside for a heap's
// arenas, or 0. map() of arenas inside it takes it over.
static napi_value ReserveRange(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t size;
  if (argc < 1 || !get_address(env, argv[0], &size) || size == 0) {
    napi_throw_type_error(env, NULL, "reserveRange(size): size must be a positive safe integer");
    return NULL;
  }
  uint64_t address = 0;
  reservation_t* r = malloc(sizeof *r);
  if (r != NULL) {
    void* range = mmap(NULL, (size_t)size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (range == MAP_FAILED) {
      free(r);
    } else {
      address = (uint64_t)(uintptr_t)range;
      r->address = address;
      r->size = (size_t)size;
      pthread_mutex_lock(&reservations_lock);
      r->next = reservations;
      reservations = r;
      pthread_mutex_unlock(&reservations_lock);
    }
  }
  napi_value result;
  CHECK(napi_create_double(env, (double)address, &result));
  return result;
}

// map(codeAddress, codeSize, dataAddress, dataSize) -> ArrayBuffer over the heap view.
static napi_value Map(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t code_address, code_size, data_address, data_size;
  if (argc < 4 || !get_address(env, argv[0], &code_address) || !get_address(env, argv[1], &code_size) ||
      !get_address(env, argv[2], &data_address) || !get_address(env, argv[3], &data_size)) {
    napi_throw_type_error(env, NULL, "map(codeAddress, codeSize, dataAddress, dataSize): safe integers expected");
    return NULL;
  }
  long page = sysconf(_SC_PAGESIZE);
  if (code_size == 0 || data_size == 0 || code_address % page != 0 || data_address % page != 0 ||
      code_size % page != 0 || data_size % page != 0) {
    napi_throw_range_error(env, "INVALID_ARGUMENT", "map: addresses and sizes must be non-zero multiples of the page size");
    return NULL;
  }
  int fd = memfd_create("codeheap", MFD_CLOEXEC);
  if (fd < 0) return throw_errno(env, "NOT_EXECUTABLE", "memfd_create", errno);
  size_t size = (size_t)(code_size + data_size);
  if (ftruncate(fd, (off_t)size) != 0) {
    int error = errno;
    close(fd);
    return throw_errno(env, "OUT_OF_MEMORY", "ftruncate of the memfd", error);
  }
  mapping_t* m = calloc(1, sizeof *m);
  if (m == NULL) {
    close(fd);
    napi_throw_error(env, "OUT_OF_MEMORY", "codeheap native: out of memory");
    return NULL;
  }
  m->size = size;
  uint64_t low = code_address < data_address ? code_address : data_address;
  uint64_t code_end = code_address + code_size, data_end = data_address + data_size;
  reservation_t* r = take_reservation(low, code_end > data_end ? code_end : data_end);
  if (r != NULL) {
    m->range = (void*)(uintptr_t)r->address;
    m->range_size = r->size;
    free(r);
  }
  int reserved = m->range != NULL;
  m->code_size = (size_t)code_size;
  m->data_size = (size_t)data_size;
  void* view = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char what[160];
  int error = 0;
  if (view == MAP_FAILED) {
    error = errno;
    snprintf(what, sizeof what, "mapping the heap's read-write view (%zu bytes)", size);
  } else {
    m->heap_view = view;
    m->code = map_at(code_address, m->code_size, PROT_READ | PROT_EXEC, fd, 0, reserved);
    if (m->code == NULL) {
      error = errno;
      snprintf(what, sizeof what, "mapping the code arena read-execute at 0x%llx (+%zu)",
               (unsigned long long)code_address, m->code_size);
    } else {
      m->data = map_at(data_address, m->data_size, PROT_READ | PROT_WRITE, fd, (off_t)code_size, reserved);
      if (m->data == NULL) {
        error = errno;
        snprintf(what, sizeof what, "mapping the data arena read-write at 0x%llx (+%zu)",
                 (unsigned long long)data_address, m->data_size);
      }
    }
  }
  close(fd);  // the mappings keep the memfd's memory
  if (error != 0) {
    unmap(m);
    return throw_errno(env, error == EEXIST ? "ADDRESS_IN_USE" : "OUT_OF_MEMORY", what, error);
  }
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, view, size, finalize_mapping, m, &buffer) != napi_ok) {
    unmap(m);
    return throw_last(env, "napi_create_external_arraybuffer");
  }
  return buffer;
}

// ---- calls and the resolver ----

// One active call(), innermost first: JIT code that enters a trampoline resolves through it.
typedef struct call_frame {
  jmp_buf abandon;
  napi_env env;
  napi_value resolve;
  struct call_frame* outer;
} call_frame;

// Per thread: each worker thread has its own Node environment and its own calls. JIT code on a
// thread with no call running that enters a trampoline aborts (there is no JavaScript to ask).
static __thread call_frame* current_call = NULL;

// Called by codeheap_resolver_entry with the return address a trampoline's call pushed. Returns
// the address to jump to; does not return when `resolve` throws (longjmp to the call).
__attribute__((visibility("hidden"), used)) uint64_t codeheap_resolve(uint64_t return_address) {
  call_frame* frame = current_call;
  if (frame == NULL) {
    fprintf(stderr, "codeheap: a lazy function's trampoline was entered outside heap.call (return address 0x%llx)\n",
            (unsigned long long)return_address);
    abort();
  }
  napi_env env = frame->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) abort();
  napi_value argument, global, result;
  uint64_t target = 0;
  int ok = napi_create_double(env, (double)return_address, &argument) == napi_ok &&
           napi_get_global(env, &global) == napi_ok &&
           napi_call_function(env, global, frame->resolve, 1, &argument, &result) == napi_ok &&
           get_address(env, result, &target) && target != 0;
  if (!ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "CORRUPT", "codeheap native: the resolver returned no address to run");
  }
  napi_close_handle_scope(env, scope);
  if (!ok) longjmp(frame->abandon, 1);
  return target;
}

// The resolver, in machine code: what every reentry trampoline calls (through the heap's resolver
// slot). On entry [rsp] is the trampoline's return address (trampoline + 6) and [rsp+8] the
// return address of the original call, whose arguments are still in the registers.
//
//   rbp-8 .. rbp-64    rdi rsi rdx rcx r8 r9 rax(vector count of a varargs call) r10(static chain)
//   rbp-80 .. rbp-192  xmm0 .. xmm7 (float arguments; codeheap_resolve runs JavaScript)
__asm__(
    ".text\n"
    ".globl codeheap_resolver_entry\n"
    ".hidden codeheap_resolver_entry\n"
    ".type codeheap_resolver_entry, @function\n"
    "codeheap_resolver_entry:\n"
    "  push %rbp\n"
    "  mov %rsp, %rbp\n"
    "  sub $192, %rsp\n"
    "  mov %rdi, -8(%rbp)\n"
    "  mov %rsi, -16(%rbp)\n"
    "  mov %rdx, -24(%rbp)\n"
    "  mov %rcx, -32(%rbp)\n"
    "  mov %r8, -40(%rbp)\n"
    "  mov %r9, -48(%rbp)\n"
    "  mov %rax, -56(%rbp)\n"
    "  mov %r10, -64(%rbp)\n"
    "  movdqu %xmm0, -80(%rbp)\n"
    "  movdqu %xmm1, -96(%rbp)\n"
    "  movdqu %xmm2, -112(%rbp)\n"
    "  movdqu %xmm3, -128(%rbp)\n"
    "  movdqu %xmm4, -144(%rbp)\n"
    "  movdqu %xmm5, -160(%rbp)\n"
    "  movdqu %xmm6, -176(%rbp)\n"
    "  movdqu %xmm7, -192(%rbp)\n"
    "  and $-16, %rsp\n"
    "  mov 8(%rbp), %rdi\n"
    "  call codeheap_resolve\n"
    "  mov %rax, %r11\n"
    "  mov -8(%rbp), %rdi\n"
    "  mov -16(%rbp), %rsi\n"
    "  mov -24(%rbp), %rdx\n"
    "  mov -32(%rbp), %rcx\n"
    "  mov -40(%rbp), %r8\n"
    "  mov -48(%rbp), %r9\n"
    "  mov -56(%rbp), %rax\n"
    "  mov -64(%rbp), %r10\n"
    "  movdqu -80(%rbp), %xmm0\n"
    "  movdqu -96(%rbp), %xmm1\n"
    "  movdqu -112(%rbp), %xmm2\n"
    "  movdqu -128(%rbp), %xmm3\n"
    "  movdqu -144(%rbp), %xmm4\n"
    "  movdqu -160(%rbp), %xmm5\n"
    "  movdqu -176(%rbp), %xmm6\n"
    "  movdqu -192(%rbp), %xmm7\n"
    "  mov %rbp, %rsp\n"
    "  pop %rbp\n"
    "  add $8, %rsp\n"  // the trampoline's return address: the new body returns to the caller
    "  jmp *%r11\n"
    ".size codeheap_resolver_entry, .-codeheap_resolver_entry\n");

extern void codeheap_resolver_entry(void);

typedef int64_t (*native_function)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);

static int get_integer(napi_env env, napi_value value, int64_t* out) {
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_number) return napi_get_value_int64(env, value, out) == napi_ok;
  if (type == napi_bigint) {
    bool lossless;
    if (napi_get_value_bigint_int64(env, value, out, &lossless) != napi_ok) return 0;
    if (lossless) return 1;
    uint64_t unsigned_value;  // 2^63 .. 2^64-1: the same register bits
    if (napi_get_value_bigint_uint64(env, value, &unsigned_value, &lossless) != napi_ok || !lossless) return 0;
    *out = (int64_t)unsigned_value;
    return 1;
  }
  return 0;
}

// call(address, resolve, ...args) -> BigInt (rax, signed).
static napi_value Call(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t address;
  if (argc < 2 || argc > 8 || !get_address(env, argv[0], &address) || address == 0) {
    napi_throw_type_error(env, NULL, "call(address, resolve, ...args): an address and at most six arguments");
    return NULL;
  }
  int64_t args[6] = {0, 0, 0, 0, 0, 0};
  for (size_t i = 2; i < argc; i++) {
    if (!get_integer(env, argv[i], &args[i - 2])) {
      napi_throw_type_error(env, NULL, "call: arguments must be integers (number or 64-bit BigInt)");
      return NULL;
    }
  }
  call_frame frame;
  frame.env = env;
  frame.resolve = argv[1];
  frame.outer = current_call;
  current_call = &frame;
  if (setjmp(frame.abandon) != 0) {
    current_call = frame.outer;
    return NULL;  // resolve threw: its exception is pending
  }
  native_function fn = (native_function)(uintptr_t)address;
  int64_t result = fn(args[0], args[1], args[2], args[3], args[4], args[5]);
  current_call = frame.outer;
  napi_value out;
  CHECK(napi_create_bigint_int64(env, result, &out));
  return out;
}

// dlsym(name) -> the address of a symbol of the process (C library included), or undefined.
static napi_value Dlsym(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[256];
  size_t length = 0;
  napi_value result;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) != napi_ok ||
      length + 1 >= sizeof name) {
    CHECK(napi_get_undefined(env, &result));
    return result;
  }
  void* address = dlsym(RTLD_DEFAULT, name);
  if (address == NULL) CHECK(napi_get_undefined(env, &result));
  else CHECK(napi_create_double(env, (double)(uintptr_t)address, &result));
  return result;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"map", NULL, Map, NULL, NULL, NULL, napi_default, NULL},
      {"reserveRange", NULL, ReserveRange, NULL, NULL, NULL, napi_default, NULL},
      {"call", NULL, Call, NULL, NULL, NULL, napi_default, NULL},
      {"dlsym", NULL, Dlsym, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  napi_value resolver, page;
  CHECK(napi_create_double(env, (double)(uintptr_t)&codeheap_resolver_entry, &resolver));
  CHECK(napi_set_named_property(env, exports, "resolverAddress", resolver));
  CHECK(napi_create_double(env, (double)sysconf(_SC_PAGESIZE), &page));
  CHECK(napi_set_named_property(env, exports, "pageSize", page));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
