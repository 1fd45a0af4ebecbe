/*
 * selftest=gc: the garbage collector (runtime/gc.h) on every CPU, with its
 * own checks switched on: checkmark (after each concurrent mark the world
 * stops and everything is marked again; an object the concurrent mark
 * missed stops the machine with a fatal error naming it, and freed objects
 * are poisoned, so one freed too early shows) and gctrace (one line per
 * cycle on the console, in Go's format). The self-test starts the runtime
 * itself, so it sets both in the runtime_config it hands to runtime_run;
 * the other collector settings (gogc=, gomemlimit=, gcstress=) come from
 * the command line as usual.
 *
 *   trees     one goroutine per P, the binary-trees workload of the
 *             benchmarks game (Go's test/bench/garbage): each builds one
 *             long-lived tree, then many short-lived trees of moderate
 *             depth, each checked and dropped. Every node is a typed
 *             object (gc_new with a gc_type naming its two pointers), and
 *             every pointer store goes through gc_store. Between batches
 *             a goroutine replaces a random subtree of its long-lived
 *             tree with a new one, so the write barrier sees pointers
 *             overwritten while the collector marks. Every check visits
 *             every node: its magic word, its depth, and the node count.
 *             The heap grows far past the first goal, so the pacer starts
 *             cycles while the trees are built; every CPU must have built.
 *   survive   each long-lived tree, left reachable only from a global,
 *             is intact after a forced collection (runtime_gc);
 *   drop      once the globals are cleared, another runtime_gc frees the
 *             trees: the heap's allocated bytes fall by at least half of
 *             what the trees held.
 *
 * With memstats=1 the allocator's statistics are printed before the verdict.
 */
#include "cmdline.h"
#include "percpu.h"
#include "printk.h"
#include "selftest.h"
#include "gc.h"
#include "malloc.h"
#include "runtime.h"
#include "sync.h"
#include <stdio.h>

// Sizes, kept modest: under QEMU's TCG on four CPUs, with checkmark on, the
// whole self-test takes one to two seconds. Each goroutine allocates about 130,000 short-lived nodes
// (4 MiB) in trees of depth 4, 6, 8 and 10, as many nodes per depth.
#define SHORT_MIN_DEPTH 4
#define SHORT_MAX_DEPTH 10
#define LONG_DEPTH 12
#define REPLACE_DEPTH 6          // the depth of a subtree replaced in the long-lived tree
#define REPLACE_EVERY 8          // short-lived trees between two replacements
#define NODE_MAGIC 0x6863746f6e656572ull

struct node {
    struct node *left, *right;
    uint64_t magic;              // NODE_MAGIC while the node lives; poison or reuse shows
    uint64_t depth;              // the height of the subtree below, 0 for a leaf
};

static const struct gc_type node_type = {
    .name = "selftest gc node",
    .size = sizeof(struct node),
    .pointers = GC_POINTER(struct node, left) | GC_POINTER(struct node, right),
};

// The long-lived trees, one per P, between the workers and the checks: in
// the kernel's bss, which is a root of the collector.
static struct node *long_lived[CPUS_MAX];
static uint64_t nodes_on_cpu[CPUS_MAX];
static uint64_t subtrees_replaced;

// A failure and the number that tells what went wrong (selftest_fail keeps
// the first).
static void fail(const char *what, uint64_t detail)
{
    selftest_fail("%s (%llu)", what, (unsigned long long)detail);
}

static uint64_t tree_nodes(unsigned depth)
{
    return (2ull << depth) - 1;
}

// Bottom-up, as binary-trees does: the children are made first, and the
// node holding them is published only by the caller's store.
static struct node *tree_build(unsigned depth)
{
    struct node *node = gc_new(&node_type);
    if (node->left != NULL || node->right != NULL || node->magic != 0 || node->depth != 0)
        fail("a new node was not zeroed, depth", depth);
    node->magic = NODE_MAGIC;
    node->depth = depth;
    if (depth > 0) {
        gc_store(&node->left, tree_build(depth - 1));
        gc_store(&node->right, tree_build(depth - 1));
    }
    __atomic_add_fetch(&nodes_on_cpu[this_cpu()->index], 1, __ATOMIC_RELAXED);
    return node;
}

// The number of nodes, or 0 when a node is damaged (and then the failure
// is recorded).
static uint64_t tree_check(const struct node *node, unsigned depth)
{
    if (node == NULL) {
        fail("a node lost a child, depth", depth);
        return 0;
    }
    if (node->magic != NODE_MAGIC) {
        fail("a live node's magic word changed: freed or overwritten; it reads", node->magic);
        return 0;
    }
    if (node->depth != depth) {
        fail("a live node's depth changed; it reads", node->depth);
        return 0;
    }
    if (depth == 0) {
        if (node->left != NULL || node->right != NULL)
            fail("a leaf grew a child, magic", node->magic);
        return 1;
    }
    uint64_t left = tree_check(node->left, depth - 1);
    uint64_t right = tree_check(node->right, depth - 1);
    return left && right ? 1 + left + right : 0;
}

static void tree_expect(const struct node *root, unsigned depth, const char *what)
{
    uint64_t count = tree_check(root, depth);
    if (count != tree_nodes(depth) && !selftest_failed())
        fail(what, count);
}

// Swaps a random subtree of depth REPLACE_DEPTH for a new one: the old
// subtree becomes garbage, perhaps in the middle of a mark.
static void tree_replace_subtree(struct node *root, uint64_t *random)
{
    struct node *parent = root;
    for (unsigned depth = LONG_DEPTH; depth > REPLACE_DEPTH + 1; depth--)
        parent = selftest_next_random(random) & 1 ? parent->left : parent->right;
    struct node *fresh = tree_build(REPLACE_DEPTH);
    if (selftest_next_random(random) & 1)
        gc_store(&parent->left, fresh);
    else
        gc_store(&parent->right, fresh);
    __atomic_add_fetch(&subtrees_replaced, 1, __ATOMIC_RELAXED);
}

struct worker {
    int index;
    struct waitgroup *done;
};

static void trees_worker(void *argument)
{
    struct worker *worker = argument;
    uint64_t random = (uint64_t)(worker->index + 1) * 0x9E3779B97F4A7C15ull | 1;
    struct node *mine = tree_build(LONG_DEPTH);
    unsigned built = 0;
    for (unsigned depth = SHORT_MIN_DEPTH; depth <= SHORT_MAX_DEPTH && !selftest_failed(); depth += 2) {
        unsigned iterations = 1u << (SHORT_MAX_DEPTH - depth + SHORT_MIN_DEPTH);
        for (unsigned i = 0; i < iterations && !selftest_failed(); i++) {
            struct node *tree = tree_build(depth);
            tree_expect(tree, depth, "a short-lived tree has the wrong node count");
            if (++built % REPLACE_EVERY == 0)
                tree_replace_subtree(mine, &random);
        }
        tree_expect(mine, LONG_DEPTH, "the long-lived tree has the wrong node count");
    }
    gc_store(&long_lived[worker->index], mine);
    waitgroup_done(worker->done);
}

static void survivor_check(void *argument)
{
    struct worker *worker = argument;
    tree_expect(long_lived[worker->index], LONG_DEPTH,
                "a long-lived tree held by a global has the wrong node count after runtime_gc");
    waitgroup_done(worker->done);
}

// Runs `function` for every P's tree on goroutines of their own and waits:
// the goroutines end, and with them anything their stacks still point at.
static void run_on_every_tree(int procs, goroutine_function function, struct worker *workers)
{
    struct waitgroup done = { 0 };
    waitgroup_add(&done, procs);
    for (int i = 0; i < procs; i++) {
        workers[i] = (struct worker){ .index = i, .done = &done };
        go(function, &workers[i]);
    }
    waitgroup_wait(&done);
}

static uint64_t kib(uint64_t bytes)
{
    return bytes >> 10;
}

static void gc_main(void *unused)
{
    (void)unused;
    int procs = runtime_procs();
    struct worker workers[CPUS_MAX];
    struct gc_stats before, after;
    struct memstats with_trees, without_trees;
    runtime_read_gc_stats(&before);

    // trees
    run_on_every_tree(procs, trees_worker, workers);
    uint32_t cpus_used = 0;
    for (uint32_t i = 0; i < cpus_online; i++) {
        log_info("selftest gc: cpu %u built %llu nodes\n", i, (unsigned long long)nodes_on_cpu[i]);
        cpus_used += nodes_on_cpu[i] > 0;
    }
    if (!selftest_failed() && (int)cpus_used < procs)
        fail("CPUs that built no tree", (uint64_t)(procs - (int)cpus_used));
    struct gc_stats built;
    runtime_read_gc_stats(&built);
    uint64_t paced_cycles = (built.cycles - before.cycles) - (built.forced_cycles - before.forced_cycles);
    if (!selftest_failed() && paced_cycles == 0 && kernel_options.gogc > 0)
        fail("no collection started while the trees were built; heap goal in KiB", kib(built.heap_goal));

    // survive
    runtime_gc();
    if (!selftest_failed())
        run_on_every_tree(procs, survivor_check, workers);
    runtime_read_memstats(&with_trees);

    // drop
    for (int i = 0; i < procs; i++)
        gc_store(&long_lived[i], NULL);
    runtime_gc();
    runtime_read_memstats(&without_trees);
    runtime_read_gc_stats(&after);

    uint64_t cycles = after.cycles - before.cycles;
    uint64_t trees_bytes = (uint64_t)procs * tree_nodes(LONG_DEPTH) * sizeof(struct node);
    if (!selftest_failed() && (without_trees.heap_alloc > with_trees.heap_alloc ||
                          with_trees.heap_alloc - without_trees.heap_alloc < trees_bytes / 2))
        fail("the heap did not shrink by half the dropped trees' size; KiB freed",
             without_trees.heap_alloc > with_trees.heap_alloc
                 ? 0 : kib(with_trees.heap_alloc - without_trees.heap_alloc));
    log_info("selftest gc: %llu cycles (%llu forced), %llu subtrees replaced; heap %llu KiB with the "
             "long-lived trees, %llu KiB without (they held %llu KiB); %llu objects freed; longest pause %llu us\n",
             (unsigned long long)cycles, (unsigned long long)(after.forced_cycles - before.forced_cycles),
             (unsigned long long)subtrees_replaced, (unsigned long long)kib(with_trees.heap_alloc),
             (unsigned long long)kib(without_trees.heap_alloc), (unsigned long long)kib(trees_bytes),
             (unsigned long long)(after.objects_freed - before.objects_freed),
             (unsigned long long)(after.pause_max_ns / 1000));
    selftest_report("gc", !selftest_failed(), selftest_failure());
}

bool selftest_gc_run(char *reason, size_t size)
{
    struct runtime_config config = { .gctrace = true, .gccheckmark = true };
    runtime_run(gc_main, NULL, &config);   // never returns in the kernel
    snprintf(reason, size, "the runtime returned");
    return false;
}
