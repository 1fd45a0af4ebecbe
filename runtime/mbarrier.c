/*
 * The write barrier (Go's mbarrier.go and mwbbuf.go).
 *
 * Goroutines keep changing pointers while the collector marks. Without
 * help, a goroutine could move the only pointer to a white object into an
 * object the mark has already scanned (black) and erase it where it was:
 * the object would stay white though reachable, and be freed. The barrier
 * prevents that. Go's hybrid barrier, which gc_store (gc.h) runs for every
 * pointer store while the mark is on:
 *
 *     gc_write_barrier(slot, value):
 *         shade(*slot)    -- the pointer being overwritten (Yuasa's deletion
 *                            barrier: what was reachable when the mark
 *                            began stays reachable)
 *         shade(value)    -- the pointer being written (Dijkstra's insertion
 *                            barrier, needed while the writer's stack is grey)
 *         *slot = value
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

// For an M without a P (a thread that is not an M, hosted): shading under
// a lock, into a gc_work of its own.
static struct runtime_lock barrier_global_lock;
static struct gc_work barrier_global_work;

static void shade_without_p(uintptr_t first, uintptr_t second)
{
    runtime_lock_acquire(&barrier_global_lock);
    gc_shade(&barrier_global_work, first);
    gc_shade(&barrier_global_work, second);
    gc_work_flush(&barrier_global_work);
    runtime_lock_release(&barrier_global_lock);
}

void gc_write_barrier(void **slot, void *value)
{
    uintptr_t old = (uintptr_t)__atomic_load_n(slot, __ATOMIC_RELAXED);
    uintptr_t new = (uintptr_t)value;
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
    runtime_lock_acquire(&barrier_global_lock);
    gc_scan_conservative(&barrier_global_work, (uintptr_t)start, size);
    gc_work_flush(&barrier_global_work);
    runtime_lock_release(&barrier_global_lock);
}
