/*
 * Size classes: the few object sizes the allocator deals in.
 *
 * A small request (1 byte to SIZE_CLASS_MAX_SMALL_SIZE, 32 KiB) is not
 * served at its own size. It is rounded up to the nearest of 67 sizes, its
 * size class, and every span -- a run of whole pages from mheap -- holds
 * objects of one class only, packed from the span's first byte. That is
 * Go's design (malloc.go), with Go's table. What it buys:
 *
 *   - a span's free objects are bits in a bitmap, one per object slot, so
 *     allocating is finding a zero bit and freeing is clearing one, with no
 *     headers and no splitting or coalescing of small blocks;
 *   - an address inside a span (an interior pointer, as the collector finds
 *     on stacks) leads to its object with one multiply and shift,
 *     size_class_object_index, instead of a search;
 *   - memory freed by one size can be reused by that size without
 *     fragmenting: the holes in a span are exactly object-sized.
 *
 * The price is waste, of two kinds. Rounding up loses the gap to the class
 * below; from 128 bytes on the classes step by about 1/8 of their size, so
 * the gap stays near that (below 128 bytes alignment makes it larger: 33
 * bytes take a 48-byte slot). And a span's tail, the bytes after its last
 * whole object, is at most 1/8 of the span -- the bound the generator
 * guarantees: each class takes the fewest pages for which it holds. The
 * generated header lists every class with its span, its object count and
 * its worst case of both wastes together.
 *
 * The table itself is generated: tools/mksizeclasses derives it (the
 * algorithm is written out at its top) into sizeclasses_table.h under
 * $(BUILD)/generated/runtime/, which the build puts on the include path.
 * Its arrays are indexed by class; class 0 is "not a small object" (size
 * 0), as in Go:
 *
 *   size_class_bytes[c]         bytes per object
 *   size_class_pages[c]         pages per span (SIZE_CLASS_PAGE_SIZE each)
 *   size_class_objects[c]       objects per span
 *   size_class_divide_magic[c]  see size_class_object_index
 *   size_to_class8, size_to_class128   the lookup size_class_of does
 *
 * docs/allocator.md, "Size classes", explains the choices; the tests are
 * tests/runtime/test_sizeclasses.c. This header needs nothing from the rest
 * of the runtime, so the generator's test, mheap and the kernel can all
 * include it.
 */
#ifndef HARDWAY_RUNTIME_SIZECLASSES_H
#define HARDWAY_RUNTIME_SIZECLASSES_H

#include <stddef.h>
#include <stdint.h>

#include "sizeclasses_table.h"

/*
 * The size class for a request of `size` bytes: the smallest class whose
 * objects hold it. 0 when there is none -- for size 0 (the caller decides
 * what a zero-size allocation is, as Go hands out &zerobase) and for sizes
 * above SIZE_CLASS_MAX_SMALL_SIZE, which are large objects with spans of
 * their own.
 */
static inline uint8_t size_class_of(size_t size)
{
    if (size <= SIZE_TO_CLASS8_MAX_SIZE)
        return size_to_class8[(size + SIZE_TO_CLASS8_STEP - 1) / SIZE_TO_CLASS8_STEP];
    if (size <= SIZE_CLASS_MAX_SMALL_SIZE)
        return size_to_class128[(size - SIZE_TO_CLASS8_MAX_SIZE + SIZE_TO_CLASS128_STEP - 1) /
                                SIZE_TO_CLASS128_STEP];
    return 0;
}

/* Bytes in a span of this class (whole pages; 0 for class 0). */
static inline size_t size_class_span_bytes(uint8_t size_class)
{
    return (size_t)size_class_pages[size_class] << SIZE_CLASS_PAGE_SHIFT;
}

/*
 * The index of the object holding byte `offset_in_span` of a span of this
 * class: offset_in_span / size_class_bytes[size_class], computed as Go's
 * divideByElemSize does, with a multiply and a shift instead of a division
 * (a divide costs tens of cycles; the collector does this for every pointer
 * it follows). The generator has checked that the result is exact for every
 * offset from 0 to size_class_span_bytes(size_class); outside that range,
 * and for class 0, the answer means nothing.
 */
static inline uint32_t size_class_object_index(uint8_t size_class, size_t offset_in_span)
{
    return (uint32_t)(((uint64_t)offset_in_span * size_class_divide_magic[size_class]) >> 32);
}

#endif
