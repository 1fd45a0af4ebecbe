/*
 * gc.h: the garbage collector, the interface programs use (docs/gc.md).
 *
 * Objects from gc_new / gc_alloc / gc_alloc_noscan (malloc.h) are freed by
 * the collector once nothing reaches them. What reaches them:
 *
 *   - every goroutine's stack and saved registers (scanned conservatively:
 *     any word that looks like a pointer into an object keeps it alive,
 *     interior pointers included);
 *   - registered roots (gc_add_root): global variables, or manual memory
 *     (runtime_malloc) that holds pointers to collected objects;
 *   - in the kernel, the image's data and bss;
 *   - the pointer fields of reachable heap objects, as their gc_type says.
 *
 * Pointers kept anywhere else -- manual memory that is not registered, a
 * noscan object, a hosted global that is not registered -- do not keep an
 * object alive.
 *
 * The collector runs concurrently with goroutines, so every store of a
 * pointer into a heap object or a registered root goes through gc_store:
 *
 *     gc_store(&node->left, child);      // not: node->left = child;
 *
 * Stores into local variables (the stack) need no barrier, and neither do
 * the first stores into an object that has not yet been published (but
 * gc_store is always correct). The write barrier is off, and gc_store a
 * call and one predictable branch, except while the collector marks.
 *
 * Why a call and not inline code: the check "is the collector marking?"
 * and the store must happen with no mark starting in between. Go's
 * compiler keeps preemption out of that window; in C the window would be
 * in the program's own code, which asynchronous preemption may interrupt
 * anywhere. The runtime's code is never interrupted that way
 * (runtime/preempt.c), so the two live together in gc_store_pointer.
 */
#ifndef HARDWAY_RUNTIME_GC_H
#define HARDWAY_RUNTIME_GC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

// *slot = value, with the write barrier when the collector marks.
void gc_store_pointer(void **slot, void *value);

// gc_store(&object->field, value): the typed front of gc_store_pointer (the
// value must convert to the field's type).
#define gc_store(slot, value)                                                                      \
    do {                                                                                           \
        __typeof__(slot) gc_store_slot_ = (slot);                                                  \
        __typeof__(*gc_store_slot_) gc_store_value_ = (value);                                     \
        gc_store_pointer((void **)gc_store_slot_, (void *)gc_store_value_);                        \
    } while (0)

// Registers [start, start + size) as a root: scanned conservatively every
// cycle, until gc_remove_root(start). `name` shows in checkmark failures.
void gc_add_root(const void *start, size_t size, const char *name);
void gc_remove_root(const void *start);

// Runs a full collection now and sweeps the whole heap before returning
// (Go's runtime.GC).
void runtime_gc(void);

// Sets GOGC (the heap may grow to live * (1 + percent/100) before the next
// cycle); a negative percent turns the collector off. Returns the old
// setting (Go's debug.SetGCPercent).
int runtime_set_gc_percent(int percent);

#define GC_PAUSE_HISTORY 512

// What the collector has done (Go's MemStats GC fields and more).
struct gc_stats {
    uint64_t cycles;              // completed collections
    uint64_t forced_cycles;       // of those, started by runtime_gc
    uint64_t pause_total_ns;      // every stop-the-world pause, summed
    uint64_t pause_max_ns;        // the longest one
    uint64_t pause_count;         // how many: two per cycle, one more per restart of its mark
    uint64_t pauses_ns[GC_PAUSE_HISTORY];  // the last GC_PAUSE_HISTORY, at [i % GC_PAUSE_HISTORY]
    uint64_t heap_live;           // bytes in use as the pacer sees them (spans handed out)
    uint64_t heap_marked;         // bytes marked live by the last cycle
    uint64_t heap_goal;           // the heap size the next cycle aims to finish by
    uint64_t heap_trigger;        // heap_live at which the next cycle starts
    uint64_t assist_ns;           // time goroutines spent in mark assists
    uint64_t mark_worker_ns;      // time background mark workers spent marking
    uint64_t gc_cpu_ns;           // all collector CPU time: pauses x Ps, workers, assists
    uint64_t objects_freed;       // objects swept free, ever
};

void runtime_read_gc_stats(struct gc_stats *stats);

#endif
