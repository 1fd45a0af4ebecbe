/*
 * Typed allocation, ours only (small.go and binarytrees.go are the Go
 * side): the objects the collector scans, from gc_new, their pointer
 * stores through gc_store (the write barrier), as Go's are.
 *
 * small-SIZE: each worker allocates its share of n objects of SIZE bytes,
 * all of whose words are pointers, keeping the last BENCH_RING_SIZE alive
 * in a ring. Each new object points to the one allocated just before it,
 * and the object that becomes the oldest in the ring forgets the one just
 * evicted, so a chain never reaches past the ring: for Go, everything
 * older is garbage -- for ours too. At the end the chain through the ring
 * is checked.
 *
 * binary-trees: the benchmarks game's program, with nodes from gc_new,
 * left to the collector on both sides.
 */
#include "bench.h"
#include "../binary_trees.h"
#include "gc.h"

// Every word of a small object is a pointer; the first links to the object
// allocated before it.
struct small_object {
    struct small_object *link;
};

#define SMALL_TYPE(bytes) \
    { .name = "small" #bytes, .size = bytes, .pointers = ~0ull >> (64 - (bytes) / sizeof(void *)) }

static const struct gc_type small_types[] = { SMALL_TYPE(8), SMALL_TYPE(16), SMALL_TYPE(64), SMALL_TYPE(512) };

static const struct gc_type *small_type_of(uint64_t size)
{
    for (size_t i = 0; i < sizeof small_types / sizeof small_types[0]; i++)
        if (small_types[i].size == size)
            return &small_types[i];
    bench_fail("no small object type of %llu bytes", (unsigned long long)size);
}

static void typed_small_worker(int index, void *argument)
{
    const uint64_t *job = argument;   // { n, size, workers }
    uint64_t count = bench_share(job[0], (int)job[2], index);
    const struct gc_type *type = small_type_of(job[1]);
    struct small_object *ring[BENCH_RING_SIZE] = { 0 };
    for (uint64_t i = 0; i < count; i++) {
        size_t slot = i & BENCH_RING_MASK;
        struct small_object *object = gc_new(type);
        gc_store(&object->link, ring[(slot - 1) & BENCH_RING_MASK]);
        ring[slot] = object;
        struct small_object *oldest = ring[(slot + 1) & BENCH_RING_MASK];
        if (oldest)
            gc_store(&oldest->link, NULL);
    }
    // The ring, newest to oldest, must be one chain ending in NULL.
    uint64_t live = count < BENCH_RING_SIZE ? count : BENCH_RING_SIZE;
    for (uint64_t k = 0; k < live; k++) {
        struct small_object *object = ring[(count - 1 - k) & BENCH_RING_MASK];
        struct small_object *want = k + 1 < live ? ring[(count - 2 - k) & BENCH_RING_MASK] : NULL;
        if (object->link != want)
            bench_fail("small-%llu: worker %d: object %llu back links to %p, not %p", (unsigned long long)job[1],
                       index, (unsigned long long)k, (void *)object->link, (void *)want);
    }
}

uint64_t bench_typed_small(uint64_t n, uint64_t size)
{
    int workers = bench_procs();
    uint64_t job[3] = { n, size, (uint64_t)workers };
    uint64_t start = bench_now();
    bench_parallel(workers, typed_small_worker, job);
    return bench_now() - start;
}

/* --- Binary trees ------------------------------------------------------------ */

static const struct gc_type tree_node_type = {
    .name = "tree_node",
    .size = sizeof(struct tree_node),
    .pointers = GC_POINTER(struct tree_node, left) | GC_POINTER(struct tree_node, right),
};

// Children first, then the node, as the benchmarks game's Go program does.
static struct tree_node *tree_bottom_up(uint64_t depth)
{
    if (depth == 0)
        return gc_new(&tree_node_type);
    struct tree_node *left = tree_bottom_up(depth - 1);
    struct tree_node *right = tree_bottom_up(depth - 1);
    struct tree_node *node = gc_new(&tree_node_type);
    gc_store(&node->left, left);
    gc_store(&node->right, right);
    return node;
}

uint64_t bench_binary_trees_typed(uint64_t max_depth, uint64_t unused)
{
    (void)unused;
    uint64_t start = bench_now();
    uint64_t stretch_depth = max_depth + 1;
    binary_trees_check("stretch tree", stretch_depth, 1, tree_check(tree_bottom_up(stretch_depth)));
    struct tree_node *long_lived = tree_bottom_up(max_depth);
    for (uint64_t depth = BINARY_TREES_MIN_DEPTH; depth <= max_depth; depth += 2) {
        uint64_t iterations = 1ull << (max_depth - depth + BINARY_TREES_MIN_DEPTH);
        uint64_t check = 0;
        for (uint64_t i = 0; i < iterations; i++)
            check += tree_check(tree_bottom_up(depth));
        binary_trees_check("trees", depth, iterations, check);
    }
    binary_trees_check("long-lived tree", max_depth, 1, tree_check(long_lived));
    return bench_now() - start;
}
