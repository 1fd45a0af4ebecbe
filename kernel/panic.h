/* Stopping the machine when something is wrong (kernel/panic.c). */
#ifndef HARDWAY_PANIC_H
#define HARDWAY_PANIC_H

#include <stdbool.h>

// Claims the right to report a fatal error, before printing one: the first
// CPU to claim it reports; any other CPU halts here (and is stopped for good
// by the reporter's NMI). Returns false on the reporting CPU itself when it
// faults again while reporting: then stop, don't report again.
bool panic_begin(void);
// Prints "panic: MESSAGE" with the CPU and a backtrace, then kernel_die().
void panic(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
// Stops every CPU; exits QEMU with a failure status when the isa-debug-exit
// device is present; otherwise leaves the message on the screen.
void kernel_die(void) __attribute__((noreturn));

bool panic_halt_requested(void);

#define KERNEL_ASSERT(condition)                                                          \
    do {                                                                                  \
        if (!(condition))                                                                 \
            panic("assertion failed: %s (%s:%d)", #condition, __FILE__, __LINE__);        \
    } while (0)

#endif
