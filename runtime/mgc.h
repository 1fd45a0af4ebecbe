/*
 * mgc.h: the collector's internal pieces and how they fit (Go's mgc.go,
 * mgcmark.go, mgcwork.go, mbarrier.go, mgcpacer.go, under the same names;
 * docs/gc.md tells the story).
 *
 *   mgc.c        the cycle: start (sweep termination), the background mark
 *                workers, mark termination, statistics, gctrace, runtime_gc
 *   mgcmark.c    marking: roots (stacks, registered roots), shading, scanning
 *                objects by their pointer bits, draining work, mark assists
 *   mgcwork.c    the grey set: per-P work buffers and the global lists
 *   mbarrier.c   the write barrier and its per-P buffer
 *   mgcpacer.c   the pacer: when to start, how much to assist
 *   mgccheckmark.c  the checkmark verification (gccheckmark=1)
 *   mgcsweep.c   sweeping (from the allocator) and the background sweeper
 *
 * Colours: an object is white until marked; marked and queued for
 * scanning, grey; marked and scanned (or marked and pointer-free, or
 * allocated during the mark), black. Mark bits live in the span
 * (gcmark_bits); "grey" is "marked and in some work buffer".
 */
#ifndef HARDWAY_RUNTIME_MGC_H
#define HARDWAY_RUNTIME_MGC_H

#include "gc.h"
#include "mheap.h"
#include "runtime_internal.h"

/* --- Phases ------------------------------------------------------------------ */

enum gc_phase {
    GC_OFF,               // not collecting; sweeping may be going on
    GC_MARK,              // marking concurrently: barrier on, new objects black
    GC_MARK_TERMINATION,  // the world is stopped to finish the mark
};

extern uint32_t gc_phase;        // enum gc_phase (atomic)
extern uint32_t gc_cycle;        // the number of the cycle marking or last marked (atomic)

static inline bool gc_marking(void)
{
    return __atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) != GC_OFF;
}

/* --- The grey set (mgcwork.c) --------------------------------------------------
 * Go's gcWork: each P pushes and pops pointers to grey objects in two
 * buffers of its own, with no lock; full buffers go to a global list that
 * idle markers take from, which is how the work spreads over the Ps. */

#define GC_WORK_BUFFER_ENTRIES 254

struct gc_work_buffer {
    struct gc_work_buffer *next;
    uint64_t count;
    uintptr_t entries[GC_WORK_BUFFER_ENTRIES];
};

struct gc_work {
    struct gc_work_buffer *primary, *secondary;
    uint64_t bytes_marked;       // bytes of objects this gc_work marked, this cycle
    uint64_t scan_work;          // bytes scanned, this cycle
    uint64_t stack_bytes;        // of those, in goroutine stacks
};

// Pushes a grey object. Inline: the markers' inner loop; when the primary
// buffer is full (or missing), gc_work_put_slow swaps or trades buffers.
void gc_work_put_slow(struct gc_work *work, uintptr_t object);
static inline void gc_work_put(struct gc_work *work, uintptr_t object)
{
    struct gc_work_buffer *buffer = work->primary;
    if (__builtin_expect(buffer == NULL || buffer->count == GC_WORK_BUFFER_ENTRIES, 0)) {
        gc_work_put_slow(work, object);
        return;
    }
    buffer->entries[buffer->count++] = object;
}
// The next grey object, from this gc_work or the global list; 0 if none.
uintptr_t gc_work_get(struct gc_work *work);
// Only this gc_work's own buffers (no global list); the primary's inline.
uintptr_t gc_work_get_local_slow(struct gc_work *work);
static inline uintptr_t gc_work_get_local(struct gc_work *work)
{
    struct gc_work_buffer *buffer = work->primary;
    if (__builtin_expect(buffer != NULL && buffer->count > 0, 1))
        return buffer->entries[--buffer->count];
    return gc_work_get_local_slow(work);
}
// Moves this gc_work's buffered objects to the global list.
void gc_work_flush(struct gc_work *work);
// Shares some of this gc_work's objects through the global list, which has
// run dry (Go's gcWork.balance): one marker deep in a tree would otherwise
// keep all of it while the others -- and assists -- find nothing.
void gc_work_balance(struct gc_work *work);
bool gc_work_empty(const struct gc_work *work);
// Whether the global list has any object.
bool gc_work_global_available(void);
// Every buffer on the global list must be empty when a cycle ends.
void gc_work_check_empty(void);

/* --- Per-P state -------------------------------------------------------------- */

#define GC_BARRIER_BUFFER_ENTRIES 512

enum gc_worker_mode {
    GC_WORKER_NONE,
    GC_WORKER_DEDICATED,   // marks for as long as there is work (a whole P, 25% of them)
    GC_WORKER_FRACTIONAL,  // marks for a fraction of this P's time
    GC_WORKER_IDLE,        // marks because the P has nothing else to do
};

struct p_gc {
    struct gc_work work;
    // The write barrier's buffer (mbarrier.c): pointers to shade, later.
    uint32_t barrier_count;
    uintptr_t barrier_buffer[GC_BARRIER_BUFFER_ENTRIES];
    struct g *worker;            // this P's background mark worker
    uint32_t worker_mode;        // enum gc_worker_mode of the run in progress
    uint64_t fractional_ns;      // time this P's fractional worker marked, this cycle
    uint64_t assist_ns;          // time spent in assists on this P, this cycle
    uint64_t worker_ns[4];       // mark worker time by mode, this cycle
};

struct p_gc *gc_p_new(void);

/* --- Marking (mgcmark.c) ------------------------------------------------------ */

// Shades the object holding `address`, if it is a collected heap object:
// marks it, and queues it for scanning unless it holds no pointers.
void gc_shade(struct gc_work *work, uintptr_t address);
// Shades every word in [start, start + size) that points into an object.
void gc_scan_conservative(struct gc_work *work, uintptr_t start, size_t size);
// Scans a grey object precisely by its pointer bits.
void gc_scan_object(struct gc_work *work, uintptr_t object);
// The execute/exitsyscall hook: scans gp's stack if this mark has not yet.
void gc_scan_stack_before_run(struct g *gp);
// A new G in the mark: its stack is empty, so it counts as scanned; its
// argument is shaded.
void gc_new_g(struct g *gp);

enum gc_drain_mode {
    GC_DRAIN_UNTIL_PREEMPT,  // dedicated workers
    GC_DRAIN_IDLE,           // idle workers: until the P has something else to run
    GC_DRAIN_FRACTIONAL,     // until the P's fractional share is used
    GC_DRAIN_BUDGET,         // assists: until this much scan work is done
    GC_DRAIN_ALL,            // mark termination, the world stopped: until no work is left
};
// Marks: the P's own grey objects, then root jobs, then grey objects from
// the global list, until out of work or told to stop.
// Returns the scan work done.
int64_t gc_drain(struct gc_work *work, enum gc_drain_mode mode, int64_t budget);
// Whether any marking is left to do anywhere (roots or grey objects).
bool gc_mark_work_available(void);
// Readies every goroutine waiting for assist credit; after a mark ends.
void gc_wake_all_assists(void);

// The roots of a cycle, set up with the world stopped.
void gc_mark_roots_prepare(void);
// Makes room for the root list before the world stops, so that
// gc_mark_roots_prepare seldom allocates while it is stopped.
void gc_mark_roots_reserve(void);
bool gc_mark_roots_done(void);
// With the world stopped: every G's stack not yet scanned, scanned (a G
// that was running when the cycle started and has not run since, say).
void gc_scan_remaining_stacks(struct gc_work *work);

// The registered roots (gc_add_root), for the mark and for checkmark.
struct gc_root {
    uintptr_t start;
    size_t size;
    const char *name;
    struct gc_root *next, *prev;
};
// Registers a root whose record the caller owns (no allocation), e.g. a
// channel's ring; gc_root_remove takes it out.
void gc_root_add(struct gc_root *root);
void gc_root_remove(struct gc_root *root);
void gc_roots_lock(void);
void gc_roots_unlock(void);
struct gc_root *gc_roots_first(void);

/* --- Allocation during the mark: assists (mgcmark.c) ----------------------------- */

// Called by typed allocation while marking: charges the G `bytes` and, if
// it is in debt, makes it mark in proportion (Go's gcAssistAlloc).
void gc_assist_alloc(struct g *gp, size_t bytes);

/* --- The write barrier (mbarrier.c) ------------------------------------------ */

// Non-zero while the collector marks.
extern uint32_t gc_write_barrier_enabled;
// The write barrier's slow half: Go's hybrid barrier, shading the value
// being overwritten and the one being stored.
void gc_write_barrier(void **slot, void *value);

// Shades everything in a P's barrier buffer.
void gc_barrier_flush(struct p *pp);
// Shades every word of [start, start + size): the barrier for memory the
// runtime copies without knowing its type (channel elements).
void gc_shade_range(const void *start, size_t size);

/* --- The pacer (mgcpacer.c) --------------------------------------------------- */

// Fixed point for the pacer's ratios: GC_ONE stands for 1.0 (no floating
// point in the kernel).
#define GC_ONE 65536

struct gc_pacer {
    int gogc;                    // < 0: off
    uint64_t memory_limit;       // 0: none
    uint64_t heap_live;          // bytes in spans handed out since the last mark (atomic)
    uint64_t heap_marked;        // live bytes at the end of the last mark
    uint64_t heap_goal;
    uint64_t trigger;            // start a cycle when heap_live reaches this
    int64_t trigger_ratio;       // trigger = marked * (1 + trigger_ratio / GC_ONE), adjusted each cycle
    uint64_t assist_work_per_byte_x65536;  // scan work an assist owes per byte allocated, fixed point (atomic)
    int64_t scan_work_expected;  // for the assist ratio
    int64_t last_scan_work;
    int64_t bg_scan_credit;      // scan work the workers did beyond what assists owe (atomic)
    int32_t dedicated_workers;   // per cycle
    int32_t dedicated_needed;    // still to start, this cycle (atomic)
    uint32_t fractional_goal;    // of each P's time, fixed point (GC_ONE: all of it)
    uint64_t heap_live_at_start; // for gctrace and the pacer's feedback
    uint64_t mark_start_ns;
};
extern struct gc_pacer gc_pacer;

void gc_pacer_init(int gogc, uint64_t memory_limit);
// A new GOGC: the goal and trigger follow.
void gc_pacer_set_gogc(int gogc);
// With the world stopped at the start of the mark: worker counts and the
// assist ratio.
void gc_pacer_start_cycle(uint64_t now);
// Recomputes the assist ratio from the heap and work so far.
void gc_pacer_revise(void);
// What a mark did, summed over the Ps at mark termination.
struct gc_cycle_account {
    uint64_t marked;         // bytes found live (and allocated black)
    int64_t scan_work;       // bytes scanned: heap objects, stacks, globals
    uint64_t stack_bytes;    // of those, stacks
    uint64_t global_bytes;   // the registered roots' size
    uint64_t assist_ns;      // time goroutines spent in assists
    uint64_t background_ns;  // dedicated and fractional workers
    uint64_t idle_ns;        // idle workers
};
// With the world stopped at mark termination: feedback, the next goal and
// trigger.
void gc_pacer_end_cycle(uint64_t now, const struct gc_cycle_account *cycle);
// Counts bytes handed to allocation (spans cached, large objects); returns
// whether the heap has reached the trigger.
bool gc_pacer_heap_grew(uint64_t bytes);
bool gc_pacer_should_start(void);

/* --- The cycle (mgc.c) -------------------------------------------------------- */

void gc_init(const struct runtime_config *config);
enum gc_trigger_kind {
    GC_TRIGGER_HEAP,     // the heap reached the pacer's trigger (checked again here)
    GC_TRIGGER_FORCED,   // runtime_gc
    GC_TRIGGER_STRESS,   // gcstress: every N allocations
};
// Starts a cycle if none is running. From a goroutine with a P, holding no
// lock.
void gc_start(enum gc_trigger_kind kind);
// Called when a marker finds no work: finishes the mark if none is left.
void gc_mark_done(void);
// Whether no marker (worker or assist) is draining right now.
bool gc_markers_idle(void);
// A marker -- a background worker, or an assist -- starts draining pp's
// work, and stops: it leaves its P's buffers where any marker can take
// them. gc_marker_leave is true if it was the last marker out and no work
// is left anywhere it can see: the caller ends the mark (gc_mark_done).
void gc_marker_enter(void);
bool gc_marker_leave(struct p *pp);
// A P's background mark worker if it should run now; NULL otherwise.
struct g *gc_find_mark_worker(struct p *pp, bool idle);
// The allocation hook: after a typed allocation that took a new span or
// a large object, starts a cycle if the pacer (or gcstress) says so.
void gc_maybe_start(void);
// gcstress: counts allocations; true when a cycle is due.
extern int gc_stress_every;
extern uint32_t gc_start_wanted;   // set by allocation, acted on at the end of malloc (atomic)

// Sets mark bit `bit` in *word. With one P, only the M holding it marks
// (workers, assists and execute's stack scans all run there; threads
// without a P hand their pointers over, mbarrier.c), so a plain
// read-modify-write does; with more, it is an atomic OR. Returns whether
// the bit was already set.
extern bool gc_single_marker;
static inline bool gc_mark_bit_set(uint64_t *word, uint64_t bit)
{
    if (gc_single_marker) {
        uint64_t old = __atomic_load_n(word, __ATOMIC_RELAXED);
        __atomic_store_n(word, old | bit, __ATOMIC_RELAXED);
        return old & bit;
    }
    return __atomic_fetch_or(word, bit, __ATOMIC_ACQ_REL) & bit;
}

// Marks an object allocated during the mark (black: never scanned; it
// holds no pointer the mark has not seen): a large object, at once.
static inline void gc_mark_new_object(struct mspan *span, uintptr_t object)
{
    uint32_t index = (uint32_t)(((uint64_t)(object - span->start) * span->divide_magic) >> 32);
    gc_mark_bit_set(&span->gcmark_bits[index / 64], (uint64_t)1 << (index % 64));
    struct m *m = getm();
    if (m && m->p)
        m->p->gc->work.bytes_marked += span->elemsize;
}

// Sets the mark bits span->black_pending gathered and starts gathering
// for the 64 objects from next_group * 64.
void gc_flush_new_black(struct mspan *span, uint32_t next_group);
// gc_flush_new_black for every span `mcache` holds (mark termination).
void gc_flush_new_black_mcache(struct mcache *mcache);

// Marks a small object allocated during the mark from a span an mcache
// holds: black, like gc_mark_new_object, but the bit is first gathered in
// the span, and set with one atomic OR for up to 64 objects when the
// allocation moves on to the next 64 slots, when the span leaves the
// mcache, or at mark termination -- before the sweep or the checkmark
// read the bits. Meanwhile a marker that meets the object finds it white
// and scans it: work done twice, harmless (its pointers are ones the mark
// has seen). On every allocation while marking, hence inline: with more
// than one P, an atomic OR for each allocation was a sixth of gc_new.
static inline void gc_mark_new_small_object(struct mspan *span, uintptr_t object)
{
    uint32_t index = (uint32_t)(((uint64_t)(object - span->start) * span->divide_magic) >> 32);
    if (__builtin_expect(span->black_group != index / 64, 0))
        gc_flush_new_black(span, index / 64);
    span->black_pending |= (uint64_t)1 << (index % 64);
}

// Pointers shaded by threads without a P (mbarrier.c), shaded for real by
// a marker; gc_barrier_take_pending hands them over.
void gc_barrier_take_pending(struct gc_work *work);
bool gc_barrier_pending(void);

extern bool gc_checkmark_enabled;
extern bool gc_poison_enabled;     // freed objects are filled with GC_POISON_BYTE
#define GC_POISON_BYTE 0xdf

/* --- Checkmark (mgccheckmark.c) ----------------------------------------------- */

// With the world stopped after the mark: marks everything reachable again,
// from the roots, into separate bits, and dies naming any object that is
// reachable but was not marked.
void gc_checkmark_verify(void);

/* --- The background sweeper (mgcsweep.c) --------------------------------------- */

void gc_sweeper_start(void);
extern struct g *gc_sweeper;   // the sweeper's G, once it has started (atomic)
void gc_sweeper_wake(void);

#endif
