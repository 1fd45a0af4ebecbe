/*
 * platform.h: everything the runtime needs from the machine, and nothing more.
 *
 * The runtime (scheduler, stacks, channels, timers, and later the allocator
 * and collector) is portable C. It reaches the machine only through the
 * functions declared here, and two ports implement them, in the way Redis's
 * ae.c has one file per event backend:
 *
 *   runtime/platform_linux.c   hosted: an M is a pthread, parking is a futex,
 *                              memory is mmap, preemption is a signal
 *                              (SIGURG, as Go does). Used for the unit tests
 *                              and for benchmarks beside Go.
 *   kernel/platform.c          the unikernel: an M is a CPU, parking is hlt
 *                              woken by an IPI, memory is page tables,
 *                              preemption is the timer interrupt.
 *
 * Nothing in runtime/ includes a kernel/ header; the kernel port is the only
 * kernel code that knows about goroutines.
 */
#ifndef HARDWAY_RUNTIME_PLATFORM_H
#define HARDWAY_RUNTIME_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct m;
struct mcache;

/* --- Time ---------------------------------------------------------------- */

// Monotonic nanoseconds (an arbitrary origin, never going back).
uint64_t platform_nanotime(void);

/* --- CPUs and threads ---------------------------------------------------- */

// How many CPUs the program may run on: the default number of Ps.
int platform_cpu_count(void);

// Starts running entry(m) on a new thread (hosted) or a CPU (kernel). The M
// stays on it for the rest of its life. False when no thread can be had.
bool platform_thread_start(struct m *m, void (*entry)(struct m *));

// The M running on the calling thread or CPU (NULL on a thread that is not
// an M): platform_current_m, called on every scheduling decision and every
// lock, is inline, one or two loads, in each port's inline header (below).
void platform_set_current_m(struct m *m);
// The mcache of the P the calling thread's M holds (NULL without one):
// platform_current_mcache, read by every malloc and free, is inline too,
// one load closer than the M's P's mcache would be.
void platform_set_current_mcache(struct mcache *mcache);

// Lets another thread of the host run (hosted: sched_yield; kernel: pause).
void platform_yield(void);

/* --- Sleeping and waking ------------------------------------------------- */

// Blocks while *address == expected (or until woken, or until `deadline`,
// a platform_nanotime value; 0 means no deadline). May return spuriously:
// callers re-check their condition.
void platform_wait(uint32_t *address, uint32_t expected, uint64_t deadline);
// Wakes up to `count` threads blocked in platform_wait on `address`.
void platform_wake(uint32_t *address, int count);

/* --- Memory -------------------------------------------------------------- */

// Reserves `size` bytes of address space, readable and writable, backed by
// memory only when first touched. NULL when the space cannot be had.
void *platform_reserve(size_t size);
// The same, at `hint` if the space there is free, else wherever
// platform_reserve would put it. The heap asks for each new arena right
// above its last (runtime/mheap.c's arena hint).
void *platform_reserve_at(void *hint, size_t size);
// Makes [address, address + size) fault on any access: stack guard pages.
// Returns false when the platform could not do it.
bool platform_guard(void *address, size_t size);
// The contents of [address, address + size) are no longer needed: the memory
// behind them may be given back; the range stays usable (reads zero).
void platform_release(void *address, size_t size);

/* --- Preemption ---------------------------------------------------------- */

// Asks M's thread or CPU to stop what it is doing soon and call
// runtime_preempt_interrupted (runtime/preempt.c) from its signal or
// interrupt handler. False when no interrupt was sent (none will come).
bool platform_preempt(struct m *m);

/* --- How the runtime runs ------------------------------------------------ */

// True hosted: a sysmon thread preempts long-running goroutines and takes Ps
// from long system calls. False in the kernel: each CPU's timer interrupt
// calls runtime_tick for its own P instead, and nothing blocks a CPU.
extern const bool platform_has_sysmon_thread;
// False hosted: runtime_run waits on the calling thread and returns when the
// main goroutine does. True in the kernel: the calling CPU becomes the first
// M (no CPU sits waiting), runtime_run never returns, and the program ends
// with platform_exit(0) when the main goroutine returns.
extern const bool platform_caller_becomes_m;
// True hosted: the OS may keep an M's thread off its CPU for a while, to
// run another thread there. False in the kernel: each M has its CPU.
extern const bool platform_ms_share_cpus;

/* --- Configuration ------------------------------------------------------- */

struct runtime_config;
// Fills in what `config` leaves 0 from the platform's own settings: the
// environment hosted (GOMAXPROCS, HARDWAY_SCHEDTRACE), the kernel command
// line in the kernel (procs=, schedtrace=).
void platform_runtime_defaults(struct runtime_config *config);
// Registers the collector's roots that the port knows of (gc_add_root):
// in the kernel, the image's data and bss; hosted, none (a program
// registers the globals that hold collected pointers).
void platform_register_gc_roots(void);
// Whether those roots are written without gc_store: true in the kernel,
// whose C code stores into its globals plainly, which is why the write
// barrier keeps its insertion half there (mbarrier.c); false hosted, where
// a program writes its registered roots through gc_store.
extern const bool platform_roots_written_plainly;
// Whether the user asked for the allocator's debug checks (hosted: the
// environment's HARDWAY_MALLOCDEBUG=1; kernel: mallocdebug=1). Asked at the
// first allocation, which may come before the scheduler starts.
bool platform_malloc_debug_requested(void);

/* --- Output and exit ----------------------------------------------------- */

// Writes runtime messages (fatal errors, traces) where a person sees them.
void platform_write_error(const char *text, size_t length);
// Names the function containing `pc` ("chan_send+0x1c"), or writes "?".
void platform_symbolize(uintptr_t pc, char *text, size_t size);
// Ends the whole program: hosted, the process; in the kernel, the machine.
void platform_exit(int status) __attribute__((noreturn));

// Each port's inline functions (platform_current_m, platform_current_mcache).
#if __STDC_HOSTED__
#include "platform_linux_inline.h"
#else
#include "platform_kernel_inline.h"   // in kernel/
#endif

#endif
