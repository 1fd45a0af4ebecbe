/*
 * Binary trees (GCBench's shape, the benchmarks game's program): what every
 * C version shares -- alloc's typed one (typed.c) and its malloc one
 * (manual.c), gc's one source for gc-ours, gc-boehm and gc-glibc
 * (binarytrees.c). The node (two pointers; a leaf's are NULL), its check
 * (the node count), what the trees of a depth must add up to, and the
 * smallest depth. How a node is allocated, stored into and dropped differs
 * between them, so tree_bottom_up and each driver stay beside their
 * allocator. Include after the suite's bench.h (for bench_fail).
 */
#ifndef HARDWAY_BENCH_BINARY_TREES_H
#define HARDWAY_BENCH_BINARY_TREES_H

#include <stddef.h>
#include <stdint.h>

// The iterated trees have depths 4, 6, ..., the maximum depth.
#define BINARY_TREES_MIN_DEPTH 4

struct tree_node {
    struct tree_node *left, *right;
};

static inline uint64_t tree_check(const struct tree_node *node)
{
    if (node->left == NULL)
        return 1;
    return 1 + tree_check(node->left) + tree_check(node->right);
}

// `got`, the checks of `iterations` trees of `depth` added up, must be
// their node count: a full tree of depth d has 2^(d+1) - 1 nodes.
static inline void binary_trees_check(const char *what, uint64_t depth, uint64_t iterations, uint64_t got)
{
    uint64_t want = iterations * ((2ull << depth) - 1);
    if (got != want)
        bench_fail("binary trees: %s of depth %llu: check %llu, want %llu", what, (unsigned long long)depth,
                   (unsigned long long)got, (unsigned long long)want);
}

#endif
