/*
 * The AP trampoline: how a second CPU gets from reset to kernel C code.
 *
 * An application processor (AP) wakes up from an INIT-STARTUP IPI pair in
 * 16-bit real mode, at address (STARTUP vector) * 4096, knowing nothing. So the
 * boot CPU copies this blob to TRAMPOLINE_ADDRESS (0x8000, below 1 MiB, page
 * aligned, as real mode requires), fills in the parameters at its end, and
 * sends the IPIs (kernel/smp.c). The AP then climbs the same ladder the boot
 * CPU climbed in boot/entry.S, in one go:
 *
 *   real mode -> 32-bit protected mode (our own small GDT)
 *             -> long mode with boot_pml4 (the boot identity map, below 4 GiB)
 *             -> jumps to the C entry with its stack and `struct cpu *`.
 *
 * The code runs at 0x8000, not where it was linked, so every address inside
 * the blob is written as T(label): its offset in the blob plus 0x8000.
 * The C entry switches to the kernel's real page tables itself: the blob's
 * own page is mapped no-execute there.
 */

#define TRAMPOLINE_ADDRESS 0x8000
#define T(label) (TRAMPOLINE_ADDRESS + (label) - ap_trampoline_start)

        .section .rodata
        .balign 16
        .global ap_trampoline_start, ap_trampoline_end, ap_trampoline_parameters
        .code16
ap_trampoline_start:
        cli
        cld
        xorw    %ax, %ax
        movw    %ax, %ds
        lgdtl   T(trampoline_gdt_pointer)
        movl    %cr0, %eax
        orl     $1, %eax                        /* protection on */
        movl    %eax, %cr0
        ljmpl   $0x08, $T(trampoline_32)

        .code32
trampoline_32:
        movw    $0x10, %ax
        movw    %ax, %ds
        movw    %ax, %es
        movw    %ax, %ss
        movl    %cr4, %eax
        orl     $(1 << 5), %eax                 /* PAE */
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    $0xC0000080, %ecx               /* EFER: long mode (+ NX), as the boot CPU has it */
        movl    T(parameter_efer), %eax
        xorl    %edx, %edx
        wrmsr
        movl    %cr0, %eax
        orl     $0x80010000, %eax               /* paging, write protect */
        movl    %eax, %cr0
        ljmp    $0x18, $T(trampoline_64)

        .code64
trampoline_64:
        movq    T(parameter_stack), %rsp
        movq    T(parameter_cpu), %rdi
        xorl    %ebp, %ebp                      /* the backtrace stops here */
        movq    T(parameter_entry), %rax
        callq   *%rax
1:      cli
        hlt
        jmp     1b

        .balign 8
trampoline_gdt:
        .quad   0
        .quad   0x00CF9A000000FFFF              /* 0x08: 32-bit code */
        .quad   0x00CF92000000FFFF              /* 0x10: data */
        .quad   0x00AF9A000000FFFF              /* 0x18: 64-bit code */
trampoline_gdt_pointer:
        .short  trampoline_gdt_pointer - trampoline_gdt - 1
        .long   T(trampoline_gdt)

        /* struct ap_trampoline_parameters in kernel/smp.c */
        .balign 8
ap_trampoline_parameters:
parameter_efer:  .quad 0
parameter_stack: .quad 0
parameter_cpu:   .quad 0
parameter_entry: .quad 0
ap_trampoline_end:
