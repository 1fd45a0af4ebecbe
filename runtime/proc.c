/*
 * The scheduler: how goroutines get run.
 *
 * This is Go's proc.go in C, with Go's names. The model:
 *
 *   G  a goroutine. M  a thread (hosted) or CPU (kernel). P  the right to run
 *   goroutines: `procs` of them (GOMAXPROCS). An M needs a P to run a G.
 *
 * Every M runs the same loop on its own stack (g0): find a runnable G
 * (schedule -> find_runnable), switch to it (execute), and when the G comes
 * back -- because it blocked, yielded, was preempted or exited -- do what it
 * asked for on g0 (the "mcall" function), and loop. A G never decides where
 * it goes next on its own stack: once it is on a run queue or marked waiting,
 * another M may start running it, so the bookkeeping happens on g0 after the
 * switch.
 *
 * Where runnable Gs wait, in the order find_runnable looks:
 *   1. p->runnext: the G that the running G just readied. A channel
 *      ping-pong then runs entirely on one P, as a pair, with no queueing;
 *   2. p's local run queue (256 slots): the owner pushes at the tail without
 *      a lock; anyone may take from the head with a compare-and-swap;
 *   3. the global run queue, under sched.lock. Every 61st scheduling round a
 *      P looks here first, so that a busy P cannot starve the global queue;
 *   4. other Ps' queues: an idle P steals half of a random victim's queue.
 *
 * Spinning Ms and waking: when a G becomes runnable and there is an idle P
 * but no M looking for work ("spinning"), wakep starts or wakes one. A
 * spinning M that finds nothing stops spinning and checks all queues once
 * more before it parks, so that a G queued in that window is never left
 * waiting while a P is idle. At most half of the busy Ps' worth of Ms spin at
 * once, so idle Ms do not burn the machine.
 *
 * Blocking calls (hosted): entersyscall leaves the P in "syscall" state;
 * if the call takes long, sysmon (a thread that holds no P) hands the P to
 * another M, so one blocked thread never holds a run queue hostage.
 * exitsyscall takes the old P back if it can, any idle P otherwise, and
 * otherwise queues the G globally and parks the M.
 *
 * Preemption: a G that has run for 10 ms is marked and interrupted -- hosted
 * by sysmon, with a signal to its M; in the kernel by its own CPU's timer
 * tick (runtime_tick). At a safe instruction the G is switched out on the
 * spot (runtime/preempt.c); elsewhere the request waits for the next safe
 * point.
 */
#include "runtime_internal.h"
#include "malloc.h"
#include "mgc.h"
#include "race.h"
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct scheduler sched;
struct p **all_ps;
int32_t procs;
static int machine_cpus;   // platform_cpu_count(): whether stopped Ms may spin

// The bottom of every goroutine stack (runtime/context_amd64.S).
extern void runtime_context_switch(struct gobuf *from, struct gobuf *to);
extern void runtime_goroutine_entry(void);

#define SYSMON_MIN_DELAY_NS (20ull * 1000)
#define SYSMON_MAX_DELAY_NS (10ull * 1000 * 1000)
#define SPIN_BEFORE_PARK 3
#define GFREE_LOCAL_MAX 64
#define GFREE_GLOBAL_STACKS_MAX 4096

static uint32_t main_done;            // set when the main goroutine returns

// The time, as of sysmon's (hosted) or the timer tick's (kernel) last look:
// good to a few milliseconds, and free to read -- for stamps like a G's
// wait_since, which a context switch should not pay a clock read for.
uint64_t runtime_coarse_now;
static uint64_t start_time;
static int schedtrace_ms;
static struct m *new_m(void);
static void start_m(struct p *pp, bool spinning);
static void schedule(void) __attribute__((noreturn));
static void preempt_one(struct p *pp, bool interrupt);
static bool stack_for_new_g(struct p *pp, struct stack *stack);

/* --- Small helpers ------------------------------------------------------- */

static uint32_t load32(const uint32_t *address) { return __atomic_load_n(address, __ATOMIC_ACQUIRE); }
static int32_t load_i32(const int32_t *address) { return __atomic_load_n(address, __ATOMIC_ACQUIRE); }

uint32_t runtime_random(void)
{
    // xorshift64*: per M, so no sharing and no lock.
    struct m *m = getm();
    uint64_t x = m->random_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    m->random_state = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1Dull) >> 32);
}

uint32_t runtime_random_below(uint32_t n)
{
    // Lemire's multiply-shift: unbiased enough for scheduling, no division.
    return (uint32_t)(((uint64_t)runtime_random() * n) >> 32);
}

// Moves gp from status `from` to `to`. A G's status is the one truth about
// who may touch it, so a mismatch is a runtime bug, not a condition to handle.
// Every transition is made by the one M that owns the G at that moment --
// the M running it, the M that took it off a run queue, the waker that took
// its sudog under a channel's lock -- so a checked store is enough, with no
// locked instruction on the scheduler's hottest path. (Go needs a
// compare-and-swap here because its collector and its preemption also claim
// Gs, through the _Gscan bit; ours do not.)
static void g_set_status(struct g *gp, uint32_t from, uint32_t to)
{
    uint32_t current = __atomic_load_n(&gp->status, __ATOMIC_ACQUIRE);
    if (current != from)
        runtime_throwf("goroutine %llu: status %s, expected %s (moving to %s)", (unsigned long long)gp->id,
                       g_status_string(current), g_status_string(from), g_status_string(to));
    __atomic_store_n(&gp->status, to, __ATOMIC_RELEASE);
}

int runtime_procs(void)
{
    return procs;
}

/* --- Run queues ---------------------------------------------------------- */

static bool runq_empty(struct p *pp)
{
    // runnext is checked last: a G moving from runnext to the queue is seen
    // in one of the two places.
    for (;;) {
        uint32_t head = load32(&pp->runq_head);
        uint32_t tail = load32(&pp->runq_tail);
        struct g *next = __atomic_load_n(&pp->runnext, __ATOMIC_ACQUIRE);
        if (tail == load32(&pp->runq_tail))
            return head == tail && next == NULL;
    }
}

// Puts a batch of Gs (linked through schedlink) on the global queue.
// sched.lock held.
static void global_runq_put_batch(struct g *head, struct g *tail, int32_t count)
{
    tail->schedlink = NULL;
    if (sched.runq_tail)
        sched.runq_tail->schedlink = head;
    else
        sched.runq_head = head;
    sched.runq_tail = tail;
    store_relaxed(&sched.runq_size, sched.runq_size + count);
}

static void global_runq_put(struct g *gp)
{
    global_runq_put_batch(gp, gp, 1);
}

// The local queue is full: move half of it, and gp, to the global queue.
static bool runq_put_slow(struct p *pp, struct g *gp, uint32_t head, uint32_t tail)
{
    struct g *batch[P_RUNQ_SIZE / 2 + 1];
    uint32_t n = (tail - head) / 2;
    if (n != P_RUNQ_SIZE / 2)
        runtime_throw("run queue is not full");
    for (uint32_t i = 0; i < n; i++)
        batch[i] = __atomic_load_n(&pp->runq[(head + i) % P_RUNQ_SIZE], __ATOMIC_RELAXED);
    uint32_t expected = head;
    if (!__atomic_compare_exchange_n(&pp->runq_head, &expected, head + n, false, __ATOMIC_RELEASE,
                                     __ATOMIC_RELAXED))
        return false;   // a thief took some; there is room now
    batch[n] = gp;
    for (uint32_t i = 0; i < n; i++)
        batch[i]->schedlink = batch[i + 1];
    runtime_lock_acquire(&sched.lock);
    global_runq_put_batch(batch[0], batch[n], (int32_t)n + 1);
    runtime_lock_release(&sched.lock);
    return true;
}

// Puts gp on pp's queue; in runnext when `next`, pushing the old runnext
// to the queue. Only pp's owner calls this.
static void runq_put(struct p *pp, struct g *gp, bool next)
{
    if (next) {
        struct g *old = __atomic_exchange_n(&pp->runnext, gp, __ATOMIC_ACQ_REL);
        if (old == NULL)
            return;
        gp = old;
    }
    for (;;) {
        uint32_t head = load32(&pp->runq_head);
        uint32_t tail = pp->runq_tail;
        if (tail - head < P_RUNQ_SIZE) {
            __atomic_store_n(&pp->runq[tail % P_RUNQ_SIZE], gp, __ATOMIC_RELAXED);
            __atomic_store_n(&pp->runq_tail, tail + 1, __ATOMIC_RELEASE);
            return;
        }
        if (runq_put_slow(pp, gp, head, tail))
            return;
    }
}

// Takes a G from pp's runnext or queue. Only pp's owner calls this.
// *inherit_time says the G came from runnext: it runs in the time slice of
// the G that readied it (see execute), as Go's runqget reports.
static struct g *runq_get(struct p *pp, bool *inherit_time)
{
    *inherit_time = false;
    struct g *next = __atomic_load_n(&pp->runnext, __ATOMIC_ACQUIRE);
    if (next && __atomic_compare_exchange_n(&pp->runnext, &next, NULL, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        *inherit_time = true;
        return next;
    }
    for (;;) {
        uint32_t head = load32(&pp->runq_head);
        uint32_t tail = pp->runq_tail;
        if (tail == head)
            return NULL;
        struct g *gp = __atomic_load_n(&pp->runq[head % P_RUNQ_SIZE], __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&pp->runq_head, &head, head + 1, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return gp;
    }
}

// Copies half of pp's queue into batch[batch_head ...]; returns how many.
// With steal_runnext, an otherwise empty queue gives up its runnext.
static uint32_t runq_grab(struct p *pp, struct g **batch, uint32_t batch_head, bool steal_runnext)
{
    for (;;) {
        uint32_t head = load32(&pp->runq_head);
        uint32_t tail = load32(&pp->runq_tail);
        uint32_t n = tail - head;
        n -= n / 2;
        if (n == 0) {
            if (!steal_runnext)
                return 0;
            struct g *next = __atomic_load_n(&pp->runnext, __ATOMIC_ACQUIRE);
            if (next == NULL)
                return 0;
            if (load32(&pp->status) == P_RUNNING) {
                // pp's G has just readied `next` and is likely about to block
                // and run it: give it a moment rather than bouncing `next` to
                // another CPU (Go sleeps 3 us here).
                for (int i = 0; i < 100; i++)
                    __asm__ volatile("pause");
            }
            if (!__atomic_compare_exchange_n(&pp->runnext, &next, NULL, false, __ATOMIC_ACQ_REL,
                                             __ATOMIC_RELAXED))
                continue;
            batch[batch_head % P_RUNQ_SIZE] = next;
            return 1;
        }
        if (n > P_RUNQ_SIZE / 2)
            continue;   // head and tail read at different times; again
        for (uint32_t i = 0; i < n; i++)
            batch[(batch_head + i) % P_RUNQ_SIZE] =
                __atomic_load_n(&pp->runq[(head + i) % P_RUNQ_SIZE], __ATOMIC_RELAXED);
        if (__atomic_compare_exchange_n(&pp->runq_head, &head, head + n, false, __ATOMIC_RELEASE,
                                        __ATOMIC_RELAXED))
            return n;
    }
}

// Steals half of victim's Gs into pp's queue and returns one of them.
static struct g *runq_steal(struct p *pp, struct p *victim, bool steal_runnext)
{
    uint32_t tail = pp->runq_tail;
    struct g *batch[P_RUNQ_SIZE];
    uint32_t n = runq_grab(victim, batch, 0, steal_runnext);
    if (n == 0)
        return NULL;
    n--;
    struct g *gp = batch[n];
    if (n == 0)
        return gp;
    uint32_t head = load32(&pp->runq_head);
    if (tail - head + n >= P_RUNQ_SIZE)
        runtime_throw("run queue overflow while stealing");
    for (uint32_t i = 0; i < n; i++)
        __atomic_store_n(&pp->runq[(tail + i) % P_RUNQ_SIZE], batch[i], __ATOMIC_RELAXED);
    __atomic_store_n(&pp->runq_tail, tail + n, __ATOMIC_RELEASE);
    return gp;
}

// Takes a batch from the global queue: one to return, some more (a fair
// share, at most half a local queue) into pp's queue. sched.lock held.
static struct g *global_runq_get(struct p *pp, int32_t max)
{
    if (sched.runq_size == 0)
        return NULL;
    int32_t n = sched.runq_size / procs + 1;
    if (n > sched.runq_size)
        n = sched.runq_size;
    if (max > 0 && n > max)
        n = max;
    if (n > P_RUNQ_SIZE / 2)
        n = P_RUNQ_SIZE / 2;
    store_relaxed(&sched.runq_size, sched.runq_size - n);
    struct g *gp = sched.runq_head;
    sched.runq_head = gp->schedlink;
    if (sched.runq_head == NULL)
        sched.runq_tail = NULL;
    while (--n > 0) {
        struct g *next = sched.runq_head;
        sched.runq_head = next->schedlink;
        if (sched.runq_head == NULL)
            sched.runq_tail = NULL;
        runq_put(pp, next, false);
    }
    return gp;
}

/* --- Idle Ps and Ms ------------------------------------------------------ */

// sched.lock held for all four.
// Idle Ps have empty run queues, with one exception: a P handed to a new M
// that could not start (p_idle_put_with_work). Spinning Ms steal from idle
// Ps too, so its Gs are not stranded.
static void p_idle_put_with_work(struct p *pp)
{
    pp->link = sched.pidle;
    sched.pidle = pp;
    __atomic_add_fetch(&sched.npidle, 1, __ATOMIC_ACQ_REL);
}

static void p_idle_put(struct p *pp)
{
    if (!runq_empty(pp))
        runtime_throw("an idle P has runnable goroutines");
    p_idle_put_with_work(pp);
}

static struct p *p_idle_get(void)
{
    struct p *pp = sched.pidle;
    if (pp) {
        sched.pidle = pp->link;
        __atomic_sub_fetch(&sched.npidle, 1, __ATOMIC_ACQ_REL);
    }
    return pp;
}

static void m_idle_put(struct m *m)
{
    m->schedlink = sched.midle;
    sched.midle = m;
    store_relaxed(&sched.nmidle, sched.nmidle + 1);   // schedtrace reads it without the lock
}

static struct m *m_idle_get(void)
{
    struct m *m = sched.midle;
    if (m) {
        sched.midle = m->schedlink;
        store_relaxed(&sched.nmidle, sched.nmidle - 1);
    }
    return m;
}

static void acquire_p(struct m *m, struct p *pp)
{
    if (m->p || pp->m || load32(&pp->status) != P_IDLE)
        runtime_throwf("acquire_p: P %d is not idle (status %u)", pp->id, load32(&pp->status));
    if (m != getm())
        runtime_throw("acquire_p: not the calling thread's M");   // the mcache is the thread's
    m->p = pp;
    platform_set_current_mcache(pp->mcache);
    __atomic_store_n(&pp->m, m, __ATOMIC_RELEASE);       // sysmon reads the M through this
    __atomic_store_n(&pp->status, P_RUNNING, __ATOMIC_RELEASE);
}

static struct p *release_p(struct m *m)
{
    struct p *pp = m->p;
    if (pp == NULL || pp->m != m)
        runtime_throw("release_p: M does not own its P");
    m->p = NULL;
    platform_set_current_mcache(NULL);
    store_relaxed(&pp->m, NULL);
    __atomic_store_n(&pp->status, P_IDLE, __ATOMIC_RELEASE);
    return pp;
}

// A deadline that never comes: the watching M's when no timer is pending.
#define NO_DEADLINE UINT64_MAX

// Parking an M: its park word is M_PARKED while the M may sleep, M_WOKEN
// once woken, and M_SLEEPING while it sleeps in platform_wait -- only then
// does m_unpark need the wake call (a system call hosted, an IPI in the
// kernel). The M first spins for `spin_ns`, watching the word and yielding
// its CPU to any thread waiting for it: a woken M that never slept costs
// its waker nothing, and keeps its CPU. (Hosted, a sleeping thread woken
// while both CPUs look busy is put on its waker's CPU and runs there
// first: the waker was seen off its CPU for 1-4 ms, with the other CPU
// idle, when stop_the_world's caller woke the Ms it had stopped.)
// `deadline`, when not NULL, is read afresh after every wake-up: another M
// may bring it forward (sched_timer_added).
enum { M_PARKED, M_WOKEN, M_SLEEPING };

static void m_park(struct m *m, const uint64_t *deadline, uint64_t spin_ns)
{
    if (spin_ns) {
        uint64_t until = platform_nanotime() + spin_ns;
        while (__atomic_load_n(&m->park, __ATOMIC_ACQUIRE) != M_WOKEN && platform_nanotime() < until)
            platform_yield();
    }
    for (;;) {
        uint32_t state = M_PARKED;
        if (!__atomic_compare_exchange_n(&m->park, &state, M_SLEEPING, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE) &&
            state == M_WOKEN)
            break;
        uint64_t until = deadline ? __atomic_load_n(deadline, __ATOMIC_ACQUIRE) : 0;
        if (until == NO_DEADLINE)
            until = 0;
        uint64_t now = platform_nanotime();
        if (until && now >= until)
            break;
        mheap_scavenge_when_idle(now);
        platform_wait(&m->park, M_SLEEPING, until);
    }
    __atomic_store_n(&m->park, M_PARKED, __ATOMIC_RELEASE);
}

static void m_unpark(struct m *m)
{
    if (__atomic_exchange_n(&m->park, M_WOKEN, __ATOMIC_ACQ_REL) == M_SLEEPING)
        platform_wake(&m->park, 1);
}

static void check_dead(void);

// The one idle M that watches: it sleeps until the earliest timer (or for
// good, NO_DEADLINE, when there is none) and is woken early by a new,
// earlier timer or by netpoll_signal (sched_netpoll_ready). Others sleep
// until start_m hands them a P. (Go's M blocked in netpoll plays this part.)
// Written under sched.lock; netpoll_signal reads it without.
static struct m *timer_sleeper;
static uint64_t timer_sleeper_until;

// Stops the M until start_m hands it a P. sched.lock must not be held.
// With `may_watch_timers`, the M may become the one that sleeps only until
// the earliest timer.
static void park_idle_m_locked(struct m *m, bool may_watch_timers, uint64_t spin_ns);

static void stop_m_watching(struct m *m, bool may_watch_timers)
{
    runtime_lock_acquire(&sched.lock);
    m_idle_put(m);
    park_idle_m_locked(m, may_watch_timers, 0);
}

// The rest of stop_m_watching, for an M already on the idle list, with
// sched.lock held (released here). It spins for `spin_ns` before it sleeps
// (m_park).
static void park_idle_m_locked(struct m *m, bool may_watch_timers, uint64_t spin_ns)
{
    // Under the lock: a timer added from now on finds us in timer_sleeper
    // (sched_timer_added takes the lock) or is already in `earliest`.
    uint64_t earliest = may_watch_timers ? timers_earliest() : 0;
    bool sleeps_for_timers = false;
    if (timer_sleeper == NULL && may_watch_timers) {
        sleeps_for_timers = true;
        __atomic_store_n(&timer_sleeper_until, earliest ? earliest : NO_DEADLINE, __ATOMIC_RELEASE);
        __atomic_store_n(&timer_sleeper, m, __ATOMIC_RELEASE);
    }
    check_dead();
    runtime_lock_release(&sched.lock);

    m_park(m, sleeps_for_timers ? &timer_sleeper_until : NULL, spin_ns);

    runtime_lock_acquire(&sched.lock);
    if (timer_sleeper == m)
        __atomic_store_n(&timer_sleeper, NULL, __ATOMIC_RELEASE);
    if (m->next_p == NULL) {
        // Woken by the deadline, not by start_m: take ourselves off the idle
        // list and find an idle P to run the due timers on. Spinning, so
        // that find_runnable looks at every P's timers, not just this one's.
        struct m **link = &sched.midle;
        while (*link && *link != m)
            link = &(*link)->schedlink;
        if (*link) {
            *link = m->schedlink;
            store_relaxed(&sched.nmidle, sched.nmidle - 1);
        }
        m->next_p = p_idle_get();
        if (m->next_p == NULL) {
            // Every P is busy; their Ms run the timers themselves. Park
            // without a deadline, or we would wake at once, again and again.
            runtime_lock_release(&sched.lock);
            stop_m_watching(m, false);
            return;
        }
        m->spinning = true;
        __atomic_add_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL);
    }
    // Under the lock: until the P is ours, stop_the_world may take it back.
    acquire_p(m, m->next_p);
    m->next_p = NULL;
    runtime_lock_release(&sched.lock);
}

static void stop_m(struct m *m)
{
    stop_m_watching(m, true);
}

static void wake_p(void);

// Under sched.lock: takes back the P start_m handed to m, which has not
// taken it (its thread did not start, or a stopper wants it), and with it
// the count of m as a spinning M. Returns the P, or NULL if m has none.
static struct p *take_handed_p_locked(struct m *m)
{
    struct p *pp = m->next_p;
    if (pp == NULL)
        return NULL;
    m->next_p = NULL;
    if (m->spinning) {
        m->spinning = false;
        __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL);
    }
    return pp;
}

// sched.stopnote: the stopper waits while it is STOPNOTE_WAITING, and
// sleeps on it as STOPNOTE_SLEEPING; the last P to stop makes it
// STOPNOTE_DONE, and makes the wake call only for a sleeping stopper (the
// call is a system call hosted, made holding sched.lock).
enum { STOPNOTE_WAITING, STOPNOTE_DONE, STOPNOTE_SLEEPING };

// Under sched.lock, while the world is stopping: one more P has been made
// P_STOPPED by someone other than the stopper, which hears of it if it was
// the last.
static void count_stopped_p_locked(void)
{
    if (__atomic_sub_fetch(&sched.stopwait, 1, __ATOMIC_ACQ_REL) == 0 &&
        __atomic_exchange_n(&sched.stopnote, STOPNOTE_DONE, __ATOMIC_ACQ_REL) == STOPNOTE_SLEEPING)
        platform_wake(&sched.stopnote, 1);
}

// Runs some M on pp (an idle P when pp is NULL); creates the M if none is
// idle. With `spinning`, the caller has already counted the M in nmspinning.
static void start_m(struct p *pp, bool spinning)
{
    runtime_lock_acquire(&sched.lock);
    if (pp == NULL) {
        pp = p_idle_get();
        if (pp == NULL) {
            runtime_lock_release(&sched.lock);
            if (spinning)
                __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL);
            return;
        }
    }
    struct m *m = m_idle_get();
    if (m && m == timer_sleeper)
        __atomic_store_n(&timer_sleeper, NULL, __ATOMIC_RELEASE);
    if (m) {
        // Under the lock: an M waking from a timer deadline looks at
        // next_p under the lock to learn whether it was handed a P.
        m->spinning = spinning;
        m->next_p = pp;
    }
    runtime_lock_release(&sched.lock);
    if (m == NULL) {
        m = new_m();
        runtime_lock_acquire(&sched.lock);   // (take_back_handed_ps_locked reads next_p)
        m->spinning = spinning;
        m->next_p = pp;
        runtime_lock_release(&sched.lock);
        extern void runtime_m_start(struct m *m);
        if (!platform_thread_start(m, runtime_m_start)) {
            // No thread (hosted: out of resources) or no free CPU (kernel:
            // every CPU already runs an M; one of them is about to park).
            // The P goes back to the idle list for a running M to pick up
            // -- or stops, if the world began stopping meanwhile: the
            // stopper took the idle list before this P was on it, and
            // counts on it to stop (a hang of selftest=gc, once in about
            // 150 boots with -smp 4).
            __atomic_sub_fetch(&sched.mcount, 1, __ATOMIC_ACQ_REL);
            runtime_lock_acquire(&sched.lock);
            if (take_handed_p_locked(m) == pp) {   // (else a stopper took it back already)
                if (sched.gcwaiting) {
                    __atomic_store_n(&pp->status, P_STOPPED, __ATOMIC_RELEASE);
                    count_stopped_p_locked();
                } else {
                    p_idle_put_with_work(pp);
                }
            }
            runtime_lock_release(&sched.lock);
            if (load_i32(&sched.mcount) == 0)
                runtime_throw("cannot start a thread for the first M");
        }
        return;
    }
    m_unpark(m);
}

// Makes sure an M is looking for work if there is an idle P and nobody is.
static void wake_p(void)
{
    if (load_i32(&sched.npidle) == 0)
        return;
    int32_t expected = 0;
    if (load_i32(&sched.nmspinning) != 0 ||
        !__atomic_compare_exchange_n(&sched.nmspinning, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    start_m(NULL, true);
}

bool sched_p_has_work(struct p *pp)
{
    return __atomic_load_n(&sched.runq_size, __ATOMIC_ACQUIRE) != 0 || !runq_empty(pp) || timers_due(pp);
}

void sched_wake_idle_p(void)
{
    wake_p();
}

// A spinning M found work: it stops spinning, and if it was the last spinner
// another M starts spinning, so the remaining work (if any) is picked up.
static void reset_spinning(struct m *m)
{
    m->spinning = false;
    int32_t spinning = __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL);
    if (spinning < 0)
        runtime_throw("negative spinning M count");
    wake_p();
}

// Gives away pp, whose M is about to block or which sysmon took from a
// system call: to a new M when there is work, else to the idle list -- or,
// when the world is stopping, it stops (Go's handoffp): the stopper saw it
// running or in a system call, counts on it to stop, and would otherwise
// wait for it forever.
static void hand_off_p(struct p *pp)
{
    if (!runq_empty(pp) || __atomic_load_n(&sched.runq_size, __ATOMIC_ACQUIRE) != 0) {
        start_m(pp, false);
        return;
    }
    int32_t expected = 0;
    if (load_i32(&sched.nmspinning) + load_i32(&sched.npidle) == 0 &&
        __atomic_compare_exchange_n(&sched.nmspinning, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        start_m(pp, true);
        return;
    }
    runtime_lock_acquire(&sched.lock);
    if (sched.gcwaiting) {
        __atomic_store_n(&pp->status, P_STOPPED, __ATOMIC_RELEASE);
        count_stopped_p_locked();
        runtime_lock_release(&sched.lock);
        return;
    }
    if (sched.runq_size != 0) {
        runtime_lock_release(&sched.lock);
        start_m(pp, false);
        return;
    }
    p_idle_put(pp);
    runtime_lock_release(&sched.lock);
    // Its timers still need an M.
    uint64_t when = timers_earliest();
    if (when)
        sched_timer_added(when);
}

void sched_netpoll_ready(void)
{
    // May run in an interrupt handler: no lock, just wake the watcher, who
    // takes a P and finds the G in find_runnable. With no watcher every M
    // is busy, and the first to look for work finds it (sysmon, hosted,
    // also looks).
    struct m *watcher = __atomic_load_n(&timer_sleeper, __ATOMIC_ACQUIRE);
    if (watcher)
        m_unpark(watcher);
}

void sched_timer_added(uint64_t when)
{
    runtime_lock_acquire(&sched.lock);
    struct m *sleeper = timer_sleeper;
    if (sleeper && when < timer_sleeper_until) {
        __atomic_store_n(&timer_sleeper_until, when, __ATOMIC_RELEASE);
        runtime_lock_release(&sched.lock);
        // Wake it: m_park reads the deadline again and sleeps until the
        // earlier one.
        platform_wake(&sleeper->park, 1);
        return;
    }
    runtime_lock_release(&sched.lock);
    if (sleeper == NULL)
        wake_p();
}

/* --- Stopping the world ---------------------------------------------------
 * The collector needs every P stopped twice per cycle, briefly (Go's
 * stopTheWorld / startTheWorld). The stopper sets sched.gcwaiting and
 * preempts every running G; each M notices at the top of find_runnable --
 * which a preempted G's M reaches at once -- gives its P up as P_STOPPED
 * and parks. Idle Ps and Ps whose M is in a system call are stopped by the
 * stopper itself, so a blocked thread never holds up the world. The
 * stopper's own P keeps running, and it alone, until start_the_world hands
 * the stopped Ps back out.
 */

// How long an M stopped for the world spins before it sleeps: longer than
// most stops last, so that start_the_world finds it awake (m_park says
// why). Only where every P has a CPU of its own: else the spinning would
// take the CPU the stopper needs.
#define STOPPED_M_SPIN_NS (200 * 1000)

// A P this M held stops for the world; the M parks until it gets a P again.
static void stop_m_for_the_world(struct m *m)
{
    struct p *pp = release_p(m);
    if (m->spinning) {
        m->spinning = false;
        __atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL);
    }
    // On the idle list in the same breath as the P stops: once the last
    // P has stopped, the world may start again at once, and start_the_world
    // must find this M idle -- else it starts a new thread for the P, and
    // this one parks for good.
    runtime_lock_acquire(&sched.lock);
    __atomic_store_n(&pp->status, P_STOPPED, __ATOMIC_RELEASE);
    m_idle_put(m);
    count_stopped_p_locked();
    park_idle_m_locked(m, true, procs <= machine_cpus ? STOPPED_M_SPIN_NS : 0);
}

#define STOP_POLITE_NS (3 * 1000)    // how long a request alone may take
#define STOP_RESEND_NS (10 * 1000)   // between interrupts while spinning
#define STOP_SPIN_NS (50 * 1000)     // spinning, interrupting
#define STOP_SPIN_OWN_CPUS_NS (1000 * 1000)   // the same, when every P has a CPU
#define STOP_SLEEP_NS (100 * 1000)   // then sleeping, before the next spin
// How long an interrupt usually takes to reach a thread that is running
// on another CPU (5-15 us in kernel traces on the development VM, up to 40
// us measured before): a thread that has not taken one by then is most
// likely not running. A slow one only makes the stopper yield, as it
// always used to.
#define STOP_INTERRUPT_ARRIVES_NS (20 * 1000)

// What a stopper knows of whether the Ms it waits for are running: each
// P's M, and the interrupts it had taken when the stopper interrupted it
// (at the first interrupt of a stop; in wait_until_ps_on_cpus, before it).
struct stop_watch {
    uint64_t first_interrupt_ns;   // 0 until then
    struct m **ms;                 // by P index
    uint32_t *interrupts_taken;
};

// P i's M, if P i is running and is not `own`; else NULL.
static struct m *other_running_m(int32_t i, struct p *own)
{
    struct p *pp = all_ps[i];
    if (pp == own || load32(&pp->status) != P_RUNNING)
        return NULL;
    return __atomic_load_n(&pp->m, __ATOMIC_ACQUIRE);
}

// Records m as P i's M, with the interrupts it has taken so far.
static void stop_watch_record(struct stop_watch *watch, int32_t i, struct m *m)
{
    watch->ms[i] = m;
    watch->interrupts_taken[i] = m ? __atomic_load_n(&m->interrupts_taken, __ATOMIC_ACQUIRE) : 0;
}

// Whether m, P i's M now, is the one recorded and has taken an interrupt
// since: then its thread is running.
static bool stop_watch_saw_running(const struct stop_watch *watch, int32_t i, struct m *m)
{
    return m == watch->ms[i] && __atomic_load_n(&m->interrupts_taken, __ATOMIC_ACQUIRE) != watch->interrupts_taken[i];
}

static void preempt_running_ps(struct p *own, bool interrupt)
{
    for (int32_t i = 0; i < procs; i++)
        if (all_ps[i] != own && load32(&all_ps[i]->status) == P_RUNNING)
            preempt_one(all_ps[i], interrupt);
}

// Sleeps until every other P has stopped or `ns` have passed. True if stopped.
static bool sleep_until_stopped(uint64_t ns)
{
    uint32_t state = STOPNOTE_WAITING;
    if (!__atomic_compare_exchange_n(&sched.stopnote, &state, STOPNOTE_SLEEPING, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return true;   // STOPNOTE_DONE
    platform_wait(&sched.stopnote, STOPNOTE_SLEEPING, platform_nanotime() + ns);
    state = STOPNOTE_SLEEPING;
    __atomic_compare_exchange_n(&sched.stopnote, &state, STOPNOTE_WAITING, false, __ATOMIC_ACQ_REL,
                                __ATOMIC_ACQUIRE);
    return load_i32(&sched.stopwait) == 0;
}

// Whether an M the stopper waits for may be waiting for the stopper's own
// CPU: one that has not taken an interrupt sent a while ago is not
// running, and may be queued behind the stopper (hosted, a woken thread is
// often put on its waker's CPU). Where there are more Ps than CPUs, one
// always may be.
static bool stop_may_need_this_cpu(const struct stop_watch *watch, uint64_t now)
{
    if (procs > machine_cpus)
        return true;
    if (watch->first_interrupt_ns == 0 || now - watch->first_interrupt_ns < STOP_INTERRUPT_ARRIVES_NS)
        return false;
    struct p *own = getm()->p;
    for (int32_t i = 0; i < procs; i++) {
        struct m *m = other_running_m(i, own);
        if (m && !stop_watch_saw_running(watch, i, m))
            return true;
    }
    return false;
}

// Spins until every other P has stopped or `ns` have passed. True if stopped.
// It yields its CPU only while an M it waits for may need that CPU, not at
// every look: a yield hands the CPU to whatever else is queued there, and
// hosted that may be a kernel thread that keeps it for a millisecond (on
// the development VM, kdamond, queued until the running thread's time
// slice ends: yielding at every look put 7 of 20 runs of binary trees on
// two Ps over a millisecond of max pause, and none after; docs/gc.md).
static bool wait_for_stopped_ps(uint64_t ns, const struct stop_watch *watch)
{
    uint64_t until = platform_nanotime() + ns;
    for (;;) {
        if (load_i32(&sched.stopwait) == 0)
            return true;
        uint64_t now = platform_nanotime();
        if (now >= until)
            return false;
        if (stop_may_need_this_cpu(watch, now))
            platform_yield();
    }
}

// Before the first interrupt of a stop: whom it goes to, and what each has
// taken so far.
static void stop_watch_start(struct stop_watch *watch)
{
    for (int32_t i = 0; i < procs; i++)
        stop_watch_record(watch, i, __atomic_load_n(&all_ps[i]->m, __ATOMIC_ACQUIRE));
    watch->first_interrupt_ns = platform_nanotime();
}

// Under sched.lock, as the world begins to stop: the Ps that start_m has
// handed to an M that has not taken them yet -- an M still waking up, or a
// thread still starting -- stop here. Waiting for that M would put its
// wake-up in the pause: tens of microseconds on a VM, milliseconds when
// the OS is slow to give it a CPU. The M finds next_p empty and parks
// again (park_idle_m_locked, runtime_m_start).
static void take_back_handed_ps_locked(void)
{
    runtime_lock_acquire(&sched.all_lock);
    for (struct m *other = sched.all_ms; other; other = other->all_link) {
        struct p *pp = take_handed_p_locked(other);
        if (pp == NULL)
            continue;
        __atomic_store_n(&pp->status, P_STOPPED, __ATOMIC_RELEASE);
        __atomic_sub_fetch(&sched.stopwait, 1, __ATOMIC_ACQ_REL);
    }
    runtime_lock_release(&sched.all_lock);
}

// How long wait_until_ps_on_cpus gives a thread to come back to its CPU.
#define ON_CPU_WAIT_MAX_NS (5 * 1000 * 1000)

// Before a stop, with the world still running: waits until the thread of
// every other running P is on a CPU, as its taking an interrupt shows
// (Go's collector waits for every P the same way, outside its pause, in
// the ragged barrier that flushes them before mark termination). A stop
// begun while the OS keeps one of them off its CPU -- on the development
// VM, kdamond or the VM's agent preempt a thread for 1-4 ms now and then --
// holds every other P stopped for all that time; waiting here holds only
// the caller's. Gives up after ON_CPU_WAIT_MAX_NS, and where an interrupt
// cannot be sent. `watch` is scratch space.
static void wait_until_ps_on_cpus(struct p *own, struct stop_watch *watch)
{
    if (!platform_ms_share_cpus || procs == 1)
        return;
    for (int32_t i = 0; i < procs; i++)
        stop_watch_record(watch, i, NULL);
    uint64_t start = platform_nanotime();
    for (;;) {
        bool waiting = false;
        for (int32_t i = 0; i < procs; i++) {
            struct m *m = other_running_m(i, own);
            if (m == NULL)
                continue;
            if (m != watch->ms[i]) {
                stop_watch_record(watch, i, m);
                if (!platform_preempt(m))
                    return;
                waiting = true;
            } else if (!stop_watch_saw_running(watch, i, m)) {
                waiting = true;
            }
        }
        if (!waiting)
            return;
        uint64_t waited = platform_nanotime() - start;
        if (waited >= ON_CPU_WAIT_MAX_NS)
            return;
        // The thread may be queued behind this one: after the time an
        // interrupt takes to arrive, let it have the CPU.
        if (waited >= STOP_INTERRUPT_ARRIVES_NS)
            platform_yield();
    }
}

uint64_t stop_the_world(void)
{
    struct m *m = getm();
    m->locks++;   // no preemption, no moving to another P, until start_the_world
    struct p *own = m->p;
    struct m *watched_ms[procs];
    uint32_t watched_interrupts[procs];
    struct stop_watch watch = { .ms = watched_ms, .interrupts_taken = watched_interrupts };
    wait_until_ps_on_cpus(own, &watch);
    uint64_t begun = platform_nanotime();
    runtime_lock_acquire(&sched.lock);
    if (sched.gcwaiting)
        runtime_throw("stop_the_world: the world is already stopping");
    __atomic_store_n(&sched.stopwait, procs - 1, __ATOMIC_RELEASE);
    __atomic_store_n(&sched.stopnote, STOPNOTE_WAITING, __ATOMIC_RELEASE);
    __atomic_store_n(&sched.gcwaiting, 1, __ATOMIC_SEQ_CST);   // (entersyscall_save)
    struct p *pp;
    while ((pp = p_idle_get()) != NULL) {
        __atomic_store_n(&pp->status, P_STOPPED, __ATOMIC_RELEASE);
        __atomic_sub_fetch(&sched.stopwait, 1, __ATOMIC_ACQ_REL);
    }
    for (int32_t i = 0; i < procs; i++) {
        uint32_t expected = P_SYSCALL;
        if (all_ps[i] != own && __atomic_compare_exchange_n(&all_ps[i]->status, &expected, P_STOPPED, false,
                                                            __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            __atomic_sub_fetch(&sched.stopwait, 1, __ATOMIC_ACQ_REL);
    }
    take_back_handed_ps_locked();
    bool done = load_i32(&sched.stopwait) == 0;
    runtime_lock_release(&sched.lock);
    // Ask the running Gs to stop. The request alone first: a G that
    // allocates or uses a channel meets it at its next safe point, within
    // microseconds, while an interrupt (a signal hosted, an IPI in the
    // kernel) takes tens of them to arrive. Then the interrupt too, for a
    // G in a loop with no safe point, and again every few microseconds
    // while the stopper spins: an interrupt that lands where a G cannot
    // stop (in the runtime's own code, in the C library, holding a lock)
    // is lost, and the G may run on from there into such a loop -- with
    // one interrupt per round, half the runs of binary trees on two Ps
    // had a stop of 115-250 us. After the spin the stopper sleeps: a
    // sleeping thread is slow to wake, and every microsecond here is a
    // microsecond of pause. So it spins longer where the Ps it waits for
    // have CPUs of their own, and it takes none of theirs.
    if (!done) {
        preempt_running_ps(own, false);
        done = wait_for_stopped_ps(STOP_POLITE_NS, &watch);
    }
    uint64_t spin_ns = procs <= machine_cpus ? STOP_SPIN_OWN_CPUS_NS : STOP_SPIN_NS;
    if (!done)
        stop_watch_start(&watch);
    while (!done) {
        for (uint64_t spun = 0; !done && spun < spin_ns; spun += STOP_RESEND_NS) {
            preempt_running_ps(own, true);
            done = wait_for_stopped_ps(STOP_RESEND_NS, &watch);
        }
        if (!done)
            done = sleep_until_stopped(STOP_SLEEP_NS);
    }
    return begun;
}

uint64_t start_the_world(void)
{
    struct m *m = getm();
    struct p *own = m->p;
    struct p *with_work[procs];
    int32_t count = 0;
    runtime_lock_acquire(&sched.lock);
    if (!sched.gcwaiting || load_i32(&sched.stopwait) != 0)
        runtime_throw("start_the_world: the world is not stopped");
    __atomic_store_n(&sched.gcwaiting, 0, __ATOMIC_RELEASE);
    for (int32_t i = 0; i < procs; i++) {
        struct p *pp = all_ps[i];
        if (pp == own)
            continue;
        if (load32(&pp->status) != P_STOPPED)
            runtime_throwf("start_the_world: P %d did not stop", pp->id);
        __atomic_store_n(&pp->status, P_IDLE, __ATOMIC_RELEASE);
        if (runq_empty(pp))
            p_idle_put(pp);
        else
            with_work[count++] = pp;
    }
    runtime_lock_release(&sched.lock);
    for (int32_t i = 0; i < count; i++)
        start_m(with_work[i], false);
    uint64_t started = platform_nanotime();
    m->locks--;
    wake_p();   // for the global queue, and the timers of the idle Ps
    uint64_t when = timers_earliest();
    if (when)
        sched_timer_added(when);
    return started;
}

/* --- Finding work -------------------------------------------------------- */

static struct g *steal_work(struct m *m)
{
    struct p *pp = m->p;
    const int rounds = 4;
    for (int round = 0; round < rounds; round++) {
        bool last_round = round == rounds - 1;
        uint32_t start = runtime_random_below((uint32_t)procs);
        for (int32_t i = 0; i < procs; i++) {
            struct p *victim = all_ps[(start + (uint32_t)i) % (uint32_t)procs];
            if (victim == pp)
                continue;
            // On the last round, also run the victim's due timers: its M may
            // be busy with a long G and not look at them for a while.
            if (last_round && victim->timers) {
                timers_run(victim, 0);
                bool inherit_time;
                struct g *gp = runq_get(pp, &inherit_time);
                if (gp)
                    return gp;
            }
            if (load32(&victim->status) == P_IDLE && runq_empty(victim))
                continue;
            struct g *gp = runq_steal(pp, victim, last_round);
            if (gp)
                return gp;
        }
    }
    return NULL;
}

// Finds a runnable G for m, which holds a P; blocks (releasing the P) until
// there is one. *inherit_time: see runq_get.
static struct g *find_runnable(struct m *m, bool *inherit_time)
{
    *inherit_time = false;
top:;
    struct p *pp = m->p;
    if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_ACQUIRE)) {
        stop_m_for_the_world(m);
        goto top;
    }
    timers_run(pp, 0);
    // Goroutines an interrupt or another thread woke (netpoll.c).
    netpoll_ready_all();

    if (__atomic_load_n(&main_done, __ATOMIC_ACQUIRE)) {
        // The program is over; nothing more runs (hosted: runtime_run has
        // returned or the process is exiting).
        release_p(m);
        for (;;)
            m_park(m, NULL, 0);
    }

    // While the collector marks, this P's background mark worker may be
    // due (its dedicated or fractional share of the CPU).
    if (gc_marking()) {
        struct g *worker = gc_find_mark_worker(pp, false);
        if (worker)
            return worker;
    }

    // Fairness: now and then, the global queue first.
    if (pp->schedtick % 61 == 0 && __atomic_load_n(&sched.runq_size, __ATOMIC_ACQUIRE) > 0) {
        runtime_lock_acquire(&sched.lock);
        struct g *gp = global_runq_get(pp, 1);
        runtime_lock_release(&sched.lock);
        if (gp)
            return gp;
    }
    struct g *gp = runq_get(pp, inherit_time);
    if (gp)
        return gp;
    if (__atomic_load_n(&sched.runq_size, __ATOMIC_ACQUIRE) > 0) {
        runtime_lock_acquire(&sched.lock);
        gp = global_runq_get(pp, 0);
        runtime_lock_release(&sched.lock);
        if (gp)
            return gp;
    }

    // Steal, unless enough Ms are spinning already: no more than half of the
    // busy Ps' worth, so that a few Gs do not set every idle M spinning.
    int32_t busy = procs - load_i32(&sched.npidle);
    if (m->spinning || 2 * load_i32(&sched.nmspinning) < busy) {
        if (!m->spinning) {
            m->spinning = true;
            __atomic_add_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL);
        }
        for (int attempt = 0; attempt < SPIN_BEFORE_PARK; attempt++) {
            if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_ACQUIRE))
                goto top;
            gp = steal_work(m);
            if (gp)
                return gp;
            platform_yield();
        }
    }

    // Nothing to run: an idle P helps the collector mark (Go's idle mark
    // worker), if there is marking to do.
    if (gc_marking()) {
        struct g *worker = gc_find_mark_worker(pp, true);
        if (worker)
            return worker;
    }

    // Nothing. Give up the P -- but look at the global queue once more under
    // the lock, since a G queued there now would otherwise wait.
    runtime_lock_acquire(&sched.lock);
    if (sched.gcwaiting) {
        runtime_lock_release(&sched.lock);
        goto top;
    }
    if (sched.runq_size > 0) {
        gp = global_runq_get(pp, 0);
        runtime_lock_release(&sched.lock);
        return gp;
    }
    release_p(m);
    p_idle_put(pp);
    runtime_lock_release(&sched.lock);

    // The spinning -> not spinning transition. Decrement first, then look at
    // every queue: a G readied after our last look found nmspinning > 0 and
    // woke nobody, so we must see it here.
    if (m->spinning) {
        m->spinning = false;
        if (__atomic_sub_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL) < 0)
            runtime_throw("negative spinning M count");
        bool work = __atomic_load_n(&sched.runq_size, __ATOMIC_ACQUIRE) > 0;
        for (int32_t i = 0; i < procs && !work; i++)
            work = !runq_empty(all_ps[i]);
        if (work) {
            runtime_lock_acquire(&sched.lock);
            pp = p_idle_get();
            runtime_lock_release(&sched.lock);
            if (pp) {
                acquire_p(m, pp);
                m->spinning = true;
                __atomic_add_fetch(&sched.nmspinning, 1, __ATOMIC_ACQ_REL);
                goto top;
            }
        }
    }

    stop_m(m);
    goto top;
}

/* --- Running ------------------------------------------------------------- */

// Lays out a new goroutine's stack so that the first switch to it starts
// runtime_goroutine_entry(function, argument); see context_amd64.S.
static void context_prepare(struct g *gp)
{
    uintptr_t *top = (uintptr_t *)(gp->stack.hi & ~(uintptr_t)15);
    uintptr_t *sp = top - 9;
    sp[0] = 0;                                       // r15
    sp[1] = 0;                                       // r14
    sp[2] = (uintptr_t)gp->start_argument;           // r13
    sp[3] = (uintptr_t)gp->start_function;           // r12
    sp[4] = 0;                                       // rbx
    sp[5] = 0;                                       // rbp: the backtrace ends here
    sp[6] = (uintptr_t)runtime_goroutine_entry;      // "return" address
    sp[7] = 0;                                       // after the ret, RSP is 16-byte aligned
    sp[8] = 0;
    gp->context.sp = (uintptr_t)sp;
}

// Runs gp on m. A G that inherits the time slice does not count as a new
// scheduling round, so a pair of Gs handing the P back and forth through
// runnext look to sysmon like one G that has run too long, and get
// preempted: otherwise they could keep the P from the rest of its queue.
static void execute(struct m *m, struct g *gp, bool inherit_time)
{
    // While the collector marks, no G runs with its stack unscanned
    // (mgcmark.c): that is what lets each stack be scanned only once.
    // First thing, under the G's scan lock: a mark worker may be about to
    // scan it, and the stack is set up just below.
    if (gc_marking())
        gc_scan_stack_before_run(gp);
    if (gp->stack.hi == 0) {
        // Stacks are given at first run, not at go(): a burst of queued
        // goroutines costs no stack memory until they run.
        if (!stack_for_new_g(m->p, &gp->stack))
            runtime_throwf("out of memory for goroutine %llu's stack", (unsigned long long)gp->id);
        context_prepare(gp);
    }
    if (RUNTIME_RACE_ENABLED && gp->race_fiber == NULL)
        gp->race_fiber = race_new_fiber();
    __atomic_store_n(&m->curg, gp, __ATOMIC_RELEASE);   // sysmon reads the G through this
    gp->m = m;
    g_set_status(gp, G_RUNNABLE, G_RUNNING);
    store_relaxed(&gp->preempt, false);
    if (!inherit_time)
        store_relaxed(&m->p->schedtick, m->p->schedtick + 1);
    race_switch_to(gp->race_fiber);
    runtime_context_switch(&m->g0->context, &gp->context);
}

// The scheduler loop, on g0. execute returns when the G switches back with
// mcall; the function it asked for runs here, on g0, and the loop goes on.
static void schedule(void)
{
    struct m *m = getm();
    for (;;) {
        if (m->locks)
            runtime_throw("schedule: holding runtime locks");
        bool inherit_time;
        struct g *gp = find_runnable(m, &inherit_time);
        if (m->spinning)
            reset_spinning(m);
        execute(m, gp, inherit_time);
        void (*function)(struct g *) = m->mcall_function;
        struct g *caller = m->mcall_g;
        m->mcall_function = NULL;
        m->mcall_g = NULL;
        store_relaxed(&m->curg, NULL);
        caller->m = NULL;
        function(caller);
    }
}

// Switches from the running G to g0 and runs function(G) there.
static void mcall(void (*function)(struct g *))
{
    struct m *m = getm();
    struct g *gp = m->curg;
    m->mcall_function = function;
    m->mcall_g = gp;
    race_switch_to(m->g0->race_fiber);
    runtime_context_switch(&gp->context, &m->g0->context);
}

void runtime_m_start(struct m *m);

// The first thing a new M runs, on its own thread or CPU.
void runtime_m_start(struct m *m)
{
    platform_set_current_m(m);
    m->g0->race_fiber = race_current_fiber();
    runtime_lock_acquire(&sched.lock);   // until the P is ours, stop_the_world may take it back
    struct p *pp = m->next_p;
    m->next_p = NULL;
    if (pp)
        acquire_p(m, pp);
    runtime_lock_release(&sched.lock);
    if (pp == NULL)
        stop_m(m);
    schedule();
}

/* --- Creating and ending goroutines -------------------------------------- */

// Dead Gs keep their stacks, on the P's free list and on the global ones,
// so that a new goroutine usually gets a G and a stack with no work at all
// (as in Go). Only beyond GFREE_GLOBAL_STACKS_MAX stacks on the global list
// is stack memory given back to the platform, outside the scheduler lock.

// Takes a dead G off the global lists, one with a stack first. Under
// sched.lock.
static struct g *g_free_global_take(void)
{
    struct g **list = sched.gfree_stack ? &sched.gfree_stack : &sched.gfree_no_stack;
    struct g *gp = *list;
    if (gp == NULL)
        return NULL;
    *list = gp->schedlink;
    if (gp->stack.hi)
        store_relaxed(&sched.gfree_stacks, sched.gfree_stacks - 1);
    store_relaxed(&sched.gfree_count, sched.gfree_count - 1);
    return gp;
}

// Puts a dead G on the global list that fits it. Under sched.lock.
static void g_free_global_put(struct g *gp)
{
    struct g **list = gp->stack.hi ? &sched.gfree_stack : &sched.gfree_no_stack;
    if (gp->stack.hi)
        store_relaxed(&sched.gfree_stacks, sched.gfree_stacks + 1);
    gp->schedlink = *list;
    *list = gp;
    store_relaxed(&sched.gfree_count, sched.gfree_count + 1);
}

static struct g *g_free_get(struct p *pp)
{
    if (pp->gfree == NULL && load_relaxed(&sched.gfree_count) > 0) {
        // Refill from the global lists, up to half the local limit.
        runtime_lock_acquire(&sched.lock);
        struct g *gp;
        while (pp->gfree_count < GFREE_LOCAL_MAX / 2 && (gp = g_free_global_take()) != NULL) {
            gp->schedlink = pp->gfree;
            pp->gfree = gp;
            pp->gfree_count++;
        }
        runtime_lock_release(&sched.lock);
    }
    struct g *gp = pp->gfree;
    if (gp) {
        pp->gfree = gp->schedlink;
        pp->gfree_count--;
    }
    return gp;
}

static void g_free_put(struct p *pp, struct g *gp)
{
    gp->schedlink = pp->gfree;
    pp->gfree = gp;
    if (++pp->gfree_count < GFREE_LOCAL_MAX)
        return;
    // Too many here: move half to the global list.
    struct stack released[GFREE_LOCAL_MAX / 2];
    int released_count = 0;
    runtime_lock_acquire(&sched.lock);
    while (pp->gfree_count > GFREE_LOCAL_MAX / 2) {
        struct g *moved = pp->gfree;
        pp->gfree = moved->schedlink;
        pp->gfree_count--;
        if (moved->stack.hi && sched.gfree_stacks >= GFREE_GLOBAL_STACKS_MAX) {
            // Enough spare stacks already: this one's memory goes back.
            released[released_count++] = moved->stack;
            moved->stack.lo = moved->stack.hi = 0;
            moved->context.sp = 0;
        }
        g_free_global_put(moved);
    }
    runtime_lock_release(&sched.lock);
    for (int i = 0; i < released_count; i++)
        stack_free(&released[i]);
}

// A stack for a G that has none (it was created while no dead G with a
// stack was free): taken from a dead G on this P's free list if one has a
// stack, else from one on the global list, else new. A spare stack is
// already in memory; a new one costs page faults.
static bool stack_for_new_g(struct p *pp, struct stack *stack)
{
    int looked = 0;
    for (struct g *dead = pp->gfree; dead && looked < GFREE_LOCAL_MAX; dead = dead->schedlink, looked++) {
        if (dead->stack.hi) {
            *stack = dead->stack;
            dead->stack.lo = dead->stack.hi = 0;
            dead->context.sp = 0;
            return true;
        }
    }
    if (load_relaxed(&sched.gfree_stacks) > 0) {
        runtime_lock_acquire(&sched.lock);
        struct g *dead = sched.gfree_stack;
        if (dead) {
            sched.gfree_stack = dead->schedlink;
            store_relaxed(&sched.gfree_stacks, sched.gfree_stacks - 1);
            *stack = dead->stack;
            dead->stack.lo = dead->stack.hi = 0;
            dead->context.sp = 0;
            dead->schedlink = sched.gfree_no_stack;
            sched.gfree_no_stack = dead;
        }
        runtime_lock_release(&sched.lock);
        if (dead)
            return true;
    }
    return stack_allocate(stack);
}

// G records come 64 at a time: one trip to the persistent allocator instead
// of 64, and packed, with none of the cache-line padding it gives each
// record (a G is touched by one M at a time; 144 bytes, not 192, matters
// when a burst makes 100,000 of them).
#define G_BATCH 64

static struct g *g_allocate(void)
{
    runtime_lock_acquire(&sched.all_lock);
    if (sched.g_batch_left == 0) {
        sched.g_batch = runtime_zalloc(G_BATCH * sizeof(struct g));
        sched.g_batch_left = G_BATCH;
    }
    struct g *gp = sched.g_batch++;
    sched.g_batch_left--;
    gp->all_link = sched.all_gs;
    __atomic_store_n(&sched.all_gs, gp, __ATOMIC_RELEASE);   // the collector walks the list without the lock
    runtime_lock_release(&sched.all_lock);
    __atomic_add_fetch(&sched.g_count, 1, __ATOMIC_RELAXED);
    return gp;
}

static struct g *new_g(goroutine_function function, void *argument, struct p *pp)
{
    struct g *gp = pp ? g_free_get(pp) : NULL;
    if (gp == NULL) {
        gp = g_allocate();
        gp->status = G_DEAD;
    }
    gp->start_function = function;
    gp->start_argument = argument;
    gp->wait_reason = WAIT_REASON_NONE;
    gp->param = NULL;
    gp->waiting = NULL;
    store_relaxed(&gp->preempt, false);
    gp->id = __atomic_add_fetch(&sched.goid_generator, 1, __ATOMIC_RELAXED);
    if (gp->stack.hi)
        context_prepare(gp);   // a reused G keeps its stack; start it afresh
    gc_new_g(gp);
    __atomic_add_fetch(&sched.live_g_count, 1, __ATOMIC_RELAXED);
    g_set_status(gp, G_DEAD, G_RUNNABLE);
    return gp;
}

struct g *all_gs_snapshot(void)
{
    return __atomic_load_n(&sched.all_gs, __ATOMIC_ACQUIRE);
}

void go(goroutine_function function, void *argument)
{
    struct m *m = getm();
    m->locks++;   // stay on this P while we use it
    struct p *pp = m->p;
    struct g *gp = new_g(function, argument, pp);
    runq_put(pp, gp, true);
    m->locks--;
    wake_p();
}

static void goexit0(struct g *gp)
{
    g_set_status(gp, G_RUNNING, G_DEAD);
    __atomic_sub_fetch(&sched.live_g_count, 1, __ATOMIC_RELAXED);
    gp->start_function = NULL;
    gp->start_argument = NULL;
    gp->wait_reason = WAIT_REASON_NONE;
    if (RUNTIME_RACE_ENABLED) {
        race_destroy_fiber(gp->race_fiber);
        gp->race_fiber = NULL;
    }
    g_free_put(getm()->p, gp);
}

void goexit(void)
{
    struct g *gp = getg();
    if (gp->id == 1) {
        // The main goroutine is done: so is the program.
        __atomic_store_n(&main_done, 1, __ATOMIC_RELEASE);
        if (platform_caller_becomes_m)
            platform_exit(0);
        platform_wake(&main_done, 1);
    }
    mcall(goexit0);
    __builtin_unreachable();
}

uint64_t goid(void)
{
    return getg()->id;
}

// gosched puts the G at the back of this P's own queue. Go's Gosched uses
// the global queue instead, and hardway did too at first; but that costs
// the global lock twice per yield (to queue, and to take it back), and on a
// busy P a G in the global queue waits until the local queue runs dry (or
// the 61st tick). At the back of the local queue it waits exactly behind
// what is already queued here, and an idle P can still steal it. This is
// what Go's own runtime uses internally (goyield).
static void gosched_m(struct g *gp)
{
    g_set_status(gp, G_RUNNING, G_RUNNABLE);
    runq_put(getm()->p, gp, false);
}

void gosched(void)
{
    mcall(gosched_m);
}

static void preempt_park_m(struct g *gp)
{
    g_set_status(gp, G_RUNNING, G_RUNNABLE);
    gp->wait_reason = WAIT_REASON_NONE;
    runtime_lock_acquire(&sched.lock);
    global_runq_put(gp);
    runtime_lock_release(&sched.lock);
}

// runtime_safe_point's slow half: a preemption is pending. It waits if this
// M holds a runtime lock or is inside non-reentrant C code.
void runtime_safe_point_yield(void)
{
    struct m *m = getm();
    struct g *gp = m->curg;
    if (load_relaxed(&gp->preempt) && m->locks == 0 && m->preempt_off == 0) {
        store_relaxed(&gp->preempt, false);
        mcall(preempt_park_m);
    }
}

void runtime_async_preempt_park(uintptr_t *return_address);

// Called from runtime_async_preempt (context_amd64.S) on the G's stack, with
// every register of the interrupted code saved below us: puts the
// interrupted RIP where `ret` will find it, and yields.
void runtime_async_preempt_park(uintptr_t *return_address)
{
    struct g *gp = getg();
    *return_address = gp->preempt_return_pc;
    store_relaxed(&gp->preempt, false);
    mcall(preempt_park_m);
}

/* --- Parking and readying ------------------------------------------------ */

struct park_request {
    bool (*unlock)(struct g *, void *);
    void *lock;
};

static void park_m(struct g *gp)
{
    struct park_request *request = gp->param;
    gp->param = NULL;
    g_set_status(gp, G_RUNNING, G_WAITING);
    if (request->unlock && !request->unlock(gp, request->lock)) {
        // The reason to wait went away before we finished parking: run the G
        // again next, on this P.
        g_set_status(gp, G_WAITING, G_RUNNABLE);
        runq_put(getm()->p, gp, true);
    }
}

void gopark(bool (*unlock)(struct g *gp, void *lock), void *lock, enum wait_reason reason)
{
    struct g *gp = getg();
    struct park_request request = { unlock, lock };
    gp->wait_reason = reason;
    gp->wait_since = load_relaxed(&runtime_coarse_now);
    gp->param = &request;
    mcall(park_m);
}

void goready(struct g *gp)
{
    struct m *m = getm();
    m->locks++;
    g_set_status(gp, G_WAITING, G_RUNNABLE);
    gp->wait_reason = WAIT_REASON_NONE;
    if (m->p) {
        runq_put(m->p, gp, true);
        m->locks--;
    } else {
        // In a system call, or an idle M running timers: no P to queue on.
        runtime_lock_acquire(&sched.lock);
        global_runq_put(gp);
        runtime_lock_release(&sched.lock);
        m->locks--;
    }
    wake_p();
}


/* --- System calls -------------------------------------------------------- */

// entersyscall itself is in context_amd64.S: it captures the caller's
// registers and stack pointer, which the collector scans while the G is in
// the call (mgcmark.c), and comes here.
void entersyscall_save(const uintptr_t *registers, uintptr_t caller_sp);

void entersyscall_save(const uintptr_t *registers, uintptr_t caller_sp)
{
    struct m *m = getm();
    struct g *gp = m->curg;
    m->locks++;
    for (int i = 0; i < 6; i++)
        gp->syscall_registers[i] = registers[i];
    gp->syscall_sp = caller_sp;
    g_set_status(gp, G_RUNNING, G_SYSCALL);
    struct p *pp = m->p;
    store_relaxed(&pp->syscalltick, pp->syscalltick + 1);
    m->old_p = pp;
    m->p = NULL;
    platform_set_current_mcache(NULL);
    store_relaxed(&pp->m, NULL);
    // Sequentially consistent, with the load below and stop_the_world's
    // store of gcwaiting: else this thread could miss a stop that began
    // just now while the stopper missed the new status.
    __atomic_store_n(&pp->status, P_SYSCALL, __ATOMIC_SEQ_CST);
    // A stopper that came before this saw the P running and counts on it
    // to stop. Nothing else would stop it now -- sysmon does not take a P
    // whose system calls are short, and exitsyscall takes it straight back
    // -- so it stops here (Go's entersyscall_gcwait).
    if (__atomic_load_n(&sched.gcwaiting, __ATOMIC_SEQ_CST)) {
        runtime_lock_acquire(&sched.lock);
        uint32_t expected = P_SYSCALL;
        if (sched.stopwait > 0 && __atomic_compare_exchange_n(&pp->status, &expected, P_STOPPED, false,
                                                             __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
            count_stopped_p_locked();
        runtime_lock_release(&sched.lock);
    }
    m->locks--;
}

// On g0, for a G whose system call ended while no P was free: queue it (or
// run it, if a P has come free meanwhile) and park this M.
static void exitsyscall_park_m(struct g *gp)
{
    struct m *m = getm();
    g_set_status(gp, G_SYSCALL, G_RUNNABLE);
    runtime_lock_acquire(&sched.lock);
    struct p *pp = p_idle_get();
    if (pp == NULL)
        global_runq_put(gp);
    runtime_lock_release(&sched.lock);
    if (pp) {
        acquire_p(m, pp);
        runq_put(pp, gp, true);
        return;
    }
    stop_m(m);
}

void exitsyscall(void)
{
    struct m *m = getm();
    struct g *gp = m->curg;
    m->locks++;
    struct p *old = m->old_p;
    m->old_p = NULL;
    uint32_t expected = P_SYSCALL;
    if (old && __atomic_compare_exchange_n(&old->status, &expected, P_IDLE, false, __ATOMIC_ACQ_REL,
                                           __ATOMIC_RELAXED)) {
        // Fast path: nobody took our P while we were away.
        acquire_p(m, old);
        if (gc_marking())
            gc_scan_stack_before_run(gp);
        g_set_status(gp, G_SYSCALL, G_RUNNING);
        m->locks--;
        return;
    }
    runtime_lock_acquire(&sched.lock);
    struct p *pp = p_idle_get();
    runtime_lock_release(&sched.lock);
    if (pp) {
        acquire_p(m, pp);
        if (gc_marking())
            gc_scan_stack_before_run(gp);
        g_set_status(gp, G_SYSCALL, G_RUNNING);
        m->locks--;
        return;
    }
    m->locks--;
    // No P anywhere: leave this thread; the G resumes when an M schedules it.
    mcall(exitsyscall_park_m);
}

/* --- sysmon -------------------------------------------------------------- */

// Asks the G running on pp to stop at its next safe point; with
// `interrupt`, interrupts its M too, to stop it wherever it is.
static void preempt_one(struct p *pp, bool interrupt)
{
    struct m *m = __atomic_load_n(&pp->m, __ATOMIC_ACQUIRE);
    if (m == NULL)
        return;
    struct g *gp = __atomic_load_n(&m->curg, __ATOMIC_ACQUIRE);
    if (gp == NULL)
        return;
    store_relaxed(&gp->preempt, true);
    if (interrupt)
        platform_preempt(m);
}

// Preempts long-running Gs and takes Ps from long system calls.
// Returns how many Ps it took.
static int retake(uint64_t now)
{
    int taken = 0;
    for (int32_t i = 0; i < procs; i++) {
        struct p *pp = all_ps[i];
        uint32_t status = load32(&pp->status);
        uint64_t tick = status == P_RUNNING ? load_relaxed(&pp->schedtick) : load_relaxed(&pp->syscalltick);
        if (status != P_RUNNING && status != P_SYSCALL)
            continue;
        if (pp->sysmon_schedtick != tick) {
            pp->sysmon_schedtick = tick;
            pp->sysmon_when = now;
            continue;
        }
        if (status == P_RUNNING) {
            if (now - pp->sysmon_when >= RUNTIME_TIME_SLICE_NS)
                preempt_one(pp, true);
            continue;
        }
        // In a system call for at least one sysmon period: hand the P on if
        // there is anything for it to do.
        if (runq_empty(pp) && load_i32(&sched.nmspinning) + load_i32(&sched.npidle) > 0 &&
            now - pp->sysmon_when < RUNTIME_TIME_SLICE_NS)
            continue;
        uint32_t expected = P_SYSCALL;
        if (__atomic_compare_exchange_n(&pp->status, &expected, P_IDLE, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            taken++;
            hand_off_p(pp);
        }
    }
    return taken;
}

void runtime_sched_trace(uint64_t now);

static void sysmon(struct m *m)
{
    platform_set_current_m(m);
    uint64_t delay = SYSMON_MIN_DELAY_NS;
    int idle_rounds = 0;
    uint64_t last_trace = platform_nanotime();
    for (;;) {
        uint32_t zero = 0;
        platform_wait(&zero, 0, platform_nanotime() + delay);
        uint64_t now = platform_nanotime();
        store_relaxed(&runtime_coarse_now, now);
        if (__atomic_load_n(&main_done, __ATOMIC_ACQUIRE))
            continue;
        if (retake(now) != 0)
            idle_rounds = 0;
        else
            idle_rounds++;
        // 20 us at first; after 1 ms of nothing to do, back off to 10 ms.
        delay = idle_rounds > 50 ? delay * 2 : SYSMON_MIN_DELAY_NS;
        if (delay > SYSMON_MAX_DELAY_NS)
            delay = SYSMON_MAX_DELAY_NS;
        // Overdue timers with idle Ps and nobody sleeping on them.
        uint64_t when = timers_earliest();
        if (when && when <= now && load_i32(&sched.npidle) > 0)
            wake_p();
        // Goroutines netpoll_signal readied while no M was watching.
        if (netpoll_has_ready() && load_i32(&sched.npidle) > 0)
            wake_p();
        mheap_scavenge_when_idle(now);
        if (schedtrace_ms > 0 && now - last_trace >= (uint64_t)schedtrace_ms * 1000000) {
            last_trace = now;
            runtime_sched_trace(now);
        }
    }
}

static void sysmon_entry(struct m *m)
{
    sysmon(m);
}

/* --- Deadlock detection -------------------------------------------------- */

// Called with sched.lock held whenever an M goes idle. If no M is running
// Go code, no G is in a system call, and no timer is pending, nothing can
// ever make a G runnable again: Go's "all goroutines are asleep".
static void check_dead(void)
{
    if (__atomic_load_n(&main_done, __ATOMIC_ACQUIRE))
        return;
    int32_t running = load_i32(&sched.mcount) - sched.nmidle;
    if (running > 0)
        return;
    if (sched.runq_size > 0)
        return;
    for (int32_t i = 0; i < procs; i++)
        if (load32(&all_ps[i]->status) == P_SYSCALL || !runq_empty(all_ps[i]))
            return;
    if (timers_earliest() != 0)
        return;
    if (netpoll_has_waiters())
        return;   // a device (or another thread) may still wake one
    runtime_lock_release(&sched.lock);
    runtime_throw("all goroutines are asleep - deadlock!");
}

/* --- Start-up ------------------------------------------------------------ */

static struct m *new_m(void)
{
    struct m *m = runtime_zalloc(sizeof *m);
    m->g0 = runtime_zalloc(sizeof *m->g0);
    m->g0->status = G_RUNNING;
    m->id = (uint64_t)__atomic_fetch_add(&sched.mcount, 1, __ATOMIC_ACQ_REL);
    runtime_lock_acquire(&sched.all_lock);
    m->all_link = sched.all_ms;
    sched.all_ms = m;
    runtime_lock_release(&sched.all_lock);
    m->random_state = platform_nanotime() ^ ((m->id + 1) * 0x9E3779B97F4A7C15ull);
    if (m->random_state == 0)
        m->random_state = 1;
    return m;
}

static void main_goroutine(void *argument);
static goroutine_function user_main;
static void *user_main_argument;

static bool memstats_at_exit;

static void main_goroutine(void *argument)
{
    (void)argument;
    user_main(user_main_argument);
    if (memstats_at_exit)
        runtime_print_memstats();
}

int runtime_run(goroutine_function main_function, void *argument, const struct runtime_config *config)
{
    struct runtime_config settings = { 0 };
    if (config)
        settings = *config;
    platform_runtime_defaults(&settings);
    machine_cpus = platform_cpu_count();
    procs = settings.procs > 0 ? settings.procs : machine_cpus;
    if (procs < 1)
        procs = 1;
    schedtrace_ms = settings.schedtrace_ms;
    memstats_at_exit = settings.memstats;
    gc_init(&settings);
    if (settings.stack_reservation)
        stack_reservation = settings.stack_reservation;
    start_time = platform_nanotime();

    all_ps = runtime_zalloc(sizeof *all_ps * (size_t)procs);
    for (int32_t i = 0; i < procs; i++) {
        struct p *pp = runtime_zalloc(sizeof *pp);
        pp->id = i;
        pp->status = P_IDLE;
        timers_init_p(pp);
        pp->mcache = mcache_new();
        pp->gc = gc_p_new();
        all_ps[i] = pp;
    }
    // P 0 goes to the first M; the others wait on the idle list.
    for (int32_t i = procs - 1; i > 0; i--)
        p_idle_put(all_ps[i]);

    user_main = main_function;
    user_main_argument = argument;
    struct g *main_g = new_g(main_goroutine, NULL, NULL);
    global_runq_put(main_g);

    if (platform_has_sysmon_thread) {
        // sysmon: an M of its own, never holding a P, not counted as running
        // Go code (so it is also not counted by deadlock detection).
        struct m *monitor = runtime_zalloc(sizeof *monitor);
        monitor->g0 = runtime_zalloc(sizeof *monitor->g0);
        monitor->id = (uint64_t)-1;
        if (!platform_thread_start(monitor, sysmon_entry))
            runtime_throw("cannot start sysmon");
    }

    struct m *first = new_m();
    first->next_p = all_ps[0];
    if (platform_caller_becomes_m) {
        platform_set_current_m(first);
        runtime_m_start(first);   // never returns
    }
    if (!platform_thread_start(first, runtime_m_start))
        runtime_throw("cannot start the first M");

    while (!__atomic_load_n(&main_done, __ATOMIC_ACQUIRE))
        platform_wait(&main_done, 0, 0);
    return 0;
}

uint64_t runtime_start_time(void)
{
    return start_time;
}
