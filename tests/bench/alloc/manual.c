/*
 * Manual allocation, the same source for ours (runtime_malloc and
 * runtime_free) and for every peer (the C library's malloc and free, which
 * the peer programs resolve to glibc, jemalloc or mimalloc).
 *
 * malloc-SIZE, malloc-mixed: each worker mallocs its share of n blocks of
 * SIZE bytes (mixed: a random size from 8 to 512, the same sequence on
 * every side), keeping the last BENCH_RING_SIZE alive in a ring: each new
 * block takes the slot of the one allocated BENCH_RING_SIZE blocks before,
 * which is freed just after. A block's first and last eight bytes are stamped
 * with its number (just the first in a block under 16 bytes) and checked when it is freed: a block handed out twice,
 * or overlapping another, shows.
 *
 * binary-trees-malloc: the benchmarks game's binary trees with explicit
 * free -- every tree freed, node by node, once checked -- as the C programs
 * there do with malloc.
 */
#include "bench.h"
#include "../binary_trees.h"
#include <string.h>

#define MIXED_MIN_SIZE 8
#define MIXED_MAX_SIZE 512

// The first eight bytes, and the last eight of a block of 16 or more (the
// two would overlap in a smaller one).
static void block_stamp(unsigned char *block, size_t size, uint64_t stamp)
{
    memcpy(block, &stamp, sizeof stamp);
    if (size >= 2 * sizeof stamp)
        memcpy(block + size - sizeof stamp, &stamp, sizeof stamp);
}

static bool block_stamped(const unsigned char *block, size_t size, uint64_t stamp)
{
    uint64_t first, last = stamp;
    memcpy(&first, block, sizeof first);
    if (size >= 2 * sizeof stamp)
        memcpy(&last, block + size - sizeof last, sizeof last);
    return first == stamp && last == stamp;
}

static void ring_release(unsigned char *block, size_t size, uint64_t stamp, int index)
{
    if (!block_stamped(block, size, stamp))
        bench_fail("malloc loop: worker %d: block %llu (%zu bytes at %p) was overwritten", index,
                   (unsigned long long)stamp, size, (void *)block);
    bench_free(block);
}

static void malloc_small_worker(int index, void *argument)
{
    const uint64_t *job = argument;   // { n, size (0: mixed), workers }
    uint64_t count = bench_share(job[0], (int)job[2], index);
    uint64_t fixed_size = job[1];
    uint64_t random = (uint64_t)index + 1;
    unsigned char *ring[BENCH_RING_SIZE] = { 0 };
    uint16_t sizes[BENCH_RING_SIZE];
    for (uint64_t i = 0; i < count; i++) {
        size_t slot = i & BENCH_RING_MASK;
        size_t size = fixed_size ? fixed_size
                                 : MIXED_MIN_SIZE + bench_next_random(&random) % (MIXED_MAX_SIZE - MIXED_MIN_SIZE + 1);
        unsigned char *block = bench_malloc(size);
        if (block == NULL)
            bench_fail("malloc loop: out of memory for %zu bytes", size);
        block_stamp(block, size, i);
        // The block BENCH_RING_SIZE before this one leaves the ring.
        if (ring[slot])
            ring_release(ring[slot], sizes[slot], i - BENCH_RING_SIZE, index);
        ring[slot] = block;
        sizes[slot] = (uint16_t)size;
    }
    for (uint64_t i = count > BENCH_RING_SIZE ? count - BENCH_RING_SIZE : 0; i < count; i++)
        ring_release(ring[i & BENCH_RING_MASK], sizes[i & BENCH_RING_MASK], i, index);
}

uint64_t bench_malloc_small(uint64_t n, uint64_t size)
{
    int workers = bench_procs();
    uint64_t job[3] = { n, size, (uint64_t)workers };
    uint64_t start = bench_now();
    bench_parallel(workers, malloc_small_worker, job);
    return bench_now() - start;
}

/* --- Binary trees with explicit free --------------------------------------- */

static struct tree_node *tree_node_new(struct tree_node *left, struct tree_node *right)
{
    struct tree_node *node = bench_malloc(sizeof *node);
    if (node == NULL)
        bench_fail("binary-trees-malloc: out of memory");
    node->left = left;
    node->right = right;
    return node;
}

// Children first, then the node, as in typed.c and the Go program.
static struct tree_node *tree_bottom_up(uint64_t depth)
{
    if (depth == 0)
        return tree_node_new(NULL, NULL);
    struct tree_node *left = tree_bottom_up(depth - 1);
    struct tree_node *right = tree_bottom_up(depth - 1);
    return tree_node_new(left, right);
}

static void tree_free(struct tree_node *node)
{
    if (node->left) {
        tree_free(node->left);
        tree_free(node->right);
    }
    bench_free(node);
}

uint64_t bench_binary_trees_malloc(uint64_t max_depth, uint64_t unused)
{
    (void)unused;
    uint64_t start = bench_now();
    uint64_t stretch_depth = max_depth + 1;
    struct tree_node *stretch = tree_bottom_up(stretch_depth);
    binary_trees_check("stretch tree", stretch_depth, 1, tree_check(stretch));
    tree_free(stretch);
    struct tree_node *long_lived = tree_bottom_up(max_depth);
    for (uint64_t depth = BINARY_TREES_MIN_DEPTH; depth <= max_depth; depth += 2) {
        uint64_t iterations = 1ull << (max_depth - depth + BINARY_TREES_MIN_DEPTH);
        uint64_t check = 0;
        for (uint64_t i = 0; i < iterations; i++) {
            struct tree_node *tree = tree_bottom_up(depth);
            check += tree_check(tree);
            tree_free(tree);
        }
        binary_trees_check("trees", depth, iterations, check);
    }
    binary_trees_check("long-lived tree", max_depth, 1, tree_check(long_lived));
    tree_free(long_lived);
    return bench_now() - start;
}
