/* Symbolized backtraces from the frame-pointer chain (kernel/backtrace.c). */
#ifndef HARDWAY_BACKTRACE_H
#define HARDWAY_BACKTRACE_H

#include <stddef.h>
#include <stdint.h>

// Writes "function+0xoffset" for a code address, or "?" outside the kernel.
void backtrace_symbolize(uint64_t address, char *text, size_t size);
// Prints "backtrace:" and one line per frame, starting at `rip` in the frame
// whose base pointer is `rbp`.
void backtrace_print(uint64_t rip, uint64_t rbp);
// The backtrace of the caller.
void backtrace_print_here(void);

#endif
