/*
 * The pacer (Go's mgcpacer.go, the design of Go 1.5-1.17): when to start a
 * cycle and how hard goroutines must help, so that the mark finishes as
 * the heap reaches its goal.
 *
 *   goal     GOGC sets it: after a mark that found `marked` bytes live, the
 *            heap may grow to marked * (1 + GOGC/100) before the next mark
 *            must be done (4 MiB at least). A memory limit (gomemlimit=, Go
 *            1.19) lowers the goal when the heap would pass it.
 *
 *   trigger  the mark takes time, and the program allocates meanwhile, so
 *            it must start before the goal: at marked * (1 + trigger_ratio).
 *            After each cycle a proportional controller moves the ratio by
 *            how the cycle went: if the heap overshot the goal, or the mark
 *            needed more than the 25% of CPU it was meant to take (assists
 *            beyond the workers), start earlier next time; if it finished
 *            early, later.
 *
 *   workers  the mark should take 25% of the CPU: procs/4 Ps run a
 *            dedicated mark worker; when that is not a whole number close
 *            enough, fractional workers take the rest, each P marking a
 *            share of its time.
 *
 *   assists  between the trigger and the goal there are `goal - live` bytes
 *            of allocation left and about `scan_work_expected` bytes of
 *            scanning to do; every goroutine that allocates a byte during
 *            the mark owes scan_work_expected / (goal - live) bytes of
 *            scanning. Work the background workers do beyond that is
 *            credit that assists draw on first.
 *
 * heap_live counts whole spans as they are handed to an mcache (their free
 * objects will be allocated) and large objects as they are allocated; the
 * mark resets it to what it found live.
 */
#include "mgc.h"

struct gc_pacer gc_pacer;

#define GC_HEAP_MINIMUM ((uint64_t)4 << 20)   // Go's heapMinimum at GOGC=100
#define GC_BACKGROUND_UTILIZATION 0.25       // the workers' share of the CPU
#define GC_GOAL_UTILIZATION 0.30             // what the controller aims the whole mark at
#define GC_MAX_UTILIZATION_ERROR 0.30        // how far dedicated workers may miss 25%

static uint64_t heap_goal_for(uint64_t marked)
{
    uint64_t goal = UINT64_MAX / 4;   // GOGC off: only the memory limit, if any
    if (gc_pacer.gogc >= 0) {
        uint64_t minimum = GC_HEAP_MINIMUM * (uint64_t)(gc_pacer.gogc > 0 ? gc_pacer.gogc : 1) / 100;
        goal = marked + marked * (uint64_t)gc_pacer.gogc / 100;
        if (goal < minimum)
            goal = minimum;
    }
    if (gc_pacer.memory_limit) {
        // The limit takes precedence, but the heap must be allowed to grow
        // a little beyond what is live, or every allocation would collect.
        uint64_t floor = marked + marked / 16 + (1u << 20);
        uint64_t limited = gc_pacer.memory_limit > floor ? gc_pacer.memory_limit : floor;
        if (goal > limited)
            goal = limited;
    }
    return goal;
}

static void set_trigger(void)
{
    uint64_t marked = gc_pacer.heap_marked;
    uint64_t goal = gc_pacer.heap_goal;
    uint64_t trigger = marked + (uint64_t)((double)marked * gc_pacer.trigger_ratio);
    // At least a little room to allocate, at most most of the way to the goal.
    uint64_t lowest = marked + (goal - marked) / 2;
    uint64_t highest = goal - (goal - marked) / 20;
    if (marked == 0 || trigger < lowest)
        trigger = lowest;
    if (trigger > highest)
        trigger = highest;
    __atomic_store_n(&gc_pacer.trigger, trigger, __ATOMIC_RELEASE);
}

void gc_pacer_init(int gogc, uint64_t memory_limit)
{
    gc_pacer.gogc = gogc;
    gc_pacer.memory_limit = memory_limit;
    gc_pacer.trigger_ratio = 7.0 / 8.0 * (gogc > 0 ? gogc : 100) / 100.0;
    gc_pacer.heap_marked = 0;
    gc_pacer.heap_goal = heap_goal_for(0);
    set_trigger();
}

void gc_pacer_set_gogc(int gogc)
{
    gc_pacer.gogc = gogc;
    gc_pacer.heap_goal = heap_goal_for(gc_pacer.heap_marked);
    set_trigger();
}

bool gc_pacer_heap_grew(uint64_t bytes)
{
    uint64_t live = __atomic_add_fetch(&gc_pacer.heap_live, bytes, __ATOMIC_RELAXED);
    return live >= __atomic_load_n(&gc_pacer.trigger, __ATOMIC_RELAXED);
}

bool gc_pacer_should_start(void)
{
    if (gc_pacer.gogc < 0 && gc_pacer.memory_limit == 0)
        return false;
    return __atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED) >= __atomic_load_n(&gc_pacer.trigger, __ATOMIC_RELAXED);
}

void gc_pacer_revise(void)
{
    uint64_t live = __atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED);
    int64_t remaining_work = gc_pacer.scan_work_expected;
    for (int32_t i = 0; i < procs; i++)
        remaining_work -= (int64_t)load_relaxed(&all_ps[i]->gc->work.scan_work);
    if (remaining_work < 1000)
        remaining_work = 1000;
    // Past the goal, aim at a hard limit 10% beyond it, as Go does.
    uint64_t goal = gc_pacer.heap_goal;
    if (live + (1u << 20) > goal)
        goal = goal + goal / 10 > live + (1u << 20) ? goal + goal / 10 : live + (1u << 20);
    uint64_t distance = goal - live;
    uint64_t ratio = (uint64_t)(((__uint128_t)(uint64_t)remaining_work << 16) / distance);
    __atomic_store_n(&gc_pacer.assist_work_per_byte_x65536, ratio ? ratio : 1, __ATOMIC_RELAXED);
}

void gc_pacer_start_cycle(uint64_t now)
{
    gc_pacer.mark_start_ns = now;
    gc_pacer.heap_live_at_start = __atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED);
    __atomic_store_n(&gc_pacer.bg_scan_credit, 0, __ATOMIC_RELAXED);
    // Workers: 25% of the Ps, dedicated when that is near enough a whole
    // number, fractional for the rest (Go's startCycle).
    double goal = (double)procs * GC_BACKGROUND_UTILIZATION;
    int32_t dedicated = (int32_t)(goal + 0.5);
    double error = dedicated > 0 ? (double)dedicated / goal - 1 : -1;
    double fractional = 0;
    if (error < -GC_MAX_UTILIZATION_ERROR || error > GC_MAX_UTILIZATION_ERROR) {
        if ((double)dedicated > goal)
            dedicated--;
        fractional = (goal - dedicated) / procs;
    }
    gc_pacer.dedicated_workers = dedicated;
    __atomic_store_n(&gc_pacer.dedicated_needed, dedicated, __ATOMIC_RELEASE);
    gc_pacer.fractional_goal = fractional;
    // Scan work expected: what the last mark did, grown with the heap.
    int64_t expected = gc_pacer.last_scan_work;
    if (gc_pacer.heap_marked && gc_pacer.heap_live_at_start > gc_pacer.heap_marked)
        expected = (int64_t)((double)expected * (double)gc_pacer.heap_live_at_start / (double)gc_pacer.heap_marked);
    if (expected < (int64_t)(gc_pacer.heap_live_at_start / 2))
        expected = (int64_t)(gc_pacer.heap_live_at_start / 2);
    gc_pacer.scan_work_expected = expected;
    gc_pacer_revise();
}

void gc_pacer_end_cycle(uint64_t now, uint64_t heap_marked, int64_t scan_work, uint64_t assist_ns)
{
    // The controller, as Go 1.17's endCycle.
    if (gc_pacer.heap_marked > 0 && gc_pacer.gogc > 0) {
        double goal_growth = (double)gc_pacer.gogc / 100;
        double actual_growth =
            (double)__atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED) / (double)gc_pacer.heap_marked - 1;
        double duration = (double)(now - gc_pacer.mark_start_ns);
        double utilization = GC_BACKGROUND_UTILIZATION;
        if (duration > 0)
            utilization += (double)assist_ns / (duration * procs);
        double error = goal_growth - gc_pacer.trigger_ratio -
                       utilization / GC_GOAL_UTILIZATION * (actual_growth - gc_pacer.trigger_ratio);
        gc_pacer.trigger_ratio += 0.5 * error;
        if (gc_pacer.trigger_ratio < 0.1 * goal_growth)
            gc_pacer.trigger_ratio = 0.1 * goal_growth;
        if (gc_pacer.trigger_ratio > 0.95 * goal_growth)
            gc_pacer.trigger_ratio = 0.95 * goal_growth;
    }
    gc_pacer.heap_marked = heap_marked;
    gc_pacer.last_scan_work = scan_work;
    __atomic_store_n(&gc_pacer.heap_live, heap_marked, __ATOMIC_RELAXED);
    gc_pacer.heap_goal = heap_goal_for(heap_marked);
    set_trigger();
}

/* --- Settings as text --------------------------------------------------------- */

bool runtime_parse_gogc(const char *text, int *gogc)
{
    if (text[0] == 'o' && text[1] == 'f' && text[2] == 'f' && text[3] == '\0') {
        *gogc = -1;
        return true;
    }
    long value = 0;
    const char *at = text;
    if (*at == '\0')
        return false;
    for (; *at >= '0' && *at <= '9'; at++) {
        value = value * 10 + (*at - '0');
        if (value > 1000000)
            return false;
    }
    if (*at != '\0')
        return false;
    *gogc = (int)value;
    return true;
}

bool runtime_parse_memory_limit(const char *text, uint64_t *bytes)
{
    uint64_t value = 0;
    const char *at = text;
    if (*at < '0' || *at > '9')
        return false;
    for (; *at >= '0' && *at <= '9'; at++) {
        if (value > UINT64_MAX / 10)
            return false;
        value = value * 10 + (uint64_t)(*at - '0');
    }
    static const struct { const char *suffix; unsigned shift; } units[] = {
        { "", 0 }, { "B", 0 }, { "KiB", 10 }, { "MiB", 20 }, { "GiB", 30 }, { "TiB", 40 },
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        const char *a = at, *b = units[i].suffix;
        while (*a && *a == *b) {
            a++;
            b++;
        }
        if (*a == '\0' && *b == '\0') {
            if (units[i].shift && value > UINT64_MAX >> units[i].shift)
                return false;
            *bytes = value << units[i].shift;
            return true;
        }
    }
    return false;
}
