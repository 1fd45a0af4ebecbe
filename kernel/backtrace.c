/*
 * Backtraces: which functions were running, by name.
 *
 * Every kernel function is compiled with frame pointers, so each stack frame
 * begins with two words: the caller's RBP and the return address. Following
 * RBP from frame to frame walks the call chain; boot/entry.S zeroes RBP
 * before the first C call so the walk ends there. A broken chain (a corrupt
 * stack) must not fault again while we report the first fault, so every
 * frame pointer is checked before it is read: aligned, above the previous
 * one, and inside the identity-mapped memory (paging_identity_limit). A
 * frame inside that range can still sit on an unmapped guard page; the trap
 * handler catches a fault raised while a report is being printed and stops
 * there (kernel/traps.c).
 *
 * Names come from the table that tools/kernel-symbols generates from the
 * kernel's first link and the build embeds in the second: sorted
 * (address, name) pairs, searched by bisection for the last function that
 * starts at or below the address.
 */
#include "backtrace.h"
#include "paging.h"
#include "printk.h"
#include <stdio.h>

struct kernel_symbol {
    uint64_t address;
    const char *name;
};

extern const uint64_t kernel_symbol_count;
extern const struct kernel_symbol kernel_symbols[];
extern const char _kernel_start[], _kernel_text_end[];

#define BACKTRACE_FRAMES_MAX 32           // lines printed
#define BACKTRACE_FRAMES_WALKED_MAX 4096   // frames followed, repeats of a recursion included
// The lowest address a stack can have: page 0 is never mapped, and the first
// megabyte holds no kernel stack.
#define STACK_LOWEST 0x100000ull

void backtrace_symbolize(uint64_t address, char *text, size_t size)
{
    if (address < (uint64_t)(uintptr_t)_kernel_start || address >= (uint64_t)(uintptr_t)_kernel_text_end ||
        kernel_symbol_count == 0 || address < kernel_symbols[0].address) {
        snprintf(text, size, "?");
        return;
    }
    uint64_t low = 0, high = kernel_symbol_count;  // the answer is in [low, high)
    while (high - low > 1) {
        uint64_t middle = low + (high - low) / 2;
        if (kernel_symbols[middle].address <= address)
            low = middle;
        else
            high = middle;
    }
    snprintf(text, size, "%s+%#llx", kernel_symbols[low].name,
             (unsigned long long)(address - kernel_symbols[low].address));
}

static void print_frame(int depth, uint64_t address)
{
    char where[128];
    backtrace_symbolize(address, where, sizeof where);
    printk(LOG_EMERGENCY, "  #%-2d %#018llx %s\n", depth, (unsigned long long)address, where);
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
    printk(LOG_EMERGENCY, "backtrace:\n");
    print_frame(0, rip);
    uint64_t previous = 0;
    uint64_t last_printed = rip;
    // Before the kernel's page tables exist, the boot map covers 4 GiB.
    uint64_t mapped_limit = paging_identity_limit() ? paging_identity_limit() : 4ull << 30;
    int repeats = 0;   // frames skipped because they repeat the one above (recursion)
    int printed = 1;
    for (int depth = 1; depth < BACKTRACE_FRAMES_WALKED_MAX && printed < BACKTRACE_FRAMES_MAX; depth++) {
        if (rbp == 0)
            break;  // the bottom frame (boot/entry.S or an AP's entry)
        // Frames in the identity map are readable; elsewhere (goroutine
        // stacks, mapped page by page) ask the page tables.
        bool readable = rbp + 16 <= mapped_limit ||
                        (paging_probe_unlocked(rbp) && paging_probe_unlocked(rbp + 15));
        if (rbp % 8 != 0 || rbp <= previous || rbp < STACK_LOWEST || !readable) {
            printk(LOG_EMERGENCY, "  (frame pointer %#llx looks corrupt; stopping)\n", (unsigned long long)rbp);
            break;
        }
        const uint64_t *frame = (const uint64_t *)(uintptr_t)rbp;
        uint64_t return_address = frame[1];
        if (return_address == 0)
            break;
        previous = rbp;
        rbp = frame[0];
        // The return address points after the call; one byte back is inside
        // the calling instruction, which names the right line and function.
        if (return_address - 1 == last_printed && depth > 1) {
            repeats++;
            continue;
        }
        if (repeats)
            printk(LOG_EMERGENCY, "  ... the frame above repeats %d more times\n", repeats);
        repeats = 0;
        last_printed = return_address - 1;
        print_frame(depth, last_printed);
        printed++;
    }
    if (repeats)
        printk(LOG_EMERGENCY, "  ... the frame above repeats %d more times\n", repeats);
}

void backtrace_print_here(void)
{
    // Our own frame record holds the caller's RBP and the address we return
    // to in the caller: start the walk there, so this function is not shown.
    const uint64_t *frame = __builtin_frame_address(0);
    backtrace_print(frame[1] - 1, frame[0]);
}
