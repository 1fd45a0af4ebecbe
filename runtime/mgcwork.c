/*
 * The grey set: work buffers (Go's mgcwork.go).
 *
 * A grey object is one that is marked but not yet scanned. Each P keeps its
 * grey objects in two buffers of its own (struct gc_work), so pushing and
 * popping take no lock: a P pushes what it shades and pops what it scans
 * next. When both buffers are full, one goes to the global list of full
 * buffers; when both are empty, the P takes a full one from there. That
 * global list is how marking spreads over the Ps: a worker that has run dry
 * takes what others have put aside.
 *
 * Two buffers instead of one keep a P from bouncing a single buffer to and
 * from the global list when it hovers at full or at empty (Go's wbuf1 and
 * wbuf2). Buffers come from the manual heap and are kept for reuse on the
 * list of empty ones; they are never freed.
 */
#include "mgc.h"

static struct runtime_lock work_lock;          // guards both lists
static struct gc_work_buffer *work_full;       // buffers with objects
static struct gc_work_buffer *work_empty;      // spare buffers
static uint64_t work_full_count;               // buffers on work_full (atomic)

static struct gc_work_buffer *buffer_get_empty(void)
{
    runtime_lock_acquire(&work_lock);
    struct gc_work_buffer *buffer = work_empty;
    if (buffer)
        work_empty = buffer->next;
    runtime_lock_release(&work_lock);
    if (buffer == NULL) {
        buffer = runtime_malloc(sizeof *buffer);
        if (buffer == NULL)
            runtime_throw("out of memory for the collector's work buffers");
    }
    buffer->next = NULL;
    buffer->count = 0;
    return buffer;
}

static void buffer_put_empty(struct gc_work_buffer *buffer)
{
    runtime_lock_acquire(&work_lock);
    buffer->next = work_empty;
    work_empty = buffer;
    runtime_lock_release(&work_lock);
}

// A full buffer for any P to take; an idle P is woken to come and mark.
static void buffer_put_full(struct gc_work_buffer *buffer)
{
    runtime_lock_acquire(&work_lock);
    buffer->next = work_full;
    work_full = buffer;
    __atomic_add_fetch(&work_full_count, 1, __ATOMIC_RELEASE);
    runtime_lock_release(&work_lock);
    if (__atomic_load_n(&gc_phase, __ATOMIC_ACQUIRE) == GC_MARK && !__atomic_load_n(&sched.gcwaiting, __ATOMIC_ACQUIRE))
        sched_wake_idle_p();
}

static struct gc_work_buffer *buffer_get_full(void)
{
    if (__atomic_load_n(&work_full_count, __ATOMIC_ACQUIRE) == 0)
        return NULL;
    runtime_lock_acquire(&work_lock);
    struct gc_work_buffer *buffer = work_full;
    if (buffer) {
        work_full = buffer->next;
        __atomic_sub_fetch(&work_full_count, 1, __ATOMIC_RELEASE);
    }
    runtime_lock_release(&work_lock);
    return buffer;
}

void gc_work_put_slow(struct gc_work *work, uintptr_t object)
{
    struct gc_work_buffer *buffer = work->primary;
    if (buffer == NULL) {
        buffer = work->primary = buffer_get_empty();
    } else if (buffer->count == GC_WORK_BUFFER_ENTRIES) {
        // Full: swap in the other one; if that is full too, give it away.
        work->primary = work->secondary;
        work->secondary = buffer;
        buffer = work->primary;
        if (buffer == NULL) {
            buffer = work->primary = buffer_get_empty();
        } else if (buffer->count == GC_WORK_BUFFER_ENTRIES) {
            buffer_put_full(buffer);
            buffer = work->primary = buffer_get_empty();
        }
    }
    buffer->entries[buffer->count++] = object;
}

uintptr_t gc_work_get_local_slow(struct gc_work *work)
{
    // The primary is empty (gc_work_get_local looked): the secondary, if it
    // has any, becomes the primary.
    struct gc_work_buffer *buffer = work->secondary;
    if (buffer && buffer->count > 0) {
        work->secondary = work->primary;
        work->primary = buffer;
        return buffer->entries[--buffer->count];
    }
    return 0;
}

uintptr_t gc_work_get(struct gc_work *work)
{
    uintptr_t object = gc_work_get_local(work);
    if (object)
        return object;
    struct gc_work_buffer *full = buffer_get_full();
    if (full == NULL)
        return 0;
    // Both of ours are empty: keep one, give the other back as a spare.
    if (work->primary) {
        if (work->secondary)
            buffer_put_empty(work->secondary);
        work->secondary = work->primary;
    }
    work->primary = full;
    return full->entries[--full->count];
}

void gc_work_flush(struct gc_work *work)
{
    struct gc_work_buffer **buffers[2] = { &work->primary, &work->secondary };
    for (int i = 0; i < 2; i++) {
        struct gc_work_buffer *buffer = *buffers[i];
        if (buffer && buffer->count > 0) {
            buffer_put_full(buffer);
            *buffers[i] = NULL;
        }
    }
}

void gc_work_balance(struct gc_work *work)
{
    struct gc_work_buffer *buffer = work->secondary;
    if (buffer && buffer->count > 0) {
        work->secondary = NULL;
        buffer_put_full(buffer);
        return;
    }
    buffer = work->primary;
    if (buffer == NULL || buffer->count <= 4)
        return;   // too little to be worth the trip
    // Half of the primary, the oldest half (nearest the roots, so the most
    // work behind each), goes out in a buffer of its own.
    struct gc_work_buffer *half = buffer_get_empty();
    uint64_t given = buffer->count / 2;
    for (uint64_t i = 0; i < given; i++)
        half->entries[i] = buffer->entries[i];
    for (uint64_t i = given; i < buffer->count; i++)
        buffer->entries[i - given] = buffer->entries[i];
    half->count = given;
    buffer->count -= given;
    buffer_put_full(half);
}

bool gc_work_empty(const struct gc_work *work)
{
    return (work->primary == NULL || work->primary->count == 0) &&
           (work->secondary == NULL || work->secondary->count == 0);
}

bool gc_work_global_available(void)
{
    return __atomic_load_n(&work_full_count, __ATOMIC_ACQUIRE) != 0;
}

void gc_work_check_empty(void)
{
    if (__atomic_load_n(&work_full_count, __ATOMIC_ACQUIRE) != 0)
        runtime_throw("gc: grey objects left on the global list when the mark ended");
}
