/*
 * Marking (Go's mgcmark.go): finding every reachable object.
 *
 * The tri-colour invariant: no black object points to a white one. The
 * mark starts from the roots -- goroutine stacks, registered roots -- and
 * shades what they point to grey; a marker takes a grey object, scans it
 * (shading what it points to), and it is black. When no grey object is
 * left, every white object is unreachable, and sweeping frees it.
 *
 * Stacks are scanned conservatively: any word that holds an address inside
 * an allocated object keeps that object alive (C gives us no stack maps).
 * Heap objects are scanned precisely, by the pointer bits their gc_type
 * wrote into the heap bitmap at allocation; noscan objects are never
 * scanned at all.
 *
 * Each stack is scanned exactly once per cycle, and before its goroutine
 * runs again: execute (proc.c) scans a G that the mark has not yet reached
 * before switching to it, and mark workers scan parked Gs (the root jobs).
 * So while the collector marks, every running goroutine's stack is already
 * black, and the write barrier (mbarrier.c) need not worry about stacks:
 * that is what lets us, like Go, never rescan one.
 *
 * A goroutine that allocates while the collector marks pays for it in
 * marking (an assist, gc_assist_alloc): scan work in proportion to the
 * bytes it allocates, at the rate the pacer sets, so that allocation cannot
 * outrun the mark.
 */
#include "mgc.h"
#include <string.h>

uint32_t gc_phase;
uint32_t gc_cycle;

/* --- Finding and shading objects ------------------------------------------ */

// The collected span holding `address`, or NULL. Its fields are read only
// after its state has been seen (acquire), which mheap_alloc stores last.
static inline struct mspan *gc_span_in(struct heap_arena *arena, uintptr_t address)
{
    struct mspan *span =
        __atomic_load_n(&arena->spans[(address >> HEAP_PAGE_SHIFT) % HEAP_ARENA_PAGES], __ATOMIC_ACQUIRE);
    if (span == NULL || __atomic_load_n(&span->state, __ATOMIC_ACQUIRE) != MSPAN_IN_USE)
        return NULL;
    if (address < span->start || address >= span->limit)
        return NULL;
    return span;
}

static inline struct mspan *gc_span_of(uintptr_t address)
{
    struct heap_arena *arena = heap_arena_of(address);
    return arena ? gc_span_in(arena, address) : NULL;
}

// Marks object `index` of span, unless it is marked already or the slot is
// free; queues it for scanning if it has pointers.
static inline void gc_grey_object(struct gc_work *work, struct mspan *span, uint32_t index)
{
    uint64_t *word = &span->gcmark_bits[index / 64];
    uint64_t bit = (uint64_t)1 << (index % 64);
    if (__atomic_load_n(word, __ATOMIC_RELAXED) & bit)
        return;   // the common case, checked first: a marked object is never free
    if (!mspan_slot_allocated(span, index))
        return;   // a stale or made-up pointer (conservative scans find plenty) into a free slot
    if (gc_mark_bit_set(word, bit))
        return;   // another marker got there first
    work->bytes_marked += span->elemsize;
    if (span_class_noscan(span->span_class))
        return;   // black at once: nothing to scan
    gc_work_put(work, span->start + (uintptr_t)index * span->elemsize);
}

// gc_shade, for an address already known to be in `arena`. Inline in every
// loop that shades: the markers spend their time here.
static inline __attribute__((always_inline)) void gc_shade_in(struct gc_work *work, struct heap_arena *arena, uintptr_t address)
{
    struct mspan *span = gc_span_in(arena, address);
    if (span == NULL)
        return;
    uint32_t index = (uint32_t)(((uint64_t)(address - span->start) * span->divide_magic) >> 32);
    gc_grey_object(work, span, index);
}

void gc_shade(struct gc_work *work, uintptr_t address)
{
    struct heap_arena *arena = heap_arena_of(address);
    if (arena)
        gc_shade_in(work, arena, address);
}

void gc_flush_new_black(struct mspan *span, uint32_t next_group)
{
    uint64_t pending = span->black_pending;
    if (pending == 0 && span->black_group == next_group)
        return;   // (mspan_empty, shared by every mcache, is never written)
    if (pending) {
        // Atomic even with one P: a thread without one flushes the global
        // mcache's spans while that P marks.
        uint64_t old = __atomic_fetch_or(&span->gcmark_bits[span->black_group], pending, __ATOMIC_ACQ_REL);
        struct m *m = getm();
        if (m && m->p)   // (objects a marker got to first, it counted)
            m->p->gc->work.bytes_marked += (uint64_t)runtime_count_bits(pending & ~old) * span->elemsize;
        span->black_pending = 0;
    }
    span->black_group = next_group;
}

void gc_flush_new_black_mcache(struct mcache *mcache)
{
    for (uint32_t i = 0; i < SPAN_CLASS_COUNT; i++)
        gc_flush_new_black(mcache->alloc[i], 0);
}

// Copies `words` words from memory that others may be writing as we read:
// a stack whose goroutine is in a system call (the frame that called
// entersyscall stores its result), a parked goroutine whose sudog a
// channel operation is filling in, a channel's ring. A word caught
// mid-store is an integer, not a pointer the mark needs -- the pointers
// that matter were there when the mark began, and the barriers (gc_store,
// the channel's shading) cover the rest. The race is one only a checker
// sees, so the copy is kept out of ThreadSanitizer's view.
__attribute__((no_sanitize_thread, noinline)) static void gc_copy_words_unobserved(uintptr_t *to, uintptr_t from,
                                                                                   size_t words)
{
    for (size_t i = 0; i < words; i++)
        to[i] = *(const volatile uintptr_t *)(from + i * sizeof(uintptr_t));
}

void gc_scan_conservative(struct gc_work *work, uintptr_t start, size_t size)
{
    uintptr_t from = (start + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    uintptr_t end = (start + size) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
    uintptr_t chunk[64];
    for (uintptr_t at = from; at < end; at += sizeof chunk) {
        size_t words = (end - at) / sizeof(uintptr_t) < 64 ? (end - at) / sizeof(uintptr_t) : 64;
        gc_copy_words_unobserved(chunk, at, words);
        for (size_t i = 0; i < words; i++) {
            struct heap_arena *arena = heap_arena_of(chunk[i]);
            if (arena)
                gc_shade_in(work, arena, chunk[i]);
        }
    }
    store_relaxed(&work->scan_work, work->scan_work + (end > from ? end - from : 0));   // the pacer reads it
}

/* --- Scanning heap objects ---------------------------------------------------- */

// An object bigger than this is scanned in pieces of this size ("oblets",
// as Go calls them), each a work item of its own, so that one big array
// neither holds one marker for long nor keeps the others idle. Go's are
// 128 KiB; ours are small because a marker's time between looks at who
// else wants its P is what a waiting goroutine waits, and what the world
// waits to stop: 4 KiB of pointers whose targets miss the cache took 50 to
// 150 us to shade at 1 GiB live, on two Ps (stops of that length had every
// interrupt land in gc_scan_object). 1 KiB is 128 pointers.
#define GC_OBLET_BYTES 1024

// Shades the words of `at` whose bits are set in `bits` (bit i: word i),
// `at` being in `home`, a span in use. A pointer into home itself -- often,
// as objects allocated together point to each other -- skips the lookup
// of its span: three dependent loads fewer on the marker's hottest path.
static inline __attribute__((always_inline)) void gc_shade_words(struct gc_work *work, struct mspan *home,
                                                                  uintptr_t at, uint64_t bits)
{
    // home's fields, read once (the stores into the work buffers might
    // alias them, as far as the compiler knows).
    uintptr_t home_start = home->start, home_bytes = home->limit - home->start, home_elemsize = home->elemsize;
    uint64_t home_magic = home->divide_magic;
    uint64_t *home_marks = home->gcmark_bits;
    while (bits) {
        unsigned i = (unsigned)__builtin_ctzll(bits);
        bits &= bits - 1;
        uintptr_t value = __atomic_load_n((uintptr_t *)(at + i * sizeof(uintptr_t)), __ATOMIC_RELAXED);
        if (value - home_start < home_bytes) {
            // A precise pointer names an allocated object (unlike a word a
            // conservative scan finds), and home's objects have pointers:
            // gc_grey_object's other two checks have nothing to find.
            uint32_t index = (uint32_t)(((uint64_t)(value - home_start) * home_magic) >> 32);
            uint64_t *word = &home_marks[index / 64];
            uint64_t bit = (uint64_t)1 << (index % 64);
            if ((__atomic_load_n(word, __ATOMIC_RELAXED) & bit) || gc_mark_bit_set(word, bit))
                continue;
            work->bytes_marked += home_elemsize;
            gc_work_put(work, home_start + (uintptr_t)index * home_elemsize);
            continue;
        }
        if (value == 0)
            continue;
        struct heap_arena *value_arena = heap_arena_of(value);
        if (value_arena)
            gc_shade_in(work, value_arena, value);
    }
}

// Shades every pointer in [start, end) that the heap bitmap marks.
static void gc_scan_words(struct gc_work *work, struct mspan *home, uintptr_t start, uintptr_t end)
{
    for (uintptr_t at = start; at < end;) {
        struct heap_arena *arena = heap_arena_of(at);
        size_t word = (at % HEAP_ARENA_SIZE) / sizeof(uintptr_t);
        size_t count = 64 - word % 64;
        size_t left = (end - at) / sizeof(uintptr_t);
        if (count > left)
            count = left;
        uint64_t bits = __atomic_load_n(&arena->pointer_bits[word / 64], __ATOMIC_RELAXED) >> (word % 64);
        if (count < 64)
            bits &= ((uint64_t)1 << count) - 1;
        gc_shade_words(work, home, at, bits);
        at += count * sizeof(uintptr_t);
    }
    store_relaxed(&work->scan_work, work->scan_work + (end - start));   // the pacer reads it
}

void gc_scan_object(struct gc_work *work, uintptr_t object)
{
    // A grey object's span was checked when it was greyed, and no span is
    // freed during the mark: its entry in the span map is enough.
    struct heap_arena *arena = heap_arena_of(object);
    struct mspan *span = arena ? load_relaxed(&arena->spans[(object >> HEAP_PAGE_SHIFT) % HEAP_ARENA_PAGES]) : NULL;
    if (span == NULL)
        runtime_throwf("gc: grey object %#lx is not in a collected span", (unsigned long)object);
    // Acquire: once the mask reads 0, the bitmap the allocator wrote for
    // the span's objects before clearing it is there to read.
    uint64_t uniform_mask = __atomic_load_n(&span->uniform_mask, __ATOMIC_ACQUIRE);
    if (uniform_mask) {
        gc_shade_words(work, span, object, uniform_mask);
        store_relaxed(&work->scan_work, work->scan_work + span->elemsize);   // the pacer reads it
        return;
    }
    size_t words = span->elemsize / sizeof(uintptr_t);
    if (words <= 64) {
        // Most objects: their bits lie in one or two bitmap words (a span
        // never crosses an arena), read at once.
        size_t word = (object % HEAP_ARENA_SIZE) / sizeof(uintptr_t);
        const uint64_t *bitmap = &arena->pointer_bits[word / 64];
        unsigned shift = word % 64;
        uint64_t bits = __atomic_load_n(&bitmap[0], __ATOMIC_RELAXED) >> shift;
        if (shift + words > 64)
            bits |= __atomic_load_n(&bitmap[1], __ATOMIC_RELAXED) << (64 - shift);
        if (words < 64)
            bits &= ((uint64_t)1 << words) - 1;
        gc_shade_words(work, span, object, bits);
        store_relaxed(&work->scan_work, work->scan_work + span->elemsize);   // the pacer reads it
        return;
    }
    uintptr_t end = object + span->elemsize;
    if (span->elemsize > GC_OBLET_BYTES) {
        uintptr_t base = mspan_object_base(span, object);
        uintptr_t object_end = base + span->elemsize;
        if (object == base)
            for (uintptr_t oblet = object + GC_OBLET_BYTES; oblet < object_end; oblet += GC_OBLET_BYTES)
                gc_work_put(work, oblet);
        end = object + GC_OBLET_BYTES < object_end ? object + GC_OBLET_BYTES : object_end;
    }
    gc_scan_words(work, span, object, end);
}

/* --- Stacks -------------------------------------------------------------------- */

// Scans a G that is not running: its stack from the saved stack pointer
// up (the context switch pushed its callee-saved registers there; an
// asynchronous preemption, every register), or, in a system call, from
// where entersyscall left it plus the registers it saved; and the argument
// it was started with.
static void gc_scan_g(struct gc_work *work, struct g *gp)
{
    uint32_t status = __atomic_load_n(&gp->status, __ATOMIC_ACQUIRE);
    if (status == G_DEAD || status == G_IDLE)
        return;
    if (status == G_SYSCALL) {
        gc_scan_conservative(work, (uintptr_t)gp->syscall_registers, sizeof gp->syscall_registers);
        gc_scan_conservative(work, gp->syscall_sp, gp->stack.hi - gp->syscall_sp);
        work->stack_bytes += gp->stack.hi - gp->syscall_sp;
    } else if (gp->stack.hi && gp->context.sp) {
        gc_scan_conservative(work, gp->context.sp, gp->stack.hi - gp->context.sp);
        work->stack_bytes += gp->stack.hi - gp->context.sp;
    }
    gc_shade(work, (uintptr_t)gp->start_argument);
}

static void gc_scan_lock_acquire(struct g *gp)
{
    while (__atomic_exchange_n(&gp->gc_scan_lock, 1, __ATOMIC_ACQUIRE) != 0)
        while (__atomic_load_n(&gp->gc_scan_lock, __ATOMIC_RELAXED) != 0)
            __asm__ volatile("pause");
}

static void gc_scan_lock_release(struct g *gp)
{
    __atomic_store_n(&gp->gc_scan_lock, 0, __ATOMIC_RELEASE);
}

void gc_scan_stack_before_run(struct g *gp)
{
    uint32_t cycle = __atomic_load_n(&gc_cycle, __ATOMIC_ACQUIRE);
    if (__atomic_load_n(&gp->gc_scanned_cycle, __ATOMIC_ACQUIRE) == cycle)
        return;
    gc_scan_lock_acquire(gp);
    if (gp->gc_scanned_cycle != cycle && gc_marking()) {
        struct gc_work *work = &getm()->p->gc->work;
        gc_scan_g(work, gp);
        __atomic_store_n(&gp->gc_scanned_cycle, cycle, __ATOMIC_RELEASE);
        // What the stack points to is for the mark workers, not for this
        // P, which goes on to run gp.
        gc_work_flush(work);
    }
    gc_scan_lock_release(gp);
}

void gc_new_g(struct g *gp)
{
    if (!gc_marking())
        return;
    __atomic_store_n(&gp->gc_scanned_cycle, __atomic_load_n(&gc_cycle, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
    struct m *m = getm();
    if (m && m->p)
        gc_shade(&m->p->gc->work, (uintptr_t)gp->start_argument);
    else
        gc_shade_range(&gp->start_argument, sizeof gp->start_argument);
}

// A root job for gp: scan it unless it has been (or is running, which
// means execute scanned it -- or it is the G that started this cycle,
// which scans itself before it goes on; see gc_start).
static void gc_mark_root_g(struct gc_work *work, struct g *gp, uint32_t cycle)
{
    if (__atomic_load_n(&gp->gc_scanned_cycle, __ATOMIC_ACQUIRE) == cycle)
        return;
    gc_scan_lock_acquire(gp);
    uint32_t status = __atomic_load_n(&gp->status, __ATOMIC_ACQUIRE);
    if (gp->gc_scanned_cycle != cycle && status != G_RUNNING) {
        gc_scan_g(work, gp);
        __atomic_store_n(&gp->gc_scanned_cycle, cycle, __ATOMIC_RELEASE);
    }
    gc_scan_lock_release(gp);
}

void gc_scan_remaining_stacks(struct gc_work *work)
{
    uint32_t cycle = __atomic_load_n(&gc_cycle, __ATOMIC_ACQUIRE);
    struct g *self = getg();
    for (struct g *gp = all_gs_snapshot(); gp; gp = gp->all_link)
        if (gp != self)
            gc_mark_root_g(work, gp, cycle);
}

/* --- Registered roots ------------------------------------------------------------ */

static struct runtime_lock roots_lock;
static struct gc_root *roots;

void gc_roots_lock(void) { runtime_lock_acquire(&roots_lock); }
void gc_roots_unlock(void) { runtime_lock_release(&roots_lock); }
struct gc_root *gc_roots_first(void) { return roots; }

void gc_root_add(struct gc_root *root)
{
    runtime_lock_acquire(&roots_lock);
    root->prev = NULL;
    root->next = roots;
    if (roots)
        roots->prev = root;
    roots = root;
    runtime_lock_release(&roots_lock);
}

void gc_root_remove(struct gc_root *root)
{
    runtime_lock_acquire(&roots_lock);
    if (root->prev)
        root->prev->next = root->next;
    else
        roots = root->next;
    if (root->next)
        root->next->prev = root->prev;
    root->next = root->prev = NULL;
    runtime_lock_release(&roots_lock);
}

void gc_add_root(const void *start, size_t size, const char *name)
{
    struct gc_root *root = runtime_malloc(sizeof *root);
    if (root == NULL)
        runtime_throw("gc_add_root: out of memory");
    root->start = (uintptr_t)start;
    root->size = size;
    root->name = name ? name : "root";
    gc_root_add(root);
}

void gc_remove_root(const void *start)
{
    runtime_lock_acquire(&roots_lock);
    struct gc_root *root = roots;
    while (root && root->start != (uintptr_t)start)
        root = root->next;
    runtime_lock_release(&roots_lock);
    if (root == NULL)
        runtime_throwf("gc_remove_root: %p is not a registered root", start);
    gc_root_remove(root);
    runtime_free(root);
}

static void gc_mark_registered_roots(struct gc_work *work)
{
    runtime_lock_acquire(&roots_lock);
    for (struct gc_root *root = roots; root; root = root->next)
        gc_scan_conservative(work, root->start, root->size);
    runtime_lock_release(&roots_lock);
}

/* --- Root jobs ----------------------------------------------------------------- */

// Job 0 is the registered roots; job 1 + i, the stack of root_gs[i], every
// G that existed when the cycle started (later ones start out scanned).
static struct g **root_gs;
static uint32_t root_gs_capacity;
static uint32_t root_jobs;         // this cycle's job count
static uint32_t root_next;         // next job to hand out (atomic)
static uint32_t roots_finished;    // jobs done (atomic)

// Room in root_gs for `count` goroutines, and half as many again.
static void root_gs_reserve(uint32_t count)
{
    if (count <= root_gs_capacity)
        return;
    uint32_t capacity = count + count / 2 + 64;
    struct g **grown = runtime_malloc(capacity * sizeof *grown);
    if (grown == NULL)
        runtime_throw("out of memory for the collector's root list");
    runtime_free(root_gs);
    root_gs = grown;
    root_gs_capacity = capacity;
}

static uint32_t all_gs_count(void)
{
    uint32_t count = 0;
    for (struct g *gp = all_gs_snapshot(); gp; gp = gp->all_link)
        count++;
    return count;
}

void gc_mark_roots_reserve(void)
{
    root_gs_reserve(all_gs_count());
}

void gc_mark_roots_prepare(void)
{
    uint32_t count = all_gs_count();
    root_gs_reserve(count);
    uint32_t i = 0;
    for (struct g *gp = all_gs_snapshot(); gp && i < count; gp = gp->all_link)
        root_gs[i++] = gp;
    root_jobs = 1 + i;
    __atomic_store_n(&root_next, 0, __ATOMIC_RELEASE);
    __atomic_store_n(&roots_finished, 0, __ATOMIC_RELEASE);
}

// Does one root job; false when none is left to hand out.
static bool gc_mark_root_next(struct gc_work *work)
{
    if (__atomic_load_n(&root_next, __ATOMIC_RELAXED) >= root_jobs)
        return false;
    uint32_t job = __atomic_fetch_add(&root_next, 1, __ATOMIC_ACQ_REL);
    if (job >= root_jobs)
        return false;
    if (job == 0)
        gc_mark_registered_roots(work);
    else
        gc_mark_root_g(work, root_gs[job - 1], __atomic_load_n(&gc_cycle, __ATOMIC_ACQUIRE));
    __atomic_add_fetch(&roots_finished, 1, __ATOMIC_ACQ_REL);
    return true;
}

bool gc_mark_roots_done(void)
{
    return __atomic_load_n(&roots_finished, __ATOMIC_ACQUIRE) >= root_jobs;
}

bool gc_mark_work_available(void)
{
    return __atomic_load_n(&root_next, __ATOMIC_ACQUIRE) < root_jobs || gc_work_global_available() ||
           gc_barrier_pending();
}

/* --- Draining -------------------------------------------------------------------- */

// Objects are scanned this many pops after they leave the work buffer,
// and prefetched as they leave it: the buffer is a stack, so without the
// ring an object would be scanned the moment it is fetched, and marking a
// heap bigger than the caches is mostly waiting for memory.
#define GC_DRAIN_LOOKAHEAD 8

// Background scan work is handed to assists in pieces of at least this
// many bytes (Go's gcCreditSlack): often enough that a waiting goroutine
// is paid soon, seldom enough to keep the shared counter cool.
#define GC_CREDIT_SLACK (16 * 1024)

// Pays waiting assists from `work` bytes of background scanning; the rest
// is credit for later ones (below, with the assist queue).
static void gc_flush_bg_credit(int64_t work);

// Bytes of scanning between a drain's looks at the clock and at who else
// wants its P (also every 16 objects).
#define GC_DRAIN_CHECK_WORK GC_OBLET_BYTES
// The longest a fractional worker marks at a time.
#define GC_FRACTIONAL_SLICE_MAX_NS (200 * 1000)

int64_t gc_drain(struct gc_work *work, enum gc_drain_mode mode, int64_t budget)
{
    uintptr_t ahead[GC_DRAIN_LOOKAHEAD];
    unsigned ahead_first = 0, ahead_count = 0;
    struct m *m = getm();
    struct g *gp = m->curg;
    uint64_t start_work = work->scan_work;
    // A background worker's scanning is credit for assists, handed over
    // as it goes so that a goroutine waiting for it need not wait long.
    bool background = mode == GC_DRAIN_UNTIL_PREEMPT || mode == GC_DRAIN_IDLE || mode == GC_DRAIN_FRACTIONAL;
    uint64_t credited_work = start_work;
    uint64_t fractional_deadline = 0;
    if (mode == GC_DRAIN_FRACTIONAL) {
        // The P may mark until its share of the time since the mark began
        // is used up.
        uint64_t now = platform_nanotime();
        uint64_t allowed = (uint64_t)gc_pacer.fractional_goal * (now - gc_pacer.mark_start_ns) / GC_ONE;
        struct p_gc *pg = m->p->gc;
        if (allowed <= pg->fractional_ns)
            return 0;
        // Not all of a share the worker fell behind on at once, though:
        // meanwhile the P's goroutines wait.
        uint64_t slice = (allowed - pg->fractional_ns) + 100 * 1000;
        if (slice > GC_FRACTIONAL_SLICE_MAX_NS)
            slice = GC_FRACTIONAL_SLICE_MAX_NS;
        fractional_deadline = now + slice;
    }
    // A drain looks up from its work every 16 objects, and after every
    // GC_DRAIN_CHECK_WORK bytes of scanning (an oblet is big); it reads the
    // clock only at the latter.
    uint64_t next_check_work = start_work + GC_DRAIN_CHECK_WORK;
    for (uint32_t round = 0;; round++) {
        bool work_check = work->scan_work >= next_check_work;
        if (mode != GC_DRAIN_ALL && (round % 16 == 0 || work_check)) {
            if (work_check)
                next_check_work = work->scan_work + GC_DRAIN_CHECK_WORK;
            if ((gp && load_relaxed(&gp->preempt)) || __atomic_load_n(&sched.gcwaiting, __ATOMIC_ACQUIRE))
                break;
            if (mode == GC_DRAIN_FRACTIONAL && work_check && platform_nanotime() >= fractional_deadline)
                break;
            if (mode == GC_DRAIN_IDLE && sched_p_has_work(m->p))
                break;
            if (background && work->scan_work - credited_work >= GC_CREDIT_SLACK) {
                gc_flush_bg_credit((int64_t)(work->scan_work - credited_work));
                credited_work = work->scan_work;
            }
        }
        if (mode == GC_DRAIN_BUDGET && (int64_t)(work->scan_work - start_work) >= budget)
            break;
        if (procs > 1 && !gc_work_global_available())
            gc_work_balance(work);
        uintptr_t object = gc_work_get_local(work);
        if (object) {
            // Through the look-ahead ring: fetch now, scan a few objects later.
            __builtin_prefetch((const void *)object);
            if (ahead_count < GC_DRAIN_LOOKAHEAD) {
                ahead[(ahead_first + ahead_count++) % GC_DRAIN_LOOKAHEAD] = object;
                continue;
            }
            uintptr_t oldest = ahead[ahead_first];
            ahead[ahead_first] = object;
            ahead_first = (ahead_first + 1) % GC_DRAIN_LOOKAHEAD;
            gc_scan_object(work, oldest);
            continue;
        }
        if (ahead_count) {
            object = ahead[ahead_first];
            ahead_first = (ahead_first + 1) % GC_DRAIN_LOOKAHEAD;
            ahead_count--;
            gc_scan_object(work, object);
            continue;
        }
        if (gc_mark_root_next(work))
            continue;
        if (gc_barrier_pending()) {
            gc_barrier_take_pending(work);
            continue;
        }
        object = gc_work_get(work);
        if (object == 0) {
            // Our own barrier buffer may hold more.
            struct p *pp = m->p;
            if (pp && pp->gc->barrier_count) {
                gc_barrier_flush(pp);
                continue;
            }
            break;
        }
        gc_scan_object(work, object);
    }
    // Stopped early: what waits in the ring goes back to the buffers.
    for (; ahead_count; ahead_count--, ahead_first = (ahead_first + 1) % GC_DRAIN_LOOKAHEAD)
        gc_work_put(work, ahead[ahead_first]);
    if (background && work->scan_work > credited_work)
        gc_flush_bg_credit((int64_t)(work->scan_work - credited_work));
    return (int64_t)(work->scan_work - start_work);
}

/* --- Assists ----------------------------------------------------------------------- */

// Goroutines in debt that found no marking to do wait here, in order, for
// the background workers' credit (Go's work.assistQueue); linked through
// schedlink, which a parked G does not use.
static struct runtime_lock assist_queue_lock;
static struct g *assist_queue_head, *assist_queue_tail;

static void assist_queue_remove(struct g *gp)
{
    struct g **link = &assist_queue_head;
    struct g *previous = NULL;
    while (*link && *link != gp) {
        previous = *link;
        link = &(*link)->schedlink;
    }
    if (*link == NULL)
        return;
    __atomic_store_n(link, gp->schedlink, __ATOMIC_RELEASE);   // the head is read without the lock
    if (assist_queue_tail == gp)
        assist_queue_tail = previous;
    gp->schedlink = NULL;
}

static void gc_flush_bg_credit(int64_t work)
{
    if (__atomic_load_n(&assist_queue_head, __ATOMIC_ACQUIRE) == NULL) {
        __atomic_add_fetch(&gc_pacer.bg_scan_credit, work, __ATOMIC_RELAXED);
        return;
    }
    uint64_t ratio = __atomic_load_n(&gc_pacer.assist_work_per_byte_x65536, __ATOMIC_RELAXED);
    if (ratio == 0)
        ratio = 1;
    struct g *paid = NULL;   // readied after the lock is let go
    runtime_lock_acquire(&assist_queue_lock);
    while (work > 0 && assist_queue_head) {
        struct g *gp = assist_queue_head;
        int64_t owed = (int64_t)((uint64_t)-gp->gc_assist_bytes * ratio / GC_ONE);
        if (owed > work) {
            // Part of the debt: the rest waits for more, at the back.
            gp->gc_assist_bytes += (int64_t)((uint64_t)work * GC_ONE / ratio);
            work = 0;
            if (gp->schedlink) {
                assist_queue_remove(gp);
                assist_queue_tail->schedlink = gp;
                assist_queue_tail = gp;
            }
            break;
        }
        work -= owed;
        gp->gc_assist_bytes = 0;
        assist_queue_remove(gp);
        gp->schedlink = paid;
        paid = gp;
    }
    runtime_lock_release(&assist_queue_lock);
    if (work > 0)
        __atomic_add_fetch(&gc_pacer.bg_scan_credit, work, __ATOMIC_RELAXED);
    while (paid) {
        struct g *gp = paid;
        paid = gp->schedlink;
        gp->schedlink = NULL;
        goready(gp);
    }
}

void gc_wake_all_assists(void)
{
    runtime_lock_acquire(&assist_queue_lock);
    struct g *waiting = assist_queue_head;
    __atomic_store_n(&assist_queue_head, NULL, __ATOMIC_RELEASE);
    assist_queue_tail = NULL;
    runtime_lock_release(&assist_queue_lock);
    while (waiting) {
        struct g *gp = waiting;
        waiting = gp->schedlink;
        gp->schedlink = NULL;
        goready(gp);
    }
}

static bool assist_park_unlock(struct g *gp, void *unused)
{
    (void)gp;
    (void)unused;
    runtime_lock_release(&assist_queue_lock);
    return true;
}

// Waits on the assist queue until background credit pays gp's debt or the
// mark ends (Go's gcParkAssist). False if there was no need to wait.
static bool gc_assist_park(struct g *gp)
{
    runtime_lock_acquire(&assist_queue_lock);
    if (__atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) != GC_MARK) {
        runtime_lock_release(&assist_queue_lock);
        return false;   // over while we took the lock: gc_wake_all_assists has been
    }
    gp->schedlink = NULL;
    if (assist_queue_tail)
        assist_queue_tail->schedlink = gp;
    else
        __atomic_store_n(&assist_queue_head, gp, __ATOMIC_RELEASE);
    assist_queue_tail = gp;
    // Credit that came in while we queued went to the shared pool, the
    // queue looked empty to whoever brought it: take it from there instead.
    if (__atomic_load_n(&gc_pacer.bg_scan_credit, __ATOMIC_RELAXED) > 0) {
        assist_queue_remove(gp);
        runtime_lock_release(&assist_queue_lock);
        return false;
    }
    gopark(assist_park_unlock, NULL, WAIT_REASON_GC_ASSIST);
    return true;
}

// Scan work an assist does at least, once it must (Go's gcOverAssistWork):
// fewer, bigger assists cost less than many tiny ones.
#define GC_ASSIST_MIN_WORK (64 * 1024)
// How much of it an assist does between looks at who else wants the P.
#define GC_ASSIST_SLICE_WORK (8 * 1024)
// The most allocation credit a goroutine may hold (bytes).
#define GC_ASSIST_MAX_CREDIT (1 << 20)

// Pays gp's debt from the background workers' surplus, and buys it up to
// GC_ASSIST_MIN_WORK of scanning ahead, as an assist would (Go's
// gcAssistAlloc steals as much): a goroutine that took only what it owed
// would be back on the slow path at its next allocation.
static void assist_take_credit(struct g *gp, uint64_t ratio)
{
    // (Debts and credits fit 64 bits: the ratio is at most 256 x GC_ONE.)
    int64_t debt = gp->gc_assist_bytes < 0 ? (int64_t)((uint64_t)-gp->gc_assist_bytes * ratio / GC_ONE) : 0;
    int64_t want = debt > GC_ASSIST_MIN_WORK ? debt : GC_ASSIST_MIN_WORK;
    int64_t room = (int64_t)((uint64_t)(GC_ASSIST_MAX_CREDIT - gp->gc_assist_bytes) * ratio / GC_ONE);
    if (want > room)
        want = room;   // no more credit than a goroutine may hold
    int64_t credit = __atomic_load_n(&gc_pacer.bg_scan_credit, __ATOMIC_RELAXED);
    int64_t take = credit < want ? credit : want;
    if (take <= 0)
        return;
    __atomic_sub_fetch(&gc_pacer.bg_scan_credit, take, __ATOMIC_RELAXED);
    gp->gc_assist_bytes += (int64_t)((uint64_t)take * GC_ONE / ratio);
}

// Does `budget` bytes of scan work for an assist, in slices, yielding
// between them to goroutines waiting for this P (a sleeper whose timer is
// due, say): with a large heap an assist scans about a hundred bytes a
// microsecond, and 64 KiB in one go kept whoever waited for it waiting
// for most of a millisecond. Less than the budget only when the marker
// ran out of work or was asked to stop.
//
// While it drains, the assist counts as a marker (Go's work.nwait counts
// assists too): else the last background worker to run dry could end the
// mark while an assist on another P still held grey objects in its P's
// buffers -- the world stopped, found them, and marking began again, in
// 43 of 96 cycles of binary trees at depth 18 on two Ps. *ends_mark says
// whether it was the last marker out, with no work left.
static int64_t assist_drain(int64_t budget, bool *ends_mark)
{
    int64_t done = 0;
    gc_marker_enter();
    struct p *pp = getm()->p;
    while (done < budget) {
        int64_t slice = budget - done < GC_ASSIST_SLICE_WORK ? budget - done : GC_ASSIST_SLICE_WORK;
        uint64_t start = platform_nanotime();
        int64_t did = gc_drain(&pp->gc->work, GC_DRAIN_BUDGET, slice);
        pp->gc->assist_ns += platform_nanotime() - start;
        done += did;
        if (did < slice || __atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) != GC_MARK)
            break;
        if (done < budget && sched_p_has_work(pp)) {
            // Not a marker while it waits: what it holds is for the others.
            gc_marker_leave(pp);
            gosched();
            gc_marker_enter();
            pp = getm()->p;   // maybe another P now
        }
    }
    *ends_mark = gc_marker_leave(pp);
    return done;
}

void gc_assist_alloc(struct g *gp, size_t bytes)
{
    uint32_t cycle = __atomic_load_n(&gc_cycle, __ATOMIC_ACQUIRE);
    if (gp->gc_assist_cycle != cycle) {
        gp->gc_assist_cycle = cycle;
        gp->gc_assist_bytes = 0;
    }
    gp->gc_assist_bytes -= (int64_t)bytes;
    if (gp->gc_assist_bytes >= 0 || gp->gc_mark_worker)
        return;
    struct m *m = getm();
    if (m->locks || m->preempt_off || m->p == NULL)
        return;
    // The rate follows the heap: the closer to the goal, the more each
    // byte costs (Go revises it as heap_live moves).
    gc_pacer_revise();
    uint64_t ratio = __atomic_load_n(&gc_pacer.assist_work_per_byte_x65536, __ATOMIC_RELAXED);
    if (ratio == 0)
        ratio = 1;
    // First, the background workers' surplus.
    assist_take_credit(gp, ratio);
    if (gp->gc_assist_bytes >= 0)
        return;
    // Then our own marking, until the debt is paid or the mark is over.
    int64_t debt = (int64_t)((uint64_t)-gp->gc_assist_bytes * ratio / GC_ONE);
    int64_t budget = debt > GC_ASSIST_MIN_WORK ? debt : GC_ASSIST_MIN_WORK;
    while (gp->gc_assist_bytes < 0 && __atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) == GC_MARK) {
        bool ends_mark;
        int64_t done = assist_drain(budget, &ends_mark);
        gp->gc_assist_bytes += (int64_t)((uint64_t)done * GC_ONE / ratio);
        // Marking more than it owed earns allocation credit, but not
        // without bound: credit earned while the heap was far from its
        // goal (a low ratio) would otherwise let the goroutine allocate
        // past the goal later without marking at all.
        if (gp->gc_assist_bytes > GC_ASSIST_MAX_CREDIT)
            gp->gc_assist_bytes = GC_ASSIST_MAX_CREDIT;
        if (done >= budget) {
            if (ends_mark)
                gc_mark_done();
            break;
        }
        // Out of work. If nobody else has any, the mark is over: end it.
        // Otherwise others hold the grey objects (a long list is marked
        // one node at a time): wait for the background workers to pay
        // the debt with what they scan, or for the mark to end. Either
        // way, a goroutine in debt does not allocate until the mark has
        // caught up with it.
        if (load_relaxed(&gp->preempt) || __atomic_load_n(&sched.gcwaiting, __ATOMIC_ACQUIRE)) {
            runtime_safe_point();   // the world is stopping: let it
            continue;
        }
        if (!gc_mark_work_available() && gc_markers_idle())
            gc_mark_done();   // over, or more work turned up: the loop's test says which
        if (__atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) != GC_MARK)
            break;
        if (!gc_assist_park(gp))
            assist_take_credit(gp, ratio);   // credit arrived meanwhile
        budget = GC_ASSIST_MIN_WORK;
    }
}
