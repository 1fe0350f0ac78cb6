// What native/codeheap.c's calls and native/faults.c share: the frame of a call into the heap's
// code, one per call() or callTyped() running on a thread, innermost first.

#ifndef CODEHEAP_CALLS_H
#define CODEHEAP_CALLS_H

#include <node_api.h>
#include <setjmp.h>
#include <stdint.h>

// The general registers at a fault, in this order (the names native/faults.c gives them).
#define FAULT_REGISTERS 18

typedef struct {
  int signal;
  int code;            // si_code: how the signal came (SEGV_MAPERR, FPE_INTDIV, ...)
  uint64_t address;    // si_addr: the address that faulted (for SIGSEGV and SIGBUS), or the instruction
  uint64_t registers[FAULT_REGISTERS];
} fault_record;

typedef struct call_frame {
  jmp_buf abandon;     // setjmp's value: 1 when resolve threw, 2 at a fault (native/faults.c)
  napi_env env;
  napi_value resolve;
  uint64_t address;    // where the call entered: unmap() refuses to take that code away
  int in_javascript;   // while the resolver runs JavaScript, a fault is not the call's
  fault_record fault;  // filled before the jump with 2
  struct call_frame* outer;
} call_frame;

// Per thread: each worker thread has its own Node environment and its own calls.
extern __thread call_frame* current_call;

// Installs the fault handlers, once per process (chaining to those there before).
void faults_install(void);
// Gives this thread an alternate signal stack if it has none, once per thread (a fault of a
// stack overflow needs a stack to run its handler on).
void faults_thread_ready(void);
// Throws the MACHINE_FAULT error for the fault a call's frame recorded; returns NULL.
napi_value faults_throw(napi_env env, const fault_record* fault);
// The error object for a fault, with `code` (MACHINE_FAULT, or EXECUTOR_LOST for an executor's),
// its signal, pc, fault address and registers as properties; NULL when it cannot be made.
napi_value faults_error(napi_env env, const fault_record* fault, const char* code);

#endif
