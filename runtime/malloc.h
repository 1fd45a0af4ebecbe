/*
 * malloc.h: hardway's memory allocator, the interface programs use.
 *
 * Two kinds of memory come from the same heap (docs/allocator.md):
 *
 *   Typed, garbage-collected objects: gc_new(type), gc_alloc(size, type),
 *   gc_alloc_noscan(size). A type descriptor tells the collector where the
 *   object's pointers are (struct gc_type, built with offsetof), so it can
 *   scan heap objects precisely. The collector frees them once nothing
 *   reaches them (gc.h, docs/gc.md).
 *
 *   Manual memory for C code: runtime_malloc, runtime_free, runtime_calloc,
 *   runtime_realloc -- the C library's contract, served from explicitly
 *   freed spans that the collector never sweeps. In the kernel these are the
 *   only malloc; hosted they keep their own names, so the C library's malloc
 *   stays untouched. Callable from any thread, M or not, before and after
 *   the scheduler starts; not from an interrupt handler.
 */
#ifndef HARDWAY_RUNTIME_MALLOC_H
#define HARDWAY_RUNTIME_MALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* --- Typed allocation ---------------------------------------------------- */

// What the collector needs to know about a type: its size and which of its
// words hold pointers. Word i of an object holds a pointer when bit i of
// `pointers` is set (types up to 64 words), or of `pointer_bitmap` (any
// size; used when not NULL). Build the mask from field offsets:
//
//     struct node { struct node *left, *right; long value; };
//     static const struct gc_type node_type = {
//         .name = "node", .size = sizeof(struct node),
//         .pointers = GC_POINTER(struct node, left) | GC_POINTER(struct node, right),
//     };
struct gc_type {
    const char *name;
    size_t size;                     // bytes, a multiple of the pointer size if it has pointers
    uint64_t pointers;               // the pointer mask, for types of up to 64 words
    const uint64_t *pointer_bitmap;  // or the mask as an array, for bigger types
};

#define GC_POINTER(type, field) (1ull << (__builtin_offsetof(type, field) / sizeof(void *)))

// One zeroed object of `type`.
void *gc_new(const struct gc_type *type);
// `size` zeroed bytes holding an array of `type` (size a multiple of
// type->size); NULL type: pointer-free memory, as gc_alloc_noscan.
void *gc_alloc(size_t size, const struct gc_type *type);
// `size` zeroed bytes the collector never looks inside: the memory must not
// hold the only reference to a heap object.
void *gc_alloc_noscan(size_t size);

// Typed allocation stops the program with "out of memory" when the heap
// cannot grow, as Go does. Manual allocation returns NULL instead.

/* --- Manual allocation (the C library's malloc) --------------------------- */

void *runtime_malloc(size_t size);
void runtime_free(void *pointer);
void *runtime_calloc(size_t count, size_t size);
void *runtime_realloc(void *pointer, size_t size);
// The usable size of a block from runtime_malloc (at least what was asked).
size_t runtime_malloc_usable_size(void *pointer);

// A pointer runtime_free cannot have come from runtime_malloc (not in the
// heap, or in a typed object's page) always stops the program with a clear
// message. Debug mode (HARDWAY_MALLOCDEBUG=1 hosted, mallocdebug=1 in the
// kernel, or this call before the runtime starts and anything is allocated;
// later it is fatal) checks every free
// further -- a double free, or a pointer into the middle of a block -- and
// fills freed memory with 0xdd so that a use after free shows.
void runtime_malloc_debug(bool enabled);

/* --- Finding objects ------------------------------------------------------ */

// The start of the heap object that contains `address` (an interior pointer
// works), or NULL when the address is not inside an allocated heap object.
// *size, if not NULL, gets the object's size (its size class's, not the
// size asked for). In a manual span (runtime_malloc's) the answer is the
// block's start whether the block is allocated or free at the moment.
void *runtime_heap_object(const void *address, size_t *size);

/* --- Statistics (Go's runtime.MemStats) ---------------------------------- */

struct memstats {
    uint64_t heap_alloc;     // bytes in allocated objects, typed and manual
    uint64_t heap_sys;       // bytes of address space the heap has obtained
    uint64_t heap_idle;      // bytes in free pages (returned to the platform or not)
    uint64_t heap_inuse;     // bytes in pages holding spans
    uint64_t heap_released;  // bytes of free pages given back to the platform
    uint64_t heap_objects;   // objects allocated and not freed
    uint64_t mallocs;        // objects allocated, ever
    uint64_t frees;          // objects freed, ever
    uint64_t manual_inuse;   // of heap_inuse: pages in manual (runtime_malloc) spans
    uint64_t span_count;     // spans in use
    struct memstats_class {
        uint32_t size;       // the class's object size (0: large objects)
        uint64_t mallocs, frees;
    } by_size[70];
};

void runtime_read_memstats(struct memstats *stats);
// Prints the statistics (memstats=1): one "memstats: name=value ..." line,
// then one line per size class that has allocated.
void runtime_print_memstats(void);
// Gives every free page's memory back to the platform now (Go's
// debug.FreeOSMemory).
void runtime_free_os_memory(void);

#endif
