/*
 * Interrupt and exception entry stubs.
 *
 * The IDT points each of the 256 vectors at a tiny stub here. The CPU has
 * already pushed SS, RSP, RFLAGS, CS and RIP (and, for some exceptions, an
 * error code). Each stub makes the frame uniform by pushing a zero where the
 * CPU pushed no error code, then pushes its vector number and jumps to
 * trap_common, which saves every general-purpose register and calls
 * trap_dispatch(struct trap_frame *) in kernel/traps.c. The layout pushed
 * here is `struct trap_frame` in kernel/traps.h, read from the bottom up.
 *
 * On the way out the registers are restored from the frame, so a handler that
 * edits the frame (a future preemption switching goroutines) changes what
 * iretq resumes.
 *
 * Every stub is at most 12 bytes and starts on a 16-byte boundary, so the stub
 * for vector V is at trap_stubs_start + 16 * V; kernel/traps.c relies on it.
 */

        .text
        .altmacro
/* The CPU pushes an error code itself for vectors 8, 10-14, 17, 21, 29, 30. */
.macro trap_stub vector
        .balign 16
trap_stub_\vector:
        .if !(\vector == 8 || (\vector >= 10 && \vector <= 14) || \vector == 17 || \vector == 21 || \vector == 29 || \vector == 30)
        pushq   $0
        .endif
        pushq   $\vector
        jmp     trap_common
.endm

        .global trap_stubs_start
trap_stubs_start:
        .set vector, 0
        .rept 256
        trap_stub %vector
        .set vector, vector + 1
        .endr

trap_common:
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        /* A frame record (interrupted RIP, RBP) so that a backtrace taken
         * inside a handler walks on into the interrupted code. */
        pushq   17 * 8(%rsp)            /* the interrupted RIP */
        pushq   %rbp
        movq    %rsp, %rbp
        leaq    16(%rsp), %rdi          /* struct trap_frame * */
        cld
        call    trap_dispatch
        addq    $16, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        addq    $16, %rsp               /* vector and error code */
        iretq
