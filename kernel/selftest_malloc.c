/*
 * selftest=malloc: the allocator (runtime/malloc.h) on every CPU.
 *
 *   boot      before the scheduler starts, with no M and no P, allocation
 *             works (through the global mcache): the kernel's own code may
 *             allocate during boot;
 *   storm     two goroutines per P allocate and free blocks of random sizes
 *             -- mostly small, some of several KiB, a few large -- each block
 *             stamped with its own pattern and checked before it is freed, so
 *             an overlap or a block handed out twice shows; each goroutine
 *             says which CPU it ran on, and every CPU must have allocated;
 *   handoff   blocks allocated on one P and freed on another, through a
 *             channel, with goroutines on different CPUs;
 *   typed     typed objects from every P: zeroed, found again from an
 *             interior pointer;
 *   balance   afterwards every manual block is back: the allocation and
 *             free counts match and the bytes in use return to where they
 *             were; runtime_free_os_memory hands the free pages back.
 *
 * With memstats=1 the statistics are printed before the verdict.
 */
#include "percpu.h"
#include "printk.h"
#include "selftest.h"
#include "chan.h"
#include "malloc.h"
#include "runtime.h"
#include "sync.h"
#include <stdio.h>
#include <string.h>

#define STORM_PER_P 2
#define STORM_ROUNDS 3000
#define STORM_LIVE 32
#define HANDOFF_BLOCKS 20000
#define TYPED_PER_P 20000

static uint64_t allocated_on_cpu[CPUS_MAX];

// A failure and the number that tells what went wrong (selftest_fail keeps
// the first).
static void fail(const char *what, uint64_t detail)
{
    selftest_fail("%s (%llu)", what, (unsigned long long)detail);
}

struct block {
    uint8_t *memory;
    size_t size;
    uint8_t stamp;
};

static void block_fill(struct block *block)
{
    for (size_t i = 0; i < block->size; i++)
        block->memory[i] = (uint8_t)(block->stamp + i);
}

static bool block_intact(const struct block *block)
{
    for (size_t i = 0; i < block->size; i++)
        if (block->memory[i] != (uint8_t)(block->stamp + i))
            return false;
    return true;
}

static size_t random_size(uint64_t *random)
{
    uint64_t pick = selftest_next_random(random) % 1000;
    if (pick < 700)
        return 1 + selftest_next_random(random) % 256;
    if (pick < 995)
        return 1 + selftest_next_random(random) % 8192;
    return 32 * 1024 + selftest_next_random(random) % (96 * 1024);
}

static void storm(void *argument)
{
    struct waitgroup *done = argument;
    uint64_t random = goid() * 0x9E3779B97F4A7C15ull | 1;
    struct block live[STORM_LIVE] = { 0 };
    for (int round = 0; round < STORM_ROUNDS && !selftest_failed(); round++) {
        struct block *slot = &live[selftest_next_random(&random) % STORM_LIVE];
        if (slot->memory) {
            if (!block_intact(slot))
                fail("a block was overwritten while in use, size", slot->size);
            runtime_free(slot->memory);
        }
        slot->size = random_size(&random);
        slot->stamp = (uint8_t)selftest_next_random(&random);
        slot->memory = runtime_malloc(slot->size);
        if (slot->memory == NULL) {
            fail("runtime_malloc returned NULL for bytes", slot->size);
            break;
        }
        block_fill(slot);
        __atomic_add_fetch(&allocated_on_cpu[this_cpu()->index], 1, __ATOMIC_RELAXED);
    }
    for (int i = 0; i < STORM_LIVE; i++) {
        if (live[i].memory) {
            if (!block_intact(&live[i]))
                fail("a block was overwritten while in use, size", live[i].size);
            runtime_free(live[i].memory);
        }
    }
    waitgroup_done(done);
}

struct handoff {
    struct chan *blocks;
    struct waitgroup *done;
};

static void produce(void *argument)
{
    struct handoff *handoff = argument;
    uint64_t random = 12345;
    for (int i = 0; i < HANDOFF_BLOCKS; i++) {
        struct block block = { .size = 1 + selftest_next_random(&random) % 512, .stamp = (uint8_t)i };
        block.memory = runtime_malloc(block.size);
        if (block.memory == NULL) {
            fail("runtime_malloc returned NULL for bytes", block.size);
            break;
        }
        block_fill(&block);
        chan_send(handoff->blocks, &block);
    }
    chan_close(handoff->blocks);
    waitgroup_done(handoff->done);
}

static void consume(void *argument)
{
    struct handoff *handoff = argument;
    struct block block;
    while (chan_receive_ok(handoff->blocks, &block)) {
        if (!block_intact(&block))
            fail("a block handed to another CPU arrived damaged, size", block.size);
        runtime_free(block.memory);
    }
    waitgroup_done(handoff->done);
}

struct pair {
    struct pair *next;
    uint64_t value;
};

static const struct gc_type pair_type = {
    .name = "pair",
    .size = sizeof(struct pair),
    .pointers = GC_POINTER(struct pair, next),
};

static void typed(void *argument)
{
    struct waitgroup *done = argument;
    struct pair *list = NULL;
    for (uint64_t i = 0; i < TYPED_PER_P; i++) {
        struct pair *pair = gc_new(&pair_type);
        if (pair->next != NULL || pair->value != 0)
            fail("a new typed object was not zeroed, index", i);
        if (runtime_heap_object(&pair->value, NULL) != pair)
            fail("an interior pointer did not lead to its object, index", i);
        pair->value = i;
        pair->next = list;
        list = pair;
    }
    uint64_t count = 0;
    for (struct pair *pair = list; pair; pair = pair->next)
        if (pair->value != TYPED_PER_P - 1 - count++)
            fail("a typed list lost its order at", count);
    waitgroup_done(done);
}

static void malloc_main(void *unused)
{
    (void)unused;
    int procs = runtime_procs();
    struct memstats before, after;
    runtime_read_memstats(&before);

    // storm
    struct waitgroup done = { 0 };
    waitgroup_add(&done, STORM_PER_P * procs);
    for (int i = 0; i < STORM_PER_P * procs; i++)
        go(storm, &done);
    waitgroup_wait(&done);
    uint32_t cpus_used = 0;
    for (uint32_t i = 0; i < cpus_online; i++) {
        log_info("selftest malloc: cpu %u allocated %llu blocks\n", i, (unsigned long long)allocated_on_cpu[i]);
        cpus_used += allocated_on_cpu[i] > 0;
    }
    if ((int)cpus_used < procs)
        fail("CPUs that allocated nothing", (uint64_t)procs - cpus_used);

    // handoff
    struct handoff handoff = { chan_make(sizeof(struct block), 64), &done };
    waitgroup_add(&done, 2);
    go(produce, &handoff);
    go(consume, &handoff);
    waitgroup_wait(&done);
    chan_free(handoff.blocks);

    // balance (typed objects are never freed yet, so they come after)
    runtime_free_os_memory();
    runtime_read_memstats(&after);
    if (after.heap_alloc != before.heap_alloc)
        fail("bytes still allocated after every block was freed", after.heap_alloc - before.heap_alloc);
    if (after.mallocs - before.mallocs != after.frees - before.frees)
        fail("blocks allocated but never freed", (after.mallocs - before.mallocs) - (after.frees - before.frees));
    log_info("selftest malloc: %llu blocks allocated and freed on %d CPUs; %llu KiB back to the platform\n",
             (unsigned long long)(after.mallocs - before.mallocs), procs,
             (unsigned long long)after.heap_released / 1024);

    // typed
    waitgroup_add(&done, procs);
    for (int i = 0; i < procs; i++)
        go(typed, &done);
    waitgroup_wait(&done);

    selftest_report("malloc", !selftest_failed(), selftest_failure());
}

// selftest=out-of-memory: allocates and fills memory until the machine has
// no physical page left. The allocator hands out address space freely (the
// kernel's demand paging backs it on first touch), so the end is a page
// fault that finds no free page: it must say so ("out of memory") and
// stop the machine with a backtrace, not hang. The run ends as a failure.
bool selftest_out_of_memory_run(char *reason, size_t size)
{
    enum { BLOCK = 16 << 20 };
    for (uint64_t total = 0;; total += BLOCK) {
        uint8_t *block = runtime_malloc(BLOCK);
        if (block == NULL) {
            snprintf(reason, size, "runtime_malloc returned NULL after %llu MiB, before memory ran out",
                     (unsigned long long)(total >> 20));
            return false;
        }
        memset(block, 0xa5, BLOCK);
    }
}

bool selftest_malloc_run(char *reason, size_t size)
{
    // boot: no M, no P yet.
    void *early = runtime_malloc(100);
    void *early_large = runtime_malloc(100 * 1024);
    if (early == NULL || early_large == NULL || runtime_heap_object(early, NULL) != early) {
        snprintf(reason, size, "allocation before the scheduler started failed");
        return false;
    }
    runtime_free(early);
    runtime_free(early_large);
    runtime_run(malloc_main, NULL, NULL);   // never returns in the kernel
    snprintf(reason, size, "the runtime returned");
    return false;
}
