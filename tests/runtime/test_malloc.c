/*
 * Allocator tests: typed allocation (gc_new, gc_alloc, gc_alloc_noscan),
 * the tiny allocator, manual allocation (runtime_malloc and friends), the
 * object lookup the collector will use, and the statistics
 * (runtime/malloc.h; the page allocator and the size-class table have
 * suites of their own).
 *
 * Each test runs in a process of its own (Check forks), most inside a whole
 * runtime with goroutines on several Ms; fatal errors are tested in a
 * further child process (child.h), reading what the dying program said.
 */
#include "chan.h"
#include "child.h"
#include "gc.h"
#include "malloc.h"
#include "mheap.h"
#include "runtime.h"
#include "sync.h"
#include <check.h>
#include <stdlib.h>

static int run_with_procs(goroutine_function main_function, int procs_wanted)
{
    struct runtime_config config = { .procs = procs_wanted };
    return runtime_run(main_function, NULL, &config);
}

static void expect_fatal(int (*program)(void *), const char *message)
{
    struct child_result result = run_in_child(program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, message), "no \"%s\" in output:\n%s", message, result.output);
}

/* --- Every size class ---------------------------------------------------------- */

// Typed objects here are arrays of pointers: pointer-free objects under 16
// bytes would go to the tiny allocator instead (tested below).
static const struct gc_type pointer_type = { .name = "pointer", .size = sizeof(void *), .pointers = 1 };

static void *allocate(bool manual, size_t size)
{
    if (manual)
        return runtime_malloc(size);
    return gc_alloc((size + 7) & ~(size_t)7, &pointer_type);
}

// For every size class: objects of exactly the class's size and of one byte
// more than the class below come from that class, are aligned, lie inside
// one span, do not overlap, and are found again from any interior address.
static void check_every_class(bool manual)
{
    for (uint32_t size_class = 1; size_class < SIZE_CLASS_COUNT; size_class++) {
        size_t size = size_class_bytes[size_class];
        size_t smallest = size_class_bytes[size_class - 1] + 1;
        enum { OBJECTS = 3 };
        uint8_t *objects[OBJECTS];
        for (int i = 0; i < OBJECTS; i++) {
            size_t asked = i == 0 ? smallest : size;
            objects[i] = allocate(manual, asked);
            ck_assert_ptr_nonnull(objects[i]);
            size_t alignment = size >= 16 ? 16 : 8;
            if (size % 16 != 0)
                alignment = 8;
            ck_assert_msg((uintptr_t)objects[i] % alignment == 0, "class %u object %p not %zu-aligned", size_class,
                          (void *)objects[i], alignment);
            memset(objects[i], 0x5a, asked);
            struct mspan *span = heap_span_of((uintptr_t)objects[i]);
            ck_assert_ptr_nonnull(span);
            ck_assert_int_eq(span->elemsize, size);
            ck_assert_int_eq(span->state, manual ? MSPAN_MANUAL : MSPAN_IN_USE);
            ck_assert((uintptr_t)objects[i] + size <= span->limit);
            ck_assert(span->limit <= span->start + span->npages * HEAP_PAGE_SIZE);
            // The first byte, a middle one and the last one all lead back.
            size_t found_size = 0;
            ck_assert_ptr_eq(runtime_heap_object(objects[i], &found_size), objects[i]);
            ck_assert_int_eq(found_size, size);
            ck_assert_ptr_eq(runtime_heap_object(objects[i] + size / 2, NULL), objects[i]);
            ck_assert_ptr_eq(runtime_heap_object(objects[i] + size - 1, NULL), objects[i]);
        }
        for (int i = 0; i < OBJECTS; i++)
            for (int j = 0; j < OBJECTS; j++)
                if (i != j)
                    ck_assert(objects[i] + size <= objects[j] || objects[j] + size <= objects[i]);
        if (manual)
            for (int i = 0; i < OBJECTS; i++)
                runtime_free(objects[i]);
    }
}

static void every_class_typed(void *unused)
{
    (void)unused;
    check_every_class(false);
}

START_TEST(test_every_class_typed)
{
    ck_assert_int_eq(run_with_procs(every_class_typed, 1), 0);
}
END_TEST

static void every_class_manual(void *unused)
{
    (void)unused;
    check_every_class(true);
}

START_TEST(test_every_class_manual)
{
    ck_assert_int_eq(run_with_procs(every_class_manual, 1), 0);
}
END_TEST

// Before the scheduler starts, and on a thread that is not an M, the
// allocator works too (through the global mcache).
START_TEST(test_allocation_without_a_p)
{
    check_every_class(true);
    check_every_class(false);
    void *large = runtime_malloc(100000);
    ck_assert_ptr_nonnull(large);
    runtime_free(large);
}
END_TEST

/* --- Typed allocation ------------------------------------------------------------ */

struct tree_node {
    struct tree_node *left;
    long value;
    struct tree_node *right;
    char *name;
};

static const struct gc_type tree_node_type = {
    .name = "tree_node",
    .size = sizeof(struct tree_node),
    .pointers = GC_POINTER(struct tree_node, left) | GC_POINTER(struct tree_node, right) |
                GC_POINTER(struct tree_node, name),
};

// Whether the collector would take word `index` of `object` for a pointer
// (its span's uniform mask, or the heap bitmap).
static bool heap_bit(const void *object, size_t index)
{
    uintptr_t address = (uintptr_t)object + index * sizeof(void *);
    return heap_word_is_pointer(heap_span_of(address), address);
}

static void typed_objects(void *unused)
{
    (void)unused;
    // Zeroed, with the pointer words of their type marked, the rest not --
    // also after the same memory held another type's objects? It cannot yet
    // (nothing typed is freed before the collector), so: fresh objects.
    for (int i = 0; i < 10000; i++) {
        struct tree_node *node = gc_new(&tree_node_type);
        ck_assert_ptr_nonnull(node);
        ck_assert(node->left == NULL && node->right == NULL && node->value == 0 && node->name == NULL);
        ck_assert(heap_bit(node, 0) && !heap_bit(node, 1) && heap_bit(node, 2) && heap_bit(node, 3));
        node->value = i;
    }
    // An array of nodes: the pattern repeats for each element.
    enum { ELEMENTS = 100 };
    struct tree_node *array = gc_alloc(ELEMENTS * sizeof *array, &tree_node_type);
    for (size_t element = 0; element < ELEMENTS; element++) {
        size_t first = element * 4;
        ck_assert(heap_bit(array, first) && !heap_bit(array, first + 1) && heap_bit(array, first + 2) &&
                  heap_bit(array, first + 3));
    }
    // A large array (a span of its own, past 32 KiB).
    enum { LARGE_ELEMENTS = 5000 };
    struct tree_node *large = gc_alloc(LARGE_ELEMENTS * sizeof *large, &tree_node_type);
    ck_assert_ptr_eq(runtime_heap_object(&large[LARGE_ELEMENTS - 1].name, NULL), large);
    for (size_t element = 0; element < LARGE_ELEMENTS; element++)
        ck_assert(heap_bit(large, element * 4) && !heap_bit(large, element * 4 + 1));
    for (size_t i = 0; i < LARGE_ELEMENTS; i++)
        ck_assert(large[i].left == NULL && large[i].value == 0);
    // Noscan memory is zeroed too, and a type without pointers is noscan.
    static const struct gc_type plain_type = { .name = "plain", .size = 24 };
    long *plain = gc_new(&plain_type);
    ck_assert(plain[0] == 0 && plain[1] == 0 && plain[2] == 0);
    ck_assert(span_class_noscan(heap_span_of((uintptr_t)plain)->span_class));
    ck_assert(!span_class_noscan(heap_span_of((uintptr_t)array)->span_class));
    // Zero bytes: a valid pointer, not NULL, the same every time.
    ck_assert_ptr_nonnull(gc_alloc_noscan(0));
    ck_assert_ptr_eq(gc_alloc_noscan(0), gc_alloc_noscan(0));
}

START_TEST(test_typed_objects)
{
    ck_assert_int_eq(run_with_procs(typed_objects, 1), 0);
}
END_TEST

// Whether word `index` of an object of `type` holds a pointer, from the
// type itself.
static bool type_bit(const struct gc_type *type, size_t index)
{
    if (type->pointer_bitmap)
        return type->pointer_bitmap[index / 64] >> (index % 64) & 1;
    return type->pointers >> index & 1;
}

// The heap bitmap of an object of `elemsize` bytes holding `count` elements
// of `type`: the type's bits element after element, nothing past them.
static void check_heap_bits(const void *object, size_t elemsize, const struct gc_type *type, size_t count)
{
    size_t type_words = type->size / sizeof(void *);
    for (size_t word = 0; word < elemsize / sizeof(void *); word++) {
        bool want = word < count * type_words && type_bit(type, word % type_words);
        if (heap_bit(object, word) != want)
            ck_abort_msg("%s x %zu at %p (%zu-byte slot): word %zu's pointer bit is %d, not %d", type->name, count,
                         object, elemsize, word, !want, want);
    }
}

// An irregular mask of `words` bits, different for every seed.
static uint64_t irregular_mask(size_t words, unsigned seed)
{
    uint64_t mask = 0;
    for (size_t i = 0; i < words && i < 64; i++)
        if ((i * 7 + seed) % 3 != 1)
            mask |= (uint64_t)1 << i;
    return mask;
}

static void heap_bits_of_every_shape(void *unused)
{
    (void)unused;
    int old_percent = runtime_set_gc_percent(-1);   // nothing moves or goes while we look
    static uint64_t big_bitmap[SIZE_CLASS_MAX_SMALL_SIZE / sizeof(void *) / 64];
    for (size_t i = 0; i < sizeof big_bitmap / sizeof big_bitmap[0]; i++)
        big_bitmap[i] = irregular_mask(64, (unsigned)i) ^ (i % 2 ? 0xff00ull : 0);
    // Every class: objects of a type that fills the slot, over more than one
    // span so that fresh spans get their whole bitmap at once -- 2n + 1 of
    // them for n objects a span: whatever the first span had left, at least
    // one whole span is filled from its start and another begun -- then an
    // object of a smaller type in the same span (which becomes mixed), then
    // the first ones again, untouched. The smaller type is one word more
    // than the class below, the smallest size of this class; for class 2
    // (16 bytes, above class 1's 8) that is the same 16 bytes as the full
    // type, so there the mix is of two 16-byte types with different masks.
    for (uint32_t size_class = 2; size_class < SIZE_CLASS_COUNT; size_class++) {
        size_t elemsize = size_class_bytes[size_class];
        size_t words = elemsize / sizeof(void *);
        struct gc_type full = { .name = "full", .size = elemsize };
        if (words <= 64)
            full.pointers = irregular_mask(words, size_class);
        else
            full.pointer_bitmap = big_bitmap;
        size_t smaller_words = size_class_bytes[size_class - 1] / sizeof(void *) + 1;
        struct gc_type smaller = { .name = "smaller", .size = smaller_words * sizeof(void *) };
        if (smaller_words <= 64)
            smaller.pointers = irregular_mask(smaller_words, size_class + 1);
        else
            smaller.pointer_bitmap = big_bitmap;
        if (smaller_words == words)
            ck_assert_uint_ne(smaller.pointers, full.pointers);
        size_t count = 2 * size_class_objects[size_class] + 1;
        void **objects = malloc((count + 2) * sizeof *objects);   // the C library's: never scanned, never swept
        ck_assert_ptr_nonnull(objects);
        for (size_t i = 0; i < count; i++) {
            objects[i] = gc_new(&full);
            check_heap_bits(objects[i], elemsize, &full, 1);
        }
        objects[count] = gc_new(&smaller);
        objects[count + 1] = gc_new(&full);
        check_heap_bits(objects[count], elemsize, &smaller, 1);
        for (size_t i = 0; i < count; i++)
            check_heap_bits(objects[i], elemsize, &full, 1);
        check_heap_bits(objects[count + 1], elemsize, &full, 1);
        free(objects);
    }
    // Arrays of a three-word type and of a hundred-word one, of every length
    // up to past 32 KiB: each element's bits, then none in the slot's tail.
    static const struct gc_type triple = { .name = "triple", .size = 24, .pointers = 0x5 };
    static const struct gc_type hundred = { .name = "hundred", .size = 800, .pointer_bitmap = big_bitmap };
    const struct gc_type *array_types[] = { &triple, &hundred };
    for (size_t t = 0; t < 2; t++) {
        const struct gc_type *type = array_types[t];
        for (size_t count = 1; count * type->size <= 3 * SIZE_CLASS_MAX_SMALL_SIZE; count += 1 + count / 4) {
            void *array = gc_alloc(count * type->size, type);
            size_t slot = 0;
            ck_assert_ptr_eq(runtime_heap_object(array, &slot), array);
            check_heap_bits(array, slot, type, count);
        }
    }
    runtime_set_gc_percent(old_percent);
}

START_TEST(test_heap_bits_of_every_shape)
{
    ck_assert_int_eq(run_with_procs(heap_bits_of_every_shape, 1), 0);
}
END_TEST

// Whether every heap bitmap word over span's objects is zero.
static bool span_bitmap_is_zero(const struct mspan *span)
{
    const struct heap_arena *arena = heap_arena_of(span->start);
    size_t first = (span->start % HEAP_ARENA_SIZE) / sizeof(void *) / 64;
    size_t words = (span->limit - span->start) / sizeof(void *);
    for (size_t i = 0; i < (words + 63) / 64; i++)
        if (arena->pointer_bits[first + i] != 0)
            return false;
    return true;
}

// The heap bitmap itself (not the span's mask) for word `index` of `object`.
static bool bitmap_bit(const void *object, size_t index)
{
    uintptr_t address = (uintptr_t)object + index * sizeof(void *);
    const struct heap_arena *arena = heap_arena_of(address);
    size_t word = (address % HEAP_ARENA_SIZE) / sizeof(void *);
    return arena->pointer_bits[word / 64] >> (word % 64) & 1;
}

// Spans of one type leave their part of the heap bitmap unwritten (the
// collector reads the type's mask from the span), so a heap of them never
// brings the bitmap's pages in; when a second type joins a span, the
// bitmap is written for every object already there. The process is fresh
// (Check forks) and nothing is freed, so the pages are new and their
// bitmap words read zero unless something wrote them.
static void one_type_spans(void *unused)
{
    (void)unused;
    int old_percent = runtime_set_gc_percent(-1);
    static const struct gc_type pair = { .name = "pair", .size = 48, .pointers = 0x5 };           // words 0, 2
    static const struct gc_type other_pair = { .name = "other pair", .size = 48, .pointers = 0x12 };   // 1, 4
    enum { COUNT = 500 };   // a few spans of 48-byte objects
    void **objects = malloc(COUNT * sizeof *objects);   // the C library's: never scanned
    ck_assert_ptr_nonnull(objects);
    size_t spans = 0;
    for (size_t i = 0; i < COUNT; i++) {
        objects[i] = gc_new(&pair);
        if (i == 0 || heap_span_of((uintptr_t)objects[i - 1]) != heap_span_of((uintptr_t)objects[i]))
            spans++;
    }
    ck_assert_uint_ge(spans, 2);
    for (size_t i = 0; i < COUNT; i++) {
        struct mspan *span = heap_span_of((uintptr_t)objects[i]);
        ck_assert_ptr_eq(span->uniform_type, &pair);
        ck_assert_msg(span_bitmap_is_zero(span), "pair %zu: its span of one type had heap bits written", i);
        ck_assert(heap_word_is_pointer(span, (uintptr_t)objects[i]) &&
                  !heap_word_is_pointer(span, (uintptr_t)objects[i] + 8));
    }
    // The other type goes into the span the last pair came from (the
    // mcache's, not full), which turns mixed.
    struct mspan *span = heap_span_of((uintptr_t)objects[COUNT - 1]);
    ck_assert_uint_lt(span->alloc_count, span->nelems);
    void *other = gc_new(&other_pair);
    ck_assert_ptr_eq(heap_span_of((uintptr_t)other), span);
    ck_assert_ptr_null(span->uniform_type);
    ck_assert_uint_eq(span->uniform_mask, 0);
    for (size_t i = 0; i < COUNT; i++) {
        if (heap_span_of((uintptr_t)objects[i]) != span)
            continue;
        for (size_t word = 0; word < 6; word++)
            ck_assert_msg(bitmap_bit(objects[i], word) == (word == 0 || word == 2),
                          "pair %zu, word %zu: the bitmap was not written when its span turned mixed", i, word);
    }
    for (size_t word = 0; word < 6; word++)
        ck_assert(bitmap_bit(other, word) == (word == 1 || word == 4));
    free(objects);
    runtime_set_gc_percent(old_percent);
}

START_TEST(test_one_type_spans_leave_the_bitmap_unwritten)
{
    ck_assert_int_eq(run_with_procs(one_type_spans, 1), 0);
}
END_TEST

static void tiny_objects(void *unused)
{
    (void)unused;
    // Pointer-free objects under 16 bytes share 16-byte blocks, each at its
    // own alignment, without overlapping.
    uint8_t *a = gc_alloc_noscan(8);
    uint8_t *b = gc_alloc_noscan(8);
    ck_assert_ptr_eq(b, a + 8);
    uint8_t *c = gc_alloc_noscan(1);
    uint8_t *d = gc_alloc_noscan(4);
    ck_assert((uintptr_t)d % 4 == 0);
    ck_assert(c + 1 <= d || d + 4 <= c);
    for (int i = 0; i < 100000; i++) {
        uint32_t *word = gc_alloc_noscan(4);
        ck_assert((uintptr_t)word % 4 == 0);
        ck_assert_int_eq(*word, 0);
        *word = 0xffffffffu;
    }
    struct memstats stats;
    runtime_read_memstats(&stats);
    // 100,000 four-byte objects took about a quarter as many blocks.
    ck_assert_uint_lt(stats.by_size[size_class_of(16)].mallocs, 100000 / 4 + 100);
}

START_TEST(test_tiny_objects)
{
    ck_assert_int_eq(run_with_procs(tiny_objects, 1), 0);
}
END_TEST

static int typed_out_of_memory(void *unused)
{
    (void)unused;
    gc_alloc_noscan((size_t)1 << 47);   // more than the address space
    return 0;
}

START_TEST(test_typed_out_of_memory_is_fatal)
{
    expect_fatal(typed_out_of_memory, "out of memory allocating 140737488355328 bytes");
}
END_TEST

static int ragged_type_allocation(void *unused)
{
    (void)unused;
    static const struct gc_type ragged = { .name = "ragged", .size = 12, .pointers = 1 };
    gc_alloc(24, &ragged);
    return 0;
}

START_TEST(test_type_with_pointers_and_a_ragged_size_is_fatal)
{
    expect_fatal(ragged_type_allocation, "type ragged holds pointers but its size, 12 bytes, is not a whole number");
}
END_TEST

/* --- Manual allocation ------------------------------------------------------------- */

// Each block carries guard words at both ends and its own pattern inside;
// a block that overlapped another, or was handed out twice, shows.
struct guarded_block {
    uint8_t *memory;
    size_t size;
    uint64_t stamp;
};

static void guarded_fill(struct guarded_block *block)
{
    for (size_t i = 0; i < block->size; i++)
        block->memory[i] = (uint8_t)(block->stamp + i);
}

static void guarded_check(const struct guarded_block *block)
{
    for (size_t i = 0; i < block->size; i++)
        if (block->memory[i] != (uint8_t)(block->stamp + i))
            ck_abort_msg("block %p (%zu bytes, stamp %llu) corrupted at byte %zu", (void *)block->memory,
                         block->size, (unsigned long long)block->stamp, i);
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

// A size with a spread like a C program's: mostly small, some up to a few
// KiB, now and then a large one.
static size_t random_size(uint64_t *random)
{
    uint64_t pick = next_random(random) % 1000;
    if (pick < 700)
        return 1 + next_random(random) % 128;
    if (pick < 990)
        return 1 + next_random(random) % 8192;
    return 32 * 1024 + next_random(random) % (200 * 1024);
}

enum { STORM_GOROUTINES = 16, STORM_ROUNDS = 4000, STORM_LIVE = 64 };

struct storm {
    struct waitgroup done;
    long failures;
};

static void allocation_storm(void *argument)
{
    struct storm *storm = argument;
    uint64_t random = (uint64_t)goid() * 0x9E3779B97F4A7C15ull | 1;
    struct guarded_block live[STORM_LIVE] = { 0 };
    for (int round = 0; round < STORM_ROUNDS; round++) {
        struct guarded_block *slot = &live[next_random(&random) % STORM_LIVE];
        if (slot->memory) {
            guarded_check(slot);
            runtime_free(slot->memory);
        }
        slot->size = random_size(&random);
        slot->stamp = next_random(&random);
        slot->memory = runtime_malloc(slot->size);
        ck_assert_ptr_nonnull(slot->memory);
        guarded_fill(slot);
        if (round % 64 == 0)
            gosched();   // mix the goroutines on each P
    }
    for (int i = 0; i < STORM_LIVE; i++) {
        if (live[i].memory) {
            guarded_check(&live[i]);
            runtime_free(live[i].memory);
        }
    }
    waitgroup_done(&storm->done);
}

static void manual_storm(void *unused)
{
    (void)unused;
    struct memstats before, after;
    runtime_read_memstats(&before);
    struct storm storm = { 0 };
    waitgroup_add(&storm.done, STORM_GOROUTINES);
    for (int i = 0; i < STORM_GOROUTINES; i++)
        go(allocation_storm, &storm);
    waitgroup_wait(&storm.done);
    runtime_read_memstats(&after);
    // Every block came back: the counts balance, and no byte is still out.
    ck_assert_uint_eq(after.mallocs - before.mallocs, after.frees - before.frees);
    ck_assert_uint_eq(after.heap_alloc, before.heap_alloc);
    ck_assert_uint_eq(after.mallocs - before.mallocs, (uint64_t)STORM_GOROUTINES * STORM_ROUNDS);
}

START_TEST(test_manual_storm_procs_1)
{
    ck_assert_int_eq(run_with_procs(manual_storm, 1), 0);
}
END_TEST

START_TEST(test_manual_storm_procs_2)
{
    ck_assert_int_eq(run_with_procs(manual_storm, 2), 0);
}
END_TEST

// Producer and consumer on different Ms: every block is freed on another P
// than the one that allocated it, and the memory still comes back.
struct handoff {
    struct chan *blocks;
    struct waitgroup done;
};

enum { HANDOFF_BLOCKS = 200000 };

static void produce(void *argument)
{
    struct handoff *handoff = argument;
    uint64_t random = 7;
    for (int i = 0; i < HANDOFF_BLOCKS; i++) {
        struct guarded_block block = { .size = 1 + next_random(&random) % 512, .stamp = (uint64_t)i };
        block.memory = runtime_malloc(block.size);
        ck_assert_ptr_nonnull(block.memory);
        guarded_fill(&block);
        chan_send(handoff->blocks, &block);
    }
    chan_close(handoff->blocks);
    waitgroup_done(&handoff->done);
}

static void consume(void *argument)
{
    struct handoff *handoff = argument;
    struct guarded_block block;
    while (chan_receive_ok(handoff->blocks, &block)) {
        guarded_check(&block);
        runtime_free(block.memory);
    }
    waitgroup_done(&handoff->done);
}

static void producer_consumer(void *unused)
{
    (void)unused;
    struct memstats before, after;
    runtime_read_memstats(&before);
    struct handoff handoff = { .blocks = chan_make(sizeof(struct guarded_block), 256) };
    waitgroup_add(&handoff.done, 2);
    go(produce, &handoff);
    go(consume, &handoff);
    waitgroup_wait(&handoff.done);
    chan_free(handoff.blocks);   // it came from the same heap
    runtime_read_memstats(&after);
    ck_assert_uint_eq(after.heap_alloc, before.heap_alloc);
    // The heap did not grow with the number of blocks: freed blocks were
    // used again (200,000 blocks of up to 512 bytes would be ~50 MiB).
    ck_assert_uint_lt(after.heap_inuse, before.heap_inuse + 8 * 1024 * 1024);
}

START_TEST(test_producer_consumer_procs_2)
{
    ck_assert_int_eq(run_with_procs(producer_consumer, 2), 0);
}
END_TEST

static void reuse_after_free(void *unused)
{
    (void)unused;
    // A freed block of a class is the next one handed out for that class.
    void *first = runtime_malloc(100);
    runtime_free(first);
    ck_assert_ptr_eq(runtime_malloc(100), first);
    // A large block's pages return to the heap and are used again.
    struct memstats before, after;
    runtime_read_memstats(&before);
    for (int i = 0; i < 100; i++) {
        void *large = runtime_malloc(1024 * 1024);
        ck_assert_ptr_nonnull(large);
        memset(large, i, 1024 * 1024);
        runtime_free(large);
    }
    runtime_read_memstats(&after);
    ck_assert_uint_le(after.heap_sys, before.heap_sys + HEAP_ARENA_SIZE);
    ck_assert_uint_eq(after.heap_alloc, before.heap_alloc);
}

START_TEST(test_reuse_after_free)
{
    ck_assert_int_eq(run_with_procs(reuse_after_free, 1), 0);
}
END_TEST

// The heap grows upward (mheap.c's arena hint): once it has grown, pages
// freed in its old arena -- resident memory -- are used again before the
// untouched pages of the new one. Were the new arena below the old, the
// lowest free pages would always be new ones, and every page freed before
// the growth would stay resident beside them.
static void growth_reuses_old_pages(void *unused)
{
    (void)unused;
    enum { BLOCK = 1024 * 1024, MAX_BLOCKS = 2 * HEAP_ARENA_SIZE / BLOCK };
    static void *blocks[MAX_BLOCKS];
    size_t count = 0;
    blocks[count++] = runtime_malloc(BLOCK);   // the heap's first arena
    struct memstats stats;
    runtime_read_memstats(&stats);
    uint64_t sys_before = stats.heap_sys;
    void *first_in_new_arena = NULL;
    while (first_in_new_arena == NULL) {
        ck_assert_uint_lt(count, MAX_BLOCKS);
        blocks[count] = runtime_malloc(BLOCK);
        ck_assert_ptr_nonnull(blocks[count]);
        memset(blocks[count], 0x5a, BLOCK);
        runtime_read_memstats(&stats);
        if (stats.heap_sys > sys_before)
            first_in_new_arena = blocks[count];
        count++;
    }
    for (size_t i = 0; i + 1 < count; i++)
        runtime_free(blocks[i]);
    void *again = runtime_malloc(BLOCK);
    ck_assert_ptr_nonnull(again);
    ck_assert_msg((uintptr_t)again < (uintptr_t)first_in_new_arena,
                  "a block after the growth went to %p, above the new arena's first block at %p, while %zu "
                  "blocks freed before the growth were free",
                  again, first_in_new_arena, count - 1);
    runtime_free(again);
    runtime_free(first_in_new_arena);
}

START_TEST(test_growth_reuses_old_pages)
{
    ck_assert_int_eq(run_with_procs(growth_reuses_old_pages, 1), 0);
}
END_TEST

static void calloc_and_realloc(void *unused)
{
    (void)unused;
    // calloc zeroes, even memory that was used before.
    uint8_t *dirty = runtime_malloc(200);
    memset(dirty, 0xee, 200);
    runtime_free(dirty);
    uint8_t *zeroed = runtime_calloc(50, 4);
    for (int i = 0; i < 200; i++)
        ck_assert_int_eq(zeroed[i], 0);
    runtime_free(zeroed);
    // An overflowing count * size is refused, not wrapped.
    ck_assert_ptr_null(runtime_calloc(SIZE_MAX / 2, 3));

    // realloc keeps the contents, growing and shrinking, small and large.
    uint8_t *block = runtime_realloc(NULL, 10);   // realloc(NULL) is malloc
    for (int i = 0; i < 10; i++)
        block[i] = (uint8_t)i;
    size_t sizes[] = { 20, 1000, 40000, 300000, 5000, 3 };
    size_t kept = 10;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        block = runtime_realloc(block, sizes[s]);
        ck_assert_ptr_nonnull(block);
        ck_assert_uint_ge(runtime_malloc_usable_size(block), sizes[s]);
        size_t check = kept < sizes[s] ? kept : sizes[s];
        for (size_t i = 0; i < check; i++)
            ck_assert_int_eq(block[i], (uint8_t)i);
        for (size_t i = check; i < sizes[s]; i++)
            block[i] = (uint8_t)i;
        kept = sizes[s];
    }
    // A shrink within the class keeps the block where it is.
    uint8_t *same = runtime_malloc(100);
    ck_assert_ptr_eq(runtime_realloc(same, 90), same);
    // realloc to 0 frees and returns NULL.
    ck_assert_ptr_null(runtime_realloc(same, 0));
    runtime_free(block);
    runtime_free(NULL);   // allowed, does nothing
    // A request the heap can never meet is NULL, not a crash.
    ck_assert_ptr_null(runtime_malloc((size_t)1 << 47));
    ck_assert_ptr_null(runtime_malloc(SIZE_MAX));
}

START_TEST(test_calloc_and_realloc)
{
    ck_assert_int_eq(run_with_procs(calloc_and_realloc, 1), 0);
}
END_TEST

/* --- Mistakes ------------------------------------------------------------------------ */

static void double_free_program(void *unused)
{
    (void)unused;
    void *block = runtime_malloc(64);
    runtime_free(block);
    runtime_free(block);
}

static int double_free(void *unused)
{
    (void)unused;
    runtime_malloc_debug(true);
    return run_with_procs(double_free_program, 1);
}

START_TEST(test_double_free_is_detected_in_debug_mode)
{
    expect_fatal(double_free, "runtime_free: double free of");
}
END_TEST

static void late_debug_program(void *unused)
{
    (void)unused;
    runtime_free(runtime_malloc(64));
    runtime_malloc_debug(true);   // too late: blocks already out would go unchecked
}

static int late_debug(void *unused)
{
    (void)unused;
    return run_with_procs(late_debug_program, 1);
}

START_TEST(test_debug_mode_is_refused_after_the_first_allocation)
{
    expect_fatal(late_debug, "runtime_malloc_debug: called after the allocator was first used");
}
END_TEST

static void foreign_free_program(void *unused)
{
    (void)unused;
    static long not_from_malloc;
    runtime_free(&not_from_malloc);
}

static int foreign_free(void *unused)
{
    (void)unused;
    return run_with_procs(foreign_free_program, 1);
}

START_TEST(test_free_of_a_foreign_pointer_is_fatal)
{
    expect_fatal(foreign_free, "was not allocated by runtime_malloc");
}
END_TEST

static void typed_free_program(void *unused)
{
    (void)unused;
    runtime_free(gc_alloc_noscan(64));   // collected memory is not freed by hand
}

static int typed_free(void *unused)
{
    (void)unused;
    return run_with_procs(typed_free_program, 1);
}

START_TEST(test_free_of_a_typed_object_is_fatal)
{
    expect_fatal(typed_free, "was not allocated by runtime_malloc");
}
END_TEST

static void interior_free_program(void *unused)
{
    (void)unused;
    char *block = runtime_malloc(64);
    runtime_free(block + 8);
}

static int interior_free(void *unused)
{
    (void)unused;
    runtime_malloc_debug(true);
    return run_with_procs(interior_free_program, 1);
}

START_TEST(test_free_of_an_interior_pointer_is_detected_in_debug_mode)
{
    expect_fatal(interior_free, "points into the middle of a 64-byte block");
}
END_TEST

static void debug_poisons_program(void *unused)
{
    (void)unused;
    uint8_t *block = runtime_malloc(48);
    memset(block, 0, 48);
    runtime_free(block);
    // Past the free-list link (the first word), freed memory reads 0xdd.
    for (int i = 8; i < 48; i++)
        ck_assert_int_eq(block[i], 0xdd);
}

static int debug_poisons(void *unused)
{
    (void)unused;
    runtime_malloc_debug(true);
    return run_with_procs(debug_poisons_program, 1);
}

START_TEST(test_debug_mode_poisons_freed_memory)
{
    struct child_result result = run_in_child(debug_poisons, NULL);
    ck_assert_msg(result.exit_status == 0, "exit status %d; output:\n%s", result.exit_status, result.output);
}
END_TEST

/* --- Sweeping ------------------------------------------------------------------------ */

// Sets an object's mark bit by hand, as the collector's mark does for an
// object it finds reachable (gc_mark_bit_set; gc_mark_new_object in
// runtime/mgc.h for one allocated during a mark).
static void mark(const void *object)
{
    struct mspan *span = heap_span_of((uintptr_t)object);
    ck_assert_ptr_nonnull(span);
    uint32_t index = (uint32_t)(((uintptr_t)object - span->start) / span->elemsize);
    __atomic_fetch_or(&span->gcmark_bits[index / 64], (uint64_t)1 << (index % 64), __ATOMIC_RELAXED);
}

// A collection's end as mark termination makes it (gc_mark_done in
// runtime/mgc.c): the check that the last generation was swept, made
// before the stop; every mcache gives its spans back (one P here, so this
// is the whole world) and a new sweep generation starts.
static void end_of_collection(void)
{
    mheap_check_swept();
    mcache_release_all(mcache_current());
    mheap_begin_sweep();
}

struct pair {
    struct pair *next;
    long value;
    long padding[2];   // 32 bytes: a size class of its own
};

static const struct gc_type pair_type = {
    .name = "pair", .size = sizeof(struct pair), .pointers = GC_POINTER(struct pair, next),
};

static void sweep_frees_unmarked(void *unused)
{
    (void)unused;
    enum { COUNT = 1000 };
    static struct pair *pairs[COUNT];
    for (int i = 0; i < COUNT; i++) {
        pairs[i] = gc_new(&pair_type);
        pairs[i]->value = i + 1;
    }
    for (int i = 0; i < COUNT; i += 2)
        mark(pairs[i]);   // the even ones survive
    struct memstats before, after;
    runtime_read_memstats(&before);
    end_of_collection();
    // New objects reuse the freed slots (and the never-used ones of the
    // last span), found by sweeping lazily: the heap does not grow. They
    // come zeroed although the slots held old values, and never land on a
    // survivor.
    for (int i = 0; i < COUNT / 2; i++) {
        struct pair *fresh = gc_new(&pair_type);
        ck_assert(fresh->next == NULL && fresh->value == 0);
        for (int j = 0; j < COUNT; j += 2)
            ck_assert_ptr_ne(fresh, pairs[j]);
        fresh->value = -1;
    }
    struct memstats during;
    runtime_read_memstats(&during);
    ck_assert_uint_eq(during.heap_inuse, before.heap_inuse);
    for (int i = 0; i < COUNT; i += 2)
        ck_assert_int_eq(pairs[i]->value, i + 1);   // survivors untouched
    mheap_sweep_all();
    runtime_read_memstats(&after);
    ck_assert_uint_eq(after.frees - before.frees, COUNT / 2);
    ck_assert_uint_eq(after.by_size[size_class_of(sizeof(struct pair))].frees -
                          before.by_size[size_class_of(sizeof(struct pair))].frees,
                      COUNT / 2);
}

START_TEST(test_sweep_frees_unmarked_objects)
{
    ck_assert_int_eq(run_with_procs(sweep_frees_unmarked, 1), 0);
}
END_TEST

static void sweep_returns_empty_spans(void *unused)
{
    (void)unused;
    static const struct gc_type block_type = { .name = "block", .size = 1024, .pointers = 1 };
    enum { COUNT = 512 };   // 512 KiB in 1 KiB objects: many spans
    void *blocks[COUNT];
    for (int i = 0; i < COUNT; i++)
        blocks[i] = gc_new(&block_type);
    void *large_dead = gc_alloc(256 * 1024, &block_type);
    void *large_live = gc_alloc(256 * 1024, &block_type);
    mark(large_live);
    struct memstats before, after;
    runtime_read_memstats(&before);
    end_of_collection();
    ck_assert_uint_gt(mheap_sweep_all(), COUNT * 1024 / (64 * 1024));
    runtime_read_memstats(&after);
    // Every small span was empty, and so was the dead large object's.
    ck_assert_uint_le(after.heap_inuse, before.heap_inuse - COUNT * 1024 - 256 * 1024);
    ck_assert_uint_eq(after.heap_alloc, before.heap_alloc - COUNT * 1024 - 256 * 1024);
    ck_assert_ptr_null(runtime_heap_object(blocks[0], NULL));
    ck_assert_ptr_null(runtime_heap_object(large_dead, NULL));
    ck_assert_ptr_eq(runtime_heap_object(large_live, NULL), large_live);
    // A second generation with nothing marked frees the survivor too.
    end_of_collection();
    mheap_sweep_all();
    ck_assert_ptr_null(runtime_heap_object(large_live, NULL));
}

START_TEST(test_sweep_returns_empty_spans_to_the_heap)
{
    ck_assert_int_eq(run_with_procs(sweep_returns_empty_spans, 1), 0);
}
END_TEST

static void unswept_generation_program(void *unused)
{
    (void)unused;
    gc_new(&pair_type);
    end_of_collection();
    end_of_collection();   // the first generation was never swept
}

static int unswept_generation(void *unused)
{
    (void)unused;
    return run_with_procs(unswept_generation_program, 1);
}

START_TEST(test_new_generation_before_sweeping_is_fatal)
{
    expect_fatal(unswept_generation, "the previous generation is not fully swept");
}
END_TEST

/* --- Lookup and statistics ------------------------------------------------------------ */

static void not_ours(void *unused)
{
    (void)unused;
    long on_stack = 0;
    static long in_data;
    void *from_libc = malloc(64);
    ck_assert_ptr_null(runtime_heap_object(&on_stack, NULL));
    ck_assert_ptr_null(runtime_heap_object(&in_data, NULL));
    ck_assert_ptr_null(runtime_heap_object(from_libc, NULL));
    ck_assert_ptr_null(runtime_heap_object(NULL, NULL));
    ck_assert_ptr_null(runtime_heap_object((void *)~(uintptr_t)0, NULL));
    free(from_libc);
    // A large block's pages, once freed, are nobody's object.
    uint8_t *large = runtime_malloc(100000);
    ck_assert_ptr_eq(runtime_heap_object(large + 99999, NULL), large);
    runtime_free(large);
    ck_assert_ptr_null(runtime_heap_object(large, NULL));
    // Past the end of the last object of a span: not an object.
    uint8_t *object = gc_alloc_noscan(size_class_bytes[SIZE_CLASS_COUNT - 1]);
    struct mspan *span = heap_span_of((uintptr_t)object);
    if (span->limit < span->start + span->npages * HEAP_PAGE_SIZE)
        ck_assert_ptr_null(runtime_heap_object((void *)span->limit, NULL));
}

START_TEST(test_addresses_outside_the_heap_are_not_ours)
{
    ck_assert_int_eq(run_with_procs(not_ours, 1), 0);
}
END_TEST

static void statistics(void *unused)
{
    (void)unused;
    struct memstats before, during, after;
    runtime_read_memstats(&before);
    enum { COUNT = 1000 };
    void *blocks[COUNT];
    for (int i = 0; i < COUNT; i++)
        blocks[i] = runtime_malloc(100);
    void *large = runtime_malloc(1 << 20);
    runtime_read_memstats(&during);
    ck_assert_uint_eq(during.mallocs - before.mallocs, COUNT + 1);
    ck_assert_uint_eq(during.heap_alloc - before.heap_alloc, COUNT * size_class_bytes[size_class_of(100)] + (1 << 20));
    ck_assert_uint_eq(during.by_size[size_class_of(100)].mallocs - before.by_size[size_class_of(100)].mallocs, COUNT);
    ck_assert_uint_eq(during.by_size[0].mallocs - before.by_size[0].mallocs, 1);
    ck_assert_uint_ge(during.heap_inuse, during.heap_alloc);
    ck_assert_uint_ge(during.manual_inuse, (1 << 20) + COUNT * 100);
    ck_assert_uint_eq(during.heap_sys, during.heap_inuse + during.heap_idle);
    for (int i = 0; i < COUNT; i++)
        runtime_free(blocks[i]);
    runtime_free(large);
    // Memory returns: once the blocks are back in their spans, the pages are
    // free, and runtime_free_os_memory gives them to the platform.
    runtime_free_os_memory();
    runtime_read_memstats(&after);
    ck_assert_uint_eq(after.heap_alloc, before.heap_alloc);
    ck_assert_uint_eq(after.frees - before.frees, COUNT + 1);
    ck_assert_uint_le(after.heap_inuse, before.heap_inuse);
    ck_assert_uint_ge(after.heap_released, (1 << 20));
    ck_assert_uint_le(after.heap_released, after.heap_idle);
}

START_TEST(test_statistics)
{
    ck_assert_int_eq(run_with_procs(statistics, 1), 0);
}
END_TEST

static void background_scavenger(void *unused)
{
    (void)unused;
    // 64 MiB used and freed: free pages, resident. Idle Ms and sysmon give
    // them back "after a while" -- a period or two; the test waits up to
    // 30 s for it and asserts only that it happens.
    enum { SIZE = 64 << 20 };
    uint8_t *block = runtime_malloc(SIZE);
    ck_assert_ptr_nonnull(block);
    memset(block, 1, SIZE);
    struct memstats before, now;
    runtime_read_memstats(&before);
    runtime_free(block);
    for (int waited = 0; waited < 300; waited++) {
        gosleep(100 * 1000 * 1000);
        runtime_read_memstats(&now);
        if (now.heap_released >= before.heap_released + SIZE / 2)
            return;
    }
    ck_abort_msg("free memory was not given back: released %llu bytes before, %llu after",
                 (unsigned long long)before.heap_released, (unsigned long long)now.heap_released);
}

static void allocate_a_little(void *unused)
{
    (void)unused;
    runtime_free(runtime_malloc(100));
}

static int memstats_at_exit(void *unused)
{
    (void)unused;
    struct runtime_config config = { .procs = 1, .memstats = true };
    return runtime_run(allocate_a_little, NULL, &config);
}

START_TEST(test_memstats_are_printed_when_main_returns)
{
    struct child_result result = run_in_child(memstats_at_exit, NULL);
    ck_assert_msg(result.exit_status == 0, "exit status %d; output:\n%s", result.exit_status, result.output);
    ck_assert_msg(strstr(result.output, "memstats: heap_alloc="), "no statistics in:\n%s", result.output);
    ck_assert_msg(strstr(result.output, "memstats: class=9 size=112 mallocs=1 frees=1"), "no line for the block in:\n%s",
                  result.output);
}
END_TEST

START_TEST(test_background_scavenger_returns_free_memory)
{
    ck_assert_int_eq(run_with_procs(background_scavenger, 2), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("malloc");

    TCase *classes = tcase_create("classes");
    tcase_set_timeout(classes, 60);
    tcase_add_test(classes, test_every_class_typed);
    tcase_add_test(classes, test_every_class_manual);
    tcase_add_test(classes, test_allocation_without_a_p);
    suite_add_tcase(suite, classes);

    TCase *typed = tcase_create("typed");
    tcase_set_timeout(typed, 60);
    tcase_add_test(typed, test_typed_objects);
    tcase_add_test(typed, test_heap_bits_of_every_shape);
    tcase_add_test(typed, test_one_type_spans_leave_the_bitmap_unwritten);
    tcase_add_test(typed, test_tiny_objects);
    tcase_add_test(typed, test_typed_out_of_memory_is_fatal);
    tcase_add_test(typed, test_type_with_pointers_and_a_ragged_size_is_fatal);
    suite_add_tcase(suite, typed);

    TCase *manual = tcase_create("manual");
    tcase_set_timeout(manual, 120);
    tcase_add_test(manual, test_manual_storm_procs_1);
    tcase_add_test(manual, test_manual_storm_procs_2);
    tcase_add_test(manual, test_producer_consumer_procs_2);
    tcase_add_test(manual, test_reuse_after_free);
    tcase_add_test(manual, test_growth_reuses_old_pages);
    tcase_add_test(manual, test_calloc_and_realloc);
    suite_add_tcase(suite, manual);

    TCase *mistakes = tcase_create("mistakes");
    tcase_set_timeout(mistakes, 60);
    tcase_add_test(mistakes, test_double_free_is_detected_in_debug_mode);
    tcase_add_test(mistakes, test_debug_mode_is_refused_after_the_first_allocation);
    tcase_add_test(mistakes, test_free_of_a_foreign_pointer_is_fatal);
    tcase_add_test(mistakes, test_free_of_a_typed_object_is_fatal);
    tcase_add_test(mistakes, test_free_of_an_interior_pointer_is_detected_in_debug_mode);
    tcase_add_test(mistakes, test_debug_mode_poisons_freed_memory);
    suite_add_tcase(suite, mistakes);

    TCase *sweep = tcase_create("sweep");
    tcase_set_timeout(sweep, 60);
    tcase_add_test(sweep, test_sweep_frees_unmarked_objects);
    tcase_add_test(sweep, test_sweep_returns_empty_spans_to_the_heap);
    tcase_add_test(sweep, test_new_generation_before_sweeping_is_fatal);
    suite_add_tcase(suite, sweep);

    TCase *lookup = tcase_create("lookup");
    tcase_set_timeout(lookup, 60);
    tcase_add_test(lookup, test_addresses_outside_the_heap_are_not_ours);
    tcase_add_test(lookup, test_statistics);
    tcase_add_test(lookup, test_background_scavenger_returns_free_memory);
    tcase_add_test(lookup, test_memstats_are_printed_when_main_returns);
    suite_add_tcase(suite, lookup);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
