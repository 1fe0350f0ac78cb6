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
// Lifetime. A heap's mappings stay until unmap() of its heap view (heap.close()), or else until
// V8 collects the view's ArrayBuffer. The addon counts every mapping it holds and keeps to half
// of vm.max_map_count (the registry, below).
//
// Calls. call(address, resolve, ...args) runs the code at `address` with up to six integer
// arguments (System V: rdi, rsi, rdx, rcx, r8, r9) and returns rax as a BigInt; callTyped (for
// heap.bind) passes integer-class and float arguments by class and converts the result. While it runs,
// a lazy function's reentry trampoline enters codeheap_resolver_entry (below), which saves the
// argument registers, asks `resolve` (JavaScript, synchronously) for the function's new body,
// restores them and jumps there, so the original call completes. When `resolve` throws, the
// call is abandoned: a longjmp returns from call() with the exception pending. Only JIT frames
// and the resolver's lie between, and none of them has anything to clean up.

#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <node_api.h>
#include "calls.h"
#include "addon.h"
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

napi_value throw_last(napi_env env, const char* what) {
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

napi_value throw_errno(napi_env env, const char* code, const char* what, int error) {
  char message[512];
  snprintf(message, sizeof message, "%s: %s", what, strerror(error));
  napi_throw_error(env, code, message);
  return NULL;
}

// ---- the registry: what the addon holds, and the budget it draws on ----
//
// Every mapping (VMA) the addon makes counts against a budget, so that JIT heaps never take the
// mappings the rest of the process needs: past vm.max_map_count every mmap fails, and V8 aborts
// on its next allocation. The addon holds at most half of vm.max_map_count, and map() and
// reserveRange() refuse with MAPPING_LIMIT, before mapping anything, what would pass that.
//
// A heap's mappings live until unmap() of its heap view, or else until the view's ArrayBuffer
// is collected and its finalizer runs. The finalizer names its mappings by id, not by address:
// unmap() takes them off the registry first, so the finalizer, run later or inside
// napi_detach_arraybuffer, finds nothing and frees nothing twice. Ids are never reused.
//
// One lock guards both lists and the counts: worker threads share the addon.

// The mappings of one pair of arenas. While map() builds it, it lives on map()'s stack; then in
// the registry until unmap() or the finalizer takes it off and releases it.
typedef struct mapping {
  uint64_t id;       // the finalizer's hint; 0 until registered
  void* heap_view;   // rw- anywhere: what the ArrayBuffer covers; NULL until mapped
  size_t size;       // code_size + data_size
  void* code;        // r-x at codeAddress; NULL until mapped
  size_t code_size;
  void* data;        // rw- at dataAddress; NULL until mapped
  size_t data_size;
  void* range;       // the reservation code and data lie in, released whole; or NULL
  size_t range_size;
  size_t held;       // mappings of the above counted against the budget
  struct mapping* next;
} mapping_t;

// A range reserveRange() set aside (PROT_NONE) for a heap not yet mapped. A heap's arenas are
// mapped over its range with MAP_FIXED, which is safe there: we own it.
typedef struct reservation {
  uint64_t address;
  size_t size;
  struct reservation* next;
} reservation_t;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static mapping_t* heaps = NULL;              // heaps mapped, newest first
static reservation_t* reservations = NULL;  // ranges reserved and not yet mapped
static size_t heap_count = 0;               // length of `heaps`
static size_t range_count = 0;              // length of `reservations`
static size_t mappings_held = 0;            // mappings both lists hold: what the budget counts
static uint64_t next_id = 1;

// vm.max_map_count, read once; Linux's default when it cannot be read.
static size_t max_map_count = 65530;
static pthread_once_t max_map_count_once = PTHREAD_ONCE_INIT;

static void read_max_map_count(void) {
  FILE* file = fopen("/proc/sys/vm/max_map_count", "r");
  if (file == NULL) return;
  long long value;
  if (fscanf(file, "%lld", &value) == 1 && value > 0) max_map_count = (size_t)value;
  fclose(file);
}

// The most mappings the addon may hold: half of vm.max_map_count, the rest left to the process.
static size_t mapping_limit(void) {
  pthread_once(&max_map_count_once, read_max_map_count);
  return max_map_count / 2;
}

// Pre: registry_lock is held. Whether `more` mappings fit the budget; if not, `why` says so
// (`pending` ranges, taken off the list by the map() asking, are counted as reserved).
static int fits(size_t more, size_t pending, char* why, size_t why_size) {
  size_t limit = mapping_limit();
  if (mappings_held + more <= limit) return 1;
  size_t ranges = range_count + pending;
  snprintf(why, why_size,
           "%zu native heap%s mapped and %zu address range%s reserved hold %zu mappings; %zu more would pass "
           "the %zu native memory may hold (half of vm.max_map_count, %zu; the rest is left to the process)",
           heap_count, heap_count == 1 ? " is" : "s are", ranges, ranges == 1 ? "" : "s", mappings_held, more, limit,
           max_map_count);
  return 0;
}

// Counts the mappings `m` will hold, `count` in all (its reservation's already among them).
// Returns 0, counting nothing, when they do not fit; `why` then says so.
static int charge(mapping_t* m, size_t count, char* why, size_t why_size) {
  pthread_mutex_lock(&registry_lock);
  int ok = fits(count - m->held, m->range != NULL, why, why_size);
  if (ok) {
    mappings_held += count - m->held;
    m->held = count;
  }
  pthread_mutex_unlock(&registry_lock);
  return ok;
}

// Unmaps whatever `m` has mapped and takes its mappings off the count. Pre: not in the registry.
static void release(mapping_t* m) {
  if (m->heap_view != NULL) munmap(m->heap_view, m->size);
  if (m->range != NULL) {
    munmap(m->range, m->range_size);  // code and data lie inside it
  } else {
    if (m->code != NULL) munmap(m->code, m->code_size);
    if (m->data != NULL) munmap(m->data, m->data_size);
  }
  pthread_mutex_lock(&registry_lock);
  mappings_held -= m->held;
  pthread_mutex_unlock(&registry_lock);
  m->held = 0;
}

// Takes the reservation that holds [low, high) off the list, if one does, and gives it to `m`
// (its range and its one mapping).
static void take_reservation(uint64_t low, uint64_t high, mapping_t* m) {
  pthread_mutex_lock(&registry_lock);
  for (reservation_t** link = &reservations; *link != NULL; link = &(*link)->next) {
    reservation_t* r = *link;
    if (low >= r->address && high <= r->address + r->size) {
      *link = r->next;
      range_count--;
      m->range = (void*)(uintptr_t)r->address;
      m->range_size = r->size;
      m->held = 1;
      free(r);
      break;
    }
  }
  pthread_mutex_unlock(&registry_lock);
}

// Pre: registry_lock is held. Lists `m` among the heaps mapped.
static void push_mapping(mapping_t* m) {
  m->next = heaps;
  heaps = m;
  heap_count++;
}

// Registers a complete mapping under a new id; returns the id.
static uint64_t register_mapping(mapping_t* m) {
  pthread_mutex_lock(&registry_lock);
  m->id = next_id++;
  push_mapping(m);
  pthread_mutex_unlock(&registry_lock);
  return m->id;
}

// Takes the mapping with this id, or else with this heap view, off the registry; NULL if none.
static mapping_t* take_mapping(uint64_t id, const void* heap_view) {
  mapping_t* found = NULL;
  pthread_mutex_lock(&registry_lock);
  for (mapping_t** link = &heaps; *link != NULL; link = &(*link)->next) {
    mapping_t* m = *link;
    if (id != 0 ? m->id == id : m->heap_view == heap_view) {
      *link = m->next;
      heap_count--;
      found = m;
      break;
    }
  }
  pthread_mutex_unlock(&registry_lock);
  return found;
}

// Puts back a mapping take_mapping() took, under the id it had.
static void restore_mapping(mapping_t* m) {
  pthread_mutex_lock(&registry_lock);
  push_mapping(m);
  pthread_mutex_unlock(&registry_lock);
}

// The heap view's ArrayBuffer was collected (or detached by unmap(), which took its mapping first).
static void finalize_mapping(napi_env env, void* data, void* hint) {
  (void)env;
  (void)data;
  mapping_t* m = take_mapping((uint64_t)(uintptr_t)hint, NULL);
  if (m == NULL) return;  // unmap() released it
  release(m);
  free(m);
}

// ---- mapping ----

int get_address(napi_env env, napi_value value, uint64_t* out) {
  double number;
  if (napi_get_value_double(env, value, &number) != napi_ok) return 0;
  if (!(number >= 0 && number <= 9007199254740991.0) || number != (double)(uint64_t)number) return 0;
  *out = (uint64_t)number;
  return 1;
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
// arenas, or 0 when mmap finds none. map() of arenas inside it takes it over. Throws
// MAPPING_LIMIT when one more mapping would pass the budget.
static napi_value ReserveRange(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t size;
  if (argc < 1 || !get_address(env, argv[0], &size) || size == 0) {
    napi_throw_type_error(env, NULL, "reserveRange(size): size must be a positive safe integer");
    return NULL;
  }
  reservation_t* r = malloc(sizeof *r);
  if (r == NULL) {
    napi_throw_error(env, "OUT_OF_MEMORY", "codeheap native: out of memory");
    return NULL;
  }
  char why[320];
  pthread_mutex_lock(&registry_lock);
  int ok = fits(1, 0, why, sizeof why);
  if (ok) mappings_held++;
  pthread_mutex_unlock(&registry_lock);
  if (!ok) {
    free(r);
    napi_throw_error(env, "MAPPING_LIMIT", why);
    return NULL;
  }
  uint64_t address = 0;
  void* range = mmap(NULL, (size_t)size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  pthread_mutex_lock(&registry_lock);
  if (range == MAP_FAILED) {
    mappings_held--;
    free(r);
  } else {
    address = (uint64_t)(uintptr_t)range;
    r->address = address;
    r->size = (size_t)size;
    r->next = reservations;
    reservations = r;
    range_count++;
  }
  pthread_mutex_unlock(&registry_lock);
  napi_value result;
  if (napi_create_double(env, (double)address, &result) != napi_ok) {
    mapping_t taken = {0};
    take_reservation(address, address + size, &taken);
    release(&taken);
    return throw_last(env, "napi_create_double");
  }
  return result;
}

// How many mappings a heap placed as `m` holds: the heap view, code and data, and each piece of
// its reserved range that they leave uncovered.
static size_t mappings_needed(const mapping_t* m, uint64_t code_address, uint64_t data_address) {
  if (m->range == NULL) return 3;
  uint64_t range = (uint64_t)(uintptr_t)m->range, range_end = range + m->range_size;
  uint64_t first = code_address, first_end = code_address + m->code_size;
  uint64_t second = data_address, second_end = data_address + m->data_size;
  if (second < first) {
    first = data_address, first_end = data_address + m->data_size;
    second = code_address, second_end = code_address + m->code_size;
  }
  return 3 + (first > range) + (second > first_end) + (range_end > second_end);
}

// map(codeAddress, codeSize, dataAddress, dataSize) -> ArrayBuffer over the heap view.
//
// Refuses, with nothing left mapped (not even the reservation the arenas lay in): INVALID_ARGUMENT
// for sizes or addresses off the page size or arenas that overlap, MAPPING_LIMIT past the
// budget, ADDRESS_IN_USE for a fixed range the process uses, NOT_EXECUTABLE without memfd, and
// OUT_OF_MEMORY when the kernel refuses.
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
  uint64_t code_end = code_address + code_size, data_end = data_address + data_size;
  // First, before anything can fail: the reservation the arenas lie in becomes this heap's, so
  // that every refusal below releases it with the rest.
  mapping_t m = {0};
  take_reservation(code_address < data_address ? code_address : data_address,
                   code_end > data_end ? code_end : data_end, &m);
  m.code_size = (size_t)code_size;
  m.data_size = (size_t)data_size;
  m.size = (size_t)(code_size + data_size);
  long page = sysconf(_SC_PAGESIZE);
  if (code_size == 0 || data_size == 0 || code_address % page != 0 || data_address % page != 0 ||
      code_size % page != 0 || data_size % page != 0) {
    release(&m);
    napi_throw_range_error(env, "INVALID_ARGUMENT", "map: addresses and sizes must be non-zero multiples of the page size");
    return NULL;
  }
  if (code_address < data_end && data_address < code_end) {
    release(&m);
    napi_throw_range_error(env, "INVALID_ARGUMENT", "map: the code and data arenas overlap");
    return NULL;
  }
  char what[320];
  if (!charge(&m, mappings_needed(&m, code_address, data_address), what, sizeof what)) {
    release(&m);
    napi_throw_error(env, "MAPPING_LIMIT", what);
    return NULL;
  }
  int fd = memfd_create("codeheap", MFD_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    release(&m);
    return throw_errno(env, "NOT_EXECUTABLE", "memfd_create", error);
  }
  if (ftruncate(fd, (off_t)m.size) != 0) {
    int error = errno;
    close(fd);
    release(&m);
    return throw_errno(env, "OUT_OF_MEMORY", "ftruncate of the memfd", error);
  }
  int reserved = m.range != NULL;
  int error = 0;
  void* view = mmap(NULL, m.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (view == MAP_FAILED) {
    error = errno;
    snprintf(what, sizeof what, "mapping the heap's read-write view (%zu bytes)", m.size);
  } else {
    m.heap_view = view;
    m.code = map_at(code_address, m.code_size, PROT_READ | PROT_EXEC, fd, 0, reserved);
    if (m.code == NULL) {
      error = errno;
      snprintf(what, sizeof what, "mapping the code arena read-execute at 0x%llx (+%zu)",
               (unsigned long long)code_address, m.code_size);
    } else {
      m.data = map_at(data_address, m.data_size, PROT_READ | PROT_WRITE, fd, (off_t)code_size, reserved);
      if (m.data == NULL) {
        error = errno;
        snprintf(what, sizeof what, "mapping the data arena read-write at 0x%llx (+%zu)",
                 (unsigned long long)data_address, m.data_size);
      }
    }
  }
  close(fd);  // the mappings keep the memfd's memory
  if (error != 0) {
    release(&m);
    return throw_errno(env, error == EEXIST ? "ADDRESS_IN_USE" : "OUT_OF_MEMORY", what, error);
  }
  mapping_t* kept = malloc(sizeof *kept);
  if (kept == NULL) {
    release(&m);
    napi_throw_error(env, "OUT_OF_MEMORY", "codeheap native: out of memory");
    return NULL;
  }
  *kept = m;
  uint64_t id = register_mapping(kept);
  napi_value buffer;
  if (napi_create_external_arraybuffer(env, view, m.size, finalize_mapping, (void*)(uintptr_t)id, &buffer) != napi_ok) {
    if (take_mapping(id, NULL) == kept) {  // else a finalizer ran on failure and released it
      release(kept);
      free(kept);
    }
    return throw_last(env, "napi_create_external_arraybuffer");
  }
  return buffer;
}

static int call_running_in(const mapping_t* m);

// unmap(buffer): releases the heap map() returned this buffer for, now: detaches the buffer, so
// JavaScript sees no bytes and can reach none, then unmaps the heap view, code and data (or
// their whole reserved range). A buffer detached already (unmapped before) is left alone.
// Throws INVALID_ARGUMENT for a buffer map() did not return, and CALL_RUNNING while a call()
// that entered the heap's code runs on this thread. Pre: no other code of the heap is running,
// on any thread, and none will run (C holding a pointer into it, another heap's code): its
// pages are gone.
static napi_value Unmap(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_buffer = false;
  if (argc >= 1) CHECK(napi_is_arraybuffer(env, argv[0], &is_buffer));
  if (!is_buffer) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "unmap(buffer): an ArrayBuffer map() returned expected");
    return NULL;
  }
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  bool detached = false;
  CHECK(napi_is_detached_arraybuffer(env, argv[0], &detached));
  if (detached) return undefined;
  void* view = NULL;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &view, NULL));
  mapping_t* m = view == NULL ? NULL : take_mapping(0, view);
  if (m == NULL) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "unmap(buffer): the buffer is not a heap view map() returned");
    return NULL;
  }
  if (call_running_in(m)) {
    restore_mapping(m);
    napi_throw_error(env, "CALL_RUNNING", "unmap: a call() into this heap's code is running on this thread; "
                     "the code it returns into must stay mapped until it returns");
    return NULL;
  }
  if (napi_detach_arraybuffer(env, argv[0]) != napi_ok) {
    restore_mapping(m);  // still reachable from JavaScript: it must stay mapped
    return throw_last(env, "napi_detach_arraybuffer");
  }
  release(m);
  free(m);
  return undefined;
}

// ---- calls and the resolver ----

// One active call(), innermost first: JIT code that enters a trampoline resolves through it.
// The frames of the calls running on this thread (native/calls.h). JIT code on a thread with no
// call running that enters a trampoline aborts (there is no JavaScript to ask).
__thread call_frame* current_call = NULL;

// Whether a call() running on this thread entered the code arena of `m`.
static int call_running_in(const mapping_t* m) {
  uint64_t code = (uint64_t)(uintptr_t)m->code;
  for (const call_frame* frame = current_call; frame != NULL; frame = frame->outer) {
    if (frame->address >= code && frame->address - code < m->code_size) return 1;
  }
  return 0;
}

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
           napi_get_global(env, &global) == napi_ok;
  // While JavaScript runs, a fault is V8's or Node's to handle, not the call's (native/faults.c).
  frame->in_javascript = 1;
  ok = ok && napi_call_function(env, global, frame->resolve, 1, &argument, &result) == napi_ok;
  frame->in_javascript = 0;
  ok = ok && get_address(env, result, &target) && target != 0;
  if (!ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "CORRUPT", "codeheap native: the resolver returned no address to run");
  }
  napi_close_handle_scope(env, scope);
  if (!ok) longjmp(frame->abandon, 1);
  return target;
}

#include "resolver-entry.h"

typedef int64_t (*native_function)(int64_t, int64_t, int64_t, int64_t, int64_t, int64_t);

// A call() or callTyped() into `address` begins on this thread: `frame` is the innermost call from
// now on, until the caller puts back frame->outer (it sets frame->abandon with setjmp itself: the
// jump must land in the frame that runs the code).
static void enter_call(call_frame* frame, napi_env env, napi_value resolve, uint64_t address) {
  faults_thread_ready();
  frame->in_javascript = 0;
  frame->env = env;
  frame->resolve = resolve;
  frame->address = address;
  frame->outer = current_call;
  current_call = frame;
}

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
  enter_call(&frame, env, argv[1], address);
  int abandoned = setjmp(frame.abandon);
  if (abandoned != 0) {
    current_call = frame.outer;
    // 1: resolve threw, and its exception is pending; 2: the code faulted (native/faults.c).
    return abandoned == 2 ? faults_throw(env, &frame.fault) : NULL;
  }
  native_function fn = (native_function)(uintptr_t)address;
  int64_t result = fn(args[0], args[1], args[2], args[3], args[4], args[5]);
  current_call = frame.outer;
  napi_value out;
  CHECK(napi_create_bigint_int64(env, result, &out));
  return out;
}

// ---- typed calls (heap.bind) ----
//
// callTyped(address, resolve, result, floats, ...ints) runs the code at `address` with up to six
// integer-class arguments `ints` in rdi, rsi, rdx, rcx, r8, r9 (0 for those not given) and the
// eight values of `floats` (a Float64Array of 8, raw bits; undefined for all 0) in xmm0..xmm7.
// System V gives each class its own registers in order, whatever the interleaving in the C
// prototype, so one call shape serves every signature of up to six integer-class and eight float
// parameters. An f32 argument is the double whose low 32 bits hold the float's bits (the callee
// reads only those); an integer argument is a number (a safe integer), a BigInt (64 bits, signed
// or not), a Uint8Array (the address of its bytes) or null / undefined (0).
//
// The call goes through a variadic prototype, so the compiler sets al = 8 (the bound on vector
// registers used, which a variadic callee such as snprintf reads) besides the registers; a
// callee with fixed parameters ignores al. The result is rax, or xmm0 for f32 / f64, converted as
// `result` says (the numbers of RESULT_KINDS in src/native-signature.ts):
//
//   kind      0     1   2   3    4    5    6    7    8    9        10   11
//   result    void  i8  u8  i16  u16  i32  u32  i64  u64  pointer  f32  f64
//   JS value  undefined | number (low bits of rax, sign- or zero-extended) | BigInt | number (xmm0)
//
// A Uint8Array's bytes stay where they are for the whole call: napi_get_typedarray_info moves the
// bytes of a small on-heap typed array out of V8's moving heap before it answers, and JavaScript
// runs only inside the resolver, where heap.bind's resolver checks that no buffer was detached or
// resized before the native code continues.

enum result_kind {
  RESULT_VOID, RESULT_I8, RESULT_U8, RESULT_I16, RESULT_U16, RESULT_I32, RESULT_U32,
  RESULT_I64, RESULT_U64, RESULT_POINTER, RESULT_F32, RESULT_F64, RESULT_KINDS
};

#define TYPED_INTEGERS 6
#define TYPED_FLOATS 8

typedef uint64_t (*integer_function)(uint64_t, ...);
typedef double (*double_function)(uint64_t, ...);
typedef float (*float_function)(uint64_t, ...);

// One integer-class argument of callTyped as register bits; 0 when it is none of the kinds above.
// A Uint8Array's bits are its bytes' address; with `buffer`, *buffer is set to them (never NULL
// for one, empty or not) and *length to their count, and to NULL for any other kind (the executor
// sends a buffer's bytes with its call: native/executor-host.c).
int get_register(napi_env env, napi_value value, uint64_t* out, void** buffer, size_t* length) {
  if (buffer != NULL) *buffer = NULL;
  napi_valuetype type;
  if (napi_typeof(env, value, &type) != napi_ok) return 0;
  if (type == napi_null || type == napi_undefined) {
    *out = 0;
    return 1;
  }
  if (type == napi_number) {
    int64_t bits;
    if (napi_get_value_int64(env, value, &bits) != napi_ok) return 0;
    *out = (uint64_t)bits;
    return 1;
  }
  if (type == napi_bigint) {
    bool lossless;  // an unsigned read keeps the bits of a negative BigInt too: it is their two's complement
    return napi_get_value_bigint_uint64(env, value, out, &lossless) == napi_ok;
  }
  if (type != napi_object) return 0;
  bool is_typed = false;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed) return 0;
  napi_typedarray_type kind;
  void* data = NULL;
  size_t count = 0;
  if (napi_get_typedarray_info(env, value, &kind, &count, &data, NULL, NULL) != napi_ok || kind != napi_uint8_array) return 0;
  *out = (uint64_t)(uintptr_t)data;
  if (buffer != NULL) {
    *buffer = data != NULL ? data : (void*)"";
    *length = count;
  }
  return 1;
}

napi_value typed_result(napi_env env, int kind, uint64_t bits, double real) {
  napi_value out = NULL;
  napi_status status;
  switch (kind) {
    case RESULT_VOID: status = napi_get_undefined(env, &out); break;
    case RESULT_I8: status = napi_create_int32(env, (int8_t)bits, &out); break;
    case RESULT_U8: status = napi_create_int32(env, (uint8_t)bits, &out); break;
    case RESULT_I16: status = napi_create_int32(env, (int16_t)bits, &out); break;
    case RESULT_U16: status = napi_create_int32(env, (uint16_t)bits, &out); break;
    case RESULT_I32: status = napi_create_int32(env, (int32_t)bits, &out); break;
    case RESULT_U32: status = napi_create_uint32(env, (uint32_t)bits, &out); break;
    case RESULT_I64: status = napi_create_bigint_int64(env, (int64_t)bits, &out); break;
    case RESULT_U64:
    case RESULT_POINTER: status = napi_create_bigint_uint64(env, bits, &out); break;
    default: status = napi_create_double(env, real, &out); break;  // RESULT_F32, RESULT_F64
  }
  return status == napi_ok ? out : throw_last(env, "creating the result of callTyped");
}

static napi_value CallTyped(napi_env env, napi_callback_info info) {
  size_t argc = 4 + TYPED_INTEGERS;
  napi_value argv[4 + TYPED_INTEGERS];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  uint64_t address;
  int32_t kind;
  if (argc < 4 || argc > 4 + TYPED_INTEGERS || !get_address(env, argv[0], &address) || address == 0 ||
      napi_get_value_int32(env, argv[2], &kind) != napi_ok || kind < 0 || kind >= RESULT_KINDS) {
    napi_throw_type_error(env, NULL, "callTyped(address, resolve, result, floats, ...ints): an address, a result kind and at most six integers");
    return NULL;
  }
  double f[TYPED_FLOATS] = {0, 0, 0, 0, 0, 0, 0, 0};
  napi_valuetype floats_type;
  CHECK(napi_typeof(env, argv[3], &floats_type));
  if (floats_type != napi_undefined) {
    bool is_typed = false;
    napi_typedarray_type float_type = napi_uint8_array;
    size_t float_count = 0;
    void* float_data = NULL;
    if (napi_is_typedarray(env, argv[3], &is_typed) != napi_ok || !is_typed ||
        napi_get_typedarray_info(env, argv[3], &float_type, &float_count, &float_data, NULL, NULL) != napi_ok ||
        float_type != napi_float64_array || float_count < TYPED_FLOATS) {
      napi_throw_type_error(env, NULL, "callTyped: floats must be a Float64Array of 8, or undefined for none");
      return NULL;
    }
    memcpy(f, float_data, sizeof f);
  }
  uint64_t a[TYPED_INTEGERS] = {0, 0, 0, 0, 0, 0};
  for (size_t i = 4; i < argc; i++) {
    if (!get_register(env, argv[i], &a[i - 4], NULL, NULL)) {
      napi_throw_type_error(env, NULL, "callTyped: integer arguments are numbers, BigInts, Uint8Arrays or null");
      return NULL;
    }
  }
  call_frame frame;
  enter_call(&frame, env, argv[1], address);
  int abandoned = setjmp(frame.abandon);
  if (abandoned != 0) {
    current_call = frame.outer;
    // 1: resolve threw, and its exception is pending; 2: the code faulted (native/faults.c).
    return abandoned == 2 ? faults_throw(env, &frame.fault) : NULL;
  }
  uint64_t bits = 0;
  double real = 0;
  void* code = (void*)(uintptr_t)address;
  if (kind == RESULT_F64) {
    real = ((double_function)code)(a[0], a[1], a[2], a[3], a[4], a[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
  } else if (kind == RESULT_F32) {
    real = ((float_function)code)(a[0], a[1], a[2], a[3], a[4], a[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
  } else {
    bits = ((integer_function)code)(a[0], a[1], a[2], a[3], a[4], a[5], f[0], f[1], f[2], f[3], f[4], f[5], f[6], f[7]);
  }
  current_call = frame.outer;
  return typed_result(env, kind, bits, real);
}

// The longest symbol name dlsym() looks up, in UTF-8 bytes (mangled C++ names run long).
#define SYMBOL_BYTES 4095

// dlsym(name) -> the address of a symbol of the process (C library included), or undefined.
// A name C cannot spell is no symbol: one with a NUL inside (dlsym would see only what precedes
// it: "labs\0x" is not labs) or longer than SYMBOL_BYTES.
static napi_value Dlsym(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_value result;
  CHECK(napi_get_undefined(env, &result));
  char name[SYMBOL_BYTES + 1];
  size_t length = 0;
  if (argc < 1 || napi_get_value_string_utf8(env, argv[0], NULL, 0, &length) != napi_ok || length > SYMBOL_BYTES ||
      napi_get_value_string_utf8(env, argv[0], name, sizeof name, &length) != napi_ok || strlen(name) != length) {
    return result;
  }
  void* address = dlsym(RTLD_DEFAULT, name);
  if (address != NULL) CHECK(napi_create_double(env, (double)(uintptr_t)address, &result));
  return result;
}

// protect(view, address, length, writable): the CPU's view of data the heap keeps read-only (an
// object's .rodata, .data.rel.ro after relocation). Only the data arena's CPU mapping changes:
// the heap still writes through its own view (backpatching a function pointer in a table), and
// the code arena stays r-x. `address` and `length` are whole pages inside the data arena.
// Two splits of the data mapping at most per range: an object loader asks for one range each.
static napi_value Protect(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  bool is_buffer = false;
  if (argc >= 1) CHECK(napi_is_arraybuffer(env, argv[0], &is_buffer));
  double address = 0, length = 0;
  bool writable = false;
  if (!is_buffer || argc < 4 || napi_get_value_double(env, argv[1], &address) != napi_ok ||
      napi_get_value_double(env, argv[2], &length) != napi_ok || napi_get_value_bool(env, argv[3], &writable) != napi_ok) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "protect(view, address, length, writable): a heap view, two numbers and a boolean expected");
    return NULL;
  }
  void* view = NULL;
  CHECK(napi_get_arraybuffer_info(env, argv[0], &view, NULL));
  long page = sysconf(_SC_PAGESIZE);
  pthread_mutex_lock(&registry_lock);
  mapping_t* found = NULL;
  for (mapping_t* m = heaps; m != NULL; m = m->next) {
    if (m->heap_view == view) found = m;
  }
  uintptr_t start = (uintptr_t)address;
  uintptr_t data = found == NULL ? 0 : (uintptr_t)found->data;
  int inside = found != NULL && address >= 0 && length > 0 && start % page == 0 && (uintptr_t)length % page == 0 &&
               start >= data && start + (uintptr_t)length <= data + found->data_size;
  int failed = inside ? mprotect((void*)start, (size_t)length, writable ? PROT_READ | PROT_WRITE : PROT_READ) : 0;
  int error = errno;
  pthread_mutex_unlock(&registry_lock);
  if (!inside) {
    napi_throw_error(env, "INVALID_ARGUMENT", "protect: the range is not whole pages of this heap's data arena");
    return NULL;
  }
  if (failed != 0) return throw_errno(env, "OUT_OF_MEMORY", "protect: mprotect", error);
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  return undefined;
}

// ---- arguments of the tools' functions (gdb, the unwinder, the profiler) ----

// A Uint8Array argument's bytes, or 0 when `value` is none.
static int get_bytes(napi_env env, napi_value value, void** data, size_t* length) {
  bool is_typed = false;
  napi_typedarray_type type;
  if (napi_is_typedarray(env, value, &is_typed) != napi_ok || !is_typed ||
      napi_get_typedarray_info(env, value, &type, length, data, NULL, NULL) != napi_ok) {
    return 0;
  }
  return type == napi_uint8_array;
}

// The one argument of an unregister function: an id its register function returned, or 0 (a
// TypeError thrown) for anything else.
static uintptr_t get_id(napi_env env, napi_callback_info info, const char* usage) {
  size_t argc = 1;
  napi_value argv[1];
  double id = 0;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1 ||
      napi_get_value_double(env, argv[0], &id) != napi_ok || id <= 0) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", usage);
    return 0;
  }
  return (uintptr_t)id;
}

napi_value undefined_value(napi_env env) {
  napi_value undefined;
  CHECK(napi_get_undefined(env, &undefined));
  return undefined;
}

// markForProfiler(fd): maps the first page of an open file read-execute, and leaves it mapped for
// the life of the process. That mapping is how `perf record` learns of a jitdump file: perf
// records every executable mapping, and `perf inject --jit` reads the one named jit-<pid>.dump.
// Nothing reads or runs the page. One mapping per file, outside the registry's budget.
static napi_value MarkForProfiler(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t fd = -1;
  if (argc < 1 || napi_get_value_int32(env, argv[0], &fd) != napi_ok || fd < 0) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "markForProfiler(fd): an open file descriptor expected");
    return NULL;
  }
  void* page = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_EXEC, MAP_PRIVATE, fd, 0);
  if (page == MAP_FAILED) return throw_errno(env, "NOT_EXECUTABLE", "markForProfiler: mmap of the file", errno);
  return undefined_value(env);
}

// ---- the GDB JIT interface ----
//
// gdb finds these two symbols by name in every object it loads (this addon included): it stops in
// __jit_debug_register_code, reads the descriptor's relevant_entry, and loads (or drops) the
// in-memory ELF object the entry points at, so the JIT code gets names, breakpoints and frames.
// Each entry owns a copy of its object; registering and unregistering are O(1) (a doubly linked
// list), under a lock, so heaps on worker threads can register too.

typedef enum { JIT_NOACTION = 0, JIT_REGISTER_FN, JIT_UNREGISTER_FN } jit_actions_t;

struct jit_code_entry {
  struct jit_code_entry* next_entry;
  struct jit_code_entry* prev_entry;
  const char* symfile_addr;
  uint64_t symfile_size;
};

struct jit_descriptor {
  uint32_t version;
  uint32_t action_flag;
  struct jit_code_entry* relevant_entry;
  struct jit_code_entry* first_entry;
};

// Not static and never inlined: gdb puts its breakpoint here. The asm keeps the call from being
// optimized away.
void __attribute__((noinline, used, visibility("default"))) __jit_debug_register_code(void) { __asm__ volatile("" ::: "memory"); }
__attribute__((used, visibility("default"))) struct jit_descriptor __jit_debug_descriptor = {1, JIT_NOACTION, NULL, NULL};
static pthread_mutex_t jit_lock = PTHREAD_MUTEX_INITIALIZER;

// An entry as the addon holds it: gdb's part first, then a mark that it is live.
#define ENTRY_LIVE 0x6a69742d656e7472ULL
typedef struct {
  struct jit_code_entry entry;
  uint64_t live;
} held_entry_t;

// The ELF object gdb is handed for one piece of code: a relocatable object whose section .text
// (SHT_NOBITS: gdb reads the code from the process) is placed at the code's address (sh_addr), and
// whose one symbol names it at offset 0, as a function of `size` bytes; with the body's unwind
// table (FunctionBody.unwind, absolute pointers) as its .eh_frame, so gdb steps through frames
// that keep no frame pointer, and the DWARF of its line table (FunctionBody.lines, made by
// src/native/debug-lines.ts) as .debug_abbrev, .debug_info and .debug_line, so frames name
// `file:line`. gdb reads such an object as it reads one a loader placed. Layout: the ELF header,
// the symbol table, the string tables, the sections given, then the section headers (System V
// gABI, ELF-64, little-endian as x86-64 is).
#define SECTION_NAMES "\0.text\0.symtab\0.strtab\0.shstrtab\0.eh_frame\0.debug_abbrev\0.debug_info\0.debug_line"
enum { SEC_NULL, SEC_TEXT, SEC_SYMTAB, SEC_STRTAB, SEC_SHSTRTAB, FIXED_SECTIONS };
// Where each section's name is in SECTION_NAMES.
enum { NAME_TEXT = 1, NAME_SYMTAB = 7, NAME_STRTAB = 15, NAME_SHSTRTAB = 23, NAME_EH_FRAME = 33, NAME_DEBUG_ABBREV = 43,
       NAME_DEBUG_INFO = 57, NAME_DEBUG_LINE = 69 };

// A section of bytes given by the caller: its name in SECTION_NAMES, and its bytes (none: absent).
typedef struct {
  uint32_t name;
  const void* bytes;
  size_t length;
  uint64_t align;
} given_section_t;

static void put_section(Elf64_Shdr* sh, uint32_t name, uint32_t type, uint64_t flags, uint64_t addr, uint64_t offset,
                        uint64_t size, uint32_t link, uint32_t info, uint64_t align, uint64_t entsize) {
  sh->sh_name = name;
  sh->sh_type = type;
  sh->sh_flags = flags;
  sh->sh_addr = addr;
  sh->sh_offset = offset;
  sh->sh_size = size;
  sh->sh_link = link;
  sh->sh_info = info;
  sh->sh_addralign = align;
  sh->sh_entsize = entsize;
}

#define GIVEN_SECTIONS 4

static char* debug_object(const char* name, size_t name_length, uint64_t address, uint64_t size,
                          const given_section_t given[GIVEN_SECTIONS], size_t* length) {
  size_t symtab_at = sizeof(Elf64_Ehdr);
  size_t strtab_at = symtab_at + 2 * sizeof(Elf64_Sym);
  size_t strtab_size = name_length + 2;
  size_t shstrtab_at = strtab_at + strtab_size;
  size_t shstrtab_size = sizeof SECTION_NAMES;
  size_t at = shstrtab_at + shstrtab_size;
  size_t given_at[GIVEN_SECTIONS];
  int sections = FIXED_SECTIONS;
  for (int i = 0; i < GIVEN_SECTIONS; i++) {
    if (given[i].length == 0) continue;
    at = (at + 7) & ~(size_t)7;
    given_at[i] = at;
    at += given[i].length;
    sections++;
  }
  size_t headers_at = (at + 7) & ~(size_t)7;
  *length = headers_at + (size_t)sections * sizeof(Elf64_Shdr);
  char* object = calloc(1, *length);
  if (object == NULL) return NULL;
  Elf64_Ehdr* eh = (Elf64_Ehdr*)object;
  memcpy(eh->e_ident, ELFMAG, SELFMAG);
  eh->e_ident[EI_CLASS] = ELFCLASS64;
  eh->e_ident[EI_DATA] = ELFDATA2LSB;
  eh->e_ident[EI_VERSION] = EV_CURRENT;
  eh->e_type = ET_REL;
  eh->e_machine = EM_X86_64;
  eh->e_version = EV_CURRENT;
  eh->e_shoff = headers_at;
  eh->e_ehsize = sizeof(Elf64_Ehdr);
  eh->e_shentsize = sizeof(Elf64_Shdr);
  eh->e_shnum = (Elf64_Half)sections;
  eh->e_shstrndx = SEC_SHSTRTAB;
  Elf64_Sym* sym = (Elf64_Sym*)(object + symtab_at) + 1;
  sym->st_name = 1;
  sym->st_info = ELF64_ST_INFO(STB_GLOBAL, STT_FUNC);
  sym->st_shndx = SEC_TEXT;
  sym->st_size = size;
  memcpy(object + strtab_at + 1, name, name_length);
  memcpy(object + shstrtab_at, SECTION_NAMES, shstrtab_size);
  Elf64_Shdr* sh = (Elf64_Shdr*)(object + headers_at);
  put_section(&sh[SEC_TEXT], NAME_TEXT, SHT_NOBITS, SHF_ALLOC | SHF_EXECINSTR, address, headers_at, size, 0, 0, 16, 0);
  // A symbol table's sh_info: the index of its first non-local symbol.
  put_section(&sh[SEC_SYMTAB], NAME_SYMTAB, SHT_SYMTAB, 0, 0, symtab_at, 2 * sizeof(Elf64_Sym), SEC_STRTAB, 1, 8, sizeof(Elf64_Sym));
  put_section(&sh[SEC_STRTAB], NAME_STRTAB, SHT_STRTAB, 0, 0, strtab_at, strtab_size, 0, 0, 1, 0);
  put_section(&sh[SEC_SHSTRTAB], NAME_SHSTRTAB, SHT_STRTAB, 0, 0, shstrtab_at, shstrtab_size, 0, 0, 1, 0);
  int index = FIXED_SECTIONS;
  for (int i = 0; i < GIVEN_SECTIONS; i++) {
    if (given[i].length == 0) continue;
    memcpy(object + given_at[i], given[i].bytes, given[i].length);
    // Only .eh_frame is loaded (SHF_ALLOC): gdb reads debug sections from the object itself.
    uint64_t flags = given[i].name == NAME_EH_FRAME ? SHF_ALLOC : 0;
    put_section(&sh[index++], given[i].name, SHT_PROGBITS, flags, 0, given_at[i], given[i].length, 0, 0, given[i].align, 0);
  }
  return object;
}

// debuggerRegister(name, address, size, ehFrame?, dwarf?, abbrevLength?, infoLength?) -> an id (for
// debuggerUnregister): gdb is handed an object naming the code at [address, address + size)
// `name`, with the body's unwind table when one is given, and the DWARF of its line table when
// given (.debug_abbrev, .debug_info and .debug_line back to back in `dwarf`, the first two of the
// lengths given). O(1) in the code registered: no debugger attached, it costs the object's making
// and a call of an empty function.
static napi_value DebuggerRegister(napi_env env, napi_callback_info info) {
  size_t argc = 7;
  napi_value argv[7];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  char name[SYMBOL_BYTES + 1];
  size_t name_length = 0;
  double address = 0, size = 0;
  if (argc < 3 || napi_get_value_string_utf8(env, argv[0], name, sizeof name, &name_length) != napi_ok ||
      napi_get_value_double(env, argv[1], &address) != napi_ok || napi_get_value_double(env, argv[2], &size) != napi_ok ||
      address <= 0 || size <= 0) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "debuggerRegister(name, address, size): a name and two positive numbers expected");
    return NULL;
  }
  // .eh_frame, with its terminator (4 zero bytes) after the table; then the DWARF.
  given_section_t given[GIVEN_SECTIONS] = {{NAME_EH_FRAME, NULL, 0, 8}, {NAME_DEBUG_ABBREV, NULL, 0, 1}, {NAME_DEBUG_INFO, NULL, 0, 1},
                                           {NAME_DEBUG_LINE, NULL, 0, 1}};
  void* eh_frame = NULL;
  size_t eh_frame_length = 0;
  char* eh_frame_copy = NULL;
  if (argc >= 4 && get_bytes(env, argv[3], &eh_frame, &eh_frame_length) && eh_frame_length > 0) {
    eh_frame_copy = calloc(1, eh_frame_length + 4);
    if (eh_frame_copy == NULL) return throw_errno(env, "OUT_OF_MEMORY", "debuggerRegister", ENOMEM);
    memcpy(eh_frame_copy, eh_frame, eh_frame_length);
    given[0].bytes = eh_frame_copy;
    given[0].length = eh_frame_length + 4;
  }
  void* dwarf = NULL;
  size_t dwarf_length = 0;
  double abbrev_length = 0, info_length = 0;
  if (argc >= 7 && get_bytes(env, argv[4], &dwarf, &dwarf_length) && napi_get_value_double(env, argv[5], &abbrev_length) == napi_ok &&
      napi_get_value_double(env, argv[6], &info_length) == napi_ok && abbrev_length > 0 && info_length > 0 &&
      abbrev_length + info_length < (double)dwarf_length) {
    given[1].bytes = dwarf;
    given[1].length = (size_t)abbrev_length;
    given[2].bytes = (char*)dwarf + given[1].length;
    given[2].length = (size_t)info_length;
    given[3].bytes = (char*)given[2].bytes + given[2].length;
    given[3].length = dwarf_length - given[1].length - given[2].length;
  }
  // A name longer than SYMBOL_BYTES is cut there (napi_get_value_string_utf8 stops at a whole character).
  size_t length = 0;
  held_entry_t* held = malloc(sizeof *held);
  char* object = debug_object(name, name_length, (uint64_t)address, (uint64_t)size, given, &length);
  free(eh_frame_copy);
  if (held == NULL || object == NULL) {
    free(held);
    free(object);
    return throw_errno(env, "OUT_OF_MEMORY", "debuggerRegister", ENOMEM);
  }
  held->live = ENTRY_LIVE;
  struct jit_code_entry* entry = &held->entry;
  entry->symfile_addr = object;
  entry->symfile_size = length;
  pthread_mutex_lock(&jit_lock);
  entry->prev_entry = NULL;
  entry->next_entry = __jit_debug_descriptor.first_entry;
  if (entry->next_entry != NULL) entry->next_entry->prev_entry = entry;
  __jit_debug_descriptor.first_entry = entry;
  __jit_debug_descriptor.relevant_entry = entry;
  __jit_debug_descriptor.action_flag = JIT_REGISTER_FN;
  __jit_debug_register_code();
  __jit_debug_descriptor.action_flag = JIT_NOACTION;
  pthread_mutex_unlock(&jit_lock);
  napi_value id;
  CHECK(napi_create_double(env, (double)(uintptr_t)held, &id));
  return id;
}

// debuggerUnregister(id): gdb drops the object, and its copy is freed; O(1). Pre: `id` came from
// debuggerRegister and was not unregistered (the addon's JavaScript side keeps each id once).
static napi_value DebuggerUnregister(napi_env env, napi_callback_info info) {
  uintptr_t id = get_id(env, info, "debuggerUnregister(id): an id from debuggerRegister expected");
  if (id == 0) return NULL;
  held_entry_t* held = (held_entry_t*)id;
  if (held->live != ENTRY_LIVE) {
    napi_throw_error(env, "INVALID_ARGUMENT", "debuggerUnregister: the id is not registered");
    return NULL;
  }
  struct jit_code_entry* found = &held->entry;
  pthread_mutex_lock(&jit_lock);
  if (found->prev_entry != NULL) found->prev_entry->next_entry = found->next_entry;
  else __jit_debug_descriptor.first_entry = found->next_entry;
  if (found->next_entry != NULL) found->next_entry->prev_entry = found->prev_entry;
  __jit_debug_descriptor.relevant_entry = found;
  __jit_debug_descriptor.action_flag = JIT_UNREGISTER_FN;
  __jit_debug_register_code();
  __jit_debug_descriptor.action_flag = JIT_NOACTION;
  __jit_debug_descriptor.relevant_entry = NULL;
  held->live = 0;
  pthread_mutex_unlock(&jit_lock);
  free((void*)found->symfile_addr);
  free(held);
  return undefined_value(env);
}

// ---- unwind tables ----
//
// registerUnwind(table) hands the process's unwinder (libgcc's, which backtrace() and C++
// exceptions use) the .eh_frame of one body (FunctionBody.unwind, made absolute by the heap:
// src/link/unwind.ts): a CIE with its FDEs whose pointers are 8-byte absolute (DW_EH_PE_absptr),
// since pc-relative sdata4, what compilers emit, cannot reach a copy made by malloc, gigabytes
// from the code arena. The copy gets the terminator and stays registered until
// unregisterUnwind(id), which native memory calls when the body's block is freed.

extern void __register_frame(void* begin);
extern void __deregister_frame(void* begin);

static napi_value RegisterUnwind(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  void* data = NULL;
  size_t length = 0;
  if (argc < 1 || !get_bytes(env, argv[0], &data, &length) || length < 8) {
    napi_throw_type_error(env, "INVALID_ARGUMENT", "registerUnwind(table): an .eh_frame table expected");
    return NULL;
  }
  unsigned char* copy = malloc(length + 4);
  if (copy == NULL) return throw_errno(env, "OUT_OF_MEMORY", "registerUnwind", ENOMEM);
  memcpy(copy, data, length);
  memset(copy + length, 0, 4);
  __register_frame(copy);
  napi_value id;
  CHECK(napi_create_double(env, (double)(uintptr_t)copy, &id));
  return id;
}

static napi_value UnregisterUnwind(napi_env env, napi_callback_info info) {
  uintptr_t id = get_id(env, info, "unregisterUnwind(id): an id from registerUnwind expected");
  if (id == 0) return NULL;
  void* table = (void*)id;
  __deregister_frame(table);
  free(table);
  return undefined_value(env);
}

static napi_value Init(napi_env env, napi_value exports) {
  faults_install();
  napi_property_descriptor properties[] = {
      {"map", NULL, Map, NULL, NULL, NULL, napi_default, NULL},
      {"unmap", NULL, Unmap, NULL, NULL, NULL, napi_default, NULL},
      {"reserveRange", NULL, ReserveRange, NULL, NULL, NULL, napi_default, NULL},
      {"call", NULL, Call, NULL, NULL, NULL, napi_default, NULL},
      {"callTyped", NULL, CallTyped, NULL, NULL, NULL, napi_default, NULL},
      {"dlsym", NULL, Dlsym, NULL, NULL, NULL, napi_default, NULL},
      {"protect", NULL, Protect, NULL, NULL, NULL, napi_default, NULL},
      {"markForProfiler", NULL, MarkForProfiler, NULL, NULL, NULL, napi_default, NULL},
      {"debuggerRegister", NULL, DebuggerRegister, NULL, NULL, NULL, napi_default, NULL},
      {"debuggerUnregister", NULL, DebuggerUnregister, NULL, NULL, NULL, napi_default, NULL},
      {"registerUnwind", NULL, RegisterUnwind, NULL, NULL, NULL, napi_default, NULL},
      {"unregisterUnwind", NULL, UnregisterUnwind, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  CHECK(executor_host_register(env, exports));
  napi_value resolver, page, symbol_bytes;
  CHECK(napi_create_double(env, (double)(uintptr_t)&codeheap_resolver_entry, &resolver));
  CHECK(napi_set_named_property(env, exports, "resolverAddress", resolver));
  CHECK(napi_create_double(env, (double)sysconf(_SC_PAGESIZE), &page));
  CHECK(napi_set_named_property(env, exports, "pageSize", page));
  CHECK(napi_create_uint32(env, SYMBOL_BYTES, &symbol_bytes));
  CHECK(napi_set_named_property(env, exports, "symbolBytes", symbol_bytes));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
