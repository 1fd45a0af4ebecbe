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
 *
 * Ratios are fixed point, GC_ONE (65536) standing for 1.0: the kernel runs
 * without floating point (no SSE state is saved on interrupts) and without
 * libgcc (no 128-bit division).
 */
#include "mgc.h"

struct gc_pacer gc_pacer;

#define GC_HEAP_MINIMUM ((uint64_t)4 << 20)          // Go's heapMinimum at GOGC=100
#define GC_BACKGROUND_UTILIZATION (GC_ONE / 4)      // the workers' share of the CPU: 0.25
#define GC_GOAL_UTILIZATION (GC_ONE * 3 / 10)       // what the controller aims the whole mark at: 0.30
#define GC_MAX_UTILIZATION_ERROR (GC_ONE * 3 / 10)  // how far dedicated workers may miss 25%: 0.30

// value * numerator / denominator without overflowing 64 bits, for byte
// counts and durations up to about 2^40: both factors are first brought
// under 2^24 (keeping 24 bits of precision, plenty for a pacer).
static uint64_t scale(uint64_t value, uint64_t numerator, uint64_t denominator)
{
    while (numerator >= (1u << 24) || denominator >= (1u << 24)) {
        numerator >>= 1;
        denominator >>= 1;
    }
    if (denominator == 0)
        return value;
    return value / denominator * numerator + value % denominator * numerator / denominator;
}

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
    uint64_t trigger = marked + scale(marked, (uint64_t)gc_pacer.trigger_ratio, GC_ONE);
    // At least 70% of the way to the goal (Go 1.19's bound, 45/64 in its
    // mgcpacer.go; 1.17's was 60%): a trigger too early keeps a fast
    // allocator's GC always on, allocating black. At a small heap each
    // cycle costs more than it frees: at 60%, 4 million 64-byte objects on
    // two Ps took 112 cycles (Go 1.19 took 78) and 29-40 ms, at 70% 26 ms.
    // At most 95%: some room must be left for assists to pace by.
    uint64_t lowest = marked + (goal - marked) * 7 / 10;
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
    gc_pacer.trigger_ratio = (int64_t)GC_ONE * 7 / 8 * (gogc > 0 ? gogc : 100) / 100;
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
    // Past the estimate the mark is not done yet either: assume a tenth
    // of it is still to come, rather than nothing.
    if (remaining_work < gc_pacer.scan_work_expected / 10)
        remaining_work = gc_pacer.scan_work_expected / 10;
    if (remaining_work < 1000)
        remaining_work = 1000;
    // Past the goal, aim at a hard limit 10% beyond it, as Go does; past
    // that, every byte costs the most there is (the ratio's cap below):
    // the allocating goroutine marks until the mark is done.
    uint64_t goal = gc_pacer.heap_goal;
    if (live > goal)
        goal += goal / 10;
    uint64_t distance = live < goal ? goal - live : 1;
    uint64_t ratio = scale((uint64_t)remaining_work, GC_ONE, distance);
    if (ratio > (uint64_t)GC_ONE * 256)
        ratio = (uint64_t)GC_ONE * 256;   // 256 bytes of scanning per byte: plenty, and no overflow later
    __atomic_store_n(&gc_pacer.assist_work_per_byte_x65536, ratio ? ratio : 1, __ATOMIC_RELAXED);
}

void gc_pacer_start_cycle(uint64_t now)
{
    gc_pacer.mark_start_ns = now;
    gc_pacer.heap_live_at_start = __atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED);
    __atomic_store_n(&gc_pacer.bg_scan_credit, 0, __ATOMIC_RELAXED);
    // Workers: 25% of the Ps, dedicated when that is near enough a whole
    // number, fractional for the rest (Go's startCycle).
    int64_t goal = (int64_t)procs * GC_BACKGROUND_UTILIZATION;   // in Ps, fixed point
    int32_t dedicated = (int32_t)((goal + GC_ONE / 2) / GC_ONE);
    int64_t error = dedicated > 0 ? (int64_t)dedicated * GC_ONE * GC_ONE / goal - GC_ONE : -GC_ONE;
    int64_t fractional = 0;
    if (error < -GC_MAX_UTILIZATION_ERROR || error > GC_MAX_UTILIZATION_ERROR) {
        if ((int64_t)dedicated * GC_ONE > goal)
            dedicated--;
        fractional = (goal - (int64_t)dedicated * GC_ONE) / procs;
    }
    gc_pacer.dedicated_workers = dedicated;
    __atomic_store_n(&gc_pacer.dedicated_needed, dedicated, __ATOMIC_RELEASE);
    gc_pacer.fractional_goal = (uint32_t)fractional;
    // Scan work expected: what the last mark did. (Not grown with the heap
    // since: the heap between trigger and goal is mostly garbage, and a
    // mark expected to be larger than it is makes assists overpay, ending
    // it early -- more cycles for the same program.)
    int64_t expected = gc_pacer.last_scan_work;
    if (expected < (int64_t)(gc_pacer.heap_live_at_start / 2))
        expected = (int64_t)(gc_pacer.heap_live_at_start / 2);
    gc_pacer.scan_work_expected = expected;
    gc_pacer_revise();
}

void gc_pacer_end_cycle(uint64_t now, const struct gc_cycle_account *cycle)
{
    // The controller, as Go 1.17's endCycle.
    if (gc_pacer.heap_marked > 0 && gc_pacer.gogc > 0) {
        int64_t goal_growth = (int64_t)gc_pacer.gogc * GC_ONE / 100;
        int64_t actual_growth =
            (int64_t)scale(__atomic_load_n(&gc_pacer.heap_live, __ATOMIC_RELAXED), GC_ONE, gc_pacer.heap_marked) -
            GC_ONE;
        uint64_t duration = now - gc_pacer.mark_start_ns;
        int64_t utilization = GC_BACKGROUND_UTILIZATION;
        if (duration > 0)
            utilization += (int64_t)scale(cycle->assist_ns, GC_ONE, duration * (uint64_t)procs);
        int64_t error = goal_growth - gc_pacer.trigger_ratio -
                        utilization * (actual_growth - gc_pacer.trigger_ratio) / GC_GOAL_UTILIZATION;
        gc_pacer.trigger_ratio += error / 2;
        if (gc_pacer.trigger_ratio < goal_growth / 10)
            gc_pacer.trigger_ratio = goal_growth / 10;
        if (gc_pacer.trigger_ratio > goal_growth * 95 / 100)
            gc_pacer.trigger_ratio = goal_growth * 95 / 100;
    }
    gc_pacer.heap_marked = cycle->marked;
    gc_pacer.last_scan_work = cycle->scan_work;
    __atomic_store_n(&gc_pacer.heap_live, cycle->marked, __ATOMIC_RELAXED);
    gc_pacer.heap_goal = heap_goal_for(cycle->marked);
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
    if (*at != '\0' || value == 0)
        return false;   // 0 is not a setting: runtime_config's 0 means the default, 100
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
