/*
 * Collector tests (runtime/gc.h): what survives a collection and what does
 * not, the write barrier under concurrent mutation, the pacer, and memory
 * going back to the heap.
 *
 *   reach     objects reachable from a goroutine's stack (running,
 *             parked, or in a system call), from a callee-saved register,
 *             from a registered root (a global, manual memory), through an
 *             interior pointer, through typed arrays small and large,
 *             through a go() argument and a channel's buffer survive,
 *             contents intact; unreachable ones -- lists, cycles, whatever
 *             only a noscan object, a non-pointer word, an unregistered
 *             global or a removed root points to -- are freed.
 *   control   runtime_set_gc_percent, gogc off, gc_stats counts, gctrace,
 *             gcstress, checkmark's poison and its report of a missed
 *             object.
 *   barrier   goroutines on 2 and 4 Ps rewire a shared graph (every store
 *             through gc_store) and pass pointers through channels while
 *             cycles run back to back, with checkmark on: a missed object
 *             kills the process, and every node visited is checked for the
 *             0xdf poison that checkmark mode writes into freed objects.
 *   pacer     the heap stays near GOGC's goal in a steady state, assists
 *             hold it there against a goroutine allocating flat out, and
 *             the goal follows GOGC and GOMEMLIMIT.
 *   memory    dropping a big structure gives its pages back to the heap.
 *
 * How "freed" is seen: runtime_gc() runs a whole cycle and sweeps the whole
 * heap, after which runtime_heap_object() is NULL for a freed object, or
 * the object's pages have left typed allocation altogether (is_freed). The
 * tests keep such addresses hidden from the conservative stack scan (XORed
 * with HIDE_MASK) and wipe the dead part of the stack before collecting, so
 * no stale copy keeps the object alive. Live objects carry a magic word and
 * a check word; garbage of the same type is allocated between collections,
 * so a live object freed by mistake is soon reused and its words change.
 *
 * Each test runs in a process of its own (Check forks) with the collector
 * configured through runtime_config alone (the GC environment variables
 * are cleared). Fatal errors are tested in a further child (child.h). No
 * test asserts on time; sizes are scaled down under ThreadSanitizer.
 *
 * One test breaks the rules on purpose: it stores a pointer during a mark
 * without gc_store, so that an object is missed, and expects checkmark to
 * report it (test_checkmark_reports_an_object_the_mark_missed).
 */
#include "chan.h"
#include "child.h"
#include "gc.h"
#include "malloc.h"
#include "mgc.h"     // gc_marking
#include "mheap.h"   // heap_span_of, for is_freed
#include "runtime.h"
#include "sync.h"
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if defined(__SANITIZE_THREAD__)
#include <sanitizer/tsan_interface.h>
#endif

#define KIB ((size_t)1024)
#define MIB ((size_t)1024 * 1024)

#if defined(__SANITIZE_THREAD__)
// ThreadSanitizer makes everything 5-10x slower: less work, same checks.
#define SCALE 4
// Nodes are published with gc_store, a relaxed store, and read with relaxed
// loads; on x86 (and for the compiler, given the barrier below) that orders
// a node's initialisation before its publication, but TSan needs to be told.
#define published(object) __tsan_release((void *)(object))
#define observed(object) __tsan_acquire((void *)(object))
#else
#define SCALE 1
#define published(object) ((void)(object))
#define observed(object) ((void)(object))
#endif

// Assertions inside the runtime call into Check only when they fail.
// Check's ck_assert records each passing assertion's location under a
// pthread mutex (_mark_point); a goroutine preempted while it holds that
// mutex would block the next goroutine on its thread that asserts -- the M
// stuck in the mutex, the world never stopping again.
#define expect_msg(condition, ...)                                                                                     \
    do {                                                                                                               \
        if (__builtin_expect(!(condition), 0))                                                                         \
            ck_abort_msg(__VA_ARGS__);                                                                                 \
    } while (0)
#define expect(condition) expect_msg(condition, "assertion failed: %s", #condition)
#define expect_uint(a, op, b)                                                                                          \
    do {                                                                                                               \
        uint64_t expect_a_ = (a), expect_b_ = (b);                                                                     \
        expect_msg(expect_a_ op expect_b_, "assertion failed: %s %s %s (%llu %s %llu)", #a, #op, #b,                   \
                   (unsigned long long)expect_a_, #op, (unsigned long long)expect_b_);                                 \
    } while (0)
#define expect_int(a, op, b)                                                                                           \
    do {                                                                                                               \
        long long expect_a_ = (a), expect_b_ = (b);                                                                    \
        expect_msg(expect_a_ op expect_b_, "assertion failed: %s %s %s (%lld %s %lld)", #a, #op, #b, expect_a_, #op,   \
                   expect_b_);                                                                                         \
    } while (0)
#define expect_ptr(a, op, b)                                                                                           \
    do {                                                                                                               \
        const void *expect_a_ = (a), *expect_b_ = (b);                                                                 \
        expect_msg(expect_a_ op expect_b_, "assertion failed: %s %s %s (%p %s %p)", #a, #op, #b, expect_a_, #op,       \
                   expect_b_);                                                                                         \
    } while (0)

#define HIDE_MASK 0x5555555555555555ull
#define NODE_MAGIC 0x6e6f64652d6f6b21ull      // "node-ok!"
#define GARBAGE_MAGIC 0x676172626167652eull   // "garbage."
#define BLOB_MAGIC 0x626c6f622d6f6b21ull      // "blob-ok!"
#define POISON 0xdfdfdfdfdfdfdfdfull          // what checkmark mode's sweep writes into freed objects

static inline uintptr_t hide(const void *pointer)
{
    return (uintptr_t)pointer ^ HIDE_MASK;
}
static inline void *unhide(uintptr_t hidden)
{
    return (void *)(hidden ^ HIDE_MASK);
}

static uint64_t next_random(uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

/* --- Running a program ----------------------------------------------------------- */

// Runs main_function with exactly this configuration: the environment's GC
// settings (runtime.h) would fill in fields the test leaves 0.
static int run_config(goroutine_function main_function, void *argument, struct runtime_config config)
{
    unsetenv("GOGC");
    unsetenv("GOMEMLIMIT");
    unsetenv("HARDWAY_GCTRACE");
    unsetenv("HARDWAY_GCCHECKMARK");
    unsetenv("HARDWAY_GCSTRESS");
    return runtime_run(main_function, argument, &config);
}

// One P, the collector running only when asked: the counts are exact.
static int run_quiet(goroutine_function main_function)
{
    return run_config(main_function, NULL, (struct runtime_config){ .procs = 1, .gogc = -1 });
}

/* --- Nodes ------------------------------------------------------------------------- */

struct node {
    struct node *next;
    uint64_t magic;   // NODE_MAGIC, or GARBAGE_MAGIC for churn
    struct node *other;
    uint64_t id;
    uint64_t *blob;      // NULL, or a noscan block: BLOB_MAGIC ^ id at both ends
    uint64_t check;      // node_check(id)
    uint64_t spare[2];   // 64 bytes in all
};

static const struct gc_type node_type = {
    .name = "node",
    .size = sizeof(struct node),
    .pointers = GC_POINTER(struct node, next) | GC_POINTER(struct node, other) | GC_POINTER(struct node, blob),
};

// Arrays of pointers: gc_alloc(count * sizeof(void *), &pointer_type).
static const struct gc_type pointer_type = { .name = "pointer", .size = sizeof(void *), .pointers = 1 };

enum { BLOB_WORDS = 32 };   // 256 bytes

static inline uint64_t node_check(uint64_t id)
{
    return id * 0x9E3779B97F4A7C15ull ^ NODE_MAGIC;
}

static struct node *node_new(uint64_t id)
{
    struct node *node = gc_new(&node_type);
    expect_ptr(node, !=, NULL);
    expect_msg(node->next == NULL && node->magic == 0 && node->blob == NULL, "gc_new gave a dirty node at %p",
               (void *)node);
    node->magic = NODE_MAGIC;
    node->id = id;
    node->check = node_check(id);
    return node;
}

static struct node *node_with_blob(uint64_t id)
{
    struct node *node = node_new(id);
    uint64_t *blob = gc_alloc_noscan(BLOB_WORDS * sizeof(uint64_t));
    blob[0] = blob[BLOB_WORDS - 1] = BLOB_MAGIC ^ id;
    gc_store(&node->blob, blob);
    return node;
}

// A live node is whole: still a heap object of its own, never poisoned,
// its words as they were written.
static void node_verify(const struct node *node)
{
    expect_ptr(node, !=, NULL);
    uint64_t magic = node->magic;
    expect_msg(magic != POISON, "use after free: node %p holds checkmark's 0xdf poison", (void *)node);
    expect_msg(magic == NODE_MAGIC, "node %p: magic %#llx, not a live node's", (void *)node, (unsigned long long)magic);
    expect_msg(node->check == node_check(node->id), "node %p (id %llu): check word %#llx", (void *)node,
               (unsigned long long)node->id, (unsigned long long)node->check);
    expect_msg(runtime_heap_object(node, NULL) == node, "node %p is not a heap object any more", (void *)node);
    const uint64_t *blob = __atomic_load_n(&node->blob, __ATOMIC_RELAXED);
    if (blob) {
        expect_msg(blob[0] != POISON, "use after free: blob %p of node %p holds the 0xdf poison", (void *)blob,
                   (void *)node);
        expect_msg(blob[0] == (BLOB_MAGIC ^ node->id) && blob[BLOB_WORDS - 1] == (BLOB_MAGIC ^ node->id),
                   "blob %p of node %p (id %llu) corrupted", (void *)blob, (void *)node, (unsigned long long)node->id);
    }
}

static void node_verify_id(const struct node *node, uint64_t id)
{
    node_verify(node);
    expect_msg(node->id == id, "node %p: id %llu, expected %llu", (void *)node, (unsigned long long)node->id,
               (unsigned long long)id);
}

// Garbage of the nodes' own size class, so that a live node freed by
// mistake is soon handed out again and overwritten.
static __attribute__((noinline)) void churn(size_t count)
{
    for (size_t i = 0; i < count; i++) {
        struct node *garbage = gc_new(&node_type);
        garbage->magic = GARBAGE_MAGIC;
        garbage->id = ~(uint64_t)i;
        garbage->check = ~(uint64_t)0;
    }
}

// Zeroes the stack below the caller's frame, where dead frames keep old
// pointers that the conservative scan would see inside the frames of the
// next calls. Call it from the frame that then calls runtime_gc().
static __attribute__((noinline)) void scrub_stack(void)
{
    uint8_t area[32 * 1024];
    memset(area, 0, sizeof area);
    __asm__ volatile("" : : "r"(area) : "memory");
}

#define collect()                                                                                                      \
    do {                                                                                                               \
        scrub_stack();                                                                                                 \
        runtime_gc();                                                                                                  \
    } while (0)

// Freed: no longer an allocated object, or no longer in a typed span at
// all -- once a span's last object is freed its pages go back to the heap,
// and the runtime's own manual blocks (the markers' work buffers, say) may
// have them by now, where an object lookup finds a block.
static __attribute__((noinline)) bool is_freed(uintptr_t hidden)
{
    const void *address = unhide(hidden);
    if (runtime_heap_object(address, NULL) == NULL)
        return true;
    struct mspan *span = heap_span_of((uintptr_t)address);
    return span == NULL || __atomic_load_n(&span->state, __ATOMIC_ACQUIRE) != MSPAN_IN_USE;
}

static void assert_all_freed(const uintptr_t *hidden, size_t count, const char *what)
{
    size_t survivors = 0, first = 0;
    for (size_t i = 0; i < count; i++)
        if (!is_freed(hidden[i]) && survivors++ == 0)
            first = i;
    expect_msg(survivors == 0, "%zu of %zu %s survived a collection (the first: #%zu, %p)", survivors, count, what,
               first, unhide(hidden[first]));
}

// A list of `count` nodes, ids first_id, first_id + 1, ...; returns its
// head, hidden, and each node's hidden address in hidden_nodes if not NULL.
static __attribute__((noinline)) uintptr_t build_list(size_t count, uint64_t first_id, uintptr_t *hidden_nodes)
{
    struct node *head = NULL;
    for (size_t i = count; i-- > 0;) {
        struct node *node = node_new(first_id + i);
        gc_store(&node->next, head);
        head = node;
        if (hidden_nodes)
            hidden_nodes[i] = hide(node);
    }
    return hide(head);
}

static __attribute__((noinline)) void verify_list(const struct node *head, size_t count, uint64_t first_id)
{
    size_t seen = 0;
    for (const struct node *node = head; node; node = node->next) {
        expect_msg(seen < count, "list longer than %zu nodes", count);
        node_verify_id(node, first_id + seen);
        seen++;
    }
    expect_uint(seen, ==, count);
}

// A ring: a list whose last node points back at the first.
static __attribute__((noinline)) uintptr_t build_ring(size_t count, uint64_t first_id, uintptr_t *hidden_nodes)
{
    struct node *head = unhide(build_list(count, first_id, hidden_nodes));
    struct node *last = head;
    while (last->next)
        last = last->next;
    gc_store(&last->next, head);
    return hide(head);
}

static __attribute__((noinline)) void verify_ring(const struct node *head, size_t count, uint64_t first_id)
{
    const struct node *node = head;
    for (size_t i = 0; i < count; i++, node = node->next)
        node_verify_id(node, first_id + i);
    expect_ptr(node, ==, head);
}

// A complete binary tree: left in next, right in other; ids in heap order.
static struct node *build_tree(int depth, uint64_t id)
{
    if (depth == 0)
        return NULL;
    struct node *node = node_new(id);
    gc_store(&node->next, build_tree(depth - 1, 2 * id));
    gc_store(&node->other, build_tree(depth - 1, 2 * id + 1));
    return node;
}

static __attribute__((noinline)) size_t verify_tree(const struct node *node, int depth, uint64_t id)
{
    if (depth == 0) {
        expect_ptr(node, ==, NULL);
        return 0;
    }
    node_verify_id(node, id);
    return 1 + verify_tree(node->next, depth - 1, 2 * id) + verify_tree(node->other, depth - 1, 2 * id + 1);
}

static uint64_t current_cycles(void)
{
    struct gc_stats stats;
    runtime_read_gc_stats(&stats);
    return stats.cycles;
}

/* --- Reachability ------------------------------------------------------------------- */

static void unreachable_list(void *unused)
{
    (void)unused;
    enum { COUNT = 10000 };
    uintptr_t *hidden = malloc(COUNT * sizeof *hidden);   // the C library's: never scanned
    build_list(COUNT, 1, hidden);                         // and dropped at once
    struct memstats before, after;
    struct gc_stats gc_before, gc_after;
    runtime_read_memstats(&before);
    runtime_read_gc_stats(&gc_before);
    collect();
    runtime_read_memstats(&after);
    runtime_read_gc_stats(&gc_after);
    assert_all_freed(hidden, COUNT, "nodes of an unreachable list");
    expect_uint(gc_after.cycles - gc_before.cycles, ==, 1);
    expect_uint(gc_after.forced_cycles - gc_before.forced_cycles, ==, 1);
    expect_uint(gc_after.objects_freed - gc_before.objects_freed, >=, COUNT);
    expect_uint(after.frees - before.frees, >=, COUNT);
    expect_uint(before.heap_objects, >=, after.heap_objects + COUNT - 100);
    expect_uint(before.heap_alloc, >=, after.heap_alloc + COUNT * sizeof(struct node) - 100 * KIB);
    free(hidden);
}

START_TEST(test_unreachable_list_is_freed)
{
    ck_assert_int_eq(run_quiet(unreachable_list), 0);
}
END_TEST

// Lists, a tree, a ring and a shared (DAG) structure, held from the stack,
// survive collection after collection with their contents; an unreachable
// ring -- which reference counting would keep -- does not.
static void reachable_structures(void *unused)
{
    (void)unused;
    enum { LIST = 2000, RING = 1000, DEAD_RING = 1000, TREE_DEPTH = 12, SHARED = 100 };
    struct node *volatile list = unhide(build_list(LIST, 1, NULL));
    struct node *volatile ring = unhide(build_ring(RING, 10000, NULL));
    struct node *volatile tree = build_tree(TREE_DEPTH, 1);
    // A DAG: a chain of SHARED parents (next), each also pointing at one
    // shared child (other).
    struct node *volatile child = node_new(50000);
    struct node *volatile parents = NULL;
    for (int i = 0; i < SHARED; i++) {
        struct node *parent = node_new(60000 + (uint64_t)i);
        gc_store(&parent->next, parents);
        gc_store(&parent->other, child);
        parents = parent;
    }
    child = NULL;   // reachable only through the parents now
    uintptr_t *dead = malloc(DEAD_RING * sizeof *dead);
    build_ring(DEAD_RING, 20000, dead);
    size_t live_bytes = (LIST + RING + ((1u << TREE_DEPTH) - 1) + SHARED + 1) * sizeof(struct node);

    for (int round = 0; round < 4; round++) {
        churn(20000);
        collect();
        if (round == 0)
            assert_all_freed(dead, DEAD_RING, "nodes of an unreachable ring");
        verify_list(list, LIST, 1);
        verify_ring(ring, RING, 10000);
        expect_uint(verify_tree(tree, TREE_DEPTH, 1), ==, (1u << TREE_DEPTH) - 1);
        int count = 0;
        const struct node *shared_child = parents->other;
        for (const struct node *parent = parents; parent; parent = parent->next, count++) {
            node_verify_id(parent, 60000 + (uint64_t)(SHARED - 1 - count));
            expect_ptr(parent->other, ==, shared_child);
        }
        expect_int(count, ==, SHARED);
        node_verify_id(shared_child, 50000);
        struct gc_stats stats;
        runtime_read_gc_stats(&stats);
        expect_msg(stats.heap_marked >= live_bytes, "heap_marked %llu < %zu bytes known live",
                   (unsigned long long)stats.heap_marked, live_bytes);
        expect_msg(stats.heap_marked <= live_bytes + 2 * MIB, "heap_marked %llu, only %zu bytes are live",
                   (unsigned long long)stats.heap_marked, live_bytes);
    }
    free(dead);
}

START_TEST(test_reachable_structures_survive)
{
    ck_assert_int_eq(run_quiet(reachable_structures), 0);
}
END_TEST

// The same on 2 Ps with the pacer starting cycles of its own between the
// forced ones: GOGC=10 puts the goal just above the live heap, so the churn
// crosses the trigger again and again.
static void reachable_structures_paced(void *unused)
{
    reachable_structures(unused);
    struct gc_stats stats;
    runtime_read_gc_stats(&stats);
    expect_uint(stats.cycles, >, stats.forced_cycles);   // the pacer did start some
}

START_TEST(test_reachable_structures_survive_procs_2_pacer_on)
{
    ck_assert_int_eq(
        run_config(reachable_structures_paced, NULL, (struct runtime_config){ .procs = 2, .gogc = 10 }), 0);
}
END_TEST

// A list that only a parked goroutine's stack holds.
struct parked {
    struct chan *ready, *resume, *finished;
};

static void hold_list_while_parked(void *argument)
{
    struct parked *parked = argument;
    struct node *volatile head = unhide(build_list(1000, 7000, NULL));
    int token = 0;
    chan_send(parked->ready, &token);
    chan_receive(parked->resume, &token);
    verify_list(head, 1000, 7000);
    chan_send(parked->finished, &token);
}

static void parked_goroutine_stack(void *unused)
{
    (void)unused;
    struct parked parked = { chan_make(sizeof(int), 0), chan_make(sizeof(int), 0), chan_make(sizeof(int), 0) };
    go(hold_list_while_parked, &parked);
    int token;
    chan_receive(parked.ready, &token);
    for (int round = 0; round < 3; round++) {
        churn(5000);
        collect();
    }
    chan_send(parked.resume, &token);
    chan_receive(parked.finished, &token);
    chan_free(parked.ready);
    chan_free(parked.resume);
    chan_free(parked.finished);
}

START_TEST(test_list_on_a_parked_goroutines_stack_survives)
{
    ck_assert_int_eq(run_config(parked_goroutine_stack, NULL, (struct runtime_config){ .procs = 2, .gogc = -1 }), 0);
}
END_TEST

// A goroutine walks its own list over and over on another P while cycles
// run: the list is in its registers and stack only, and it is running
// (stopped by asynchronous preemption for the pauses; under TSan, which has
// none, it yields now and then).
static volatile int walker_stop;
static volatile long walker_laps;

static void walk_own_list(void *unused)
{
    (void)unused;
    struct node *head = unhide(build_list(500, 3000, NULL));
    long laps = 0;
    while (!__atomic_load_n(&walker_stop, __ATOMIC_ACQUIRE)) {
        verify_list(head, 500, 3000);
        __atomic_store_n(&walker_laps, ++laps, __ATOMIC_RELEASE);
#if defined(__SANITIZE_THREAD__)
        gosched();
#endif
    }
    __atomic_store_n(&walker_stop, 2, __ATOMIC_RELEASE);
}

static void running_goroutine(void *unused)
{
    (void)unused;
    go(walk_own_list, NULL);
    while (__atomic_load_n(&walker_laps, __ATOMIC_ACQUIRE) == 0)
        gosleep(100000);
    for (int round = 0; round < 5; round++) {
        churn(5000);
        collect();
    }
    long laps = __atomic_load_n(&walker_laps, __ATOMIC_ACQUIRE);
    while (__atomic_load_n(&walker_laps, __ATOMIC_ACQUIRE) < laps + 2)
        gosleep(100000);   // it still walks, and still finds every node whole
    __atomic_store_n(&walker_stop, 1, __ATOMIC_RELEASE);
    while (__atomic_load_n(&walker_stop, __ATOMIC_ACQUIRE) != 2)
        gosleep(100000);
}

START_TEST(test_list_held_by_a_running_goroutine_survives)
{
    ck_assert_int_eq(run_config(running_goroutine, NULL, (struct runtime_config){ .procs = 2, .gogc = -1 }), 0);
}
END_TEST

// A list whose head a goroutine keeps in r12 while it is blocked in a
// system call: entersyscall saved its callee-saved registers, and the
// collector scans them and the stack above the call.
static int syscall_pipe[2];
static volatile int in_system_call;

static void hold_list_in_a_system_call(void *argument)
{
    struct chan *finished = argument;
    uintptr_t hidden = build_list(1000, 9000, NULL);
    scrub_stack();
    register struct node *head __asm__("r12") = unhide(hidden);
    __asm__ volatile("" : "+r"(head));
    entersyscall();
    __atomic_store_n(&in_system_call, 1, __ATOMIC_RELEASE);
    char byte = 0;
    ssize_t got = read(syscall_pipe[0], &byte, 1);
    exitsyscall();
    __asm__ volatile("" : "+r"(head));
    expect_int(got, ==, 1);
    verify_list(head, 1000, 9000);
    int token = 0;
    chan_send(finished, &token);
}

static void system_call(void *unused)
{
    (void)unused;
    expect_int(pipe(syscall_pipe), ==, 0);
    struct chan *finished = chan_make(sizeof(int), 0);
    go(hold_list_in_a_system_call, finished);
    while (!__atomic_load_n(&in_system_call, __ATOMIC_ACQUIRE))
        gosleep(100000);
    for (int round = 0; round < 3; round++) {
        churn(20000);
        collect();
    }
    char byte = 1;
    expect_int(write(syscall_pipe[1], &byte, 1), ==, 1);
    int token;
    chan_receive(finished, &token);
    chan_free(finished);
}

START_TEST(test_list_held_by_a_goroutine_in_a_system_call_survives)
{
    ck_assert_int_eq(run_config(system_call, NULL, (struct runtime_config){ .procs = 2, .gogc = -1 }), 0);
}
END_TEST

// The head of a list only in r12, a callee-saved register: runtime_gc and
// whatever it calls keep r12 as it is or save it on their frames, and the
// goroutine's saved context holds it while it is parked.
static void register_root(void *unused)
{
    (void)unused;
    enum { COUNT = 1000 };
    uintptr_t *hidden = malloc(COUNT * sizeof *hidden);
    uintptr_t head_hidden = build_list(COUNT, 100, hidden);
    scrub_stack();
    register struct node *head __asm__("r12") = unhide(head_hidden);
    __asm__ volatile("" : "+r"(head));
    churn(20000);
    runtime_gc();
    churn(20000);
    runtime_gc();
    __asm__ volatile("" : "+r"(head));
    verify_list(head, COUNT, 100);
    // The control: with r12 cleared, the same list goes.
    head = NULL;
    __asm__ volatile("" : "+r"(head));
    collect();
    assert_all_freed(hidden, COUNT, "nodes of a list no register holds any more");
    free(hidden);
}

START_TEST(test_list_held_only_in_a_register_survives)
{
    ck_assert_int_eq(run_quiet(register_root), 0);
}
END_TEST

// Pointers into the middle of objects keep them alive: from the stack, into
// a small node and into a large block; and from a heap object's pointer
// field, into a noscan buffer (a C "cursor").
struct cursor {
    char *position;
    uint64_t magic;
};

static const struct gc_type cursor_type = {
    .name = "cursor",
    .size = sizeof(struct cursor),
    .pointers = GC_POINTER(struct cursor, position),
};

enum { LARGE_BLOCK = 200 * 1024, BUFFER = 4096 };

static __attribute__((noinline)) uint64_t *interior_of_node(void)
{
    struct node *node = node_new(4242);
    return &node->id;
}

static __attribute__((noinline)) uint8_t *interior_of_large_block(void)
{
    uint8_t *block = gc_alloc_noscan(LARGE_BLOCK);
    for (size_t i = 0; i < LARGE_BLOCK; i += 512)
        block[i] = (uint8_t)(i / 512);
    return block + 150000;
}

static __attribute__((noinline)) struct cursor *cursor_into_buffer(void)
{
    char *buffer = gc_alloc_noscan(BUFFER);
    for (int i = 0; i < BUFFER; i++)
        buffer[i] = (char)(i * 7);
    struct cursor *cursor = gc_new(&cursor_type);
    cursor->magic = NODE_MAGIC;
    gc_store(&cursor->position, buffer + 1000);
    return cursor;
}

static void interior_pointers(void *unused)
{
    (void)unused;
    uint64_t *volatile into_node = interior_of_node();
    uint8_t *volatile into_large = interior_of_large_block();
    struct cursor *volatile cursor = cursor_into_buffer();
    for (int round = 0; round < 3; round++) {
        churn(20000);
        for (int i = 0; i < 20; i++)
            gc_alloc_noscan(LARGE_BLOCK);   // garbage the large block could be mistaken for
        for (int i = 0; i < 200; i++)
            gc_alloc_noscan(BUFFER);
        collect();
        struct node *node = runtime_heap_object(into_node, NULL);
        expect_ptr(node, ==, (struct node *)((char *)into_node - offsetof(struct node, id)));
        node_verify_id(node, 4242);
        size_t size = 0;
        uint8_t *block = runtime_heap_object(into_large, &size);
        expect_ptr(block, ==, into_large - 150000);
        expect_uint(size, >=, LARGE_BLOCK);
        for (size_t i = 0; i < LARGE_BLOCK; i += 512)
            expect_int(block[i], ==, (uint8_t)(i / 512));
        expect_int(cursor->magic, ==, NODE_MAGIC);
        char *buffer = runtime_heap_object(cursor->position, NULL);
        expect_ptr(buffer, ==, cursor->position - 1000);
        for (int i = 0; i < BUFFER; i++)
            expect_int(buffer[i], ==, (char)(i * 7));
    }
}

START_TEST(test_interior_pointers_keep_objects_alive)
{
    ck_assert_int_eq(run_quiet(interior_pointers), 0);
}
END_TEST

// Registered roots: a global, and a block of manual memory. A hosted
// global that is not registered keeps nothing alive; gc_remove_root ends a
// root's hold.
static struct node *global_head;
struct node *gc_test_unregistered_global;   // external: the compiler must keep its stores

enum { ROOT_LIST = 1000, MANUAL_SLOTS = 16 };

static __attribute__((noinline)) void fill_roots(struct node **manual, uintptr_t *list_nodes, uintptr_t *manual_nodes,
                                                 uintptr_t *unregistered)
{
    gc_store(&global_head, (struct node *)unhide(build_list(ROOT_LIST, 500, list_nodes)));
    for (int i = 0; i < MANUAL_SLOTS; i++) {
        struct node *node = node_new(800 + (uint64_t)i);
        manual_nodes[i] = hide(node);
        gc_store(&manual[i], node);
    }
    struct node *lonely = node_new(900);
    *unregistered = hide(lonely);
    gc_store(&gc_test_unregistered_global, lonely);
}

// Out of line, so that no pointer it reads stays behind in the frame of
// the function that later expects the objects to be freed.
static __attribute__((noinline)) void verify_roots(struct node **manual, const uintptr_t *manual_nodes)
{
    verify_list(global_head, ROOT_LIST, 500);
    for (int i = 0; i < MANUAL_SLOTS; i++) {
        expect_ptr(manual[i], ==, unhide(manual_nodes[i]));
        node_verify_id(manual[i], 800 + (uint64_t)i);
    }
}

static void roots(void *unused)
{
    (void)unused;
    uintptr_t *list_nodes = malloc(ROOT_LIST * sizeof *list_nodes);
    uintptr_t manual_nodes[MANUAL_SLOTS], unregistered;
    gc_add_root(&global_head, sizeof global_head, "global_head");
    struct node **manual = runtime_malloc(MANUAL_SLOTS * sizeof *manual);
    memset(manual, 0, MANUAL_SLOTS * sizeof *manual);
    gc_add_root(manual, MANUAL_SLOTS * sizeof *manual, "manual table");
    fill_roots(manual, list_nodes, manual_nodes, &unregistered);
    for (int round = 0; round < 3; round++) {
        churn(20000);
        collect();
        verify_roots(manual, manual_nodes);
        expect_msg(is_freed(unregistered), "an unregistered global kept node %p alive", unhide(unregistered));
    }
    // Removed, the roots hold nothing: the pointers are still in them.
    gc_remove_root(&global_head);
    gc_remove_root(manual);
    collect();
    assert_all_freed(list_nodes, ROOT_LIST, "nodes of a list held by a removed root");
    assert_all_freed(manual_nodes, MANUAL_SLOTS, "nodes held by removed manual memory");
    runtime_free(manual);
    free(list_nodes);
}

START_TEST(test_registered_roots_keep_objects_alive_until_removed)
{
    ck_assert_int_eq(run_quiet(roots), 0);
}
END_TEST

static void remove_unregistered_root(void *unused)
{
    (void)unused;
    static long never_registered;
    gc_remove_root(&never_registered);
}

static int unregistered_root_program(void *unused)
{
    (void)unused;
    return run_quiet(remove_unregistered_root);
}

START_TEST(test_removing_a_root_never_added_is_fatal)
{
    struct child_result result = run_in_child(unregistered_root_program, NULL);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
    ck_assert_msg(strstr(result.output, "fatal error: gc_remove_root"), "output:\n%s", result.output);
}
END_TEST

// Typed arrays keep their referents alive, small and large (past 1 KiB,
// scanned in oblets; past 4 KiB, two to a span; past 32 KiB, 128 KiB and
// 1 MiB),
// arrays of pointers and arrays of structs whose pointer mask repeats.
struct entry {
    uint64_t key;
    struct node *value;
    uint64_t tag;
};

static const struct gc_type entry_type = {
    .name = "entry",
    .size = sizeof(struct entry),
    .pointers = GC_POINTER(struct entry, value),
};

static __attribute__((noinline)) struct node **pointer_array(size_t count, uint64_t first_id)
{
    struct node **array = gc_alloc(count * sizeof *array, &pointer_type);
    expect_ptr(array, !=, NULL);
    for (size_t i = 0; i < count; i++)
        gc_store(&array[i], node_new(first_id + i));
    return array;
}

static __attribute__((noinline)) struct entry *entry_array(size_t count, uint64_t first_id)
{
    struct entry *array = gc_alloc(count * sizeof *array, &entry_type);
    expect_ptr(array, !=, NULL);
    for (size_t i = 0; i < count; i++) {
        array[i].key = i;
        array[i].tag = ~i;
        gc_store(&array[i].value, node_new(first_id + i));
    }
    return array;
}

static void typed_arrays(void *unused)
{
    (void)unused;
    // 512 B; 5.5 KiB twice and 9.4 KiB twice (classes with several objects
    // to a span: the second of each pair does not start its span); 40 KiB,
    // 160 KiB, 1.1 MiB.
    static const size_t counts[] = { 64, 700, 700, 1200, 1200, 5000, 20000, 140000 / SCALE };
    enum { ARRAYS = sizeof counts / sizeof counts[0], ENTRIES = 30000 / SCALE };   // 720 KiB
    struct node **volatile arrays[ARRAYS];
    for (int a = 0; a < ARRAYS; a++)
        arrays[a] = pointer_array(counts[a], (uint64_t)a << 32);
    struct entry *volatile entries = entry_array(ENTRIES, 7ull << 32);
    for (int round = 0; round < 3; round++) {
        churn(50000);
        collect();
        for (int a = 0; a < ARRAYS; a++)
            for (size_t i = 0; i < counts[a]; i++)
                node_verify_id(arrays[a][i], ((uint64_t)a << 32) + i);
        for (size_t i = 0; i < ENTRIES; i++) {
            expect(entries[i].key == i && entries[i].tag == ~i);
            node_verify_id(entries[i].value, (7ull << 32) + i);
        }
    }
}

START_TEST(test_typed_arrays_keep_their_referents_alive)
{
    ck_assert_int_eq(run_quiet(typed_arrays), 0);
}
END_TEST

// Heap objects are scanned precisely: a pointer in a word the type does not
// mark keeps nothing alive -- in a struct's data word, in an array of
// structs, in a type bigger than 64 words (pointer_bitmap), in noscan
// memory. (A pointer-free word may hold anything: an address that happens
// to be an object's is no reference.)
enum { WIDE_WORDS = 100 };
static const uint64_t wide_bitmap[2] = { (1ull << 3), (1ull << (64 - 64)) | (1ull << (97 - 64)) };   // words 3, 64, 97
static const struct gc_type wide_type = {
    .name = "wide",
    .size = WIDE_WORDS * sizeof(void *),
    .pointer_bitmap = wide_bitmap,
};
static const size_t wide_pointer_words[] = { 3, 64, 97 };
static const size_t wide_data_words[] = { 0, 4, 50, 63, 65, 99 };
enum { WIDE_ELEMENTS = 60 };   // 48 KiB: a large object
enum { PRECISE_ENTRIES = 5000 };
enum { NOSCAN_POINTERS = 64 };

struct precise {
    uintptr_t *live;   // hidden addresses of what must survive
    size_t live_count;
    uintptr_t *dead;   // ... and of what must go
    size_t dead_count;
};

static __attribute__((noinline)) void **build_precise(struct precise *p, struct entry **entries_out, void ***noscan_out)
{
    // One wide object and an array of them.
    void **wide = gc_new(&wide_type);
    void **wides = gc_alloc(WIDE_ELEMENTS * sizeof(void *) * WIDE_WORDS, &wide_type);
    void **all[] = { wide, wides, wides + (WIDE_ELEMENTS - 1) * WIDE_WORDS };
    for (size_t w = 0; w < 3; w++) {
        for (size_t i = 0; i < sizeof wide_pointer_words / sizeof wide_pointer_words[0]; i++) {
            struct node *node = node_new(p->live_count);
            p->live[p->live_count++] = hide(node);
            gc_store(&all[w][wide_pointer_words[i]], node);
        }
        for (size_t i = 0; i < sizeof wide_data_words / sizeof wide_data_words[0]; i++) {
            struct node *node = node_new(1000000 + p->dead_count);
            p->dead[p->dead_count++] = hide(node);
            all[w][wide_data_words[i]] = node;   // a data word: no reference
        }
    }
    // Entries whose key and tag words hold node addresses.
    struct entry *entries = gc_alloc(PRECISE_ENTRIES * sizeof *entries, &entry_type);
    for (size_t i = 0; i < PRECISE_ENTRIES; i++) {
        struct node *value = node_new(p->live_count);
        p->live[p->live_count++] = hide(value);
        gc_store(&entries[i].value, value);
        struct node *key = node_new(1000000 + p->dead_count);
        p->dead[p->dead_count++] = hide(key);
        entries[i].key = (uint64_t)(uintptr_t)key;
        struct node *tag = node_new(1000000 + p->dead_count);
        p->dead[p->dead_count++] = hide(tag);
        entries[i].tag = (uint64_t)(uintptr_t)tag;
    }
    // Noscan memory full of pointers.
    void **noscan = gc_alloc_noscan(NOSCAN_POINTERS * sizeof(void *));
    for (size_t i = 0; i < NOSCAN_POINTERS; i++) {
        struct node *node = node_new(1000000 + p->dead_count);
        p->dead[p->dead_count++] = hide(node);
        noscan[i] = node;
    }
    *entries_out = entries;
    *noscan_out = noscan;
    return wides;
}

static void precise_scan(void *unused)
{
    (void)unused;
    struct precise p = { .live = malloc(20000 * sizeof(uintptr_t)), .dead = malloc(20000 * sizeof(uintptr_t)) };
    struct entry *entries;
    void **noscan;
    // Held: the array of wide objects, the entries, the noscan block. The
    // lone wide object is dropped, and what its pointer words held goes
    // with it.
    void **volatile wides = build_precise(&p, &entries, &noscan);
    struct entry *volatile held_entries = entries;
    void **volatile held_noscan = noscan;
    entries = NULL;
    noscan = NULL;
    // The lone wide object's referents are the first three "live" ones.
    size_t lone_live = sizeof wide_pointer_words / sizeof wide_pointer_words[0];
    collect();
    assert_all_freed(p.dead, p.dead_count, "nodes whose only reference is a non-pointer word");
    assert_all_freed(p.live, lone_live, "referents of an unreachable wide object");
    for (size_t i = lone_live; i < p.live_count; i++)
        node_verify_id(unhide(p.live[i]), i);
    // The holders themselves, and their data words, are untouched.
    expect_ptr(runtime_heap_object(wides, NULL), ==, wides);
    expect_ptr(runtime_heap_object(held_entries, NULL), ==, held_entries);
    expect_ptr(runtime_heap_object(held_noscan, NULL), ==, held_noscan);
    uintptr_t last_key = p.dead[p.dead_count - NOSCAN_POINTERS - 2];
    expect_uint(held_entries[PRECISE_ENTRIES - 1].key, ==, (uint64_t)(uintptr_t)unhide(last_key));
    expect_ptr(held_noscan[NOSCAN_POINTERS - 1], ==, unhide(p.dead[p.dead_count - 1]));
    free(p.live);
    free(p.dead);
}

START_TEST(test_only_pointer_words_keep_objects_alive)
{
    ck_assert_int_eq(run_quiet(precise_scan), 0);
}
END_TEST

// Two types of one size class, their pointers in different words. Spans
// that hold one type are scanned by that type's mask (mspan.uniform_mask),
// mixed ones by the heap bitmap: each object must be scanned by its own
// type's bits whichever way its span holds it. First a run of the first
// type alone (its spans start uniform), then the two alternately (they
// turn mixed): every pointer word holds a node that must survive, every
// data word a node that must go.
struct quad {
    uint64_t words[4];
};
static const struct gc_type quad_first_type = { .name = "quad_first", .size = sizeof(struct quad), .pointers = 1u << 0 };
static const struct gc_type quad_third_type = { .name = "quad_third", .size = sizeof(struct quad), .pointers = 1u << 2 };
enum { QUADS_ALONE = 300, QUADS = 3000 };

static __attribute__((noinline)) struct quad **build_quads(struct precise *p)
{
    struct quad **quads = gc_alloc(QUADS * sizeof *quads, &pointer_type);
    for (size_t i = 0; i < QUADS; i++) {
        bool third = i >= QUADS_ALONE && i % 2;
        struct quad *quad = gc_new(third ? &quad_third_type : &quad_first_type);
        gc_store(&quads[i], quad);
        for (size_t w = 0; w < 4; w++) {
            bool pointer = w == (third ? 2u : 0u);
            struct node *node = node_new(pointer ? p->live_count : 1000000 + p->dead_count);
            if (pointer) {
                p->live[p->live_count++] = hide(node);
                gc_store((struct node **)&quad->words[w], node);
            } else {
                p->dead[p->dead_count++] = hide(node);
                quad->words[w] = (uint64_t)(uintptr_t)node;   // a data word: no reference
            }
        }
    }
    return quads;
}

static void mixed_spans(void *unused)
{
    (void)unused;
    struct precise p = { .live = malloc(QUADS * sizeof(uintptr_t)), .dead = malloc(3 * QUADS * sizeof(uintptr_t)) };
    struct quad **volatile quads = build_quads(&p);
    collect();
    assert_all_freed(p.dead, p.dead_count, "nodes held only in data words of quads");
    for (size_t i = 0; i < p.live_count; i++)
        node_verify_id(unhide(p.live[i]), i);
    expect_ptr(runtime_heap_object(quads, NULL), ==, quads);
    free(p.live);
    free(p.dead);
}

START_TEST(test_objects_sharing_a_span_are_scanned_by_their_own_types)
{
    ck_assert_int_eq(run_quiet(mixed_spans), 0);
}
END_TEST

// An object passed as go()'s argument survives until the goroutine runs,
// though nothing else refers to it. Each batch of 100 goroutines waits at a
// gate that opens only once its batch's collection has swept the heap: a
// parcel the mark missed is freed by then, and its goroutine finds it so.
// (Without the gate, a goroutine could look at its parcel during the
// cycle, before the sweep, and see it whole.)
enum { PARCELS = 2000 / SCALE, PARCEL_BATCH = 100, PARCEL_BATCHES = PARCELS / PARCEL_BATCH };
static struct waitgroup parcels_done;
static long parcels_verified;
static struct chan *parcel_gates[PARCEL_BATCHES];   // closed after each batch's collect()
_Static_assert(PARCELS % PARCEL_BATCH == 0, "whole batches: every parcel has a gate");

static void open_parcel(void *argument)
{
    struct node *parcel = argument;
    // The id is read before the gate, while the parcel is surely whole if
    // the goroutine runs early; one that starts only after the collection
    // may read a freed parcel's words, hence the bound.
    uint64_t batch = parcel->id / PARCEL_BATCH;
    expect_msg(batch < PARCEL_BATCHES, "parcel %p: id %llu, freed before its goroutine ran?", (void *)parcel,
               (unsigned long long)parcel->id);
    expect(!chan_receive_ok(parcel_gates[batch], NULL));   // closed: no value ever sent
    node_verify(parcel);
    node_verify_id(parcel->next, parcel->id + 1000000);
    __atomic_add_fetch(&parcels_verified, 1, __ATOMIC_RELAXED);
    waitgroup_done(&parcels_done);
}

static __attribute__((noinline)) void send_parcel(uint64_t id)
{
    struct node *parcel = node_with_blob(id);
    gc_store(&parcel->next, node_with_blob(id + 1000000));   // reachable only through the parcel
    go(open_parcel, parcel);
}

static void go_arguments(void *unused)
{
    (void)unused;
    for (size_t b = 0; b < PARCEL_BATCHES; b++)
        parcel_gates[b] = chan_make(0, 0);
    waitgroup_add(&parcels_done, PARCELS);
    for (uint64_t i = 0; i < PARCELS; i++) {
        send_parcel(i);
        if (i % PARCEL_BATCH == PARCEL_BATCH - 1) {
            churn(2000);
            collect();
            chan_close(parcel_gates[i / PARCEL_BATCH]);
        }
    }
    waitgroup_wait(&parcels_done);
    expect_int(parcels_verified, ==, PARCELS);
    for (size_t b = 0; b < PARCEL_BATCHES; b++)
        chan_free(parcel_gates[b]);
}

START_TEST(test_go_argument_survives_until_the_goroutine_runs)
{
    ck_assert_int_eq(run_quiet(go_arguments), 0);
}
END_TEST

START_TEST(test_go_argument_survives_procs_2)
{
    ck_assert_int_eq(run_config(go_arguments, NULL, (struct runtime_config){ .procs = 2 }), 0);
}
END_TEST

// Pointers sitting in a channel's buffer survive collections.
struct message {
    uint64_t sequence;
    struct node *node;
    uint64_t tail;
};

enum { CHANNEL_CAPACITY = 512, MESSAGE_CAPACITY = 100 };

static __attribute__((noinline)) void fill_channels(struct chan *pointers, struct chan *messages)
{
    for (uint64_t i = 0; i < CHANNEL_CAPACITY; i++) {
        struct node *node = node_with_blob(i);
        gc_store(&node->next, node_new(i + 1000000));
        chan_send(pointers, &node);
    }
    for (uint64_t i = 0; i < MESSAGE_CAPACITY; i++) {
        struct message message = { .sequence = i, .node = node_with_blob(i + 2000000), .tail = ~i };
        chan_send(messages, &message);
    }
}

static void channel_buffer(void *unused)
{
    (void)unused;
    struct chan *pointers = chan_make(sizeof(struct node *), CHANNEL_CAPACITY);
    struct chan *messages = chan_make(sizeof(struct message), MESSAGE_CAPACITY);
    fill_channels(pointers, messages);
    for (int round = 0; round < 3; round++) {
        churn(20000);
        collect();
    }
    for (uint64_t i = 0; i < CHANNEL_CAPACITY; i++) {
        struct node *node;
        chan_receive(pointers, &node);
        node_verify_id(node, i);
        node_verify_id(node->next, i + 1000000);
    }
    for (uint64_t i = 0; i < MESSAGE_CAPACITY; i++) {
        struct message message;
        chan_receive(messages, &message);
        expect(message.sequence == i && message.tail == ~i);
        node_verify_id(message.node, i + 2000000);
    }
    chan_free(pointers);
    chan_free(messages);
}

START_TEST(test_pointers_in_a_channel_buffer_survive)
{
    ck_assert_int_eq(run_quiet(channel_buffer), 0);
}
END_TEST

/* --- Control and statistics ------------------------------------------------------------ */

static void gc_percent(void *unused)
{
    (void)unused;
    expect_int(runtime_set_gc_percent(50), ==, 100);   // the default
    expect_int(runtime_set_gc_percent(-1), ==, 50);
    expect_int(runtime_set_gc_percent(200), ==, -1);
    expect_int(runtime_set_gc_percent(100), ==, 200);
}

START_TEST(test_set_gc_percent_returns_the_old_value)
{
    ck_assert_int_eq(run_config(gc_percent, NULL, (struct runtime_config){ .procs = 1 }), 0);
}
END_TEST

static void gc_percent_configured(void *unused)
{
    (void)unused;
    expect_int(runtime_set_gc_percent(100), ==, 300);
    expect_int(runtime_set_gc_percent(100), ==, 100);
}

static void gc_percent_off(void *unused)
{
    (void)unused;
    expect_int(runtime_set_gc_percent(100), <, 0);
}

START_TEST(test_set_gc_percent_returns_the_configured_value)
{
    ck_assert_int_eq(run_config(gc_percent_configured, NULL, (struct runtime_config){ .procs = 1, .gogc = 300 }), 0);
}
END_TEST

START_TEST(test_set_gc_percent_returns_off_when_configured_off)
{
    ck_assert_int_eq(run_config(gc_percent_off, NULL, (struct runtime_config){ .procs = 1, .gogc = -1 }), 0);
}
END_TEST

static void cycles_counted(void *unused)
{
    (void)unused;
    struct node *volatile keep = unhide(build_list(1000, 1, NULL));
    struct gc_stats before, after;
    runtime_read_gc_stats(&before);
    for (int i = 0; i < 5; i++) {
        churn(1000);
        runtime_gc();
    }
    runtime_read_gc_stats(&after);
    expect_uint(after.cycles - before.cycles, ==, 5);
    expect_uint(after.forced_cycles - before.forced_cycles, ==, 5);
    // Two stop-the-world pauses a cycle, and one more each time mark
    // termination finds work and restarts the mark (gc.h).
    uint64_t pauses = after.pause_count - before.pause_count;
    expect_uint(pauses, >=, 10);
    // Each pause is recorded at once in the history, the total and the
    // maximum (mgc.c's record_pause, under one lock): the window's entries
    // add up to exactly what the total grew by, and the maximum is the
    // larger of the old one and the window's largest -- which holds only
    // if those entries are the pauses really recorded. One, at least, took
    // some time.
    expect_uint(pauses, <=, GC_PAUSE_HISTORY);
    uint64_t sum = 0, largest = 0;
    for (uint64_t i = before.pause_count; i < after.pause_count; i++) {
        uint64_t pause = after.pauses_ns[i % GC_PAUSE_HISTORY];
        sum += pause;
        if (pause > largest)
            largest = pause;
    }
    expect_uint(sum, ==, after.pause_total_ns - before.pause_total_ns);
    expect_uint(after.pause_max_ns, ==, largest > before.pause_max_ns ? largest : before.pause_max_ns);
    expect_uint(largest, >, 0);
    expect_uint(after.pause_total_ns, >=, after.pause_max_ns);
    expect_uint(after.objects_freed - before.objects_freed, >=, 5 * 1000);
    expect_uint(after.heap_marked, >=, 1000 * sizeof(struct node));
    expect_uint(after.gc_cpu_ns, >=, after.pause_total_ns);
    verify_list(keep, 1000, 1);
}

START_TEST(test_cycles_are_counted)
{
    ck_assert_int_eq(run_quiet(cycles_counted), 0);
}
END_TEST

// GOGC off: however much is allocated, no cycle starts by itself.
static __attribute__((noinline)) void allocate_garbage(size_t bytes, size_t block)
{
    for (size_t done = 0; done < bytes; done += block) {
        uint8_t *garbage = gc_alloc_noscan(block);
        garbage[0] = garbage[block - 1] = 1;
    }
}

static void gogc_off(void *unused)
{
    (void)unused;
    allocate_garbage(64 * MIB / SCALE, 64 * KIB);
    churn(200000 / SCALE);
    struct gc_stats stats;
    struct memstats before, after;
    runtime_read_gc_stats(&stats);
    expect_uint(stats.cycles, ==, 0);
    runtime_read_memstats(&before);
    expect_uint(before.heap_alloc, >=, 64 * MIB / SCALE);
    collect();
    runtime_read_gc_stats(&stats);
    runtime_read_memstats(&after);
    expect_uint(stats.cycles, ==, 1);
    expect_uint(after.heap_alloc, <=, before.heap_alloc - 64 * MIB / SCALE);
}

START_TEST(test_gogc_off_runs_no_cycle_unless_asked)
{
    ck_assert_int_eq(run_config(gogc_off, NULL, (struct runtime_config){ .procs = 2, .gogc = -1 }), 0);
}
END_TEST

// Turned off and on again at run time.
static void gogc_off_at_run_time(void *unused)
{
    (void)unused;
    expect_int(runtime_set_gc_percent(-1), ==, 100);
    runtime_gc();   // no cycle left running from before
    struct gc_stats stats;
    runtime_read_gc_stats(&stats);
    uint64_t cycles = stats.cycles;
    allocate_garbage(64 * MIB / SCALE, 32 * KIB);
    runtime_read_gc_stats(&stats);
    expect_uint(stats.cycles, ==, cycles);
    expect_int(runtime_set_gc_percent(100), ==, -1);
    allocate_garbage(64 * MIB / SCALE, 32 * KIB);
    runtime_read_gc_stats(&stats);
    expect_uint(stats.cycles, >, cycles);
}

START_TEST(test_gogc_off_and_on_at_run_time)
{
    ck_assert_int_eq(run_config(gogc_off_at_run_time, NULL, (struct runtime_config){ .procs = 2 }), 0);
}
END_TEST

static void three_cycles(void *unused)
{
    (void)unused;
    for (int i = 0; i < 3; i++) {
        churn(1000);
        runtime_gc();
    }
}

static int gctrace_program(void *unused)
{
    (void)unused;
    return run_config(three_cycles, NULL, (struct runtime_config){ .procs = 1, .gogc = -1, .gctrace = true });
}

START_TEST(test_gctrace_prints_a_line_per_cycle)
{
    struct child_result result = run_in_child(gctrace_program, NULL);
    ck_assert_msg(result.exit_status == 0, "exit status %d; output:\n%s", result.exit_status, result.output);
    // Go's format: "gc 1 @0.012s 2%: ... ms clock, ... MB, 4 MB goal, 1 P".
    ck_assert_msg(strstr(result.output, "gc 1 @"), "no line for cycle 1 in:\n%s", result.output);
    ck_assert_msg(strstr(result.output, "gc 3 @"), "no line for cycle 3 in:\n%s", result.output);
    ck_assert_msg(!strstr(result.output, "gc 4 @"), "a fourth cycle in:\n%s", result.output);
    ck_assert_msg(strstr(result.output, "MB goal"), "no goal in:\n%s", result.output);
}
END_TEST

// gcstress: a cycle every so many allocations, though the heap is tiny.
static void stressed(void *unused)
{
    (void)unused;
    struct node *volatile keep = unhide(build_list(100, 1, NULL));
    churn(50000 / SCALE);
    struct gc_stats stats;
    runtime_read_gc_stats(&stats);
    expect_uint(stats.cycles, >=, 10 / SCALE);
    expect_uint(stats.forced_cycles, ==, 0);
    verify_list(keep, 100, 1);
}

START_TEST(test_gcstress_collects_every_thousand_allocations)
{
    ck_assert_int_eq(run_config(stressed, NULL, (struct runtime_config){ .procs = 2, .gcstress = 1 }), 0);
}
END_TEST

/* --- Checkmark mode ---------------------------------------------------------------------- */

// Freed objects read 0xdf in checkmark mode: what the barrier tests below
// rely on to see a use after free. Three nodes in a row, the middle one
// dropped: whichever span it is in keeps a live neighbour, so its memory is
// still the heap's, there to read.
static __attribute__((noinline)) uintptr_t neighbours(struct node *volatile *first, struct node *volatile *third)
{
    *first = node_new(1);
    struct node *second = node_new(2);
    *third = node_new(3);
    return hide(second);
}

static __attribute__((noinline)) uint64_t read_magic(uintptr_t hidden)
{
    return __atomic_load_n(&((struct node *)unhide(hidden))->magic, __ATOMIC_RELAXED);
}

static void poisoned(void *unused)
{
    (void)unused;
    struct node *volatile first, *volatile third;
    uintptr_t second = neighbours(&first, &third);
    collect();
    expect(is_freed(second));
    expect_msg(read_magic(second) == POISON, "a freed node reads %#llx, not checkmark's poison",
               (unsigned long long)read_magic(second));
    node_verify_id(first, 1);
    node_verify_id(third, 3);
}

START_TEST(test_checkmark_poisons_freed_objects)
{
    ck_assert_int_eq(run_config(poisoned, NULL, (struct runtime_config){ .procs = 1, .gogc = -1, .gccheckmark = true }),
                     0);
}
END_TEST

// Checkmark catches a missed object. This test BREAKS THE WRITE BARRIER'S
// RULE ON PURPOSE: it stores a pointer into a heap object during a mark
// without gc_store, which a correct program never does, to show that
// checkmark verification reports the object the mark then leaves white
// (and that the verification runs at all: without it, every other test
// here still passes).
//
// The recipe: W is allocated while no mark runs, and afterwards kept only
// hidden (XORed), so the next mark sees no pointer to it. A goroutine runs
// cycles back to back. Once the next cycle marks, B is allocated -- black,
// never to be scanned -- and W stored into B's next field with a raw
// store: no barrier shades W. At mark termination W is white, yet checkmark
// reaches it from B, which it finds on this stack (marked, so followed):
// "... but the mark left it white", fatal.
//
// A stale stack word holding W's address may let the concurrent mark find
// W after all (the scan is conservative), and then nothing is missed; and
// the mark may end before B is allocated or stored. So the program tries up
// to 200 times. A stale word cannot spoil the check itself: checkmark skips
// white objects found straight from stack words.
//
// The cycles come from another goroutine's runtime_gc, not from this one's
// allocations (gcstress): a goroutine that starts a cycle yields to be
// scanned, and on 4 Ps its P runs the dedicated mark worker first, so it
// would seldom run again before the mark is over.
enum { CHECKMARK_ATTEMPTS = 200, CHECKMARK_LIVE = 50000 };

static volatile int checkmark_stop;
static struct waitgroup checkmark_cycler_done;

static void checkmark_cycler(void *unused)
{
    (void)unused;
    while (!__atomic_load_n(&checkmark_stop, __ATOMIC_ACQUIRE)) {
        runtime_gc();
        gosched();
    }
    waitgroup_done(&checkmark_cycler_done);
}

// W: allocated while no mark runs (one allocated during a mark is black);
// *cycles, how many cycles had completed then.
static __attribute__((noinline)) uintptr_t white_node(uint64_t id, uint64_t *cycles)
{
    for (;;) {
        uint64_t before = current_cycles();
        bool marking_before = gc_marking();
        struct node *node = node_new(id);
        if (!marking_before && !gc_marking() && current_cycles() == before) {
            *cycles = before;   // no mark ran while it was allocated
            return hide(node);
        }
    }
}

// B: allocated during the mark of the cycle after `cycles`, so black; NULL
// if that mark ended before one was (W is freed by then).
static __attribute__((noinline)) struct node *black_node(uint64_t id, uint64_t cycles)
{
    while (!gc_marking() && current_cycles() == cycles)
        gosched();
    struct node *node = node_new(id);
    return gc_marking() && current_cycles() == cycles ? node : NULL;
}

// The broken store: deliberately NOT gc_store.
static __attribute__((noinline)) void store_without_barrier(struct node *black, uintptr_t hidden)
{
    black->next = unhide(hidden);
    __asm__ volatile("" : : "r"(black) : "memory");
}

static void miss_an_object(void *unused)
{
    (void)unused;
    // Live nodes in a list, so that a mark takes a little while (a list is
    // marked one node after another, however many workers there are).
    struct node *volatile live = unhide(build_list(CHECKMARK_LIVE, 1ull << 40, NULL));
    waitgroup_add(&checkmark_cycler_done, 1);
    go(checkmark_cycler, NULL);
    for (uint64_t attempt = 0; attempt < CHECKMARK_ATTEMPTS; attempt++) {
        uint64_t cycles;
        uintptr_t white = white_node(2 * attempt, &cycles);
        scrub_stack();   // no copy of W's address below this frame
        // W lives until the sweep of the next cycle: B must come from its mark.
        struct node *volatile black = black_node(2 * attempt + 1, cycles);
        if (black == NULL)
            continue;
        store_without_barrier(black, white);
        while (gc_marking())
            gosleep(100000);   // let the mark finish; its termination runs checkmark
        // Not caught: W was marked through a stale word, or the mark ended
        // before the store. (W may be freed then: not to be looked at.)
    }
    __atomic_store_n(&checkmark_stop, 1, __ATOMIC_RELEASE);
    waitgroup_wait(&checkmark_cycler_done);
    verify_list(live, CHECKMARK_LIVE, 1ull << 40);
}

static int miss_an_object_program(void *ps)
{
    struct runtime_config config = { .procs = (int)(intptr_t)ps, .gogc = -1, .gccheckmark = true };
    return run_config(miss_an_object, NULL, config);
}

START_TEST(test_checkmark_reports_an_object_the_mark_missed)
{
    static const int ps[] = { 1, 2, 4 };
    struct child_result result = run_in_child(miss_an_object_program, (void *)(intptr_t)ps[_i]);
    ck_assert_msg(strstr(result.output, "but the mark left it white"),
                  "%d P: no checkmark failure in %d attempts; exit status %d (signal %d); output:\n%s", ps[_i],
                  CHECKMARK_ATTEMPTS, result.exit_status, result.signal_number, result.output);
    ck_assert_msg(result.exit_status == 2, "exit status %d (signal %d); output:\n%s", result.exit_status,
                  result.signal_number, result.output);
}
END_TEST

/* --- The write barrier: concurrent mutation ------------------------------------------------- */

// A shared graph: a table of nodes (itself a heap object, held by a
// registered root), each node pointing at others through next and other.
// Workers walk it, verifying every node they reach, and rewire it -- every
// pointer store through gc_store -- while cycles run back to back (a
// goroutine calling runtime_gc, or gcstress). Checkmark mode stops the
// program if a cycle missed a reachable object, and poisons freed ones.
//
// Each worker does at least MIN_OPERATIONS operations and goes on until at
// least MIN_CYCLES cycles have completed since it started, so mutation and
// marking overlap whatever the scheduling. (A collector whose cycles never
// end makes the test time out.)
enum {
    TABLE = 4096,
    WORKERS = 8,
    MIN_OPERATIONS = 100000 / SCALE,
    MIN_CYCLES = 40 / SCALE,
    WALK = 24,
};

static struct node **shared_table;
static uint64_t next_node_id = 1;
static volatile int workers_running;
static struct waitgroup workers_done;

// Reads a pointer slot that other goroutines store into, and checks the
// node it finds.
static struct node *load_node(struct node **slot)
{
    struct node *node = __atomic_load_n(slot, __ATOMIC_RELAXED);
    if (node) {
        observed(node);
        node_verify(node);
    }
    return node;
}

static struct node *fresh_node(void)
{
    struct node *node = node_with_blob(__atomic_fetch_add(&next_node_id, 1, __ATOMIC_RELAXED));
    __asm__ volatile("" : : : "memory");   // initialised before it is published
    published(node);
    return node;
}

// Whether a worker that has done `done` operations, of at least `minimum`,
// may stop.
static bool enough(long done, long minimum, uint64_t start_cycles)
{
    return done >= minimum && done % 256 == 0 && current_cycles() >= start_cycles + MIN_CYCLES;
}

// A node taken off the table lets go of what it points to. Off the table,
// nothing changes its pointers any more, so without this every node would
// keep the nodes of its day alive, and those theirs: the live heap would
// grow with the whole history of the graph. (It stays reachable itself for
// as long as a node points to it.)
static void retire(struct node *node)
{
    gc_store(&node->next, NULL);
    gc_store(&node->other, NULL);
}

static void graph_worker(void *argument)
{
    uint64_t random = (uint64_t)(uintptr_t)argument * 0x9E3779B97F4A7C15ull | 1;
    uint64_t start_cycles = current_cycles();
    for (long operation = 0; !enough(operation, MIN_OPERATIONS, start_cycles); operation++) {
        uint64_t r = next_random(&random);
        size_t i = r % TABLE, j = (r >> 16) % TABLE;
        struct node *a = load_node(&shared_table[i]);
        struct node *b = load_node(&shared_table[j]);
        switch ((r >> 32) % 10) {
        case 0:
        case 1:
        case 2: {   // walk
            struct node *node = a;
            for (int step = 0; node && step < WALK; step++)
                node = load_node((r >> (step % 64)) & 1 ? &node->next : &node->other);
            break;
        }
        case 3:
        case 4:   // point a at b
            gc_store((r >> 40) & 1 ? &a->next : &a->other, b);
            break;
        case 5: {   // swap what a and b point at: for a moment x is only on this stack
            struct node *x = load_node(&a->next);
            struct node *y = load_node(&b->next);
            gc_store(&a->next, y);
            gc_store(&b->next, x);
            break;
        }
        case 6: {   // move b's other into a, clearing it in b first
            struct node *x = load_node(&b->other);
            gc_store(&b->other, NULL);
            gosched();   // x is only on this stack now, perhaps across a cycle's start
            gc_store(&a->other, x);
            break;
        }
        case 7:
        case 8: {   // replace a table entry with a new node pointing at the old one and at b
            struct node *node = fresh_node();
            gc_store(&node->next, a);
            gc_store(&node->other, b);
            gc_store(&shared_table[i], node);
            retire(a);
            break;
        }
        case 9:   // cut: a loses its next, and what only it reached is garbage
            gc_store(&a->next, NULL);
            if ((r >> 48) % 8 == 0) {
                gc_store(&shared_table[i], fresh_node());
                retire(a);
            }
            break;
        }
        if (operation % 64 == 0)
            gosched();
    }
    __atomic_sub_fetch(&workers_running, 1, __ATOMIC_RELEASE);
    waitgroup_done(&workers_done);
}

static void cycle_loop(void *unused)
{
    (void)unused;
    while (__atomic_load_n(&workers_running, __ATOMIC_ACQUIRE) > 0)
        runtime_gc();
    waitgroup_done(&workers_done);
}

static void verify_graph(void)
{
    for (size_t i = 0; i < TABLE; i++) {
        struct node *node = load_node(&shared_table[i]);
        expect_ptr(node, !=, NULL);
        for (int step = 0; node && step < 64; step++)
            node = load_node(step % 3 ? &node->next : &node->other);
    }
}

static void graph_program(void *with_cycle_loop)
{
    gc_add_root(&shared_table, sizeof shared_table, "shared_table");
    struct node **table = gc_alloc(TABLE * sizeof *table, &pointer_type);
    for (size_t i = 0; i < TABLE; i++)
        gc_store(&table[i], fresh_node());
    for (size_t i = 0; i < TABLE; i++) {
        gc_store(&table[i]->next, table[(i + 1) % TABLE]);
        gc_store(&table[i]->other, table[(i * 7 + 3) % TABLE]);
    }
    published(table);
    gc_store(&shared_table, table);
    table = NULL;
    workers_running = WORKERS;
    waitgroup_add(&workers_done, WORKERS + (with_cycle_loop ? 1 : 0));
    for (uintptr_t w = 0; w < WORKERS; w++)
        go(graph_worker, (void *)(w + 1));
    if (with_cycle_loop)
        go(cycle_loop, NULL);
    waitgroup_wait(&workers_done);
    verify_graph();
    runtime_gc();
    verify_graph();
    struct gc_stats stats;
    runtime_read_gc_stats(&stats);
    expect_uint(stats.cycles, >=, MIN_CYCLES);
    expect_uint(stats.objects_freed, >, 0);
}

START_TEST(test_concurrent_rewiring_procs_2)
{
    struct runtime_config config = { .procs = 2, .gccheckmark = true };
    ck_assert_int_eq(run_config(graph_program, (void *)1, config), 0);
}
END_TEST

START_TEST(test_concurrent_rewiring_procs_4)
{
    struct runtime_config config = { .procs = 4, .gccheckmark = true };
    ck_assert_int_eq(run_config(graph_program, (void *)1, config), 0);
}
END_TEST

START_TEST(test_concurrent_rewiring_gcstress_procs_4)
{
    struct runtime_config config = { .procs = 4, .gccheckmark = true, .gcstress = 1 };
    ck_assert_int_eq(run_config(graph_program, NULL, config), 0);
}
END_TEST

// Pointers handed from goroutine to goroutine through a channel while
// cycles run: in its buffer, on a sender's or a receiver's stack, then
// stored into a shared ring. Nothing else holds them.
enum { PRODUCERS = 3, CONSUMERS = 3, HANDOFFS = 50000 / SCALE, HANDOFF_RING = 1024 };

static struct node **handoff_ring;
static struct chan *handoff_channel;
static volatile int producers_running;

static void handoff_producer(void *argument)
{
    (void)argument;
    uint64_t start_cycles = current_cycles();
    for (long i = 0; !enough(i, HANDOFFS, start_cycles); i++) {
        struct node *node = fresh_node();
        gc_store(&node->next, fresh_node());   // reachable only through node
        chan_send(handoff_channel, &node);
    }
    if (__atomic_sub_fetch(&producers_running, 1, __ATOMIC_ACQ_REL) == 0)
        chan_close(handoff_channel);
    __atomic_sub_fetch(&workers_running, 1, __ATOMIC_RELEASE);
    waitgroup_done(&workers_done);
}

static void handoff_consumer(void *argument)
{
    uint64_t random = (uint64_t)(uintptr_t)argument;
    struct node *node;
    while (chan_receive_ok(handoff_channel, &node)) {
        observed(node);
        node_verify(node);
        load_node(&node->next);
        struct node **slot = &handoff_ring[next_random(&random) % HANDOFF_RING];
        struct node *old = load_node(slot);
        if (old)
            load_node(&old->next);
        gc_store(slot, node);
    }
    __atomic_sub_fetch(&workers_running, 1, __ATOMIC_RELEASE);
    waitgroup_done(&workers_done);
}

static void handoff_program(void *unused)
{
    (void)unused;
    gc_add_root(&handoff_ring, sizeof handoff_ring, "handoff_ring");
    struct node **ring = gc_alloc(HANDOFF_RING * sizeof *ring, &pointer_type);
    published(ring);
    gc_store(&handoff_ring, ring);
    ring = NULL;
    handoff_channel = chan_make(sizeof(struct node *), 64);
    producers_running = PRODUCERS;
    workers_running = PRODUCERS + CONSUMERS;
    waitgroup_add(&workers_done, PRODUCERS + CONSUMERS + 1);
    for (uintptr_t i = 0; i < PRODUCERS; i++)
        go(handoff_producer, (void *)(i + 1));
    for (uintptr_t i = 0; i < CONSUMERS; i++)
        go(handoff_consumer, (void *)(i * 77 + 1));
    go(cycle_loop, NULL);
    waitgroup_wait(&workers_done);
    runtime_gc();
    size_t filled = 0;
    for (size_t i = 0; i < HANDOFF_RING; i++) {
        struct node *node = load_node(&handoff_ring[i]);
        if (node) {
            load_node(&node->next);
            filled++;
        }
    }
    expect_uint(filled, >, HANDOFF_RING / 2);
    expect_uint(current_cycles(), >=, MIN_CYCLES);
    chan_free(handoff_channel);
}

START_TEST(test_pointers_through_channels_during_mark_procs_4)
{
    struct runtime_config config = { .procs = 4, .gccheckmark = true };
    ck_assert_int_eq(run_config(handoff_program, NULL, config), 0);
}
END_TEST

/* --- The pacer ---------------------------------------------------------------------------- */

// A steady state: a ring of buffers, ~8 MiB live, each entry replaced over
// and over with a buffer of the same size (so the live size never moves)
// for a few hundred MiB. With GOGC=100 the heap's goal is twice the live
// heap; heap_alloc may run past it a little (the sweep is concurrent, the
// cycle ends after the goal is reached), so the test allows 2.5x.
enum { STEADY_RING = 256 };

static size_t steady_size(size_t slot)
{
    return 4 * KIB * (1 + (slot * 37) % 16);   // 4 to 64 KiB, small and large objects: 8.5 MiB in all
}

struct churn_ring {
    uint8_t **ring;
    size_t live;   // bytes in the ring's buffers, by their size classes
};

static void ring_fill(struct churn_ring *ring, size_t count, size_t (*size_of)(size_t))
{
    ring->ring = gc_alloc(count * sizeof(uint8_t *), &pointer_type);
    ring->live = 0;
    for (size_t slot = 0; slot < count; slot++) {
        uint8_t *buffer = gc_alloc_noscan(size_of(slot));
        size_t size = 0;
        expect_ptr(runtime_heap_object(buffer, &size), ==, buffer);
        ring->live += size;
        gc_store(&ring->ring[slot], buffer);
    }
}

// Replaces the entries of a STEADY_RING ring (filled with steady_size), one
// after another in a scattered order, with new buffers of the same size,
// until `total` bytes have been allocated: the live size never moves.
// Returns the highest heap_alloc seen after any allocation; and, if
// peak_live is not NULL, the highest gc_stats.heap_live seen every 16.
static uint64_t replace_steadily(struct churn_ring *ring, size_t total, uint64_t *peak_live)
{
    uint64_t peak_alloc = 0;
    if (peak_live)
        *peak_live = 0;
    for (size_t n = 0, allocated = 0; allocated < total; n++) {
        size_t slot = (n * 101) % STEADY_RING;
        size_t size = steady_size(slot);
        uint8_t *buffer = gc_alloc_noscan(size);
        buffer[0] = buffer[size - 1] = (uint8_t)n;
        gc_store(&ring->ring[slot], buffer);
        allocated += size;
        struct memstats memstats;
        runtime_read_memstats(&memstats);
        if (memstats.heap_alloc > peak_alloc)
            peak_alloc = memstats.heap_alloc;
        if (peak_live && n % 16 == 0) {
            struct gc_stats stats;
            runtime_read_gc_stats(&stats);
            if (stats.heap_live > *peak_live)
                *peak_live = stats.heap_live;
        }
    }
    return peak_alloc;
}

static void steady_state(void *unused)
{
    (void)unused;
    struct churn_ring ring;
    ring_fill(&ring, STEADY_RING, steady_size);
    runtime_gc();
    struct memstats memstats;
    struct gc_stats stats;
    runtime_read_memstats(&memstats);
    runtime_read_gc_stats(&stats);
    uint64_t reference = memstats.heap_alloc;   // all live: the ring and what the runtime holds
    uint64_t start_cycles = stats.cycles;
    expect_uint(reference, >=, ring.live);
    uint64_t peak_live;
    size_t total = 384 * MIB / SCALE;
    uint64_t peak_alloc = replace_steadily(&ring, total, &peak_live);
    runtime_read_gc_stats(&stats);
    expect_msg(peak_alloc <= reference * 5 / 2,
               "heap_alloc peaked at %llu bytes; the live heap is %llu, GOGC=100's goal twice that",
               (unsigned long long)peak_alloc, (unsigned long long)reference);
    expect_msg(peak_live <= reference * 5 / 2 + 4 * MIB,
               "gc_stats.heap_live peaked at %llu bytes; the live heap is %llu", (unsigned long long)peak_live,
               (unsigned long long)reference);
    // Cycles came from the pacer, about one per live heap's worth of
    // allocation -- at least a quarter of that.
    uint64_t cycles = stats.cycles - start_cycles;
    expect_msg(cycles >= total / reference / 4, "%llu cycles for %zu bytes allocated over %llu live",
               (unsigned long long)cycles, total, (unsigned long long)reference);
    expect_uint(stats.forced_cycles, ==, 1);
}

START_TEST(test_heap_stays_within_the_goal_in_a_steady_state)
{
    ck_assert_int_eq(run_config(steady_state, NULL, (struct runtime_config){ .procs = 2, .gogc = 100 }), 0);
}
END_TEST

// The goal follows GOGC: live * (1 + GOGC/100), from the last cycle's marked
// bytes.
static void goal_follows_gogc(void *unused)
{
    (void)unused;
    struct churn_ring ring;
    ring_fill(&ring, STEADY_RING, steady_size);
    static const int percents[] = { 100, 50, 200, 25 };
    for (size_t p = 0; p < sizeof percents / sizeof percents[0]; p++) {
        runtime_set_gc_percent(percents[p]);
        runtime_gc();
        struct gc_stats stats;
        runtime_read_gc_stats(&stats);
        expect_uint(stats.heap_marked, >=, ring.live);
        expect_uint(stats.heap_marked, <=, ring.live + 2 * MIB);
        double goal = (double)stats.heap_marked * (1 + percents[p] / 100.0);
        expect_msg(stats.heap_goal >= goal * 0.95 && stats.heap_goal <= goal * 1.05 + 1 * MIB,
                   "GOGC=%d: heap_goal %llu for %llu bytes marked", percents[p], (unsigned long long)stats.heap_goal,
                   (unsigned long long)stats.heap_marked);
        expect_uint(stats.heap_trigger, <=, stats.heap_goal);
        expect_uint(stats.heap_trigger, >=, stats.heap_marked);
    }
    expect_ptr(ring.ring[0], !=, NULL);
}

START_TEST(test_heap_goal_follows_gogc)
{
    ck_assert_int_eq(run_config(goal_follows_gogc, NULL, (struct runtime_config){ .procs = 2 }), 0);
}
END_TEST

// Assists: a goroutine allocates large pointer-free buffers as fast as it
// can while the live heap is 100,000 small nodes in lists (slow to mark)
// and other goroutines run. Left to the background worker alone, marking
// would fall far behind the allocation; mark assists make the allocating
// goroutine mark in proportion, and the heap stays near the goal.
enum { ASSIST_LISTS = 16, ASSIST_NODES = 100000 / SCALE, FLAT_OUT_RING = 64, FLAT_OUT_BLOCK = 32 * 1024 };

static volatile int assist_stop;
static struct waitgroup assist_done;
static uint64_t flat_out_peak;

static void busy_neighbour(void *argument)
{
    struct node *volatile own = unhide(build_list(200, (uint64_t)(uintptr_t)argument << 20, NULL));
    while (!__atomic_load_n(&assist_stop, __ATOMIC_ACQUIRE)) {
        verify_list(own, 200, (uint64_t)(uintptr_t)argument << 20);
        churn(20);
        gosched();
    }
    waitgroup_done(&assist_done);
}

static size_t flat_out_size(size_t slot)
{
    (void)slot;
    return FLAT_OUT_BLOCK;
}

static void flat_out(void *unused)
{
    (void)unused;
    struct churn_ring ring;
    ring_fill(&ring, FLAT_OUT_RING, flat_out_size);
    uint64_t peak = 0;
    size_t total = 512 * MIB / SCALE;
    for (size_t n = 0, allocated = 0; allocated < total; n++, allocated += FLAT_OUT_BLOCK) {
        uint8_t *buffer = gc_alloc_noscan(FLAT_OUT_BLOCK);
        buffer[0] = (uint8_t)n;
        gc_store(&ring.ring[n % FLAT_OUT_RING], buffer);
        struct memstats memstats;
        runtime_read_memstats(&memstats);
        if (memstats.heap_alloc > peak)
            peak = memstats.heap_alloc;
    }
    __atomic_store_n(&flat_out_peak, peak, __ATOMIC_RELEASE);
    waitgroup_done(&assist_done);
}

static void assists(void *unused)
{
    (void)unused;
    struct node **lists = gc_alloc(ASSIST_LISTS * sizeof *lists, &pointer_type);
    for (size_t l = 0; l < ASSIST_LISTS; l++)
        gc_store(&lists[l], (struct node *)unhide(build_list(ASSIST_NODES / ASSIST_LISTS, l << 32, NULL)));
    runtime_gc();
    struct memstats memstats;
    runtime_read_memstats(&memstats);
    uint64_t reference = memstats.heap_alloc;
    waitgroup_add(&assist_done, 3);
    go(busy_neighbour, (void *)1);
    go(busy_neighbour, (void *)2);
    go(flat_out, NULL);
    // Wait for the allocator, then stop the neighbours.
    while (__atomic_load_n(&flat_out_peak, __ATOMIC_ACQUIRE) == 0)
        gosleep(1000000);
    __atomic_store_n(&assist_stop, 1, __ATOMIC_RELEASE);
    waitgroup_wait(&assist_done);
    uint64_t live = reference + FLAT_OUT_RING * FLAT_OUT_BLOCK;
    expect_msg(flat_out_peak <= live * 5 / 2, "heap_alloc peaked at %llu bytes with %llu live",
               (unsigned long long)flat_out_peak, (unsigned long long)live);
    for (size_t l = 0; l < ASSIST_LISTS; l++)
        verify_list(lists[l], ASSIST_NODES / ASSIST_LISTS, l << 32);
}

START_TEST(test_assists_bound_the_heap_against_a_flat_out_allocator)
{
    ck_assert_int_eq(run_config(assists, NULL, (struct runtime_config){ .procs = 4 }), 0);
}
END_TEST

// GOMEMLIMIT with GOGC off: cycles only as the heap nears the limit. The
// heap grows well past where GOGC=100 would have collected (twice the live
// heap, ~17 MiB), and stays near the limit.
enum { MEMORY_LIMIT = 40 << 20 };

static void memory_limit(void *unused)
{
    (void)unused;
    struct churn_ring ring;
    ring_fill(&ring, STEADY_RING, steady_size);   // ~8.5 MiB live
    uint64_t peak = replace_steadily(&ring, 384 * MIB / SCALE, NULL);
    struct gc_stats stats;
    runtime_read_gc_stats(&stats);
    expect_uint(stats.cycles, >, 0);
    expect_uint(stats.forced_cycles, ==, 0);
    expect_msg(peak <= MEMORY_LIMIT + 8 * MIB, "heap_alloc peaked at %llu bytes under a %d-byte limit",
               (unsigned long long)peak, MEMORY_LIMIT);
    expect_msg(peak >= MEMORY_LIMIT / 2, "heap_alloc peaked at %llu bytes: collected long before the %d-byte limit",
               (unsigned long long)peak, MEMORY_LIMIT);
}

START_TEST(test_gomemlimit_collects_near_the_limit_with_gogc_off)
{
    struct runtime_config config = { .procs = 2, .gogc = -1, .gomemlimit = MEMORY_LIMIT };
    ck_assert_int_eq(run_config(memory_limit, NULL, config), 0);
}
END_TEST

/* --- Memory returns -------------------------------------------------------------------------- */

// 64 MiB of nodes in lists, and large objects (pointer arrays of 40 KiB and
// 200 KiB, noscan blocks of 1 MiB), held by a root; dropped, collected, the
// heap's pages come back.
enum { BIG_LISTS = 64, BIG_NODES = (64 << 20) / 64 / SCALE, BIG_LARGE = 4 };

struct big {
    struct node **lists;
    void **arrays[BIG_LARGE];
    uint8_t *blocks[BIG_LARGE];
};

static struct big big_root;

static __attribute__((noinline)) size_t build_big(void)
{
    size_t bytes = 0;
    gc_store(&big_root.lists, (struct node **)gc_alloc(BIG_LISTS * sizeof(struct node *), &pointer_type));
    for (size_t l = 0; l < BIG_LISTS; l++)
        gc_store(&big_root.lists[l], (struct node *)unhide(build_list(BIG_NODES / BIG_LISTS, l << 32, NULL)));
    bytes += (size_t)BIG_NODES / BIG_LISTS * BIG_LISTS * sizeof(struct node);
    for (int i = 0; i < BIG_LARGE; i++) {
        size_t count = i % 2 ? 5000 : 25600;   // 40 KiB or 200 KiB
        void **array = gc_alloc(count * sizeof(void *), &pointer_type);
        for (size_t k = 0; k < count; k += 100)
            gc_store(&array[k], (void *)node_new(k));
        gc_store(&big_root.arrays[i], array);
        uint8_t *block = gc_alloc_noscan(MIB);
        memset(block, 0x11, MIB);
        gc_store(&big_root.blocks[i], block);
        bytes += count * sizeof(void *) + MIB;
    }
    return bytes;
}

static __attribute__((noinline)) void drop_big(void)
{
    gc_store(&big_root.lists, NULL);
    for (int i = 0; i < BIG_LARGE; i++) {
        gc_store(&big_root.arrays[i], NULL);
        gc_store(&big_root.blocks[i], NULL);
    }
}

static void memory_returns(void *unused)
{
    (void)unused;
    gc_add_root(&big_root, sizeof big_root, "big_root");
    size_t bytes = build_big();
    collect();
    for (size_t l = 0; l < BIG_LISTS; l++)
        expect_ptr(big_root.lists[l], !=, NULL);
    struct memstats before, after;
    struct gc_stats gc_before, gc_after;
    runtime_read_memstats(&before);
    runtime_read_gc_stats(&gc_before);
    expect_uint(before.heap_alloc, >=, bytes);
    drop_big();
    collect();
    runtime_read_memstats(&after);
    runtime_read_gc_stats(&gc_after);
    expect_msg(after.heap_alloc + bytes * 9 / 10 <= before.heap_alloc, "heap_alloc %llu -> %llu, %zu bytes dropped",
               (unsigned long long)before.heap_alloc, (unsigned long long)after.heap_alloc, bytes);
    expect_msg(after.heap_inuse + bytes * 3 / 4 <= before.heap_inuse, "heap_inuse %llu -> %llu, %zu bytes dropped",
               (unsigned long long)before.heap_inuse, (unsigned long long)after.heap_inuse, bytes);
    expect_uint(before.heap_objects - after.heap_objects, >=, BIG_NODES);
    expect_uint(gc_after.objects_freed - gc_before.objects_freed, >=, BIG_NODES);
    // The free pages go back to the platform when asked.
    runtime_free_os_memory();
    runtime_read_memstats(&after);
    expect_uint(after.heap_released, >=, bytes * 3 / 4);
}

START_TEST(test_dropped_structure_returns_its_memory)
{
    ck_assert_int_eq(run_config(memory_returns, NULL, (struct runtime_config){ .procs = 2 }), 0);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("gc");

    TCase *reach = tcase_create("reach");
    tcase_set_timeout(reach, 120);
    tcase_add_test(reach, test_unreachable_list_is_freed);
    tcase_add_test(reach, test_reachable_structures_survive);
    tcase_add_test(reach, test_reachable_structures_survive_procs_2_pacer_on);
    tcase_add_test(reach, test_list_on_a_parked_goroutines_stack_survives);
    tcase_add_test(reach, test_list_held_by_a_running_goroutine_survives);
    tcase_add_test(reach, test_list_held_by_a_goroutine_in_a_system_call_survives);
    tcase_add_test(reach, test_list_held_only_in_a_register_survives);
    tcase_add_test(reach, test_interior_pointers_keep_objects_alive);
    tcase_add_test(reach, test_registered_roots_keep_objects_alive_until_removed);
    tcase_add_test(reach, test_removing_a_root_never_added_is_fatal);
    tcase_add_test(reach, test_typed_arrays_keep_their_referents_alive);
    tcase_add_test(reach, test_only_pointer_words_keep_objects_alive);
    tcase_add_test(reach, test_objects_sharing_a_span_are_scanned_by_their_own_types);
    tcase_add_test(reach, test_go_argument_survives_until_the_goroutine_runs);
    tcase_add_test(reach, test_go_argument_survives_procs_2);
    tcase_add_test(reach, test_pointers_in_a_channel_buffer_survive);
    suite_add_tcase(suite, reach);

    TCase *control = tcase_create("control");
    tcase_set_timeout(control, 120);
    tcase_add_test(control, test_set_gc_percent_returns_the_old_value);
    tcase_add_test(control, test_set_gc_percent_returns_the_configured_value);
    tcase_add_test(control, test_set_gc_percent_returns_off_when_configured_off);
    tcase_add_test(control, test_cycles_are_counted);
    tcase_add_test(control, test_gogc_off_runs_no_cycle_unless_asked);
    tcase_add_test(control, test_gogc_off_and_on_at_run_time);
    tcase_add_test(control, test_gctrace_prints_a_line_per_cycle);
    tcase_add_test(control, test_gcstress_collects_every_thousand_allocations);
    tcase_add_test(control, test_checkmark_poisons_freed_objects);
    tcase_add_loop_test(control, test_checkmark_reports_an_object_the_mark_missed, 0, 3);
    suite_add_tcase(suite, control);

    TCase *barrier = tcase_create("barrier");
    tcase_set_timeout(barrier, 300);
    tcase_add_test(barrier, test_concurrent_rewiring_procs_2);
    tcase_add_test(barrier, test_concurrent_rewiring_procs_4);
    tcase_add_test(barrier, test_concurrent_rewiring_gcstress_procs_4);
    tcase_add_test(barrier, test_pointers_through_channels_during_mark_procs_4);
    suite_add_tcase(suite, barrier);

    TCase *pacer = tcase_create("pacer");
    tcase_set_timeout(pacer, 300);
    tcase_add_test(pacer, test_heap_stays_within_the_goal_in_a_steady_state);
    tcase_add_test(pacer, test_heap_goal_follows_gogc);
    tcase_add_test(pacer, test_assists_bound_the_heap_against_a_flat_out_allocator);
    tcase_add_test(pacer, test_gomemlimit_collects_near_the_limit_with_gogc_off);
    suite_add_tcase(suite, pacer);

    TCase *memory = tcase_create("memory");
    tcase_set_timeout(memory, 120);
    tcase_add_test(memory, test_dropped_structure_returns_its_memory);
    suite_add_tcase(suite, memory);

    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
