/*
 * Switching goroutines on x86-64: the only assembly the scheduler needs.
 *
 * A goroutine's saved context ("gobuf", as Go calls it) is just its stack
 * pointer. runtime_context_switch(from, to) pushes the registers the C calling
 * convention says a function must preserve (RBX, RBP, R12-R15), stores RSP in
 * *from, loads RSP from *to, pops the same registers from the other stack and
 * returns -- into whatever called runtime_context_switch on that stack. Every
 * other register is caller-saved, so the C compiler has already saved what it
 * needs around the call: this is a complete switch, and it costs a few
 * nanoseconds.
 *
 * A new goroutine's stack is laid out by context_prepare (proc.c) so that the
 * first switch to it "returns" into runtime_goroutine_entry with its function
 * and argument in R12 and R13.
 *
 * runtime_async_preempt is where a goroutine lands when a signal (hosted) or
 * an interrupt (kernel) preempts it between two arbitrary instructions: the
 * handler saved the interrupted RIP in the G (preempt_return_pc) and pointed
 * RIP here, leaving RSP as it was. Nothing may be assumed saved, so it makes
 * room for a return address, saves every general register, the flags and the
 * x87/SSE state, and calls runtime_async_preempt_park with the address of
 * that room: it fills in the interrupted RIP and switches away like gosched.
 * When the G runs again, everything is restored and `ret` resumes the
 * interrupted instruction. (Handing the RIP over in the G rather than pushing
 * it from the handler matters in the kernel: there the interrupt's own frame
 * sits right below the interrupted RSP.)
 */

        .text

/* void runtime_context_switch(struct gobuf *from, struct gobuf *to) */
        .global runtime_context_switch
        .type runtime_context_switch, @function
runtime_context_switch:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    (%rsi), %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret
        .size runtime_context_switch, . - runtime_context_switch

/* The first instructions of every goroutine: R12 = function, R13 = argument
 * (popped by runtime_context_switch from the prepared stack). RBP is zero so
 * a backtrace ends here. */
        .global runtime_goroutine_entry
        .type runtime_goroutine_entry, @function
runtime_goroutine_entry:
        movq    %r13, %rdi
        callq   *%r12
        callq   goexit                  /* a goroutine that returns exits */
        ud2
        .size runtime_goroutine_entry, . - runtime_goroutine_entry

/* Entered with the stack as the interrupted code left it; the interrupted
 * RIP is in the G (preempt_return_pc). */
        .global runtime_async_preempt
        .type runtime_async_preempt, @function
runtime_async_preempt:
        leaq    -8(%rsp), %rsp          /* room for the return address; lea leaves the flags alone */
        pushq   %rbp
        movq    %rsp, %rbp              /* a frame record: 8(%rbp) will hold the interrupted RIP */
        pushfq
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        /* fxsave needs a 16-byte-aligned 512-byte area; a call needs RSP
         * 16-byte aligned. R12 keeps the RSP to come back to. */
        movq    %rsp, %r12
        subq    $512, %rsp
        andq    $-16, %rsp
        fxsave64 (%rsp)
        cld
        leaq    8(%rbp), %rdi           /* where the interrupted RIP goes */
        callq   runtime_async_preempt_park
        fxrstor64 (%rsp)
        movq    %r12, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        popfq
        popq    %rbp
        ret
        .size runtime_async_preempt, . - runtime_async_preempt

/* void entersyscall(void): saves the caller's callee-saved registers and
 * its stack pointer for the collector -- while the G is in the call, its
 * stack above that point and those registers are all it holds -- and goes
 * on in C (proc.c's entersyscall_save). The registers are read here, before
 * any C code can have changed them. */
        .global entersyscall
        .type entersyscall, @function
entersyscall:
        subq    $56, %rsp               /* 6 registers; keeps RSP 16-byte aligned for the call */
        movq    %rbx, 0(%rsp)
        movq    %rbp, 8(%rsp)
        movq    %r12, 16(%rsp)
        movq    %r13, 24(%rsp)
        movq    %r14, 32(%rsp)
        movq    %r15, 40(%rsp)
        movq    %rsp, %rdi              /* the registers */
        leaq    64(%rsp), %rsi          /* the caller's RSP once we return */
        callq   entersyscall_save
        addq    $56, %rsp
        ret
        .size entersyscall, . - entersyscall

        .section .note.GNU-stack, "", @progbits
