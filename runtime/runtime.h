/*
 * hardway's goroutine runtime: the API a C program uses.
 *
 * The model is Go's: goroutines (G) are cheap threads with their own stacks,
 * multiplexed onto a few OS threads or CPUs (M) by a scheduler that lets at
 * most `procs` of them run at once (P, Go's GOMAXPROCS). docs/scheduler.md
 * explains how; runtime/proc.c is the scheduler itself.
 *
 *     static void hello(void *name) { printf("hello, %s\n", (char *)name); }
 *
 *     static void main_goroutine(void *unused)
 *     {
 *         go(hello, "world");
 *         gosleep(1000000);   // 1 ms: let it run
 *     }
 *
 *     int main(void) { return runtime_run(main_goroutine, NULL, NULL); }
 *
 * Channels, select, timers and the sync primitives have headers of their own
 * (chan.h, timer.h, sync.h).
 */
#ifndef HARDWAY_RUNTIME_H
#define HARDWAY_RUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*goroutine_function)(void *argument);

struct runtime_config {
    int procs;                 // number of Ps; 0 = one per CPU (Go's GOMAXPROCS)
    int schedtrace_ms;         // > 0: print a scheduler trace line this often
    size_t stack_reservation;  // bytes of address space per goroutine stack; 0 = default (1 MiB)
    bool memstats;             // print the allocator's statistics when main returns
    // The collector (docs/gc.md). gogc: 0 = default (100), < 0 = off.
    int gogc;
    uint64_t gomemlimit;       // soft heap limit in bytes (Go 1.19's GOMEMLIMIT); 0 = none
    bool gctrace;              // print one line per collection, in Go's format
    bool gccheckmark;          // after each mark, re-mark stop-the-world and verify
    int gcstress;              // > 0: a collection every gcstress allocations (1: every 1000)
};

// Starts the runtime, runs main_function(argument) as the first goroutine,
// and returns 0 when it returns -- as a Go program ends when main does: other
// goroutines are not waited for. Hosted, `config` may be NULL, and the
// environment variables GOMAXPROCS, HARDWAY_SCHEDTRACE, HARDWAY_MEMSTATS,
// GOGC (a number or "off"), GOMEMLIMIT (bytes, or with a KiB/MiB/GiB
// suffix), HARDWAY_GCTRACE, HARDWAY_GCCHECKMARK and HARDWAY_GCSTRESS fill in
// what it leaves 0. Called once per process.
int runtime_run(goroutine_function main_function, void *argument, const struct runtime_config *config);

// Starts function(argument) as a new goroutine.
void go(goroutine_function function, void *argument);
// Yields the processor: the goroutine goes to the back of its P's run queue.
void gosched(void);
// Ends the calling goroutine (returning from its function does the same).
void goexit(void) __attribute__((noreturn));
// The calling goroutine's id: 1 for the main goroutine, then counting up.
uint64_t goid(void);
// Blocks the calling goroutine for at least `nanoseconds` (other goroutines
// run meanwhile). Go's time.Sleep; named so as not to clash with libc's sleep.
void gosleep(uint64_t nanoseconds);
// Monotonic nanoseconds.
uint64_t nanotime(void);
// The number of Ps.
int runtime_procs(void);

// Around a call that may block the thread (a system call, a blocking
// library): the P is handed to another M if the call takes long, so other
// goroutines keep running. In the kernel nothing blocks a CPU: no code
// needs them there.
void entersyscall(void);
void exitsyscall(void);

// Prints every goroutine: id, status, wait reason, and a backtrace.
void runtime_dump_goroutines(void);

// Fatal errors, as Go's throw: prints "fatal error: MESSAGE", the goroutine
// dump, and ends the program with status 2.
void runtime_throw(const char *message) __attribute__((noreturn));
void runtime_throwf(const char *format, ...) __attribute__((noreturn, format(printf, 1, 2)));
// Printing from the runtime, without the heap (the console in the kernel,
// standard error hosted).
void runtime_printf(const char *format, ...) __attribute__((format(printf, 1, 2)));

#endif
