/*
 * The page allocator: which pages of the heap are free, and which of the
 * free ones have been given back to the platform (Go's pageAlloc,
 * mpagealloc.go).
 *
 * The heap is made of 8 KiB pages. The mheap reserves address space from
 * the platform in 64 MiB arenas and hands each to page_alloc_grow; from then
 * on page_alloc_alloc finds runs of free pages for spans and
 * page_alloc_free takes them back. page_alloc_scavenge gives the memory of
 * free pages back to the platform (hosted: madvise) without forgetting the
 * pages: a later allocation simply uses them again, and says how many of
 * the pages it returns had been given back, so the caller can count them as
 * resident once more.
 *
 * The allocator never touches the memory it manages; it only keeps
 * bitmaps about it, in records from runtime_zalloc. Its design is in
 * runtime/mpagealloc.c; docs/allocator.md tells the story.
 *
 * Locking: none inside. Every function is called with the mheap's lock
 * held, as Go calls pageAlloc's methods with mheap_.lock held.
 */
#ifndef HARDWAY_RUNTIME_MPAGEALLOC_H
#define HARDWAY_RUNTIME_MPAGEALLOC_H

#include <stddef.h>
#include <stdint.h>

// A heap page (Go's pageSize): the unit of span sizes.
#define HEAP_PAGE_SHIFT 13
#define HEAP_PAGE_SIZE ((size_t)1 << HEAP_PAGE_SHIFT)

// A chunk (Go's pallocChunkPages): 512 pages, 4 MiB, the unit of the page
// allocator's bitmaps and of its summaries.
#define PAGE_CHUNK_PAGES 512
#define PAGE_CHUNK_SIZE ((size_t)PAGE_CHUNK_PAGES * HEAP_PAGE_SIZE)

// A heap arena (Go's heapArenaBytes): 64 MiB of address space, 64 MiB
// aligned, the unit in which the mheap reserves memory and grows the page
// allocator. 16 chunks.
#define HEAP_ARENA_SHIFT 26
#define HEAP_ARENA_SIZE ((size_t)1 << HEAP_ARENA_SHIFT)
#define HEAP_ARENA_PAGES (HEAP_ARENA_SIZE / HEAP_PAGE_SIZE)
#define HEAP_ARENA_CHUNKS (HEAP_ARENA_SIZE / PAGE_CHUNK_SIZE)

// An arena's place in the page allocator: its address and summary, and its
// bitmaps (runtime/mpagealloc.c).
struct page_alloc_arena_slot;

struct page_alloc {
    // Every arena grown so far, sorted by address. The array comes from
    // runtime_zalloc and is replaced by one twice as large when it fills.
    struct page_alloc_arena_slot *arenas;
    size_t arena_count;
    size_t arena_capacity;
    // Every page below this address is in use, so a search starts here
    // (Go's searchAddr). UINTPTR_MAX when no page may be free.
    uintptr_t search_address;
    // Gives memory back to the platform (platform_release; tests record).
    void (*release)(void *address, size_t size);
    size_t total_pages;        // pages grown
    size_t free_pages;         // pages not in use, scavenged or not
    size_t scavenged_pages;    // free pages whose memory was given back
};

// Sets up an empty allocator; `release` is how scavenged memory goes back
// (platform_release; it is called with the mheap's lock held, like
// everything here). A NULL release only keeps the books.
void page_alloc_init(struct page_alloc *pa, void (*release)(void *address, size_t size));

// Adds [base, base + size) to the heap, every page free. base and size are
// multiples of HEAP_ARENA_SIZE, and the range was never grown before.
// Memory fresh from platform_reserve has never been touched, so takes no
// physical memory: the new pages count as scavenged, and the allocation
// that first hands them out says so.
void page_alloc_grow(struct page_alloc *pa, uintptr_t base, size_t size);

// Finds the lowest-addressed run of `npages` free pages, marks it in use and
// returns its base, or returns 0 when no such run exists. A run may cross
// chunk boundaries and the boundary between adjacent arenas, never a gap
// between arenas. *scavenged_pages (which may be NULL) is set to how many
// pages of the run had been given back to the platform.
uintptr_t page_alloc_alloc(struct page_alloc *pa, size_t npages, size_t *scavenged_pages);

// Marks [base, base + npages pages) free again. Every page of it must be in
// use: anything else is a fatal error.
void page_alloc_free(struct page_alloc *pa, uintptr_t base, size_t npages);

// Gives back to the platform the memory of up to max_bytes (rounded down to
// whole pages) of free pages whose memory is still resident, highest
// addresses first, one release call per contiguous run. Returns the bytes
// given back. SIZE_MAX gives back everything that is free.
size_t page_alloc_scavenge(struct page_alloc *pa, size_t max_bytes);

// Statistics, in pages.
size_t page_alloc_total_pages(const struct page_alloc *pa);
size_t page_alloc_free_pages(const struct page_alloc *pa);
size_t page_alloc_scavenged_pages(const struct page_alloc *pa);

// Recomputes every summary and count from the bitmaps and throws if any
// stored one differs, or if a page below the search address is free. For
// tests and debugging; it reads all the metadata.
void page_alloc_check_invariants(const struct page_alloc *pa);

#endif
