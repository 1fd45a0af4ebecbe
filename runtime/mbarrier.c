/*
 * The write barrier (Go's mbarrier.go and mwbbuf.go).
 *
 * Goroutines keep changing pointers while the collector marks. Without
 * help, a goroutine could move the only pointer to a white object into an
 * object the mark has already scanned (black) and erase it where it was:
 * the object would stay white though reachable, and be freed. The barrier
 * prevents that. Go's hybrid barrier, which gc_store (gc.h) runs for every
 * pointer store while the mark is on (gc_store_pointer, below; gc.h says
 * why the check and the store are one call into the runtime):
 *
 *     gc_write_barrier(slot, value):
 *         shade(*slot)    -- the pointer being overwritten (Yuasa's deletion
 *                            barrier: what was reachable when the mark
 *                            began stays reachable)
 *         shade(value)    -- the pointer being written (Dijkstra's insertion
 *                            barrier, needed while the writer's stack is grey)
 *         *slot = value
 *
 * Here no running stack is grey (below), so the insertion half has one
 * job left: pointers read from memory that the mark scans once but that is
 * written without the barrier -- the kernel's data and bss, into which C
 * code stores plainly. A pointer read from there, then overwritten there
 * before the root was scanned, would be seen nowhere unless shaded when
 * stored into the heap. Hosted, roots are written through gc_store, so the
 * barrier shades only the old value (platform_roots_written_plainly).
 *
 * Why stack writes need no barrier: a goroutine's stack is scanned before
 * it runs in the mark (mgcmark.c), so every running stack is black, and
 * the deletion half guarantees that anything such a stack can pick up from
 * the heap was shaded when it was unlinked. Stores into registered roots do
 * need it (they are scanned once, like heap objects); stores into memory
 * the collector does not scan keep nothing alive either way.
 *
 * Shading is not done on the spot: the pointers go into a buffer per P
 * (no lock, no atomic) and are shaded in a batch when it fills, when a
 * marker of this P runs dry, or at mark termination -- the mark cannot end
 * with pointers still waiting in a buffer.
 */
#include "mgc.h"

uint32_t gc_write_barrier_enabled;

void gc_store_pointer(void **slot, void *value)
{
    // Filling an empty slot -- most stores during a mark, into objects
    // just allocated -- shades nothing unless the new value must be shaded.
    if (__builtin_expect(__atomic_load_n(&gc_write_barrier_enabled, __ATOMIC_RELAXED), 0) &&
        (platform_roots_written_plainly || __atomic_load_n(slot, __ATOMIC_RELAXED) != NULL))
        gc_write_barrier(slot, value);
    __atomic_store_n(slot, value, __ATOMIC_RELAXED);
}

// A thread without a P (hosted: a thread that is not an M) does not mark
// itself -- with one P, mark bits are set without atomics, by that P's M
// alone (gc_mark_bit_set). Its pointers wait here, under a lock, for a
// marker to take them (gc_drain, and mark termination).
static struct runtime_lock pending_lock;
static uintptr_t *pending;
static size_t pending_count, pending_capacity;

static void shade_without_p(uintptr_t first, uintptr_t second)
{
    runtime_lock_acquire(&pending_lock);
    size_t count = pending_count;
    if (count + 2 > pending_capacity) {
        size_t capacity = pending_capacity ? pending_capacity * 2 : 256;
        uintptr_t *grown = runtime_realloc(pending, capacity * sizeof *grown);
        if (grown == NULL)
            runtime_throw("out of memory for the write barrier");
        pending = grown;
        pending_capacity = capacity;
    }
    if (first)
        pending[count++] = first;
    if (second)
        pending[count++] = second;
    __atomic_store_n(&pending_count, count, __ATOMIC_RELAXED);
    runtime_lock_release(&pending_lock);
}

bool gc_barrier_pending(void)
{
    return __atomic_load_n(&pending_count, __ATOMIC_RELAXED) != 0;
}

void gc_barrier_take_pending(struct gc_work *work)
{
    runtime_lock_acquire(&pending_lock);
    for (size_t i = 0; i < pending_count; i++)
        gc_shade(work, pending[i]);
    __atomic_store_n(&pending_count, 0, __ATOMIC_RELAXED);
    runtime_lock_release(&pending_lock);
}

void gc_write_barrier(void **slot, void *value)
{
    uintptr_t old = (uintptr_t)__atomic_load_n(slot, __ATOMIC_RELAXED);
    uintptr_t new = platform_roots_written_plainly ? (uintptr_t)value : 0;
    bool old_in_heap = old && heap_arena_of(old);
    bool new_in_heap = new && heap_arena_of(new);
    if (!old_in_heap && !new_in_heap)
        return;
    struct m *m = getm();
    struct p *pp = m ? m->p : NULL;
    if (pp == NULL) {
        shade_without_p(old_in_heap ? old : 0, new_in_heap ? new : 0);
        return;
    }
    struct p_gc *pg = pp->gc;
    if (pg->barrier_count + 2 > GC_BARRIER_BUFFER_ENTRIES) {
        // The mutator will not scan what it shades: over to the workers.
        gc_barrier_flush(pp);
        gc_work_flush(&pg->work);
    }
    if (old_in_heap)
        pg->barrier_buffer[pg->barrier_count++] = old;
    if (new_in_heap)
        pg->barrier_buffer[pg->barrier_count++] = new;
}

void gc_barrier_flush(struct p *pp)
{
    struct p_gc *pg = pp->gc;
    for (uint32_t i = 0; i < pg->barrier_count; i++)
        gc_shade(&pg->work, pg->barrier_buffer[i]);
    pg->barrier_count = 0;
}

void gc_shade_range(const void *start, size_t size)
{
    struct m *m = getm();
    struct p *pp = m ? m->p : NULL;
    if (pp) {
        gc_scan_conservative(&pp->gc->work, (uintptr_t)start, size);
        return;
    }
    for (uintptr_t at = (uintptr_t)start; at + sizeof(uintptr_t) <= (uintptr_t)start + size; at += sizeof(uintptr_t)) {
        uintptr_t value = *(const uintptr_t *)at;
        if (value && heap_arena_of(value))
            shade_without_p(value, 0);
    }
}
