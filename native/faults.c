// Faults in the heap's code become errors of the call that ran it.
//
// A SIGSEGV, SIGBUS, SIGILL, SIGFPE or SIGTRAP raised on a thread while a call() of the heap's
// code runs there, and not while the resolver runs JavaScript, is the call's: the handler records
// the signal, the faulting address and the registers in the call's frame and jumps back to the
// call (longjmp, as a throwing resolver does), which throws a MACHINE_FAULT error; the heap then
// abandons the call's frames as it does for a throwing compile callback. Every other fault goes to
// the handler that was there before (V8's and Node's, for WebAssembly traps and crash reports),
// as if this one were not installed: never swallowed.
//
// Not safe: a fault inside C code that the JIT code called, half way through changing its own
// state (malloc with its lock held), leaves that state as it was; the next use may hang or fail.
// The JIT code's own frames have nothing to clean up.
//
// The handlers are installed with SA_NODEFER and an empty mask, so a jump out of one leaves no
// signal blocked (no sigsetjmp, whose saved mask would cost every call a system call), and with
// SA_ONSTACK: each thread that runs calls gets an alternate stack, so a fault of a stack overflow
// is caught too.

#define _GNU_SOURCE
#include "calls.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

static const int SIGNALS[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
#define SIGNAL_COUNT (sizeof SIGNALS / sizeof SIGNALS[0])
static struct sigaction previous[SIGNAL_COUNT];

static const int REGISTER_INDEX[FAULT_REGISTERS] = {
    REG_RAX, REG_RBX, REG_RCX, REG_RDX, REG_RSI, REG_RDI, REG_RBP, REG_RSP, REG_R8,
    REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15, REG_RIP, REG_EFL,
};
static const char* const REGISTER_NAMES[FAULT_REGISTERS] = {
    "rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8",
    "r9",  "r10", "r11", "r12", "r13", "r14", "r15", "rip", "eflags",
};

static int slot_of(int signal) {
  for (size_t i = 0; i < SIGNAL_COUNT; i++) {
    if (SIGNALS[i] == signal) return (int)i;
  }
  return -1;
}

// The fault is not ours: the handler there before takes it, as it would have.
static void pass_on(int signal, siginfo_t* info, void* context) {
  const struct sigaction* before = &previous[slot_of(signal)];
  if (before->sa_flags & SA_SIGINFO) {
    before->sa_sigaction(signal, info, context);
  } else if (before->sa_handler == SIG_IGN) {
    return;
  } else if (before->sa_handler != SIG_DFL) {
    before->sa_handler(signal);
  } else {
    // The default action (end the process, with a core where that is the default): back to it,
    // and the signal again, now.
    sigaction(signal, before, NULL);
    raise(signal);
  }
}

static void on_fault(int signal, siginfo_t* info, void* context) {
  call_frame* frame = current_call;
  if (frame == NULL || frame->in_javascript) {
    pass_on(signal, info, context);
    return;
  }
  const ucontext_t* uc = (const ucontext_t*)context;
  frame->fault.signal = signal;
  frame->fault.code = info->si_code;
  frame->fault.address = (uint64_t)(uintptr_t)info->si_addr;
  for (int i = 0; i < FAULT_REGISTERS; i++) frame->fault.registers[i] = (uint64_t)uc->uc_mcontext.gregs[REGISTER_INDEX[i]];
  longjmp(frame->abandon, 2);
}

void faults_install(void) {
  static int installed = 0;
  if (installed) return;
  installed = 1;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_fault;
  action.sa_flags = SA_SIGINFO | SA_NODEFER | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (size_t i = 0; i < SIGNAL_COUNT; i++) sigaction(SIGNALS[i], &action, &previous[i]);
}

void faults_thread_ready(void) {
  static __thread int ready = 0;
  if (ready) return;
  ready = 1;
  stack_t current;
  if (sigaltstack(NULL, &current) == 0 && !(current.ss_flags & SS_DISABLE)) return;  // the thread has one
  size_t size = 64 * 1024;
  stack_t stack = {.ss_sp = malloc(size), .ss_size = size, .ss_flags = 0};
  // Kept for the thread's life: a thread's alternate stack cannot be freed while it may be used.
  if (stack.ss_sp != NULL) sigaltstack(&stack, NULL);
}

static const char* signal_name(int signal) {
  switch (signal) {
    case SIGSEGV: return "SIGSEGV";
    case SIGBUS: return "SIGBUS";
    case SIGILL: return "SIGILL";
    case SIGFPE: return "SIGFPE";
    case SIGTRAP: return "SIGTRAP";
    default: return "a signal";
  }
}

napi_value faults_throw(napi_env env, const fault_record* fault) {
  // The jump restored the registers setjmp saved, not the flags: code that set the alignment check
  // (AC) or the direction flag (DF) before it faulted would leave them to the C and JavaScript
  // that run next, where a misaligned access or a backwards string copy would be a new fault.
  __asm__ volatile("pushfq\n\tandq $~0x40400, (%%rsp)\n\tpopfq" ::: "memory", "cc");
  napi_value error = faults_error(env, fault, "MACHINE_FAULT");
  if (error != NULL) napi_throw(env, error);
  return NULL;
}

napi_value faults_error(napi_env env, const fault_record* fault, const char* error_code) {
  napi_value code, message, error, registers, value;
  char text[128];
  snprintf(text, sizeof text, "%s in the heap's code", signal_name(fault->signal));
  if (napi_create_string_utf8(env, error_code, NAPI_AUTO_LENGTH, &code) != napi_ok ||
      napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &message) != napi_ok ||
      napi_create_error(env, code, message, &error) != napi_ok || napi_create_object(env, &registers) != napi_ok) {
    return NULL;
  }
  for (int i = 0; i < FAULT_REGISTERS; i++) {
    if (napi_create_bigint_uint64(env, fault->registers[i], &value) != napi_ok ||
        napi_set_named_property(env, registers, REGISTER_NAMES[i], value) != napi_ok) {
      return NULL;
    }
  }
  napi_set_named_property(env, error, "registers", registers);
  napi_create_string_utf8(env, signal_name(fault->signal), NAPI_AUTO_LENGTH, &value);
  napi_set_named_property(env, error, "signal", value);
  napi_create_int32(env, fault->code, &value);
  napi_set_named_property(env, error, "signalCode", value);
  napi_create_double(env, (double)fault->address, &value);
  napi_set_named_property(env, error, "faultAddress", value);
  napi_create_double(env, (double)fault->registers[16], &value);
  napi_set_named_property(env, error, "pc", value);
  return error;
}
