/*
 * latency: how late a sleeping goroutine wakes up while others churn a
 * large live heap -- what a collector's pauses, assists and background
 * workers cost a program that wants to run on time. One source for gc-ours,
 * gc-boehm and gc-glibc; latency.go is Go's.
 *
 * The live heap, about N MiB: a table of N MiB / 256 B slots (chunks of
 * 4096 slot pointers under one top array), each slot holding a record of
 * 64 bytes (one pointer, to its payload) and the record's payload, 192
 * bytes without pointers. Every record and payload is stamped with a key
 * and its slot.
 *
 *   build: procs workers fill the table, each its own share of the slots
 *          (not timed);
 *   churn: procs workers each replace random slots of their share -- check
 *          the old record's stamps, allocate a new record and payload,
 *          store it -- LATENCY_CHURN_FACTOR times the slot count in all, so
 *          that the program allocates that many times its live heap and
 *          the collector has to mark the whole table several times. They
 *          yield every LATENCY_YIELD_EVERY replacements, as a server's
 *          goroutines block now and then: a runnable goroutine is then
 *          never kept waiting by the workers, only by the runtime.
 *          Meanwhile one more goroutine (ticker) sleeps LATENCY_TICK_NS
 *          again and again and records how late it wakes up -- the time
 *          between asking for the sleep and running again, less the sleep.
 *
 * Timed: the churn phase, and what the ticker saw during it. At the end
 * every slot is checked once more. glibc frees each replaced record and
 * payload at once: its figures are those of the same work without a
 * collector (and its ticker is an ordinary thread, woken by Linux).
 */
#include "bench.h"

#define LATENCY_CHUNK_SLOTS 4096
#define LATENCY_CHURN_FACTOR 4
#define LATENCY_YIELD_EVERY 64
#define LATENCY_TICK_NS 100000u
#define LATENCY_MAX_SAMPLES (1u << 21)

struct payload {
    uint64_t words[24];
};

struct record {
    struct payload *payload;
    uint64_t key;
    uint64_t slot;
    uint64_t value[5];
};

_Static_assert(sizeof(struct record) + sizeof(struct payload) == 256, "a slot's objects are 256 bytes");

static const bench_type payload_type = { .name = "payload", .size = sizeof(struct payload), .pointers = 0 };
static const bench_type record_type = {
    .name = "record", .size = sizeof(struct record), .pointers = BENCH_POINTER(struct record, payload),
};
// An element of the slot and chunk arrays: one pointer.
static const bench_type pointer_type = { .name = "pointer", .size = sizeof(void *), .pointers = 1 };

struct latency {
    struct record ***chunks;   // chunk_count arrays of LATENCY_CHUNK_SLOTS slots
    uint64_t chunk_count;
    uint64_t slots;
    uint64_t replacements;     // the churn's, all workers together
    int workers;
    int workers_done;          // atomic
    bool stop;                 // atomic: the ticker ends
    uint64_t sample_count, delay_max_ns;
};

// The ticker's samples: only its own thread writes them; no pointers.
static uint64_t delay_samples[LATENCY_MAX_SAMPLES];

static struct record **slot_address(struct latency *latency, uint64_t slot)
{
    return &latency->chunks[slot / LATENCY_CHUNK_SLOTS][slot % LATENCY_CHUNK_SLOTS];
}

static struct record *record_new(uint64_t slot, uint64_t key)
{
    struct payload *payload = bench_new(&payload_type);
    payload->words[0] = key;
    payload->words[23] = ~key;
    struct record *record = bench_new(&record_type);
    record->key = key;
    record->slot = slot;
    bench_store(&record->payload, payload);
    return record;
}

static void record_check(const struct record *record, uint64_t slot)
{
    if (record == NULL)
        bench_fail("latency: slot %llu is empty", (unsigned long long)slot);
    if (record->slot != slot)
        bench_fail("latency: slot %llu holds the record of slot %llu", (unsigned long long)slot,
                   (unsigned long long)record->slot);
    const struct payload *payload = record->payload;
    if (payload == NULL || payload->words[0] != record->key || payload->words[23] != ~record->key)
        bench_fail("latency: slot %llu: the payload of record %p (key %llx) was overwritten", (unsigned long long)slot,
                   (const void *)record, (unsigned long long)record->key);
}

static void record_free(struct record *record)
{
    bench_free(record->payload);
    bench_free(record);
}

// Worker `index`'s share of the slots: [*first, *first + *count).
static void worker_slots(const struct latency *latency, int index, uint64_t *first, uint64_t *count)
{
    *first = latency->slots * (uint64_t)index / (uint64_t)latency->workers;
    *count = latency->slots * (uint64_t)(index + 1) / (uint64_t)latency->workers - *first;
}

static void build_worker(int index, void *argument)
{
    struct latency *latency = argument;
    uint64_t first, count, random = 0x5EED0000u + (uint64_t)index;
    worker_slots(latency, index, &first, &count);
    for (uint64_t slot = first; slot < first + count; slot++)
        bench_store(slot_address(latency, slot), record_new(slot, bench_next_random(&random)));
}

static void ticker(struct latency *latency)
{
    uint64_t count = 0, max = 0;
    while (!__atomic_load_n(&latency->stop, __ATOMIC_ACQUIRE)) {
        uint64_t start = bench_now();
        bench_sleep(LATENCY_TICK_NS);
        uint64_t slept = bench_now() - start;
        uint64_t delay = slept > LATENCY_TICK_NS ? slept - LATENCY_TICK_NS : 0;
        if (count < LATENCY_MAX_SAMPLES)
            delay_samples[count++] = delay;
        if (delay > max)
            max = delay;
    }
    latency->sample_count = count;
    latency->delay_max_ns = max;
}

static void churn_worker(int index, void *argument)
{
    struct latency *latency = argument;
    if (index == 0) {
        ticker(latency);
        return;
    }
    int worker = index - 1;
    uint64_t first, count, random = 0xC0FFEE00u + (uint64_t)worker;
    worker_slots(latency, worker, &first, &count);
    uint64_t replacements = bench_share(latency->replacements, latency->workers, worker);
    for (uint64_t i = 0; i < replacements; i++) {
        uint64_t slot = first + bench_next_random(&random) % count;
        struct record **address = slot_address(latency, slot);
        struct record *old = *address;
        record_check(old, slot);
        bench_store(address, record_new(slot, bench_next_random(&random)));
        if (BENCH_GC_MANUAL_FREE)
            record_free(old);
        if (i % LATENCY_YIELD_EVERY == LATENCY_YIELD_EVERY - 1)
            bench_yield();
    }
    if (__atomic_add_fetch(&latency->workers_done, 1, __ATOMIC_ACQ_REL) == latency->workers)
        __atomic_store_n(&latency->stop, true, __ATOMIC_RELEASE);
}

void bench_latency(uint64_t live_mib, struct bench_result *result)
{
    // On this goroutine's (thread's) stack, which the collectors scan: the
    // only reference to the table.
    struct latency latency = { .workers = bench_procs() };
    latency.slots = live_mib * 1024 * 1024 / (sizeof(struct record) + sizeof(struct payload));
    latency.chunk_count = (latency.slots + LATENCY_CHUNK_SLOTS - 1) / LATENCY_CHUNK_SLOTS;
    latency.replacements = LATENCY_CHURN_FACTOR * latency.slots;
    if ((uint64_t)latency.workers > latency.slots)
        bench_fail("latency: %llu MiB is too small for %d workers", (unsigned long long)live_mib, latency.workers);
    latency.chunks = bench_new_array(&pointer_type, latency.chunk_count);
    for (uint64_t chunk = 0; chunk < latency.chunk_count; chunk++)
        bench_store(&latency.chunks[chunk], bench_new_array(&pointer_type, LATENCY_CHUNK_SLOTS));
    bench_parallel(latency.workers, build_worker, &latency);

    bench_begin(result);
    bench_parallel(latency.workers + 1, churn_worker, &latency);
    bench_end(result);

    result->delay_samples = latency.sample_count;
    result->delay_max_ns = latency.delay_max_ns;
    result->delay_p99_ns = bench_percentile_99(delay_samples, latency.sample_count);
    for (uint64_t slot = 0; slot < latency.slots; slot++)
        record_check(*slot_address(&latency, slot), slot);
    if (BENCH_GC_MANUAL_FREE) {
        for (uint64_t slot = 0; slot < latency.slots; slot++)
            record_free(*slot_address(&latency, slot));
        for (uint64_t chunk = 0; chunk < latency.chunk_count; chunk++)
            bench_free(latency.chunks[chunk]);
        bench_free(latency.chunks);
    }
}
