/*
 * What the runtime says: fatal errors, the goroutine dump, the scheduler
 * trace, and the names of statuses and wait reasons.
 *
 * Everything here formats into a buffer on the stack and writes through
 * platform_write_error: no heap, no locks beyond the ones it reads under, so
 * it works while the program is dying.
 *
 * A fatal error (runtime_throw, Go's throw) prints
 *     fatal error: MESSAGE
 * then every goroutine, then ends the program with status 2, as Go does.
 */
#include "runtime_internal.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define PRINT_LINE_MAX 512
#define DUMP_FRAMES_MAX 32

void runtime_printf(const char *format, ...)
{
    char line[PRINT_LINE_MAX];
    va_list arguments;
    va_start(arguments, format);
    int length = vsnprintf(line, sizeof line, format, arguments);
    va_end(arguments);
    if (length < 0)
        return;
    if ((size_t)length >= sizeof line)
        length = sizeof line - 1;
    platform_write_error(line, (size_t)length);
}

static const char *const wait_reasons[WAIT_REASON_COUNT] = {
    [WAIT_REASON_NONE] = "",
    [WAIT_REASON_CHAN_RECEIVE] = "chan receive",
    [WAIT_REASON_CHAN_SEND] = "chan send",
    [WAIT_REASON_CHAN_RECEIVE_NIL] = "chan receive (nil chan)",
    [WAIT_REASON_CHAN_SEND_NIL] = "chan send (nil chan)",
    [WAIT_REASON_SELECT] = "select",
    [WAIT_REASON_SELECT_NO_CASES] = "select (no cases)",
    [WAIT_REASON_SLEEP] = "sleep",
    [WAIT_REASON_TIMER_CHANNEL] = "timer channel",
    [WAIT_REASON_SEMACQUIRE] = "semacquire",
    [WAIT_REASON_MUTEX] = "sync.Mutex.Lock",
    [WAIT_REASON_RWMUTEX_READ] = "sync.RWMutex.RLock",
    [WAIT_REASON_RWMUTEX_WRITE] = "sync.RWMutex.Lock",
    [WAIT_REASON_WAITGROUP] = "sync.WaitGroup.Wait",
    [WAIT_REASON_ONCE] = "sync.Once.Do",
    [WAIT_REASON_PREEMPTED] = "preempted",
    [WAIT_REASON_NETWORK] = "IO wait",
    [WAIT_REASON_GC_WORKER_IDLE] = "GC worker (idle)",
    [WAIT_REASON_GC_SWEEP_WAIT] = "GC sweep wait",
    [WAIT_REASON_GC_CYCLE] = "wait for GC cycle",
    [WAIT_REASON_GC_START] = "wait for GC start",
    [WAIT_REASON_GC_ASSIST] = "GC assist wait",
};

const char *wait_reason_string(enum wait_reason reason)
{
    return (unsigned)reason < WAIT_REASON_COUNT && wait_reasons[reason] ? wait_reasons[reason] : "?";
}

const char *g_status_string(uint32_t status)
{
    switch (status) {
    case G_IDLE: return "idle";
    case G_RUNNABLE: return "runnable";
    case G_RUNNING: return "running";
    case G_SYSCALL: return "syscall";
    case G_WAITING: return "waiting";
    case G_DEAD: return "dead";
    default: return "?";
    }
}

// Follows the frame-pointer chain from (pc, fp) while it stays inside [lo, hi).
static void print_backtrace(uintptr_t pc, uintptr_t fp, uintptr_t lo, uintptr_t hi)
{
    char name[128];
    platform_symbolize(pc, name, sizeof name);
    runtime_printf("    %s\n", name);
    for (int depth = 1; depth < DUMP_FRAMES_MAX; depth++) {
        if (fp == 0 || fp % 8 || fp < lo || fp + 16 > hi)
            return;
        const uintptr_t *frame = (const uintptr_t *)fp;
        if (frame[1] == 0)
            return;
        platform_symbolize(frame[1] - 1, name, sizeof name);
        runtime_printf("    %s\n", name);
        if (frame[0] <= fp)
            return;   // frames go up the stack; anything else is not a chain
        fp = frame[0];
    }
}

static void dump_goroutine(struct g *gp, struct g *self)
{
    uint32_t status = __atomic_load_n(&gp->status, __ATOMIC_ACQUIRE);
    if (status == G_DEAD)
        return;
    if (status == G_WAITING) {
        uint64_t since = gp->wait_since;
        uint64_t now = platform_nanotime();
        uint64_t minutes = since && since < now ? (now - since) / (60ull * 1000000000) : 0;
        if (minutes)
            runtime_printf("goroutine %llu [%s, %llu minutes]:\n", (unsigned long long)gp->id,
                           wait_reason_string(gp->wait_reason), (unsigned long long)minutes);
        else
            runtime_printf("goroutine %llu [%s]:\n", (unsigned long long)gp->id, wait_reason_string(gp->wait_reason));
    } else {
        runtime_printf("goroutine %llu [%s]:\n", (unsigned long long)gp->id, g_status_string(status));
    }
    if (gp == self) {
        const uintptr_t *frame = __builtin_frame_address(0);
        print_backtrace(frame[1] - 1, frame[0], gp->stack.lo, gp->stack.hi);
    } else if ((status == G_WAITING || status == G_RUNNABLE) && gp->stack.hi && gp->context.sp) {
        // A switched-out G: runtime_context_switch left RBP and the return
        // address at the top of what it pushed (context_amd64.S).
        const uintptr_t *saved = (const uintptr_t *)gp->context.sp;
        print_backtrace(saved[6] - 1, saved[5], gp->stack.lo, gp->stack.hi);
    } else if (status == G_RUNNABLE) {
        runtime_printf("    (not started yet)\n");
    } else {
        runtime_printf("    (running on another M; no backtrace)\n");
    }
    runtime_printf("\n");
}

void runtime_dump_goroutines(void)
{
    struct m *m = getm();
    struct g *self = m ? m->curg : NULL;
    if (self)
        dump_goroutine(self, self);
    for (struct g *gp = __atomic_load_n(&sched.all_gs, __ATOMIC_ACQUIRE); gp; gp = gp->all_link)
        if (gp != self)
            dump_goroutine(gp, self);
}

static volatile uint32_t throwing;

void runtime_throw(const char *message)
{
    // One fatal error at a time; a second thrower just waits to be killed.
    if (__atomic_exchange_n(&throwing, 1, __ATOMIC_ACQ_REL)) {
        for (;;)
            platform_yield();
    }
    runtime_printf("fatal error: %s\n\n", message);
    runtime_dump_goroutines();
    platform_exit(2);
}

void runtime_throwf(const char *format, ...)
{
    char message[PRINT_LINE_MAX];
    va_list arguments;
    va_start(arguments, format);
    vsnprintf(message, sizeof message, format, arguments);
    va_end(arguments);
    runtime_throw(message);
}

uint64_t runtime_start_time(void);

// One line like Go's GODEBUG=schedtrace=N:
// SCHED 1004ms: gomaxprocs=4 idleprocs=2 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 [0 3 0 0]
void runtime_sched_trace(uint64_t now)
{
    char line[PRINT_LINE_MAX];
    int length = snprintf(line, sizeof line,
                          "SCHED %llums: gomaxprocs=%d idleprocs=%d threads=%d spinningthreads=%d idlethreads=%d "
                          "runqueue=%d goroutines=%llu [",
                          (unsigned long long)((now - runtime_start_time()) / 1000000), procs,
                          __atomic_load_n(&sched.npidle, __ATOMIC_ACQUIRE),
                          __atomic_load_n(&sched.mcount, __ATOMIC_ACQUIRE) + 1,   // + sysmon, as Go counts it
                          __atomic_load_n(&sched.nmspinning, __ATOMIC_ACQUIRE), load_relaxed(&sched.nmidle),
                          __atomic_load_n(&sched.runq_size, __ATOMIC_ACQUIRE),
                          (unsigned long long)__atomic_load_n(&sched.live_g_count, __ATOMIC_ACQUIRE));
    for (int32_t i = 0; i < procs && length < (int)sizeof line - 16; i++) {
        struct p *pp = all_ps[i];
        uint32_t queued = __atomic_load_n(&pp->runq_tail, __ATOMIC_ACQUIRE) -
                          __atomic_load_n(&pp->runq_head, __ATOMIC_ACQUIRE);
        length += snprintf(line + length, sizeof line - (size_t)length, i ? " %u" : "%u", queued);
    }
    if (length < (int)sizeof line - 2)
        length += snprintf(line + length, sizeof line - (size_t)length, "]\n");
    platform_write_error(line, (size_t)(length < (int)sizeof line ? length : (int)sizeof line - 1));
}
