/*
 * producer-consumer: blocks allocated on one M (thread) and freed on
 * another -- the pattern of a network stack handing buffers to a worker, and
 * the one that hurts allocators with per-thread caches: every block the
 * consumer frees belongs to the producer's side, and must find its way back
 * there, through a central list, a remote-free queue or an arena lock.
 *
 * The same source for ours and the peers. Worker 0, the producer, mallocs n
 * blocks of random sizes from 16 to 512 bytes (the same sequence on every
 * side), stamps it with its number and size (first two words) and its
 * number again (last word, from 24 bytes), and hands it over; worker 1,
 * the consumer, takes them in order, checks the stamps and frees them. Ours
 * runs them as two goroutines with GOMAXPROCS=2, the peers as two threads.
 *
 * The hand-off is the same code on every side, so that it costs the same
 * and the difference is the allocator's: a lock-free single-producer
 * single-consumer ring of HANDOFF_CAPACITY pointers, its two indices on
 * cache lines of their own, each side keeping a copy of the other's index
 * and rereading it only when the ring looks full (producer) or empty
 * (consumer). Each side publishes its index once per HANDOFF_BATCH blocks,
 * not per block: with an update per block, the two cores fought over the
 * index's cache line on every block whenever the consumer caught up, and the
 * same run took anywhere from 0.1 to 1 s on every allocator. A side that finds it so waits with bench_wait: a few pause
 * instructions, then a yield -- gosched for our goroutines, sched_yield for
 * threads. (A runtime channel would have been the Go-like choice for ours,
 * but then the peers would need a mutex and condition variable, and the
 * figure would mostly compare two hand-offs, not two allocators.)
 */
#include "bench.h"
#include <string.h>

#define HANDOFF_CAPACITY 1024   // a power of two
#define HANDOFF_MASK (HANDOFF_CAPACITY - 1)
#define HANDOFF_BATCH 64        // blocks between two updates of an index
#define BLOCK_MIN_SIZE 16
#define BLOCK_MAX_SIZE 512

static struct handoff_ring {
    _Alignas(64) uint64_t head;   // blocks put in so far; written by the producer only
    _Alignas(64) uint64_t tail;   // blocks taken out so far; written by the consumer only
    _Alignas(64) void *slots[HANDOFF_CAPACITY];
} handoff;

static void producer(uint64_t n)
{
    uint64_t random = 1;
    uint64_t tail_seen = 0;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t size = BLOCK_MIN_SIZE + bench_next_random(&random) % (BLOCK_MAX_SIZE - BLOCK_MIN_SIZE + 1);
        unsigned char *block = bench_malloc(size);
        if (block == NULL)
            bench_fail("producer-consumer: out of memory");
        memcpy(block, &i, sizeof i);
        memcpy(block + sizeof i, &size, sizeof size);
        if (size >= 3 * sizeof i)
            memcpy(block + size - sizeof i, &i, sizeof i);
        unsigned spins = 0;
        while (i - tail_seen == HANDOFF_CAPACITY) {
            tail_seen = __atomic_load_n(&handoff.tail, __ATOMIC_ACQUIRE);
            if (i - tail_seen == HANDOFF_CAPACITY)
                bench_wait(&spins);
        }
        handoff.slots[i & HANDOFF_MASK] = block;
        if ((i + 1) % HANDOFF_BATCH == 0 || i + 1 == n)
            __atomic_store_n(&handoff.head, i + 1, __ATOMIC_RELEASE);
    }
}

static void consumer(uint64_t n)
{
    uint64_t head_seen = 0;
    for (uint64_t i = 0; i < n; i++) {
        unsigned spins = 0;
        while (i == head_seen) {
            head_seen = __atomic_load_n(&handoff.head, __ATOMIC_ACQUIRE);
            if (i == head_seen)
                bench_wait(&spins);
        }
        unsigned char *block = handoff.slots[i & HANDOFF_MASK];
        if ((i + 1) % HANDOFF_BATCH == 0 || i + 1 == n)
            __atomic_store_n(&handoff.tail, i + 1, __ATOMIC_RELEASE);
        uint64_t first, size, last = i;
        memcpy(&first, block, sizeof first);
        memcpy(&size, block + sizeof first, sizeof size);
        if (first != i || size < BLOCK_MIN_SIZE || size > BLOCK_MAX_SIZE)
            bench_fail("producer-consumer: block %llu at %p starts with %llu, size %llu", (unsigned long long)i,
                       (void *)block, (unsigned long long)first, (unsigned long long)size);
        if (size >= 3 * sizeof last)
            memcpy(&last, block + size - sizeof last, sizeof last);
        if (last != i)
            bench_fail("producer-consumer: block %llu at %p ends with %llu", (unsigned long long)i, (void *)block,
                       (unsigned long long)last);
        bench_free(block);
    }
}

static void producer_consumer_worker(int index, void *argument)
{
    uint64_t n = *(const uint64_t *)argument;
    if (index == 0)
        producer(n);
    else
        consumer(n);
}

uint64_t bench_producer_consumer(uint64_t n, uint64_t unused)
{
    (void)unused;
    handoff.head = handoff.tail = 0;
    uint64_t start = bench_now();
    bench_parallel(2, producer_consumer_worker, &n);
    return bench_now() - start;
}
