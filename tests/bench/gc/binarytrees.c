/*
 * binary-trees (GCBench's shape, the benchmarks game's program), one source
 * for gc-ours, gc-boehm and gc-glibc; binarytrees.go is Go's.
 *
 * For a maximum depth D: a stretch tree of depth D+1, built, checked and
 * dropped; a long-lived tree of depth D, kept to the end; then for
 * d = 4, 6, ..., D, 2^(D-d+4) trees of depth d, each built bottom-up,
 * checked (its node count) and dropped. Every node is one allocation of
 * two pointers. The collected sides leave the dropped trees to their
 * collector; glibc frees each tree, node by node, once checked, as the
 * benchmarks game's C programs do with malloc.
 *
 * The program is single-threaded: procs says how many Ps ours and Go may
 * use -- for their collectors' background workers -- and how many marker
 * threads Boehm's parallel mark uses.
 */
#include "bench.h"
#include "../binary_trees.h"

static const bench_type tree_node_type = {
    .name = "tree_node",
    .size = sizeof(struct tree_node),
    .pointers = BENCH_POINTER(struct tree_node, left) | BENCH_POINTER(struct tree_node, right),
};

static struct tree_node *tree_node_new(struct tree_node *left, struct tree_node *right)
{
    struct tree_node *node = bench_new(&tree_node_type);
    bench_store(&node->left, left);
    bench_store(&node->right, right);
    return node;
}

// Children first, then the node, as the Go program does.
static struct tree_node *tree_bottom_up(uint64_t depth)
{
    if (depth == 0)
        return tree_node_new(NULL, NULL);
    struct tree_node *left = tree_bottom_up(depth - 1);
    struct tree_node *right = tree_bottom_up(depth - 1);
    return tree_node_new(left, right);
}

// glibc's side gives the tree back; the collected sides just drop it.
static void tree_drop(struct tree_node *node)
{
    if (!BENCH_GC_MANUAL_FREE)
        return;
    if (node->left) {
        tree_drop(node->left);
        tree_drop(node->right);
    }
    bench_free(node);
}

// Builds a tree, checks it and drops it, returning the check. Its own
// frame, not inlined: once it returns, no stack slot of the caller's still
// holds the tree for a conservative stack scan to find.
static __attribute__((noinline)) uint64_t tree_build_check_drop(uint64_t depth)
{
    struct tree_node *tree = tree_bottom_up(depth);
    uint64_t check = tree_check(tree);
    tree_drop(tree);
    return check;
}

void bench_binary_trees(uint64_t max_depth, struct bench_result *result)
{
    bench_begin(result);
    uint64_t stretch_depth = max_depth + 1;
    binary_trees_check("stretch tree", stretch_depth, 1, tree_build_check_drop(stretch_depth));
    struct tree_node *long_lived = tree_bottom_up(max_depth);
    for (uint64_t depth = BINARY_TREES_MIN_DEPTH; depth <= max_depth; depth += 2) {
        uint64_t iterations = 1ull << (max_depth - depth + BINARY_TREES_MIN_DEPTH);
        uint64_t check = 0;
        for (uint64_t i = 0; i < iterations; i++)
            check += tree_build_check_drop(depth);
        binary_trees_check("trees", depth, iterations, check);
    }
    binary_trees_check("long-lived tree", max_depth, 1, tree_check(long_lived));
    tree_drop(long_lived);
    bench_end(result);
}
