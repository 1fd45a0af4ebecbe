/*
 * Allocator statistics, after Go's runtime.MemStats.
 *
 * Counting must not slow allocation down, so each mcache counts its own
 * mallocs and frees (by size class) with plain stores, and a reader sums
 * every mcache's counters; the heap's page counts are read under its lock.
 * Manual mallocs are not counted at all: they are what was freed plus what
 * is still out, worked out from the counts the lists keep anyway.
 * The sums are a moment's picture, not a consistent snapshot: a count may
 * move while another is read, as in Go without stopping the world.
 */
#include "mheap.h"

_Static_assert(SIZE_CLASS_COUNT + 1 <= sizeof(((struct memstats *)0)->by_size) / sizeof(struct memstats_class),
               "struct memstats has too few size classes");

void runtime_read_memstats(struct memstats *stats)
{
    *stats = (struct memstats){ 0 };
    uint64_t mallocs[SIZE_CLASS_COUNT + 1] = { 0 }, frees[SIZE_CLASS_COUNT + 1] = { 0 };
    uint64_t large_allocated = 0, large_freed = 0;
    uint64_t manual_frees[SIZE_CLASS_COUNT] = { 0 };
    int64_t manual_out[SIZE_CLASS_COUNT] = { 0 };
    for (struct mcache *mcache = __atomic_load_n(&mcache_all, __ATOMIC_ACQUIRE); mcache; mcache = mcache->all_link) {
        for (uint32_t i = 0; i <= SIZE_CLASS_COUNT; i++) {
            mallocs[i] += load_relaxed(&mcache->stats.mallocs[i]);
            frees[i] += load_relaxed(&mcache->stats.frees[i]);
        }
        for (uint32_t i = 1; i < SIZE_CLASS_COUNT; i++) {
            manual_frees[i] += load_relaxed(&mcache->manual[i].frees);
            // Out in callers' hands: taken from the central, less what went
            // back and what waits on the list.
            manual_out[i] += (int64_t)(load_relaxed(&mcache->stats.manual_taken[i]) -
                                       load_relaxed(&mcache->stats.manual_returned[i]) -
                                       load_relaxed(&mcache->manual[i].count));
        }
        large_allocated += load_relaxed(&mcache->stats.large_bytes_allocated);
        large_freed += load_relaxed(&mcache->stats.large_bytes_freed);
    }
    // Every small manual block freed was malloc'd, and so was every one
    // still out. (Counts read while they move can make `out` negative.)
    for (uint32_t i = 1; i < SIZE_CLASS_COUNT; i++) {
        mallocs[i] += manual_frees[i] + (uint64_t)(manual_out[i] > 0 ? manual_out[i] : 0);
        frees[i] += manual_frees[i];
    }
    // Typed objects are freed by sweeping, not by a P.
    for (uint32_t i = 0; i <= SIZE_CLASS_COUNT; i++)
        frees[i] += __atomic_load_n(&sweep_frees[i], __ATOMIC_RELAXED);
    large_freed += __atomic_load_n(&sweep_large_bytes_freed, __ATOMIC_RELAXED);
    for (uint32_t i = 0; i <= SIZE_CLASS_COUNT; i++) {
        bool large = i == SIZE_CLASS_COUNT;
        // Class 0 holds no objects; its entry stands for large objects.
        struct memstats_class *class = &stats->by_size[large ? 0 : i];
        class->size = large ? 0 : (uint32_t)size_class_bytes[i];
        class->mallocs = mallocs[i];
        class->frees = frees[i];
        stats->mallocs += mallocs[i];
        stats->frees += frees[i];
        if (!large)
            stats->heap_alloc += (mallocs[i] - frees[i]) * size_class_bytes[i];
    }
    stats->heap_alloc += large_allocated - large_freed;
    stats->heap_objects = stats->mallocs - stats->frees;

    runtime_lock_acquire(&mheap.lock);
    stats->heap_sys = mheap.sys_bytes;
    stats->heap_inuse = mheap.inuse_pages * HEAP_PAGE_SIZE;
    stats->manual_inuse = mheap.manual_pages * HEAP_PAGE_SIZE;
    stats->span_count = mheap.span_count;
    if (mheap.arenas) {
        stats->heap_idle = page_alloc_free_pages(&mheap.pages) * HEAP_PAGE_SIZE;
        stats->heap_released = page_alloc_scavenged_pages(&mheap.pages) * HEAP_PAGE_SIZE;
    }
    runtime_lock_release(&mheap.lock);
}

void runtime_print_memstats(void)
{
    struct memstats stats;
    runtime_read_memstats(&stats);
    runtime_printf("memstats: heap_alloc=%llu heap_sys=%llu heap_idle=%llu heap_inuse=%llu heap_released=%llu "
                   "heap_objects=%llu mallocs=%llu frees=%llu manual_inuse=%llu spans=%llu\n",
                   (unsigned long long)stats.heap_alloc, (unsigned long long)stats.heap_sys,
                   (unsigned long long)stats.heap_idle, (unsigned long long)stats.heap_inuse,
                   (unsigned long long)stats.heap_released, (unsigned long long)stats.heap_objects,
                   (unsigned long long)stats.mallocs, (unsigned long long)stats.frees,
                   (unsigned long long)stats.manual_inuse, (unsigned long long)stats.span_count);
    for (uint32_t i = 0; i < SIZE_CLASS_COUNT; i++) {
        const struct memstats_class *class = &stats.by_size[i];
        if (class->mallocs)
            runtime_printf("memstats: class=%u size=%u mallocs=%llu frees=%llu\n", i, class->size,
                           (unsigned long long)class->mallocs, (unsigned long long)class->frees);
    }
}
