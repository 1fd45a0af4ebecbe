/*
 * The hosted port of platform.h: the runtime as a Linux program.
 *
 *   M         a pthread. The thread's own stack is the M's g0.
 *   parking   futex(2) on a word, with an absolute deadline when asked.
 *   memory    mmap(2) with MAP_NORESERVE: address space now, memory on first
 *             touch. Guard pages use madvise(MADV_GUARD_INSTALL) where the
 *             kernel has it (Linux 6.13): a guard that costs no memory map
 *             entry, so a million stacks do not run into vm.max_map_count.
 *             Older kernels get mprotect(PROT_NONE), one map entry each.
 *   preempt   pthread_kill(SIGURG), as Go does: a signal nothing else uses,
 *             and harmless if it arrives late. The handler hands the
 *             interrupted RSP and RIP to runtime_preempt_interrupted, which
 *             may redirect the thread into runtime_async_preempt.
 *   faults    a SIGSEGV handler, on an alternate signal stack (the faulting
 *             goroutine's stack may be the thing that ran out), tells a
 *             goroutine stack overflow from other crashes and reports both
 *             the way Go does.
 *
 * The preemptible code is the program's own text (_start, where .text
 * begins, to etext -- not the PLT before it, through which the runtime calls
 * the C library) minus the runtime's, which the build moves into a section of its
 * own, runtime_text (mk/runtime.mk), so the linker brackets it with
 * __start_runtime_text and __stop_runtime_text. Code in shared libraries
 * (the C library) is outside the range and never preempted asynchronously.
 */
#define _GNU_SOURCE
#include "runtime_internal.h"
#include "race.h"
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#ifndef MADV_GUARD_INSTALL
#define MADV_GUARD_INSTALL 102
#endif

#define SIGNAL_STACK_SIZE (64 * 1024)

extern char _start[], etext[];
extern char __start_runtime_text[] __attribute__((weak));
extern char __stop_runtime_text[] __attribute__((weak));

const bool platform_has_sysmon_thread = true;
const bool platform_caller_becomes_m = false;
const bool platform_ms_share_cpus = true;
const bool platform_roots_written_plainly = false;

__thread struct platform_linux_thread platform_linux_thread;   // see platform_linux_inline.h
static bool guard_install_works = true;

uint64_t platform_nanotime(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (uint64_t)now.tv_sec * 1000000000ull + (uint64_t)now.tv_nsec;
}

// The runtime's nanotime() (runtime.h) is the port's: the kernel already has
// one of its own, which it also uses for platform_nanotime.
uint64_t nanotime(void)
{
    return platform_nanotime();
}

int platform_cpu_count(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0)
        return CPU_COUNT(&set);
    long count = sysconf(_SC_NPROCESSORS_ONLN);
    return count > 0 ? (int)count : 1;
}

void platform_set_current_m(struct m *m)
{
    platform_linux_thread.m = m;
}

void platform_set_current_mcache(struct mcache *mcache)
{
    platform_linux_thread.mcache = mcache;
}

void platform_yield(void)
{
    sched_yield();
}

/* --- Threads ------------------------------------------------------------- */

struct thread_start {
    struct m *m;
    void (*entry)(struct m *);
};

static void signal_stack_install(void)
{
    stack_t stack = {
        .ss_sp = platform_reserve(SIGNAL_STACK_SIZE),
        .ss_size = SIGNAL_STACK_SIZE,
    };
    if (stack.ss_sp == NULL || sigaltstack(&stack, NULL) != 0)
        runtime_throw("cannot set up a signal stack for a new M");
}

static void *thread_main(void *argument)
{
    struct thread_start start = *(struct thread_start *)argument;
    free(argument);
    signal_stack_install();
    // g0's stack is this thread's stack: record its bounds for dumps.
    pthread_attr_t attributes;
    if (pthread_getattr_np(pthread_self(), &attributes) == 0) {
        void *low;
        size_t size;
        if (pthread_attr_getstack(&attributes, &low, &size) == 0) {
            start.m->g0->stack.lo = (uintptr_t)low;
            start.m->g0->stack.hi = (uintptr_t)low + size;
        }
        pthread_attr_destroy(&attributes);
    }
    __atomic_store_n(&start.m->platform, (void *)pthread_self(), __ATOMIC_RELEASE);
    platform_set_current_m(start.m);
    // Created with every signal blocked (platform_thread_start); now that
    // the handlers can find this M, let them in.
    sigset_t none;
    sigemptyset(&none);
    pthread_sigmask(SIG_SETMASK, &none, NULL);
    start.entry(start.m);
    return NULL;
}

bool platform_thread_start(struct m *m, void (*entry)(struct m *))
{
    struct thread_start *start = malloc(sizeof *start);
    if (start == NULL)
        return false;
    *start = (struct thread_start){ m, entry };
    pthread_attr_t attributes;
    pthread_attr_init(&attributes);
    pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
    pthread_t thread;
    // The new thread must not take SIGURG before it has set its M: it
    // starts with every signal blocked and unblocks them in thread_main.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int error = pthread_create(&thread, &attributes, thread_main, start);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attributes);
    if (error) {
        free(start);
        return false;
    }
    return true;
}

/* --- Sleeping and waking ------------------------------------------------- */

void platform_wait(uint32_t *address, uint32_t expected, uint64_t deadline)
{
    struct timespec timeout, *timeout_pointer = NULL;
    if (deadline) {
        uint64_t now = platform_nanotime();
        if (now >= deadline)
            return;
        uint64_t left = deadline - now;
        timeout.tv_sec = (time_t)(left / 1000000000ull);
        timeout.tv_nsec = (long)(left % 1000000000ull);
        timeout_pointer = &timeout;
    }
    syscall(SYS_futex, address, FUTEX_WAIT_PRIVATE, expected, timeout_pointer, NULL, 0);
}

void platform_wake(uint32_t *address, int count)
{
    syscall(SYS_futex, address, FUTEX_WAKE_PRIVATE, count, NULL, NULL, 0);
}

/* --- Memory -------------------------------------------------------------- */

void *platform_reserve(size_t size)
{
    void *address = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return address == MAP_FAILED ? NULL : address;
}

void *platform_reserve_at(void *hint, size_t size)
{
    // Without MAP_FIXED the kernel takes the hint as a hint: a range in use
    // there moves the mapping elsewhere instead of failing.
    void *address = mmap(hint, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return address == MAP_FAILED ? NULL : address;
}

bool platform_guard(void *address, size_t size)
{
    if (__atomic_load_n(&guard_install_works, __ATOMIC_RELAXED)) {
        if (madvise(address, size, MADV_GUARD_INSTALL) == 0)
            return true;
        __atomic_store_n(&guard_install_works, false, __ATOMIC_RELAXED);
    }
    return mprotect(address, size, PROT_NONE) == 0;
}

void platform_release(void *address, size_t size)
{
    madvise(address, size, MADV_DONTNEED);
}

/* --- Signals: preemption and faults -------------------------------------- */

bool platform_preempt(struct m *m)
{
    if (RUNTIME_RACE_ENABLED)
        return false;   // see race.h: under TSan, goroutines yield only at safe points
    pthread_t thread = (pthread_t)__atomic_load_n(&m->platform, __ATOMIC_ACQUIRE);
    return thread && pthread_kill(thread, SIGURG) == 0;
}

static void preempt_signal(int signal_number, siginfo_t *info, void *context)
{
    (void)signal_number;
    (void)info;
    int saved_errno = errno;
    ucontext_t *interrupted = context;
    greg_t *registers = interrupted->uc_mcontext.gregs;
    uintptr_t pc = (uintptr_t)registers[REG_RIP];
    runtime_preempt_interrupted(platform_current_m(), (uintptr_t)registers[REG_RSP], &pc);
    registers[REG_RIP] = (greg_t)pc;
    errno = saved_errno;
}

static void fault_signal(int signal_number, siginfo_t *info, void *context)
{
    ucontext_t *interrupted = context;
    uintptr_t address = (uintptr_t)info->si_addr;
    uintptr_t pc = (uintptr_t)interrupted->uc_mcontext.gregs[REG_RIP];
    struct g *overflowed = signal_number == SIGSEGV ? stack_guard_owner(address) : NULL;
    if (overflowed)
        runtime_throwf("goroutine %llu stack overflow (stack [%#lx, %#lx), fault at %#lx, pc %#lx)",
                       (unsigned long long)overflowed->id, (unsigned long)overflowed->stack.lo,
                       (unsigned long)overflowed->stack.hi, (unsigned long)address, (unsigned long)pc);
    char where[128];
    platform_symbolize(pc, where, sizeof where);
    runtime_throwf("unexpected signal %s at address %#lx, pc %#lx (%s)", strsignal(signal_number),
                   (unsigned long)address, (unsigned long)pc, where);
}

void platform_symbolize(uintptr_t pc, char *text, size_t size)
{
    Dl_info info;
    if (dladdr((void *)pc, &info) && info.dli_sname)
        snprintf(text, size, "%s+%#lx", info.dli_sname, (unsigned long)(pc - (uintptr_t)info.dli_saddr));
    else if (info.dli_fname)
        snprintf(text, size, "%#lx (%s+%#lx)", (unsigned long)pc, info.dli_fname,
                 (unsigned long)(pc - (uintptr_t)info.dli_fbase));
    else
        snprintf(text, size, "%#lx", (unsigned long)pc);
}

// Before main runs: the signal handlers and the preemptible range. (A constructor, so that runtime_run needs no
// platform-specific start-up call.)
__attribute__((constructor)) static void platform_linux_init(void)
{
    struct sigaction action = { 0 };
    sigemptyset(&action.sa_mask);
    action.sa_sigaction = preempt_signal;
    action.sa_flags = SA_SIGINFO | SA_RESTART;
    sigaction(SIGURG, &action, NULL);

    action.sa_sigaction = fault_signal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &action, NULL);
    sigaction(SIGBUS, &action, NULL);
    sigaction(SIGILL, &action, NULL);
    sigaction(SIGFPE, &action, NULL);

    runtime_preemptible_text_start = (uintptr_t)_start;
    runtime_preemptible_text_end = (uintptr_t)etext;
    runtime_unpreemptible_text_start = (uintptr_t)__start_runtime_text;
    runtime_unpreemptible_text_end = (uintptr_t)__stop_runtime_text;
}

/* --- Configuration, output, exit ----------------------------------------- */

static int environment_number(const char *name)
{
    const char *value = getenv(name);
    if (value == NULL || *value == '\0')
        return 0;
    char *end;
    long number = strtol(value, &end, 10);
    if (*end != '\0' || number < 0 || number > INT_MAX) {
        runtime_printf("runtime: ignoring %s=%s: not a number\n", name, value);
        return 0;
    }
    return (int)number;
}

void platform_runtime_defaults(struct runtime_config *config)
{
    if (config->procs == 0)
        config->procs = environment_number("GOMAXPROCS");
    if (config->schedtrace_ms == 0)
        config->schedtrace_ms = environment_number("HARDWAY_SCHEDTRACE");
    if (!config->memstats)
        config->memstats = environment_number("HARDWAY_MEMSTATS") != 0;
    const char *gogc = getenv("GOGC");
    if (config->gogc == 0 && gogc && *gogc && !runtime_parse_gogc(gogc, &config->gogc))
        runtime_printf("runtime: ignoring GOGC=%s: not a percentage or \"off\"\n", gogc);
    const char *limit = getenv("GOMEMLIMIT");
    if (config->gomemlimit == 0 && limit && *limit && !runtime_parse_memory_limit(limit, &config->gomemlimit))
        runtime_printf("runtime: ignoring GOMEMLIMIT=%s: not a size (bytes, or with a KiB, MiB, GiB or TiB suffix)\n",
                       limit);
    if (!config->gctrace)
        config->gctrace = environment_number("HARDWAY_GCTRACE") != 0;
    if (!config->gccheckmark)
        config->gccheckmark = environment_number("HARDWAY_GCCHECKMARK") != 0;
    if (config->gcstress == 0)
        config->gcstress = environment_number("HARDWAY_GCSTRESS");
}

void platform_register_gc_roots(void)
{
}

bool platform_malloc_debug_requested(void)
{
    return environment_number("HARDWAY_MALLOCDEBUG") != 0;
}

void platform_write_error(const char *text, size_t length)
{
    while (length > 0) {
        ssize_t written = write(STDERR_FILENO, text, length);
        if (written <= 0) {
            if (written < 0 && errno == EINTR)
                continue;
            return;
        }
        text += written;
        length -= (size_t)written;
    }
}

void platform_exit(int status)
{
    _exit(status);
}
