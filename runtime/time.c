/*
 * Timers and sleeping.
 *
 * Each P keeps its timers in a 4-ary min-heap ordered by deadline (Go's
 * layout: shallower than a binary heap, so fewer cache misses per sift).
 * A timer goes into the heap of the P that starts it, so starting one takes
 * only that P's heap lock, and the heaps of different Ps never contend.
 *
 * Who runs timers: every M checks its own P's heap each time it looks for
 * work (find_runnable), and a spinning M also runs the due timers of the Ps
 * it tries to steal from. When every P is idle, the M that parks last
 * sleeps only until the earliest deadline over all heaps (proc.c's
 * timer_sleeper), and a new timer that is earlier wakes it. So timers fire on
 * time while Ps are idle, and a busy P's timers are picked up by sysmon
 * waking an idle P to steal them.
 *
 * Each heap's earliest deadline is also kept in an atomic (`earliest`), so
 * timers_earliest can scan the Ps without taking a lock.
 *
 * gosleep parks the goroutine and starts its timer from gopark's unlock
 * function -- on the scheduler stack, after the G is marked waiting -- so
 * the timer can never fire and ready a G that is still running.
 */
#include "runtime_internal.h"
#include "timer.h"

#define HEAP_ARITY 4
#define HEAP_INITIAL_CAPACITY 64

struct timer_heap {
    struct runtime_lock lock;
    struct timer **items;
    int32_t count, capacity;
    uint64_t earliest;        // items[0]->when, or 0 when empty (atomic)
};

void timers_init_p(struct p *pp)
{
    pp->timers = runtime_zalloc(sizeof *pp->timers);
}

static void heap_set(struct timer_heap *heap, int32_t index, struct timer *timer)
{
    heap->items[index] = timer;
    timer->heap_index = index;
}

static void sift_up(struct timer_heap *heap, int32_t index)
{
    struct timer *timer = heap->items[index];
    while (index > 0) {
        int32_t parent = (index - 1) / HEAP_ARITY;
        if (heap->items[parent]->when <= timer->when)
            break;
        heap_set(heap, index, heap->items[parent]);
        index = parent;
    }
    heap_set(heap, index, timer);
}

static void sift_down(struct timer_heap *heap, int32_t index)
{
    struct timer *timer = heap->items[index];
    for (;;) {
        int32_t first_child = index * HEAP_ARITY + 1;
        if (first_child >= heap->count)
            break;
        int32_t smallest = first_child;
        for (int32_t child = first_child + 1; child < first_child + HEAP_ARITY && child < heap->count; child++)
            if (heap->items[child]->when < heap->items[smallest]->when)
                smallest = child;
        if (heap->items[smallest]->when >= timer->when)
            break;
        heap_set(heap, index, heap->items[smallest]);
        index = smallest;
    }
    heap_set(heap, index, timer);
}

static void heap_update_earliest(struct timer_heap *heap)
{
    __atomic_store_n(&heap->earliest, heap->count ? heap->items[0]->when : 0, __ATOMIC_RELEASE);
}

static void heap_push(struct timer_heap *heap, struct timer *timer)
{
    if (heap->count == heap->capacity) {
        // Grow by doubling; the old array stays behind (runtime_zalloc never
        // frees), which costs at most as much as the new one.
        int32_t capacity = heap->capacity ? heap->capacity * 2 : HEAP_INITIAL_CAPACITY;
        struct timer **items = runtime_zalloc(sizeof *items * (size_t)capacity);
        for (int32_t i = 0; i < heap->count; i++)
            items[i] = heap->items[i];
        heap->items = items;
        heap->capacity = capacity;
    }
    heap_set(heap, heap->count++, timer);
    sift_up(heap, heap->count - 1);
}

static void heap_remove(struct timer_heap *heap, int32_t index)
{
    heap->items[index]->heap_index = -1;
    heap->count--;
    if (index == heap->count)
        return;
    heap_set(heap, index, heap->items[heap->count]);
    sift_down(heap, index);
    sift_up(heap, heap->items[index]->heap_index);
}

void timer_init(struct timer *timer, void (*function)(void *argument), void *argument)
{
    *timer = (struct timer){ .function = function, .argument = argument, .heap_index = -1 };
}

static void timer_add(struct timer *timer, uint64_t when, uint64_t period)
{
    struct m *m = getm();
    m->locks++;   // stay on this P while we use its heap
    struct p *pp = m->p ? m->p : all_ps[0];
    struct timer_heap *heap = pp->timers;
    runtime_lock_acquire(&heap->lock);
    if (timer->owner)
        runtime_throw("timer_start of a pending timer");
    timer->when = when;
    timer->period = period;
    __atomic_store_n(&timer->owner, pp, __ATOMIC_RELEASE);
    heap_push(heap, timer);
    bool new_earliest = heap->items[0] == timer;
    heap_update_earliest(heap);
    runtime_lock_release(&heap->lock);
    m->locks--;
    if (new_earliest)
        sched_timer_added(when);
}

void timer_start(struct timer *timer, uint64_t delay)
{
    timer_add(timer, platform_nanotime() + delay, 0);
}

void timer_start_periodic(struct timer *timer, uint64_t period)
{
    if (period == 0)
        runtime_throw("timer_start_periodic with a period of 0");
    timer_add(timer, platform_nanotime() + period, period);
}

bool timer_stop(struct timer *timer)
{
    for (;;) {
        struct p *owner = __atomic_load_n(&timer->owner, __ATOMIC_ACQUIRE);
        if (owner == NULL)
            return false;
        struct timer_heap *heap = owner->timers;
        runtime_lock_acquire(&heap->lock);
        if (timer->owner != owner) {
            // Fired, or moved, between our look and the lock: look again.
            runtime_lock_release(&heap->lock);
            continue;
        }
        heap_remove(heap, timer->heap_index);
        __atomic_store_n(&timer->owner, NULL, __ATOMIC_RELEASE);
        heap_update_earliest(heap);
        runtime_lock_release(&heap->lock);
        return true;
    }
}

bool timer_reset(struct timer *timer, uint64_t delay)
{
    bool was_pending = timer_stop(timer);
    timer_start(timer, delay);
    return was_pending;
}

uint64_t timers_run(struct p *pp, uint64_t now)
{
    struct timer_heap *heap = pp->timers;
    uint64_t earliest = __atomic_load_n(&heap->earliest, __ATOMIC_ACQUIRE);
    if (earliest == 0)
        return 0;
    // Read the clock only when there is a timer to compare it with: the
    // scheduler calls this on every round, and most heaps are empty.
    if (now == 0)
        now = platform_nanotime();
    if (earliest > now)
        return earliest;
    runtime_lock_acquire(&heap->lock);
    while (heap->count > 0 && heap->items[0]->when <= now) {
        struct timer *timer = heap->items[0];
        void (*function)(void *) = timer->function;
        void *argument = timer->argument;
        if (timer->period) {
            // A ticker that fell behind skips the ticks it missed.
            timer->when += timer->period;
            if (timer->when <= now)
                timer->when = now + timer->period;
            sift_down(heap, 0);
        } else {
            heap_remove(heap, 0);
            __atomic_store_n(&timer->owner, NULL, __ATOMIC_RELEASE);
        }
        heap_update_earliest(heap);
        // The function may start or stop timers, on this heap too.
        runtime_lock_release(&heap->lock);
        function(argument);
        runtime_lock_acquire(&heap->lock);
    }
    heap_update_earliest(heap);
    earliest = heap->count ? heap->items[0]->when : 0;
    runtime_lock_release(&heap->lock);
    return earliest;
}

bool timers_due(struct p *pp)
{
    uint64_t earliest = __atomic_load_n(&pp->timers->earliest, __ATOMIC_ACQUIRE);
    return earliest != 0 && earliest <= platform_nanotime();
}

uint64_t timers_earliest(void)
{
    uint64_t earliest = 0;
    for (int32_t i = 0; i < procs; i++) {
        uint64_t when = __atomic_load_n(&all_ps[i]->timers->earliest, __ATOMIC_ACQUIRE);
        if (when && (earliest == 0 || when < earliest))
            earliest = when;
    }
    return earliest;
}

/* --- gosleep ------------------------------------------------------------- */

static void sleep_timer_fired(void *argument)
{
    goready(argument);
}

static bool sleep_start_timer(struct g *gp, void *delay)
{
    timer_start(gp->sleep_timer, *(uint64_t *)delay);
    return true;
}

void gosleep(uint64_t nanoseconds)
{
    if (nanoseconds == 0)
        return;
    struct g *gp = getg();
    if (gp->sleep_timer == NULL) {
        gp->sleep_timer = runtime_zalloc(sizeof *gp->sleep_timer);
        timer_init(gp->sleep_timer, sleep_timer_fired, gp);
    }
    gopark(sleep_start_timer, &nanoseconds, WAIT_REASON_SLEEP);
}
