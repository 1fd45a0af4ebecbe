/*
 * The garbage collector's cycle (Go's mgc.go): a concurrent, non-moving
 * tri-colour mark and sweep in Go's four phases.
 *
 *   1. Sweep termination (stop the world, gc_start): the last cycle's
 *      sweeping is finished, the roots of this cycle are listed, the pacer
 *      sets up the workers and the assist ratio, and the write barrier and
 *      black allocation go on. The world restarts.
 *
 *   2. Mark (concurrent): background mark workers -- one goroutine per P,
 *      run by the scheduler when the pacer wants it (dedicated, fractional)
 *      or when the P is idle -- scan the roots and drain the grey set;
 *      goroutines that allocate pay assists (mgcmark.c). Objects allocated
 *      now are black.
 *
 *   3. Mark termination (stop the world, gc_mark_done): when no marker has
 *      work left, every P's write-barrier buffer and work buffers are
 *      flushed; if that turned up grey objects the world restarts and the
 *      mark goes on (Go's gcMarkDone loop); otherwise the barrier goes off,
 *      every P's mcache hands its spans back, checkmark verifies the mark
 *      (gccheckmark=1), the global mcache hands its spans back, and the
 *      sweep generation flips (mheap_begin_sweep).
 *
 *   4. Sweep (concurrent): a background sweeper goroutine, and every
 *      mcache that needs a span, sweep the spans (mgcsweep.c) until the
 *      next cycle.
 *
 * The pauses do a fixed amount of work each, not in proportion to the heap:
 * every stack and every object is dealt with concurrently.
 *
 * A cycle starts when the pacer's trigger is reached (mgcpacer.c; the
 * check is in typed allocation, gc_maybe_start), when runtime_gc asks, or
 * in gcstress mode every N allocations.
 */
#include "mgc.h"
#include "sema.h"
#include <stdio.h>
#include <string.h>

bool gc_checkmark_enabled;
bool gc_single_marker;
bool gc_poison_enabled;
int gc_stress_every;
uint32_t gc_start_wanted;
static bool gc_trace_enabled;

// One start at a time (Go's work.startSema, a semaphore that starts at 1).
// Goroutines that reach the trigger while a start is under way wait for it
// here instead of allocating on: a start first sweeps what is left of the
// last cycle and stops the world, which takes a while (longer when the OS
// has the starter's thread off its CPU), and an allocator running on
// meanwhile would take the heap far past its goal before the mark and its
// assists begin.
static uint32_t gc_start_sema = 1;
static uint32_t gc_mark_done_busy;
static int gc_mark_restarts;
static bool gc_workers_started;
static enum gc_trigger_kind gc_cycle_kind;

// Waiting for a cycle to end (runtime_gc).
static struct runtime_lock gc_cycle_lock;
static uint32_t gc_cycle_waiters;
static uint32_t gc_cycle_sema;

// Workers (and assists) draining right now: the mark ends only when none is.
static int32_t gc_markers_active;

// For gctrace and the statistics.
static struct gc_stats stats;
static struct runtime_lock stats_lock;
static uint64_t cycle_start_ns, cycle_stw1_ns, cycle_mark_ns;
static uint64_t total_gc_cpu_ns;
// gctrace's percentage, as Go's: all but the idle workers' time, which
// used Ps that had nothing else to run.
static uint64_t total_gc_cpu_not_idle_ns;

bool gc_markers_idle(void)
{
    return __atomic_load_n(&gc_markers_active, __ATOMIC_ACQUIRE) == 0;
}

void gc_marker_enter(void)
{
    __atomic_add_fetch(&gc_markers_active, 1, __ATOMIC_ACQ_REL);
}

bool gc_marker_leave(struct p *pp)
{
    // What this P still holds goes where any marker can take it: the P
    // may go idle, or run a goroutine that does not mark, and a P's own
    // buffers are seen by nobody else. Before the count drops, so that the
    // last marker out sees it.
    gc_barrier_flush(pp);
    gc_work_flush(&pp->gc->work);
    bool last = __atomic_sub_fetch(&gc_markers_active, 1, __ATOMIC_ACQ_REL) == 0;
    return last && !gc_mark_work_available();
}

struct p_gc *gc_p_new(void)
{
    return runtime_zalloc(sizeof(struct p_gc));
}

void gc_init(const struct runtime_config *config)
{
    int gogc = config->gogc == 0 ? 100 : config->gogc;
    gc_pacer_init(gogc, config->gomemlimit);
    gc_trace_enabled = config->gctrace;
    gc_checkmark_enabled = config->gccheckmark;
    gc_poison_enabled = config->gccheckmark;
    gc_stress_every = config->gcstress == 1 ? 1000 : config->gcstress;
    gc_single_marker = procs == 1;
    platform_register_gc_roots();
}

int runtime_set_gc_percent(int percent)
{
    runtime_lock_acquire(&stats_lock);
    int old = gc_pacer.gogc;
    gc_pacer_set_gogc(percent < 0 ? -1 : percent);
    runtime_lock_release(&stats_lock);
    return old;
}

/* --- Pauses ---------------------------------------------------------------- */

static void record_pause(uint64_t ns)
{
    runtime_lock_acquire(&stats_lock);
    stats.pauses_ns[stats.pause_count % GC_PAUSE_HISTORY] = ns;
    stats.pause_count++;
    stats.pause_total_ns += ns;
    if (ns > stats.pause_max_ns)
        stats.pause_max_ns = ns;
    runtime_lock_release(&stats_lock);
}

/* --- The background mark workers ------------------------------------------- */

static bool worker_park_unlock(struct g *gp, void *argument)
{
    (void)gp;
    struct p_gc *pg = argument;
    __atomic_store_n(&pg->worker_mode, GC_WORKER_NONE, __ATOMIC_RELEASE);
    return true;
}

// One per P (Go's gcBgMarkWorker). Parked until the scheduler picks it
// (gc_find_mark_worker), marks in the mode it was picked for, parks again.
static void gc_mark_worker(void *argument)
{
    struct p *home = argument;
    struct g *self = getg();
    self->gc_mark_worker = true;
    __atomic_store_n(&home->gc->worker, self, __ATOMIC_RELEASE);
    for (;;) {
        gopark(worker_park_unlock, home->gc, WAIT_REASON_GC_WORKER_IDLE);
        struct p *pp = getm()->p;
        struct p_gc *pg = pp->gc;
        uint32_t mode = __atomic_load_n(&pg->worker_mode, __ATOMIC_ACQUIRE);
        gc_marker_enter();
        uint64_t start = platform_nanotime();
        enum gc_drain_mode drain = mode == GC_WORKER_FRACTIONAL ? GC_DRAIN_FRACTIONAL
                                   : mode == GC_WORKER_IDLE     ? GC_DRAIN_IDLE
                                                                : GC_DRAIN_UNTIL_PREEMPT;
        gc_drain(&pg->work, drain, 0);   // its work becomes assist credit as it goes
        uint64_t elapsed = platform_nanotime() - start;
        pg->worker_ns[mode] += elapsed;
        if (mode == GC_WORKER_FRACTIONAL)
            pg->fractional_ns += elapsed;
        if (mode == GC_WORKER_DEDICATED)
            __atomic_add_fetch(&gc_pacer.dedicated_needed, 1, __ATOMIC_ACQ_REL);
        if (gc_marker_leave(pp))
            gc_mark_done();
    }
}

// Waits until the G that *slot names (set when it first runs) has parked,
// sleeping, not yielding: gosched puts the caller straight back on its own
// P's queue, ahead of any stealing, and a new G queued on another P whose M
// never looks at its queue -- one whose goroutine only enters and leaves
// short system calls, so that sysmon never takes the P -- would wait
// forever (test_world_stops_while_goroutines_enter_system_calls hung so,
// once). An empty queue sends this P to steal it.
#define WORKER_START_POLL_NS (20 * 1000)
static void sleep_until_parked(struct g *const *slot)
{
    for (;;) {
        struct g *gp = __atomic_load_n(slot, __ATOMIC_ACQUIRE);
        if (gp && __atomic_load_n(&gp->status, __ATOMIC_ACQUIRE) == G_WAITING)
            return;
        gosleep(WORKER_START_POLL_NS);
    }
}

static void worker_pool_start(void)
{
    if (gc_workers_started)
        return;
    gc_workers_started = true;
    for (int32_t i = 0; i < procs; i++)
        go(gc_mark_worker, all_ps[i]);
    gc_sweeper_start();
    // Until each has run and parked, as Go's gcBgMarkStartWorkers waits:
    // running them may have woken a P or started a thread, and the stop
    // that comes next would wait for that thread to arrive -- which made
    // the first cycle's pause the longest of a program.
    for (int32_t i = 0; i < procs; i++)
        sleep_until_parked(&all_ps[i]->gc->worker);
    sleep_until_parked(&gc_sweeper);
}

struct g *gc_find_mark_worker(struct p *pp, bool idle)
{
    struct p_gc *pg = pp->gc;
    struct g *worker = __atomic_load_n(&pg->worker, __ATOMIC_ACQUIRE);
    if (worker == NULL || __atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) != GC_MARK)
        return NULL;
    if (__atomic_load_n(&worker->status, __ATOMIC_ACQUIRE) != G_WAITING ||
        __atomic_load_n(&pg->worker_mode, __ATOMIC_ACQUIRE) != GC_WORKER_NONE)
        return NULL;   // running, or not parked yet
    if (!gc_mark_work_available() && gc_work_empty(&pg->work) && pg->barrier_count == 0)
        return NULL;
    uint32_t mode;
    if (idle) {
        mode = GC_WORKER_IDLE;
    } else if (__atomic_sub_fetch(&gc_pacer.dedicated_needed, 1, __ATOMIC_ACQ_REL) >= 0) {
        mode = GC_WORKER_DEDICATED;
    } else {
        __atomic_add_fetch(&gc_pacer.dedicated_needed, 1, __ATOMIC_ACQ_REL);
        if (gc_pacer.fractional_goal <= 0)
            return NULL;
        uint64_t since = platform_nanotime() - gc_pacer.mark_start_ns;
        if (pg->fractional_ns * GC_ONE >= (uint64_t)gc_pacer.fractional_goal * since)
            return NULL;
        mode = GC_WORKER_FRACTIONAL;
    }
    uint32_t none = GC_WORKER_NONE;
    if (!__atomic_compare_exchange_n(&pg->worker_mode, &none, mode, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
        if (mode == GC_WORKER_DEDICATED)
            __atomic_add_fetch(&gc_pacer.dedicated_needed, 1, __ATOMIC_ACQ_REL);
        return NULL;
    }
    // The worker is ours to run: as a waker readies a parked G.
    __atomic_store_n(&worker->status, G_RUNNABLE, __ATOMIC_RELEASE);
    worker->wait_reason = WAIT_REASON_NONE;
    return worker;
}

/* --- Phase 1: sweep termination, and the start of the mark ------------------- */

static void gc_start_cycle(enum gc_trigger_kind kind)
{
    worker_pool_start();
    // The last cycle's spans must all be swept before this one marks:
    // most are, by the background sweeper; the rest now, concurrently.
    mheap_sweep_all();
    gc_mark_roots_reserve();

    uint64_t start = stop_the_world();
    mheap_sweep_all();
    while (__atomic_load_n(&mheap_sweeps_active, __ATOMIC_ACQUIRE) != 0)
        __asm__ volatile("pause");
    cycle_start_ns = start;
    gc_cycle_kind = kind;
    for (int32_t i = 0; i < procs; i++) {
        struct p *pp = all_ps[i];
        struct p_gc *pg = pp->gc;
        // A tiny block from before the mark must not take objects during
        // it: they would be in a block nothing may mark.
        pp->mcache->tiny = 0;
        pp->mcache->tiny_offset = 0;
        if (pg->barrier_count || !gc_work_empty(&pg->work)) {
            struct gc_work_buffer *primary = pg->work.primary, *secondary = pg->work.secondary;
            runtime_throwf("gc: P %d has mark work left from the last cycle: %u barrier entries, %lu + %lu grey objects",
                           pp->id, pg->barrier_count, (unsigned long)(primary ? primary->count : 0),
                           (unsigned long)(secondary ? secondary->count : 0));
        }
        pg->work.bytes_marked = pg->work.scan_work = pg->work.stack_bytes = 0;
        pg->fractional_ns = pg->assist_ns = 0;
        memset(pg->worker_ns, 0, sizeof pg->worker_ns);
    }
    runtime_lock_acquire(&mcache_global_lock);
    mcache_global.tiny = 0;
    mcache_global.tiny_offset = 0;
    runtime_lock_release(&mcache_global_lock);
    gc_mark_restarts = 0;
    __atomic_store_n(&gc_start_wanted, 0, __ATOMIC_RELAXED);
    __atomic_add_fetch(&gc_cycle, 1, __ATOMIC_ACQ_REL);
    gc_mark_roots_prepare();
    uint64_t now = platform_nanotime();
    gc_pacer_start_cycle(now);   // the mark's clock starts now
    __atomic_store_n(&gc_write_barrier_enabled, 1, __ATOMIC_RELEASE);
    __atomic_store_n(&gc_phase, GC_MARK, __ATOMIC_RELEASE);
    uint64_t end = start_the_world();
    cycle_stw1_ns = end - start;
    record_pause(end - start);
}

void gc_start(enum gc_trigger_kind kind)
{
    struct m *m = getm();
    if (m == NULL || m->p == NULL || m->curg == NULL || m->locks || m->preempt_off)
        return;
    if (kind == GC_TRIGGER_HEAP && !gc_pacer_should_start())
        return;
    semacquire1(&gc_start_sema, false, WAIT_REASON_GC_START);
    // Someone else may have started the cycle meanwhile (as Go, look again).
    if (gc_marking() || (kind == GC_TRIGGER_HEAP && !gc_pacer_should_start())) {
        semrelease(&gc_start_sema);
        return;
    }
    gc_start_cycle(kind);
    semrelease(&gc_start_sema);
    // This G was running when the mark began, so its stack is unscanned:
    // off the P and back on, through execute, which scans it.
    gosched();
}

void gc_maybe_start(void)
{
    static uint32_t stress_count;
    if (gc_stress_every && __atomic_add_fetch(&stress_count, 1, __ATOMIC_RELAXED) % (uint32_t)gc_stress_every == 0) {
        gc_start(GC_TRIGGER_STRESS);
        return;
    }
    // The flag only says "look": a span counted during the last mark may
    // have set it against the last cycle's trigger.
    if (__atomic_exchange_n(&gc_start_wanted, 0, __ATOMIC_RELAXED) && !gc_marking())
        gc_start(GC_TRIGGER_HEAP);
}

/* --- Phase 3: mark termination ------------------------------------------------ */

static void print_trace(uint64_t stw2_ns, uint64_t heap_live_at_end, uint64_t heap_goal,
                        const struct gc_cycle_account *cycle);

// How often a mark that found new work at termination goes back to
// concurrent marking before the rest is finished with the world stopped.
#define GC_MARK_RESTARTS_MAX 100

void gc_mark_done(void)
{
    uint32_t expected = 0;
    if (!__atomic_compare_exchange_n(&gc_mark_done_busy, &expected, 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
        return;
    struct m *m = getm();
    if (__atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) != GC_MARK || m->p == NULL || m->locks || m->preempt_off) {
        __atomic_store_n(&gc_mark_done_busy, 0, __ATOMIC_RELEASE);
        return;
    }
    // No span becomes unswept during a mark -- the last generation was all
    // swept before it began, and a span allocated since starts swept -- so
    // the flip's check is made now, outside the pause: at the flip, with
    // the mcentrals gone cold in the caches, it was half of a one-P pause.
    mheap_check_swept();
    uint64_t start = stop_the_world();
    struct p *own = getm()->p;
    struct gc_work *work = &own->gc->work;
    // Every stack must be scanned, and no pointer may wait in a buffer:
    // what that turns up is more marking, done with the world running.
    // (Only work decides: a stack scanned here that found nothing new
    // leaves nothing for anyone to do, and a restart with nothing to do
    // would have no marker run dry to end the mark.)
    gc_scan_remaining_stacks(work);
    gc_barrier_take_pending(work);
    for (int32_t i = 0; i < procs; i++) {
        gc_barrier_flush(all_ps[i]);
        gc_work_flush(&all_ps[i]->gc->work);
    }
    if ((gc_work_global_available() || !gc_mark_roots_done()) && gc_mark_restarts < GC_MARK_RESTARTS_MAX) {
        // Not done after all: back to marking, concurrently. (The flag is
        // cleared with the world still stopped: once it runs again, a
        // marker that runs dry must find it clear, or nobody ends the mark.)
        gc_mark_restarts++;
        __atomic_store_n(&gc_mark_done_busy, 0, __ATOMIC_RELEASE);
        record_pause(start_the_world() - start);
        return;
    }
    __atomic_store_n(&gc_phase, GC_MARK_TERMINATION, __ATOMIC_RELEASE);
    // Whatever is left, with the world stopped: usually nothing.
    for (;;) {
        gc_drain(work, GC_DRAIN_ALL, 0);
        gc_scan_remaining_stacks(work);
        if (gc_work_empty(work) && !gc_mark_work_available() && own->gc->barrier_count == 0)
            break;
    }
    gc_work_check_empty();
    __atomic_store_n(&gc_write_barrier_enabled, 0, __ATOMIC_RELEASE);
    // Every P's spans back to their mcentrals, the marks of the objects
    // allocated from them since the last flush set first. The global
    // mcache's marks only: a thread without a P may allocate from it
    // while the world is stopped, so it is released at the flip, under
    // its lock.
    for (int32_t i = 0; i < procs; i++)
        mcache_release_all(all_ps[i]->mcache);
    runtime_lock_acquire(&mcache_global_lock);
    if (mcache_global.alloc[0])
        gc_flush_new_black_mcache(&mcache_global);
    runtime_lock_release(&mcache_global_lock);
    uint64_t mark_end = platform_nanotime();

    if (gc_checkmark_enabled)
        gc_checkmark_verify();

    struct gc_cycle_account cycle = { 0 };
    for (int32_t i = 0; i < procs; i++) {
        struct p_gc *pg = all_ps[i]->gc;
        cycle.marked += pg->work.bytes_marked;
        cycle.scan_work += (int64_t)pg->work.scan_work;
        cycle.stack_bytes += pg->work.stack_bytes;
        cycle.assist_ns += pg->assist_ns;
        cycle.background_ns += pg->worker_ns[GC_WORKER_DEDICATED] + pg->worker_ns[GC_WORKER_FRACTIONAL];
        cycle.idle_ns += pg->worker_ns[GC_WORKER_IDLE];
        pg->work.bytes_marked = pg->work.scan_work = pg->work.stack_bytes = 0;
    }
    gc_roots_lock();
    for (struct gc_root *root = gc_roots_first(); root; root = root->next)
        cycle.global_bytes += root->size;
    gc_roots_unlock();

    // The global mcache's spans back too, then the flip: every span
    // unswept. (With the lock held across both, no span is cached between.)
    runtime_lock_acquire(&mcache_global_lock);
    if (mcache_global.alloc[0])
        mcache_release_all(&mcache_global);
    uint64_t heap_live_at_end = __atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED);
    uint64_t heap_goal = gc_pacer.heap_goal;   // this cycle's, for the trace
    mheap_begin_sweep();
    runtime_lock_release(&mcache_global_lock);
    gc_pacer_end_cycle(mark_end, &cycle);
    __atomic_store_n(&gc_phase, GC_OFF, __ATOMIC_RELEASE);

    uint64_t end = platform_nanotime();
    uint64_t stw2 = end - start;
    cycle_mark_ns = start > gc_pacer.mark_start_ns ? start - gc_pacer.mark_start_ns : 0;
    runtime_lock_acquire(&stats_lock);
    stats.cycles++;
    if (gc_cycle_kind == GC_TRIGGER_FORCED)
        stats.forced_cycles++;
    stats.assist_ns += cycle.assist_ns;
    stats.mark_worker_ns += cycle.background_ns + cycle.idle_ns;
    uint64_t cpu = (cycle_stw1_ns + stw2) * (uint64_t)procs + cycle.assist_ns + cycle.background_ns + cycle.idle_ns;
    total_gc_cpu_ns += cpu;
    total_gc_cpu_not_idle_ns += cpu - cycle.idle_ns;
    stats.gc_cpu_ns = total_gc_cpu_ns;
    runtime_lock_release(&stats_lock);
    __atomic_store_n(&gc_mark_done_busy, 0, __ATOMIC_RELEASE);
    record_pause(start_the_world() - start);
    gc_wake_all_assists();   // the mark is over: no debt is owed any more

    // The trace line before the waiters wake: a program that ends right
    // after runtime_gc still prints its last cycle.
    if (gc_trace_enabled)
        print_trace(stw2, heap_live_at_end, heap_goal, &cycle);
    gc_sweeper_wake();
    runtime_lock_acquire(&gc_cycle_lock);
    uint32_t waiters = gc_cycle_waiters;
    gc_cycle_waiters = 0;
    runtime_lock_release(&gc_cycle_lock);
    for (uint32_t i = 0; i < waiters; i++)
        semrelease(&gc_cycle_sema);
}

/* --- gctrace ---------------------------------------------------------------- */

// Milliseconds as Go's gctrace writes them: whole milliseconds from 10 ms
// up; below, two significant digits and at most three decimals (19, 3.5,
// 0.83, 0.011, 0).
static void format_ms(char *text, size_t size, uint64_t ns)
{
    if (ns >= 10000000) {
        snprintf(text, size, "%llu", (unsigned long long)(ns / 1000000));
        return;
    }
    uint64_t digits = ns / 1000;   // microseconds: three decimals of a millisecond
    int decimals = 3;
    if (digits == 0) {
        snprintf(text, size, "0");
        return;
    }
    while (digits >= 100) {
        digits /= 10;
        decimals--;
    }
    uint64_t scale = decimals == 3 ? 1000 : decimals == 2 ? 100 : decimals == 1 ? 10 : 1;
    if (decimals == 0)
        snprintf(text, size, "%llu", (unsigned long long)digits);
    else
        snprintf(text, size, "%llu.%0*llu", (unsigned long long)(digits / scale), decimals,
                 (unsigned long long)(digits % scale));
}

static uint64_t megabytes(uint64_t bytes)
{
    return bytes >> 20;
}

// One line per cycle, Go's format (GODEBUG=gctrace=1):
//   gc 7 @1.234s 3%: 0.021+1.5+0.034 ms clock, 0.042+0.30/1.1/0.20+0.068 ms cpu, 12->13->6 MB, 14 MB goal, 0 MB stacks, 0 MB globals, 2 P
static void print_trace(uint64_t stw2_ns, uint64_t heap_live_at_end, uint64_t heap_goal,
                        const struct gc_cycle_account *cycle)
{
    uint64_t since_start = cycle_start_ns - runtime_start_time();
    uint64_t elapsed = platform_nanotime() - runtime_start_time();
    uint64_t percent = elapsed ? total_gc_cpu_not_idle_ns * 100 / (elapsed * (uint64_t)procs) : 0;
    char stw1[24], mark[24], stw2[24], stw1_cpu[24], assist[24], background[24], idle[24], stw2_cpu[24];
    format_ms(stw1, sizeof stw1, cycle_stw1_ns);
    format_ms(mark, sizeof mark, cycle_mark_ns);
    format_ms(stw2, sizeof stw2, stw2_ns);
    format_ms(stw1_cpu, sizeof stw1_cpu, cycle_stw1_ns * (uint64_t)procs);
    format_ms(assist, sizeof assist, cycle->assist_ns);
    format_ms(background, sizeof background, cycle->background_ns);
    format_ms(idle, sizeof idle, cycle->idle_ns);
    format_ms(stw2_cpu, sizeof stw2_cpu, stw2_ns * (uint64_t)procs);
    runtime_printf("gc %llu @%llu.%03llus %llu%%: %s+%s+%s ms clock, %s+%s/%s/%s+%s ms cpu, "
                   "%llu->%llu->%llu MB, %llu MB goal, %llu MB stacks, %llu MB globals, %d P%s\n",
                   (unsigned long long)__atomic_load_n(&gc_cycle, __ATOMIC_RELAXED),
                   (unsigned long long)(since_start / 1000000000), (unsigned long long)(since_start / 1000000 % 1000),
                   (unsigned long long)percent, stw1, mark, stw2, stw1_cpu, assist, background, idle, stw2_cpu,
                   (unsigned long long)megabytes(gc_pacer.heap_live_at_start),
                   (unsigned long long)megabytes(heap_live_at_end), (unsigned long long)megabytes(cycle->marked),
                   (unsigned long long)megabytes(heap_goal), (unsigned long long)megabytes(cycle->stack_bytes),
                   (unsigned long long)megabytes(cycle->global_bytes), procs,
                   gc_cycle_kind == GC_TRIGGER_FORCED ? " (forced)" : "");
}

/* --- runtime_gc and the statistics ----------------------------------------------- */

// Sleeps until at least `cycles` cycles have completed.
static void wait_for_cycles(uint64_t cycles)
{
    for (;;) {
        runtime_lock_acquire(&gc_cycle_lock);
        runtime_lock_acquire(&stats_lock);
        bool done = stats.cycles >= cycles;
        runtime_lock_release(&stats_lock);
        if (done) {
            runtime_lock_release(&gc_cycle_lock);
            return;
        }
        gc_cycle_waiters++;
        runtime_lock_release(&gc_cycle_lock);
        semacquire1(&gc_cycle_sema, false, WAIT_REASON_GC_CYCLE);
    }
}

static uint64_t cycles_completed(void)
{
    runtime_lock_acquire(&stats_lock);
    uint64_t cycles = stats.cycles;
    runtime_lock_release(&stats_lock);
    return cycles;
}

void runtime_gc(void)
{
    // A cycle in progress may have started before our call: it does not
    // count. The next complete one does.
    uint64_t target = cycles_completed() + (gc_marking() ? 2 : 1);
    while (cycles_completed() < target) {
        if (!gc_marking()) {
            gc_start(GC_TRIGGER_FORCED);
            if (!gc_marking() && cycles_completed() < target) {
                gosched();   // someone else is starting one; let them
                continue;
            }
        }
        wait_for_cycles(cycles_completed() + 1 > target ? target : cycles_completed() + 1);
    }
    // Go's runtime.GC also sweeps the whole heap before it returns, so
    // that what it freed shows in the statistics.
    mheap_sweep_all();
    while (__atomic_load_n(&mheap_sweeps_active, __ATOMIC_ACQUIRE) != 0)
        gosched();
}

void runtime_read_gc_stats(struct gc_stats *out)
{
    runtime_lock_acquire(&stats_lock);
    *out = stats;
    runtime_lock_release(&stats_lock);
    out->heap_live = __atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED);
    out->heap_marked = gc_pacer.heap_marked;
    out->heap_goal = gc_pacer.heap_goal;
    out->heap_trigger = __atomic_load_n(&gc_pacer.trigger, __ATOMIC_RELAXED);
    uint64_t freed = 0;
    for (uint32_t i = 0; i <= SIZE_CLASS_COUNT; i++)
        freed += __atomic_load_n(&sweep_frees[i], __ATOMIC_RELAXED);
    out->objects_freed = freed;
}
