/*
 * The runtime's own data structures: G, M, P, the scheduler, and the pieces
 * every runtime file shares. Go keeps these in runtime2.go; the names are
 * Go's, so a reader can hold this file beside it.
 *
 *   G  a goroutine: its stack, its saved context, its status.
 *   M  a machine: an OS thread (hosted) or a CPU (kernel) that runs Gs. Each
 *      M has its own g0, a goroutine-shaped record of the thread's own stack,
 *      on which the scheduler runs between user goroutines.
 *   P  a processor: the right to run Go code. There are exactly `procs` Ps;
 *      an M must hold one to run a G. Each P has a local run queue, so most
 *      scheduling takes no lock.
 *
 * Locking: `sched.lock` guards the global run queue and the idle M and P
 * lists. Each P's run queue is lock-free (one producer, the owner; many
 * consumers, thieves). A G's status changes by compare-and-swap.
 */
#ifndef HARDWAY_RUNTIME_INTERNAL_H
#define HARDWAY_RUNTIME_INTERNAL_H

#include "platform.h"
#include "runtime.h"
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- Fields read by other threads ---------------------------------------- */

// Fields that one thread writes and another reads without a lock -- a P's
// schedtick and owner M, an M's current G, a G's preemption request, all
// read by sysmon -- are read and written through these: plain C accesses
// would be data races (undefined behaviour, and ThreadSanitizer says so).
// Relaxed order is enough: nothing else is published through them.
#define load_relaxed(address) __atomic_load_n((address), __ATOMIC_RELAXED)
#define store_relaxed(address, value) __atomic_store_n((address), (value), __ATOMIC_RELAXED)

// Counts the set bits of a word. Not __builtin_popcountll: without -mpopcnt
// (the kernel runs on CPUs that lack it) GCC calls libgcc, which the kernel
// does not link.
static inline unsigned runtime_count_bits(uint64_t word)
{
    word = word - ((word >> 1) & 0x5555555555555555ull);
    word = (word & 0x3333333333333333ull) + ((word >> 2) & 0x3333333333333333ull);
    word = (word + (word >> 4)) & 0x0F0F0F0F0F0F0F0Full;
    return (unsigned)((word * 0x0101010101010101ull) >> 56);
}

// A cache line on x86-64. Data that every processor reads on a fast path
// is kept off the lines of data that some processor writes often: a write
// takes the line away from every other processor's cache (false sharing).
#define CACHE_LINE_SIZE 64
#define CACHE_ALIGNED __attribute__((aligned(CACHE_LINE_SIZE)))

/* --- Runtime locks (runtime/lock.c) ---------------------------------------
 * A mutex for the runtime's own short critical sections. It parks the thread
 * (futex) rather than the goroutine, and while an M holds one it must not be
 * preempted: m->locks counts the locks held. */
struct runtime_lock {
    uint32_t key;   // 0 unlocked, 1 locked, 2 locked with sleepers
};
void runtime_lock_acquire(struct runtime_lock *lock);
void runtime_lock_release(struct runtime_lock *lock);

/* --- Goroutines ---------------------------------------------------------- */

enum g_status {
    G_IDLE,         // just allocated, not yet initialised
    G_RUNNABLE,     // on a run queue, not running
    G_RUNNING,      // running on an M, which holds a P
    G_SYSCALL,      // in a blocking call (entersyscall); has an M, maybe no P
    G_WAITING,      // parked (channel, timer, lock ...); see wait_reason
    G_DEAD,         // finished; on a free list, its stack cached with it
};

enum wait_reason {
    WAIT_REASON_NONE,
    WAIT_REASON_CHAN_RECEIVE,
    WAIT_REASON_CHAN_SEND,
    WAIT_REASON_CHAN_RECEIVE_NIL,
    WAIT_REASON_CHAN_SEND_NIL,
    WAIT_REASON_SELECT,
    WAIT_REASON_SELECT_NO_CASES,
    WAIT_REASON_SLEEP,
    WAIT_REASON_TIMER_CHANNEL,
    WAIT_REASON_SEMACQUIRE,
    WAIT_REASON_MUTEX,
    WAIT_REASON_RWMUTEX_READ,
    WAIT_REASON_RWMUTEX_WRITE,
    WAIT_REASON_WAITGROUP,
    WAIT_REASON_ONCE,
    WAIT_REASON_PREEMPTED,
    WAIT_REASON_NETWORK,
    WAIT_REASON_GC_WORKER_IDLE,
    WAIT_REASON_GC_SWEEP_WAIT,
    WAIT_REASON_GC_CYCLE,
    WAIT_REASON_GC_START,
    WAIT_REASON_GC_ASSIST,
    WAIT_REASON_COUNT,
};
const char *wait_reason_string(enum wait_reason reason);
const char *g_status_string(uint32_t status);

struct stack {
    uintptr_t lo, hi;            // [lo, hi); the stack grows down from hi
};

// What a context switch saves: only the stack pointer. Everything else is on
// the stack (runtime/context_amd64.S).
struct gobuf {
    uintptr_t sp;
};

struct sudog;
struct m;
struct p;

struct g {
    struct stack stack;          // reservation, guard page excluded; {0,0} before the first run
    struct gobuf context;        // valid while the G is not running
    uint64_t id;
    uint32_t status;             // enum g_status; changed with g_cas_status
    enum wait_reason wait_reason;
    uint64_t wait_since;         // roughly when it parked (runtime_coarse_now), for dumps
    struct m *m;                 // the M running it, or NULL
    struct g *schedlink;         // next G in a run queue or free list
    struct g *all_link;          // the list of all Gs
    goroutine_function start_function;
    void *start_argument;
    bool preempt;                // preemption requested; honoured at the next safe point
    uintptr_t preempt_return_pc; // where an asynchronously preempted G resumes (preempt.c)
    void *param;                 // passed by whoever readies a parked G (channels: the sudog)
    struct sudog *waiting;       // sudogs of a G parked in a channel operation or select
    uint32_t select_done;        // set by the first case to win a select
    struct timer *sleep_timer;   // for gosleep, allocated on first use
    void *race_fiber;            // ThreadSanitizer's record of this stack (race.h)

    // The collector (runtime/mgcmark.c). A G's stack is scanned once per
    // cycle, before the G runs during the mark or by a mark worker while it
    // is parked; gc_scan_lock keeps the two from overlapping.
    uint32_t gc_scanned_cycle;   // the cycle whose mark has scanned this stack
    uint32_t gc_scan_lock;       // 1 while someone scans the stack (atomic)
    int64_t gc_assist_bytes;     // allocation credit (> 0) or debt (< 0) in the mark (mgcmark.c) ...
    uint32_t gc_assist_cycle;    // ... of this cycle; from an earlier one it counts as 0
    bool gc_mark_worker;         // a background mark worker (mgc.c)
    // Where a G in a system call stopped: its stack from syscall_sp up and
    // the callee-saved registers as entersyscall found them, for the scan.
    uintptr_t syscall_sp;
    uintptr_t syscall_registers[6];
};

/* --- Machines ------------------------------------------------------------ */

struct m {
    uint64_t id;
    struct g *g0;                // the scheduler's stack on this M
    struct g *curg;              // the user G running, or NULL on g0
    struct p *p;                 // held P, or NULL
    struct p *next_p;            // P to take when woken (startm's handoff)
    struct p *old_p;             // P released in a system call, to take back
    bool spinning;               // looking for work while holding a P
    uint32_t park;               // M_PARKED, M_WOKEN or M_SLEEPING (see m_park/m_unpark)
    struct m *schedlink;         // next idle M
    struct m *all_link;
    int locks;                   // runtime locks held: no preemption while > 0
    int preempt_off;             // > 0 inside non-reentrant C code (malloc, lwIP)
    uint32_t interrupts_taken;   // preemption interrupts its thread has handled (atomic; stop_the_world)
    void (*mcall_function)(struct g *);  // what to do on g0 after the switch (mcall)
    struct g *mcall_g;
    uint64_t random_state;       // for random stealing order and select
    void *platform;              // the port's own per-M data (thread handle)
};

/* --- Processors ---------------------------------------------------------- */

enum p_status {
    P_IDLE,        // on the idle list, no M
    P_RUNNING,     // owned by an M running Go code
    P_SYSCALL,     // its M is in a system call; sysmon may take it
    P_STOPPED,     // stopped the world (the collector will use this)
};

#define P_RUNQ_SIZE 256

struct timer_heap;
struct mcache;

struct p {
    int32_t id;
    uint32_t status;             // enum p_status
    struct m *m;                 // owner, or NULL when idle
    struct p *link;              // next idle P
    uint32_t schedtick;          // incremented on every scheduled G
    uint32_t syscalltick;        // incremented on every system call
    uint64_t sysmon_schedtick;   // sysmon's last view of schedtick ...
    uint64_t sysmon_when;        // ... and when it saw it change

    // The local run queue: a ring of Gs; the owner pushes at tail, anyone
    // takes at head (lock-free, as Go's runqput/runqget/runqsteal).
    uint32_t runq_head;
    uint32_t runq_tail;
    struct g *runq[P_RUNQ_SIZE];
    // A G to run next, ahead of the queue: the one a running G just readied
    // (so a channel ping-pong stays on one P and inherits its time slice).
    struct g *runnext;

    struct g *gfree;             // dead Gs, with their stacks, for reuse
    int32_t gfree_count;

    struct timer_heap *timers;   // this P's timers (runtime/time.c)
    struct mcache *mcache;       // this P's allocation cache (runtime/mcache.c)
    struct p_gc *gc;             // this P's part of the collector (runtime/mgc.h)
};

// A new, empty mcache for a P (runtime/mcache.c).
struct mcache *mcache_new(void);
// Called by idle Ms and sysmon: now and then gives long-free heap memory
// back to the platform (runtime/mheap.c).
void mheap_scavenge_when_idle(uint64_t now);

/* --- The scheduler ------------------------------------------------------- */

struct scheduler {
    struct runtime_lock lock;
    struct m *midle;             // idle Ms, parked
    int32_t nmidle;
    int32_t mcount;              // Ms created
    int32_t nmspinning;          // Ms looking for work (atomic)
    struct p *pidle;             // idle Ps
    int32_t npidle;              // (atomic)
    struct g *runq_head, *runq_tail;   // the global run queue
    int32_t runq_size;
    // Dead Gs beyond what Ps keep, in two lists as in Go: those that still
    // have a stack, and those that gave theirs to a new G or back.
    struct g *gfree_stack, *gfree_no_stack;
    int32_t gfree_count;         // on both lists (read without the lock)
    int32_t gfree_stacks;        // on gfree_stack
    uint64_t goid_generator;
    struct runtime_lock all_lock;      // guards the all-G and all-M lists
    struct g *g_batch;                 // new G records not yet handed out
    int32_t g_batch_left;              // (proc.c's g_allocate, under all_lock)
    struct g *all_gs;
    struct m *all_ms;
    uint64_t g_count;            // Gs ever created (atomic)
    uint64_t live_g_count;       // Gs not dead (atomic)
    // Stopping the world (proc.c's stop_the_world).
    uint32_t gcwaiting;          // 1: every P is to stop (atomic)
    int32_t stopwait;            // Ps still to stop (under lock, read atomically)
    uint32_t stopnote;           // the stopper sleeps on this until stopwait is 0 (STOPNOTE_*)
};

extern struct scheduler sched;
extern struct p **all_ps;
extern int32_t procs;

/* --- The scheduler's own interface (runtime/proc.c) ---------------------- */

static inline struct m *getm(void) { return platform_current_m(); }
// The running goroutine: the user G, or g0 while the scheduler runs.
static inline struct g *getg(void)
{
    struct m *m = getm();
    return m->curg ? m->curg : m->g0;
}

// Stops every P but the caller's at a safe point and returns once they all
// have stopped (Go's stopTheWorld); the calling G keeps running and must
// not block until start_the_world. Only the collector does this. Returns
// when the stop began, the start of the pause: first, with the world still
// running, it waits until every other running P's thread is on a CPU.
uint64_t stop_the_world(void);
// Hands the stopped Ps back out and returns when the world started -- the
// end of the pause, as Go's startTheWorldWithSema measures it: once every
// P with work has its M, before the wake-up of one more M to look for work.
uint64_t start_the_world(void);
// Gets an idle P running, if there is one and no M is looking for work
// already: the collector calls it when marking work appears on the global
// list, so an idle P comes to help (Go's enlistWorker).
void sched_wake_idle_p(void);
// Whether pp has goroutines waiting to run, in its queue or the global one,
// or a timer due that will ready one (Go's pollWork): an idle mark worker
// stops for them, and an assist yields to them between slices.
bool sched_p_has_work(struct p *pp);
// Every G ever created, for the collector's roots: the head of the list
// (linked through all_link; new Gs are added at the head).
struct g *all_gs_snapshot(void);

// Parks the calling G with `reason`. On the scheduler stack, after the G has
// stopped running, calls unlock(gp, lock) (if not NULL): if it returns false
// the G is resumed at once instead. This is how a G blocks on a channel
// without a lost wake-up: the channel's lock is released only once the G is
// safely parked.
void gopark(bool (*unlock)(struct g *gp, void *lock), void *lock, enum wait_reason reason);
// Makes a parked G runnable: on the current P's runnext, or on the global
// queue when this M holds no P.
void goready(struct g *gp);

// Honours a pending preemption request at a safe point (allocation, channel
// operation, unlock): yields if one is pending. Inline, since it runs on
// every channel operation and nearly always finds nothing to do.
void runtime_safe_point_yield(void);
static inline void runtime_safe_point(void)
{
    struct g *gp = getm()->curg;
    if (gp && load_relaxed(&gp->preempt))
        runtime_safe_point_yield();
}


// A random 32-bit number, per M (select's order, stealing's victims).
uint32_t runtime_random(void);
uint32_t runtime_random_below(uint32_t n);

// Fatal errors and runtime_printf: runtime.h.

// Called by a port's signal or interrupt handler when platform_preempt asked
// for it. Decides whether the G that `m` runs may be stopped at `pc` (with
// its stack pointer at `sp`); if so, records pc in the G and redirects *pc to
// runtime_async_preempt. Otherwise it leaves a request for the next safe point.
void runtime_preempt_interrupted(struct m *m, uintptr_t sp, uintptr_t *pc);
// For ports without a sysmon thread (the kernel): called from each CPU's
// timer interrupt; preempts the G on this M if it has run for 10 ms.
void runtime_tick(struct m *m, uint64_t now, uintptr_t sp, uintptr_t *pc);
// The code range preemption may interrupt (hosted: the program's own text;
// kernel: the kernel's), set by the port.
extern uintptr_t runtime_preemptible_text_start, runtime_preemptible_text_end;
// Within that range, the runtime's own code, which is never preemptible.
extern uintptr_t runtime_unpreemptible_text_start, runtime_unpreemptible_text_end;

// The collector's settings as text, for the ports' configuration (the
// environment hosted, the command line in the kernel), parsed the same
// everywhere (mgcpacer.c). GOGC: a percentage from 1 up, or "off" (-1). A memory
// limit: bytes, with an optional B, KiB, MiB, GiB or TiB suffix. False when
// the text is not one.
bool runtime_parse_gogc(const char *text, int *gogc);
bool runtime_parse_memory_limit(const char *text, uint64_t *bytes);

// When runtime_run started (nanotime).
uint64_t runtime_start_time(void);

// nanotime() as of sysmon's or the timer tick's last look (proc.c).
extern uint64_t runtime_coarse_now;

// How long a G may hold its P before it is preempted (Go's forcePreemptNS).
#define RUNTIME_TIME_SLICE_NS (10ull * 1000 * 1000)

/* --- Memory for the runtime's own records (runtime/persistent_alloc.c) ---- */

// Zeroed memory that is never freed: Gs, Ms, Ps, timers' heaps. (Go's
// persistentalloc.) Throws when out of memory.
void *runtime_zalloc(size_t size);

/* --- Stacks (runtime/stack.c) -------------------------------------------- */

extern size_t stack_reservation;
bool stack_allocate(struct stack *stack);
void stack_free(struct stack *stack);
// For the ports' fault handlers: whether `address` is in a stack guard page,
// and the G whose guard page it is, if any.
bool stack_is_guard(uintptr_t address);
struct g *stack_guard_owner(uintptr_t address);

/* --- Timers (runtime/time.c) --------------------------------------------- */

// Runs this P's expired timers; returns the earliest remaining deadline, or
// 0. `now` may be 0: then the clock is read if (and only if) it is needed.
uint64_t timers_run(struct p *pp, uint64_t now);
// The earliest deadline over all Ps, or 0.
uint64_t timers_earliest(void);
// Whether pp has a timer whose deadline has passed.
bool timers_due(struct p *pp);
void timers_init_p(struct p *pp);

/* --- Scheduler hooks used by timers -------------------------------------- */

// A timer was added with this deadline: make sure some M will wake for it.
void sched_timer_added(uint64_t when);
// netpoll_signal readied a G (netpoll.c): wakes the idle M that watches, if
// there is one. Lock-free: interrupt handlers call it.
void sched_netpoll_ready(void);
// The scheduler's side of netpoll.c: whether signalled Gs wait to be
// readied, whether any G waits on an event at all, and readying every
// signalled G (on this M's P).
bool netpoll_has_ready(void);
bool netpoll_has_waiters(void);
void netpoll_ready_all(void);

#endif
