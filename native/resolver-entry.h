// The resolver's entry, in machine code, shared by the addon (native/codeheap.c) and the
// executor (native/executor.c): each defines codeheap_resolve, which finds the lazy function's
// new body (asking JavaScript in the addon, the host over the socket in the executor) and
// returns its address. Include it once per program.

#ifndef CODEHEAP_RESOLVER_ENTRY_H
#define CODEHEAP_RESOLVER_ENTRY_H

#include <stdint.h>

// Called with the return address a trampoline's call pushed; returns where to jump.
uint64_t codeheap_resolve(uint64_t return_address);

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

#endif
